// Running a process graph end to end: parse, validate, evaluate (lazily), then write the result
// of save_result (or of the result node) to the output path. The store is written under a
// temporary name next to the output and renamed into place only when complete, so a failure
// never leaves partial output.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "cubist/data_array.hpp"

namespace cubist::openeo {

struct RunOptions {
  std::string output;    // the file or store to write
  std::string stac_url;  // load_collection's STAC API ("" -> CUBIST_STAC_URL)
  unsigned workers = 0;  // 0: the shared pool
  // "tcp://host:port" of `cubist scheduler`: computed on that cluster. A Zarr output is written by
  // the workers (they must see its file system); GTiff and netCDF are gathered here and written
  // by this process.
  std::string scheduler;
  std::string token;  // the cluster's token ("" -> $CUBIST_TOKEN, else the default token file)
  bool progress = false;
  std::map<std::string, nlohmann::json> arguments;  // values of the graph's declared parameters
};

struct RunResult {
  std::string format;   // "ZARR", "NETCDF" or "GTIFF"
  std::string node;     // the save_result node ("" when the result node's cube was written)
  Shape shape;
  std::vector<std::string> dims;
  std::size_t tasks = 0;
};

// The cube a graph produces (what save_result would write), lazily, without writing it.
DataArray graph_result(const nlohmann::json& doc, const RunOptions& options);
RunResult run_process_graph(const nlohmann::json& doc, const RunOptions& options);

// The data variable as cubist writes it: rechunked "auto", without string coordinates and
// attributes Zarr cannot hold (the same rules as the C++ seed pipeline), named "data".
void write_zarr(const DataArray& cube, const std::string& path, const RunOptions& options);

}  // namespace cubist::openeo
