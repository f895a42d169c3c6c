// compute() and persist(): optimise the graph, run it on the thread pool, gather the chunks.
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <unistd.h>

#include "array/builder.hpp"
#include "array/execution.hpp"
#include "core/format.hpp"
#include "cubist/config.hpp"
#include "cubist/error.hpp"
#include "graph/optimize.hpp"
#include "kernels/op_registry.hpp"
#include "runtime/distributed/client.hpp"
#include "runtime/local_scheduler.hpp"

namespace cubist {
namespace {

void draw_progress(const runtime::Progress& p) {
  const int width = 30;
  double frac = p.total ? static_cast<double>(p.done) / static_cast<double>(p.total) : 1.0;
  int filled = static_cast<int>(frac * width);
  std::fprintf(stderr, "\r[%s%s] %3.0f%% | %zu/%zu tasks | %s   ", std::string(static_cast<std::size_t>(filled), '#').c_str(),
               std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), frac * 100.0, p.done, p.total,
               core::format_seconds(p.seconds).c_str());
  if (p.done == p.total) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace

Chunk assemble_chunks(const std::vector<Chunk>& chunks, const ChunkGrid& grid, DType dtype) {
  if (chunks.size() == 1) return chunks[0].contiguous();
  Chunk out = Chunk::allocate(dtype, grid.shape());
  const std::size_t rank = grid.rank(), item = itemsize(dtype);
  std::vector<std::int64_t> strides(rank, 1);
  for (std::size_t a = rank; a-- > 1;) strides[a - 1] = strides[a] * grid.shape()[a];
  auto* dst = static_cast<std::byte*>(out.mutable_raw());
  for (std::size_t c = 0; c < chunks.size(); ++c) {
    auto idx = grid.unravel(static_cast<std::int64_t>(c));
    const Chunk ch = chunks[c].contiguous();
    if (ch.size() == 0) continue;
    const Shape& cs = ch.shape();
    const std::int64_t row = cs[rank - 1];
    const std::int64_t rows = ch.size() / row;
    std::vector<std::int64_t> pos(rank, 0);
    const auto* src = static_cast<const std::byte*>(ch.raw());
    for (std::int64_t r = 0; r < rows; ++r) {
      std::int64_t off = 0;
      for (std::size_t a = 0; a < rank; ++a) off += (grid.offset(a, idx[a]) + pos[a]) * strides[a];
      std::memcpy(dst + static_cast<std::size_t>(off) * item, src + static_cast<std::size_t>(r * row) * item,
                  static_cast<std::size_t>(row) * item);
      for (std::size_t a = rank - 1; a-- > 0;) {
        if (++pos[a] < cs[a]) break;
        pos[a] = 0;
      }
    }
  }
  return out;
}

std::vector<graph::LayerPtr> optimize_layers(const std::vector<graph::LayerPtr>& outputs) {
  auto fused = graph::fuse_elementwise(graph::push_down_windows(graph::merge_equal_layers(outputs), kernels::window_source));
  return graph::inline_sources(fused, kernels::source_reads_rows);
}

std::vector<std::vector<Chunk>> run_layers(const std::vector<graph::LayerPtr>& outputs, const ComputeOptions& options,
                                           ComputeStats* stats) {
  const std::vector<graph::LayerPtr> layers = options.optimize ? optimize_layers(outputs) : outputs;
  // optimize=false runs the graph exactly as built: no fusion, no constant folding.
  const graph::TaskGraphOptions graph_options{.fuse = options.optimize, .fold_constants = options.optimize};
  if (!options.scheduler.empty()) {
    runtime::distributed::RemoteOptions remote;
    remote.address = options.scheduler;
    remote.token = options.token;
    if (options.progress) remote.on_progress = draw_progress;
    runtime::ExecuteStats es;
    auto result = runtime::distributed::execute_remote(layers, graph_options, remote, &es);
    if (stats) *stats = {es.tasks, es.units, es.seconds, es.peak_bytes};
    return result;
  }
  graph::TaskGraph tg = graph::build_task_graph(layers, graph_options);
  std::unique_ptr<runtime::ThreadPool> own_pool;
  runtime::ExecuteOptions exec;
  exec.memory_budget = config::memory_budget_bytes();
  if (options.num_threads > 0) {
    own_pool = std::make_unique<runtime::ThreadPool>(options.num_threads);
    exec.pool = own_pool.get();
  }
  if (options.progress) exec.on_progress = draw_progress;
  runtime::ExecuteStats es;
  auto result = runtime::execute(tg, exec, &es);
  if (stats) *stats = {es.tasks, es.units, es.seconds, es.peak_bytes};
  return result;
}

DataArray DataArray::compute(const ComputeOptions& options, ComputeStats* stats) const {
  if (!layer_) throw ValueError("compute: empty DataArray");
  if (in_memory()) {
    if (stats) *stats = {};
    return *this;
  }
  auto chunks = run_layers({layer_}, options, stats);
  Chunk all = assemble_chunks(chunks[0], layer_->grid, layer_->dtype);
  auto layer = ArrayBuilder::literal_layer({all}, ChunkGrid::regular(all.shape(), all.shape()), layer_->dtype);
  return ArrayBuilder::with_layer(*this, layer);
}

DataArray DataArray::persist(const ComputeOptions& options, ComputeStats* stats) const {
  if (!layer_) throw ValueError("persist: empty DataArray");
  if (layer_->op == "literal") return *this;
  auto chunks = run_layers({layer_}, options, stats);
  return ArrayBuilder::with_layer(*this, ArrayBuilder::literal_layer(std::move(chunks[0]), layer_->grid, layer_->dtype));
}

}  // namespace cubist
