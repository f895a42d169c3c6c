// The `cubist` command.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "cubist/error.hpp"
#include "cubist/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"cubist: parallel, out-of-core, labelled datacubes"};
  app.set_version_flag("--version", cubist::kVersion);
  app.require_subcommand(1);
  cubist::cli::DemoOptions demo;
  auto* demo_cmd = app.add_subcommand(
      "demo", "the seed workflow: STAC search -> NDVI -> clip -> daily max -> Zarr, on generated Sentinel-2 data "
              "served by cubist on 127.0.0.1");
  demo_cmd->add_option("--size", demo.size, "small (1024 px tiles), medium (4096) or full (10980)")
      ->check(CLI::IsMember({"small", "medium", "full"}));
  demo_cmd->add_option("--workdir", demo.workdir, "where the generated data (cached) and the output go");
  demo_cmd->add_option("--output", demo.output, "the Zarr store to write (default: WORKDIR/ndvi.zarr)");
  demo_cmd->add_option("--catchment", demo.catchment, "the catchment polygon (GeoJSON, CRS84)");
  demo_cmd->add_option("--workers", demo.workers, "worker threads (0: one per core)")->check(CLI::NonNegativeNumber);
  demo_cmd->add_option("--graph", demo.graph_path, "also draw the composite's task graph (.svg, .png or .dot)");
  demo_cmd->add_flag("--no-progress", demo.no_progress, "no progress bars");
  demo_cmd->add_flag("--serve", demo.serve,
                     "only serve the generated STAC API and COGs on 127.0.0.1 until Ctrl-C (for "
                     "examples/ndvi_pipeline.cpp or your own code)");
  std::string info_path;
  auto* info_cmd = app.add_subcommand("info", "describe a Zarr store: dims, coords, variables, dtypes, chunks, codecs");
  info_cmd->add_option("path", info_path, "Zarr store (directory)")->required();
  cubist::cli::add_openeo_commands(app);
  cubist::cli::add_cluster_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (*demo_cmd) return cubist::cli::run_demo(demo);
    if (*info_cmd) return cubist::cli::run_info(info_path);
    if (int rc = cubist::cli::run_openeo_commands(); rc >= 0) return rc;
    if (int rc = cubist::cli::run_cluster_commands(); rc >= 0) return rc;
  } catch (const cubist::Error& e) {
    std::fprintf(stderr, "cubist: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cubist: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
