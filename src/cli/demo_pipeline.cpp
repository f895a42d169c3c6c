// The seed workflow, step by step, on the public API only (see demo_pipeline.hpp).
#include "cli/demo_pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <sstream>

#include "core/format.hpp"

namespace cubist::cli {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// xarray refuses attributes that are not numbers, strings or lists of them when writing Zarr; the
// seed notebook drops them before to_zarr. Keep the same rule so our output is what it writes.
bool serialisable(const nlohmann::json& v) {
  if (v.is_number() || v.is_string() || v.is_boolean()) return true;
  if (!v.is_array()) return false;
  for (const auto& e : v)
    if (!(e.is_number() || e.is_string() || e.is_boolean())) return false;
  return true;
}

DataArray without_unserialisable_attrs(const DataArray& a) {
  Attrs kept = Attrs::object();
  for (const auto& [k, v] : a.attrs().items())
    if (serialisable(v)) kept[k] = v;
  return DataArray::from_layer(a.layer(), a.dims(), a.coords(), kept, a.name());
}

std::string shape_text(const Shape& s) {
  std::string out = "(";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + ")";
}

}  // namespace

NdviPipelineResult run_ndvi_pipeline(const NdviPipelineConfig& c) {
  namespace cb = cubist;
  auto say = [&](const std::string& step, const std::string& text) {
    if (c.report) c.report(step, text);
  };
  NdviPipelineResult r;
  const cb::Crs utm = cb::Crs::epsg(c.epsg);

  // 1. STAC search: Sentinel-2 L2A over the catchment, in the date range, only the UTM zone we stack.
  auto t0 = std::chrono::steady_clock::now();
  const std::vector<cb::Geometry> catchment = cb::read_geojson(c.catchment);
  if (catchment.empty()) throw ValueError(fmt::format("{}: no polygon in the catchment GeoJSON", c.catchment));
  auto client = cb::StacClient::open(c.stac_url);
  cb::SearchParameters search;
  search.collections = {"sentinel-2-l2a"};
  search.set_intersects(catchment.front());
  search.datetime = c.datetime;
  search.query = {{"proj:epsg", {{"eq", c.epsg}}}};
  cb::ItemCollection items = client.search(search);
  r.search_seconds = seconds_since(t0);
  r.items = items.size();
  if (items.empty())
    throw ValueError(fmt::format("the STAC search at {} found no items (sentinel-2-l2a, {}, proj:epsg = {})",
                                 c.stac_url, c.datetime, c.epsg));
  if (!c.items_out.empty()) items.save(c.items_out);
  say("search", fmt::format("{} items (sentinel-2-l2a, intersects the catchment, {}, proj:epsg = {}) in {:.2f} s",
                            items.size(), c.datetime, c.epsg, r.search_seconds));

  // 2. A lazy (time, band, y, x) cube of the red and nir assets, chunked as the seed notebook.
  t0 = std::chrono::steady_clock::now();
  cb::StackOptions so;
  so.assets = {"red", "nir"};
  so.chunksize = {1, 2, 1024, 1024};
  cb::DataArray cube = cb::stack(items, so);
  r.cube_shape = cube.shape();
  r.cube_bytes = cube.nbytes();
  say("stack", fmt::format("(time, band, y, x) = {} {}, {} lazily", shape_text(cube.shape()), dtype_name(cube.dtype()),
                           core::format_bytes(static_cast<double>(cube.nbytes()))));

  // 3. NDVI, with the CRS and NaN nodata written as rioxarray does.
  cb::DataArray red = cube.sel({{"band", "red"}});
  cb::DataArray nir = cube.sel({{"band", "nir"}});
  cb::DataArray ndvi = (nir - red) / (nir + red);
  ndvi = cb::write_crs(ndvi, utm);
  ndvi = cb::set_nodata(ndvi, std::numeric_limits<double>::quiet_NaN());

  // 4. Clip to the catchment (reprojected to the cube's CRS), then the daily maximum composite.
  std::vector<cb::Geometry> aoi;
  for (const auto& g : catchment) aoi.push_back(g.to_crs(utm));
  cb::DataArray clipped = cb::clip(ndvi, aoi);
  cb::DataArray daily = clipped.groupby(cb::floor_time(clipped.coords().at("time"), "D")).max();

  // 5. Rechunk "auto", a Dataset named `data` without string coordinates or attributes Zarr
  //    cannot hold, written with mode "w".
  daily = without_unserialisable_attrs(daily.chunk("auto"));
  cb::Dataset ds({{"data", daily}});
  std::vector<std::string> string_coords;
  for (const auto& [name, coord] : ds.coords())
    if (coord.is_string()) string_coords.push_back(name);
  for (const auto& [name, coord] : daily.coords())
    if (coord.is_string() && std::find(string_coords.begin(), string_coords.end(), name) == string_coords.end())
      string_coords.push_back(name);
  if (!string_coords.empty()) ds = ds.drop_vars(string_coords);
  r.composite_shape = daily.shape();
  r.composite_bytes = daily.nbytes();
  r.tasks = daily.num_tasks();
  r.build_seconds = seconds_since(t0);
  say("composite", fmt::format("daily max NDVI (time, y, x) = {} {}, {} tasks, built in {:.3f} s",
                               shape_text(daily.shape()), dtype_name(daily.dtype()), r.tasks, r.build_seconds));
  if (!c.graph_path.empty()) {
    daily.visualize(c.graph_path);
    say("graph", c.graph_path);
  }

  t0 = std::chrono::steady_clock::now();
  cb::ToZarrOptions zo;
  zo.mode = "w";
  zo.compute.num_threads = c.workers;
  zo.compute.progress = c.progress;
  cb::to_zarr(ds, c.output, zo);
  r.write_seconds = seconds_since(t0);
  return r;
}

}  // namespace cubist::cli
