// `cubist run GRAPH --output PATH`, `cubist validate GRAPH`, `cubist processes`: openEO process
// graphs on cubist (src/openeo/).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "cubist/error.hpp"
#include "openeo/process_graph.hpp"
#include "openeo/registry.hpp"
#include "openeo/run.hpp"
#include "runtime/distributed/auth.hpp"

namespace cubist::cli {
namespace {

struct OpenEoCommands {
  CLI::App* run = nullptr;
  CLI::App* validate = nullptr;
  CLI::App* processes = nullptr;
  std::string graph_path;
  openeo::RunOptions options;
  bool progress = false;
  std::vector<std::string> params;
  std::string token_file;
};

OpenEoCommands& commands() {
  static OpenEoCommands c;
  return c;
}

nlohmann::json read_json(const std::string& path) {
  // read_process_graph validates the structure and names the file in errors; keep the raw document.
  openeo::read_process_graph(path);
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

std::string join_shape(const openeo::RunResult& r) {
  std::string dims, shape;
  for (std::size_t i = 0; i < r.dims.size(); ++i) {
    dims += (i ? ", " : "") + r.dims[i];
    shape += (i ? ", " : "") + std::to_string(r.shape[i]);
  }
  return fmt::format("({}) = ({})", dims, shape);
}

// "tcp://HOST:PORT" with a numeric port, what `cubist scheduler` listens on.
bool valid_scheduler_address(const std::string& a) {
  const std::string scheme = "tcp://";
  const auto colon = a.rfind(':');
  if (a.rfind(scheme, 0) != 0 || colon == std::string::npos || colon <= scheme.size() || colon + 1 == a.size()) return false;
  const std::string port = a.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  return std::stoi(port) > 0 && std::stoi(port) < 65536;
}

}  // namespace

void add_openeo_commands(CLI::App& app) {
  auto& c = commands();
  c.run = app.add_subcommand("run", "run an openEO process graph (JSON) and write its result (ZARR, netCDF or GTiff, as save_result says) to --output");
  c.run->add_option("graph", c.graph_path, "the process graph: {\"process_graph\": {...}} or a bare graph")->required();
  c.run->add_option("--output,-o", c.options.output, "where save_result writes (a Zarr store, .nc or .tif file; replaced when it exists)")->required();
  auto* workers = c.run->add_option("--workers", c.options.workers, "worker threads (0: one per core)")->check(CLI::NonNegativeNumber);
  c.run->add_option("--scheduler", c.options.scheduler,
                    "tcp://HOST:PORT of `cubist scheduler`: compute on that cluster (a ZARR output is written by the workers, which must see --output's file system; GTiff/netCDF are gathered and written here)")
      ->excludes(workers);
  c.run->add_option("--token-file", c.token_file, "the cluster's token (default: $CUBIST_TOKEN, else the file `cubist scheduler` wrote)");
  c.run->add_option("--stac-url", c.options.stac_url, "the STAC API load_collection reads (default: $CUBIST_STAC_URL)");
  c.run->add_flag("--progress", c.progress, "a progress bar while writing");
  c.run->add_option("--param", c.params, "NAME=VALUE for a parameter the graph declares (VALUE: JSON, else a string)");
  c.validate = app.add_subcommand("validate", "check an openEO process graph without running it");
  c.validate->add_option("graph", c.graph_path, "the process graph (JSON)")->required();
  c.processes = app.add_subcommand("processes", "the supported openEO processes with their metadata (GET /processes JSON)");
}

int run_openeo_commands() {
  auto& c = commands();
  if (c.processes && *c.processes) {
    std::cout << openeo::processes_document().dump(2) << '\n';
    return 0;
  }
  if (c.validate && *c.validate) {
    auto graph = openeo::read_process_graph(c.graph_path);
    try {
      openeo::validate(*graph, openeo::parameter_names(openeo::graph_parameters(read_json(c.graph_path))));
    } catch (const ValueError& e) {
      throw ValueError(fmt::format("{}: {}", c.graph_path, e.what()));
    }
    std::printf("%s: valid (%zu nodes)\n", c.graph_path.c_str(), graph->nodes.size());
    return 0;
  }
  if (c.run && *c.run) {
    c.options.progress = c.progress;
    if (!c.options.scheduler.empty() && !valid_scheduler_address(c.options.scheduler))
      throw ValueError(fmt::format("--scheduler '{}': expected tcp://HOST:PORT", c.options.scheduler));
    if (!c.token_file.empty()) {
      if (c.options.scheduler.empty()) throw ValueError("--token-file is for a cluster: give --scheduler too");
      c.options.token = runtime::distributed::read_token_file(c.token_file);
    }
    for (const auto& p : c.params) {
      const auto eq = p.find('=');
      if (eq == std::string::npos || eq == 0) throw ValueError(fmt::format("--param '{}': expected NAME=VALUE", p));
      const std::string value = p.substr(eq + 1);
      nlohmann::json v = nlohmann::json::parse(value, nullptr, false);
      c.options.arguments[p.substr(0, eq)] = v.is_discarded() ? nlohmann::json(value) : v;
    }
    openeo::RunResult r;
    try {
      r = openeo::run_process_graph(read_json(c.graph_path), c.options);
    } catch (const Error& e) {
      throw ValueError(fmt::format("{}: {}", c.graph_path, e.what()));
    }
    std::printf("%s: wrote %s %s to %s\n", c.graph_path.c_str(), r.format.c_str(), join_shape(r).c_str(),
                c.options.output.c_str());
    return 0;
  }
  return -1;
}

}  // namespace cubist::cli
