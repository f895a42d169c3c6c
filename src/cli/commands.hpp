#pragma once
#include <cstdint>
#include <string>

namespace CLI { class App; }

namespace cubist::cli {

// `cubist demo`: the seed workflow (STAC search -> stack -> NDVI -> clip -> daily max -> Zarr)
// against a STAC API and COGs that cubist generates and serves itself on 127.0.0.1.
struct DemoOptions {
  std::string size = "small";        // small | medium | full
  std::string workdir = "cubist-demo";
  std::string output;                // default: <workdir>/ndvi.zarr
  std::string catchment;             // default: data/catchment_outline.geojson of the source tree
  unsigned workers = 0;              // 0: one per core
  std::string graph_path;            // also draw the composite's task graph
  bool no_progress = false;
  bool serve = false;                // only serve the STAC API and COGs until interrupted
};
int run_demo(const DemoOptions& options);
int run_info(const std::string& path);
// `cubist run`, `validate`, `processes` (openEO process graphs, run.cpp): registered on the app;
// run_openeo_commands runs the one given, or returns -1 when none was.
void add_openeo_commands(CLI::App& app);
int run_openeo_commands();
// `cubist scheduler`, `cubist worker` (cluster.cpp): registered on the app; run_cluster_commands
// runs the one given, or returns -1 when none was.
void add_cluster_commands(CLI::App& app);
int run_cluster_commands();

}  // namespace cubist::cli
