#include "openeo/run.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "cubist/dataset.hpp"
#include "cubist/error.hpp"
#include "cubist/io.hpp"
#include "openeo/evaluator.hpp"
#include "openeo/gtiff.hpp"
#include "openeo/netcdf.hpp"
#include "openeo/temporal_extent.hpp"

namespace cubist::openeo {
namespace {

namespace fs = std::filesystem;

bool serialisable(const nlohmann::json& v) {
  if (v.is_number() || v.is_string() || v.is_boolean()) return true;
  if (!v.is_array()) return false;
  return std::all_of(v.begin(), v.end(), [](const auto& e) { return e.is_number() || e.is_string() || e.is_boolean(); });
}

struct Outcome {
  DataArray cube;
  RunContext::Save save;
  bool from_save = false;
};

Outcome evaluate(const nlohmann::json& doc, const RunOptions& options) {
  RunContext context;
  context.stac_url = options.stac_url;
  const Value result = evaluate_graph(doc, context, options.arguments);
  if (context.saves.size() > 1)
    throw ValueError(fmt::format("nodes '{}' and '{}' both call save_result; one output per run is supported",
                                 context.saves[0].node, context.saves[1].node));
  Outcome o;
  if (context.saves.size() == 1) {
    o.save = context.saves.front();
    o.cube = without_extent(o.save.data);  // bookkeeping of the run, not data to write
    o.from_save = true;
    return o;
  }
  if (!result.is_array_like())
    throw ValueError(fmt::format("the graph returns {} and has no save_result: nothing to write", result.describe()));
  o.cube = without_extent(result.cube);
  o.save.format = "ZARR";
  return o;
}

// The run's threads, progress bar and (when given) cluster, as the array API takes them.
ComputeOptions compute_options(const RunOptions& options) {
  ComputeOptions c;
  c.num_threads = options.workers;
  c.progress = options.progress;
  c.scheduler = options.scheduler;
  c.token = options.token;
  return c;
}

}  // namespace

DataArray graph_result(const nlohmann::json& doc, const RunOptions& options) { return evaluate(doc, options).cube; }

void write_zarr(const DataArray& cube, const std::string& path, const RunOptions& options) {
  Attrs kept = Attrs::object();
  for (const auto& [k, v] : cube.attrs().items())
    if (serialisable(v)) kept[k] = v;
  const DataArray data = DataArray::from_layer(cube.chunk("auto").layer(), cube.dims(), cube.coords(), kept, cube.name());
  // String coordinates (band names, aggregate_temporal_period's `period` labels) are written as
  // xarray writes them ('<U n').
  Dataset ds({{"data", data}});
  ToZarrOptions zo;
  zo.mode = "w";
  zo.compute = compute_options(options);
  to_zarr(ds, path, zo);
}

RunResult run_process_graph(const nlohmann::json& doc, const RunOptions& options) {
  if (options.output.empty()) throw ValueError("no output path given (--output)");
  const Outcome o = evaluate(doc, options);
  const fs::path out(options.output);
  const fs::path tmp = out.parent_path() / fmt::format(".{}.partial-{}", out.filename().string(), ::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  try {
    // GTiff and netCDF are written by this process's own writers (chunk_sink.hpp registers them
    // in-process, out of any worker's reach): on a cluster the cube is computed there, its chunks
    // gathered here (the whole result in this process's memory) and the file written from them.
    ComputeOptions compute = compute_options(options);
    compute.scheduler.clear();
    DataArray cube = o.cube;
    if (!options.scheduler.empty() && o.save.format != "ZARR") {
      cube = o.cube.persist(compute_options(options));
      compute.progress = false;
    }
    if (o.save.format == "GTIFF") {
      write_gtiff(cube, tmp.string(), compute);
    } else if (o.save.format == "NETCDF") {
      write_netcdf(cube, tmp.string(), compute);
    } else {
      write_zarr(o.cube, tmp.string(), options);
    }
    if (fs::exists(out)) fs::remove_all(out);
    fs::rename(tmp, out);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  RunResult r;
  r.format = o.save.format;
  r.node = o.from_save ? o.save.node : "";
  r.shape = o.cube.shape();
  r.dims = o.cube.dims();
  r.tasks = o.cube.num_tasks();
  return r;
}

}  // namespace cubist::openeo
