// `cubist demo`: the foundation's main job, through the same public API users call.
// (Until the STAC pipeline lands: a generated cube with NaN holes, reduced over time and x.)
#include <chrono>
#include <cmath>
#include <cubist/cubist.hpp>
#include <fmt/format.h>
#include <iostream>

#include "cli/commands.hpp"
#include "core/format.hpp"

namespace cubist::cli {
namespace {

template <class T> double checksum(const DataArray& a) {
  double s = 0;
  for (T v : a.values<T>())
    if (!std::isnan(v)) s += static_cast<double>(v);
  return s;
}

}  // namespace

int run_demo(const DemoOptions& o) {
  namespace cb = cubist;
  const auto t0 = std::chrono::steady_clock::now();
  auto cube = cb::random<float>({{"time", o.time}, {"y", o.size}, {"x", o.size}},
                                {{"time", 1}, {"y", o.chunk}, {"x", o.chunk}}, o.seed);
  cube = cube.assign_coords("time", cb::date_range("time", "2020-01-01", o.time, "1D")).rename("reflectance");
  // Cloud-like holes: about 2% of the pixels are missing.
  auto holed = cube.where(cube >= 0.02f);

  auto mean_time = holed.mean("time");
  auto mean_x = holed.mean("x");
  std::cout << holed << "\n\n" << mean_time << "\n\n";
  if (!o.graph_path.empty()) {
    mean_time.visualize(o.graph_path);
    std::cout << "graph written to " << o.graph_path << "\n";
  }

  cb::ComputeOptions copts;
  copts.num_threads = o.threads;
  copts.progress = !o.no_progress;
  cb::ComputeStats st_time, st_x;
  auto r_time = mean_time.compute(copts, &st_time);
  auto r_x = mean_x.compute(copts, &st_x);
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  auto report = [&](const char* what, const cb::DataArray& lazy, const cb::DataArray& r, const cb::ComputeStats& st) {
    fmt::print("{:<16} shape={} tasks={} (fused into {} units) wall={} throughput={}/s checksum={:.6f}\n", what,
               shape_to_string(r.shape()), lazy.num_tasks(), st.units, core::format_seconds(st.seconds),
               core::format_bytes(static_cast<double>(holed.nbytes()) / st.seconds), checksum<float>(r));
  };
  fmt::print("input            shape={} dtype={} chunks={} size={} threads={}\n", shape_to_string(holed.shape()),
             dtype_name(holed.dtype()), holed.chunks().total_chunks(), core::format_bytes(static_cast<double>(holed.nbytes())),
             o.threads ? o.threads : cb::config::num_threads());
  report("mean over time", mean_time, r_time, st_time);
  report("mean over x", mean_x, r_x, st_x);
  fmt::print("total wall time  {}\n", core::format_seconds(total));
  return 0;
}

}  // namespace cubist::cli
