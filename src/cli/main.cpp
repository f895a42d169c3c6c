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
  auto* demo_cmd = app.add_subcommand("demo", "build a generated datacube and reduce it on all cores");
  demo_cmd->add_option("--time", demo.time, "length of the time dimension")->check(CLI::PositiveNumber);
  demo_cmd->add_option("--size", demo.size, "y and x extent")->check(CLI::PositiveNumber);
  demo_cmd->add_option("--chunk", demo.chunk, "y and x chunk size")->check(CLI::PositiveNumber);
  demo_cmd->add_option("--threads", demo.threads, "worker threads (0: one per core)")->check(CLI::NonNegativeNumber);
  demo_cmd->add_option("--seed", demo.seed, "random seed");
  demo_cmd->add_option("--graph", demo.graph_path, "also draw the mean-over-time graph (.svg, .png or .dot)");
  demo_cmd->add_flag("--no-progress", demo.no_progress, "no progress bar");
  std::string info_path;
  auto* info_cmd = app.add_subcommand("info", "describe a Zarr store: dims, coords, variables, dtypes, chunks, codecs");
  info_cmd->add_option("path", info_path, "Zarr store (directory)")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (*demo_cmd) return cubist::cli::run_demo(demo);
    if (*info_cmd) return cubist::cli::run_info(info_path);
  } catch (const cubist::Error& e) {
    std::fprintf(stderr, "cubist: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cubist: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
