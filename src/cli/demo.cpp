// `cubist demo`: the seed workflow end to end on this machine, over real HTTP.
// 1. generate (or reuse) Sentinel-2 L2A-like COGs and their STAC items around the catchment;
// 2. serve them as an earth-search-v1-shaped STAC API with range requests on 127.0.0.1;
// 3. run the NDVI pipeline against that URL through the public API (demo_pipeline.cpp);
// 4. report items, cube sizes, tasks, HTTP traffic, wall time and the output path.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/demo_pipeline.hpp"
#include "core/format.hpp"
#include "cubist/error.hpp"
#include "raster/raster.hpp"
#include "raster/synthetic_s2.hpp"
#include "raster/tile_cache.hpp"
#include "stac/api_server.hpp"

namespace cubist::cli {
namespace {

namespace fs = std::filesystem;

fs::path executable_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

// The catchment of the seed workflow ships in the source tree (data/catchment_outline.geojson);
// look for it from the working directory (./run demo runs at the root) and from the binary
// (build/src/cubist, or an installed bin/cubist next to share/cubist).
fs::path find_catchment(const std::string& given) {
  if (!given.empty()) {
    if (!fs::exists(given)) throw IOError(fmt::format("--catchment {}: no such file", given));
    return given;
  }
  const fs::path exe = executable_dir();
  for (const fs::path& p : {fs::path("data/catchment_outline.geojson"), exe / "../../data/catchment_outline.geojson",
                            exe / "../share/cubist/catchment_outline.geojson"})
    if (fs::exists(p)) return fs::weakly_canonical(p);
  throw IOError(
      "cannot find data/catchment_outline.geojson (run from the source tree's root, or give --catchment PATH)");
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Blocks until SIGINT or SIGTERM (the server answers on its own threads meanwhile).
void wait_for_interrupt() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
}

// Flushed at once so the steps show as they happen, in order with errors on stderr.
void line(const char* what, const std::string& text) {
  fmt::print("{:<11} {}\n", what, text);
  std::fflush(stdout);
}

}  // namespace

int run_demo(const DemoOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const bool progress = !o.no_progress && isatty(STDERR_FILENO);
  const fs::path workdir = o.workdir;
  const fs::path data_dir = workdir / ("data-" + o.size);
  const fs::path output = o.output.empty() ? workdir / "ndvi.zarr" : fs::path(o.output);
  const fs::path catchment = find_catchment(o.catchment);
  fmt::print("cubist demo: STAC search -> stack -> NDVI -> clip -> daily max -> Zarr ({} Sentinel-2-like data)\n",
             o.size);
  std::fflush(stdout);

  // 1. Data (cached: regenerated only when the parameters change).
  auto t0 = std::chrono::steady_clock::now();
  raster::SyntheticS2Options gen = raster::synthetic_s2_preset(o.size);
  gen.out_dir = data_dir;
  gen.catchment = catchment;
  gen.threads = o.workers;
  if (progress)
    gen.progress = [](std::size_t done, std::size_t total) {
      std::fprintf(stderr, "\rgenerating scenes %zu/%zu", done, total);
      if (done == total) std::fprintf(stderr, "\n");
    };
  const raster::SyntheticS2Data data = raster::generate_synthetic_s2(gen);
  const double gen_seconds = seconds_since(t0);
  line("data", fmt::format("{}: {} items, {} COGs {} px, {} ({})", data_dir.string(), data.items["features"].size(),
                           data.files, gen.size, core::format_bytes(static_cast<double>(data.bytes)),
                           data.reused ? "reused" : fmt::format("generated in {:.1f} s", gen_seconds)));

  // 2. The STAC API and the COGs over HTTP on 127.0.0.1.
  stac::StacApiServer server(data.items, data_dir);
  server.start();
  line("STAC API", fmt::format("{} ({} items, earth-search v1 shape, COGs with range requests)", server.url(),
                               server.size()));

  if (o.serve) {
    line("serving", fmt::format("until Ctrl-C; try: example_ndvi_pipeline {} {}", server.url(), catchment.string()));
    wait_for_interrupt();
    return 0;
  }

  // 3. The pipeline, through the public API only.
  NdviPipelineConfig cfg;
  cfg.stac_url = server.url();
  cfg.catchment = catchment.string();
  cfg.output = output.string();
  cfg.items_out = (workdir / "items-found.geojson").string();
  cfg.workers = o.workers;
  cfg.progress = progress;
  cfg.graph_path = o.graph_path;
  cfg.report = [](const std::string& step, const std::string& text) { line(step.c_str(), text); };
  const auto pipeline_start = std::chrono::steady_clock::now();
  const NdviPipelineResult r = run_ndvi_pipeline(cfg);
  const double pipeline_seconds = seconds_since(pipeline_start);
  const net::ServerStats st = server.stats();
  raster::close_idle_tile_connections();  // or stop() waits out the server's keep-alive timeout (1 s)
  server.stop();

  line("wrote", fmt::format("{} in {:.2f} s on {} workers", output.string(), r.write_seconds,
                            o.workers ? std::to_string(o.workers) : "all"));
  line("HTTP", fmt::format("{} requests served ({} range requests), {} sent", st.requests, st.range_requests,
                           core::format_bytes(static_cast<double>(st.bytes_sent))));
  // Decodes beyond the distinct tiles needed are reuses the shared tile cache missed.
  const raster::TileCacheStats tiles = raster::tile_cache_stats();
  line("COG tiles", fmt::format("{} decoded, {} served from the shared tile cache", tiles.decoded, tiles.hits));
  line("wall time", fmt::format("pipeline {:.2f} s (search {:.2f} s, graph {:.2f} s, compute + write {:.2f} s), "
                                "total {:.2f} s",
                                pipeline_seconds, r.search_seconds, r.build_seconds, r.write_seconds,
                                seconds_since(start)));
  line("output", fs::absolute(output).lexically_normal().string());
  // One machine-readable line for scripts (benchmarks, tests).
  fmt::print("RESULT items={} tasks={} requests={} range_requests={} bytes_sent={} pipeline_seconds={:.4f} "
             "write_seconds={:.4f} tile_decodes={} tile_hits={}\n",
             r.items, r.tasks, st.requests, st.range_requests, st.bytes_sent, pipeline_seconds, r.write_seconds,
             tiles.decoded, tiles.hits);
  return 0;
}

}  // namespace cubist::cli
