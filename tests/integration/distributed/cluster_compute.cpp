// The C++ API against a cluster of `cubist scheduler` + `cubist worker` processes.
//   cluster_compute ADDRESS TOKEN_FILE check  graphs through execute_remote and DataArray::compute
//                                             with ComputeOptions::scheduler equal the local
//                                             runtime's results bit for bit; prints the timings
//   cluster_compute ADDRESS TOKEN_FILE long   one long reduction (for killing a worker under it)
// Exit 0 on success; 1 with "cluster_compute: error: ..." on stderr when anything fails.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "cubist/cubist.hpp"
#include "graph/optimize.hpp"
#include "graph/task_graph.hpp"
#include "kernels/op_registry.hpp"
#include "runtime/distributed/auth.hpp"
#include "runtime/distributed/client.hpp"
#include "runtime/local_scheduler.hpp"

using namespace cubist;
namespace dist = cubist::runtime::distributed;

namespace {

std::vector<graph::LayerPtr> optimised(const DataArray& a) {
  return graph::fuse_elementwise(graph::push_down_windows({a.layer()}, kernels::window_source));
}

bool identical(const std::vector<Chunk>& a, const std::vector<Chunk>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    Chunk x = a[i].contiguous(), y = b[i].contiguous();
    if (x.dtype() != y.dtype() || x.shape() != y.shape() || std::memcmp(x.raw(), y.raw(), x.nbytes()) != 0) return false;
  }
  return true;
}

double seconds_of(const auto& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: cluster_compute ADDRESS TOKEN_FILE check|long\n");
    return 2;
  }
  try {
    dist::RemoteOptions remote;
    remote.address = argv[1];
    remote.token = dist::read_token_file(argv[2]);
    const std::string mode = argv[3];
    const DataArray a = random<double>({{"t", 8}, {"y", 512}, {"x", 512}}, {{"t", 1}, {"y", 256}, {"x", 256}}, 5);
    if (mode == "long") {
      const DataArray big = random<double>({{"y", 80000}, {"x", 40000}}, {{"y", 1000}, {"x", 1000}}, 7);
      auto out = dist::execute_remote(optimised((big * 2.0).sum()), {}, remote);
      std::printf("sum %.17g\n", out.at(0).at(0).values<double>()[0]);
      return 0;
    }
    const std::vector<std::pair<std::string, DataArray>> cases{
        {"elementwise", (a * a + 1.0).astype(DType::Float32)},
        {"mean over time", a.mean({"t"})},
        {"rechunk", a.chunk({{"t", 8}, {"y", 100}, {"x", 512}})},
        {"median over time of a rechunk", a.chunk({{"t", 8}, {"y", 128}, {"x", 128}}).median({"t"})},
    };
    int failures = 0;
    for (const auto& [name, c] : cases) {
      const auto layers = optimised(c);
      std::vector<std::vector<Chunk>> here, there;
      const double t_local = seconds_of([&] { here = runtime::execute(graph::build_task_graph(layers)); });
      const double t_remote = seconds_of([&] { there = dist::execute_remote(layers, {}, remote); });
      const bool same = identical(here.at(0), there.at(0));
      std::printf("%-32s %s  local %.3f s, cluster %.3f s\n", name.c_str(), same ? "identical" : "DIFFERENT", t_local,
                  t_remote);
      failures += !same;
    }
    // The public API: DataArray::compute with ComputeOptions::scheduler.
    ComputeOptions on_cluster;
    on_cluster.scheduler = remote.address;
    on_cluster.token = remote.token;
    const DataArray m = (a - a.mean({"t"})).max({"y"});
    const bool same = identical({m.compute().memory_chunk()}, {m.compute(on_cluster).memory_chunk()});
    std::printf("%-32s %s\n", "compute(scheduler) of max(a - mean)", same ? "identical" : "DIFFERENT");
    failures += !same;
    if (failures) {
      std::fprintf(stderr, "cluster_compute: error: %d results differ from the local runtime's\n", failures);
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cluster_compute: error: %s\n", e.what());
    return 1;
  }
}
