// The seed notebook's NDVI workflow on cubist's public API (what `cubist demo` runs against its
// own STAC server, and what examples/ndvi_pipeline.cpp shows a user).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include <cubist/cubist.hpp>
#include <cubist/geo.hpp>
#include <cubist/stac.hpp>

namespace cubist::cli {

struct NdviPipelineConfig {
  std::string stac_url;
  std::string catchment;  // GeoJSON polygon, CRS84
  std::string datetime = "2019-02-01/2019-03-28";
  int epsg = 32632;
  std::string output;     // the Zarr store (overwritten)
  std::string items_out;  // when set, the found items are saved there (GeoJSON)
  unsigned workers = 0;
  bool progress = true;
  std::string graph_path;
  // Called with each step's one-line description as the pipeline goes.
  std::function<void(const std::string& step, const std::string& text)> report;
};

struct NdviPipelineResult {
  std::size_t items = 0;
  Shape cube_shape, composite_shape;
  std::size_t cube_bytes = 0, composite_bytes = 0;
  std::size_t tasks = 0;
  double search_seconds = 0, build_seconds = 0, write_seconds = 0;
};

NdviPipelineResult run_ndvi_pipeline(const NdviPipelineConfig& config);

}  // namespace cubist::cli
