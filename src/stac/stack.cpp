// stack(): STAC items -> a lazy (time, band, y, x) DataArray (stackstac.stack). The plan
// (grid, cells) comes from stack_plan.cpp; here the Source layer of "stac_read" tasks and the
// labels: time, band, pixel-centre x/y, per-item coordinates, epsg and spatial_ref.
#include <cmath>
#include <fmt/format.h>
#include <map>

#include "cubist/error.hpp"
#include "cubist/stac.hpp"
#include "graph/layer.hpp"
#include "stac/stack_plan.hpp"

namespace cubist {
namespace {

using nlohmann::json;

// Per-item coordinates along time, as stackstac makes them from the items' properties: every
// property that is a number in all items (float64, or int64 when all are integers), a string in
// all items, or a bool in all items. `datetime` is the time coordinate itself.
void add_property_coords(const std::vector<const Item*>& items, Coords& coords) {
  std::vector<std::string> ids;
  for (const Item* it : items) ids.push_back(it->id);
  coords.set("id", Coordinate::strings("time", ids));
  std::map<std::string, int> seen;  // property -> number of items that have it as a scalar
  for (const Item* it : items)
    for (const auto& [k, v] : it->properties.items())
      if (v.is_primitive() && !v.is_null()) ++seen[k];
  const auto n = static_cast<std::int64_t>(items.size());
  for (const auto& [key, count] : seen) {
    if (count != static_cast<int>(n) || key == "datetime" || key == "id" || key == "band" || key == "time") continue;
    const json& first = items[0]->properties[key];
    bool all_int = true, same_kind = true;
    for (const Item* it : items) {
      const json& v = it->properties[key];
      same_kind = same_kind && ((first.is_number() && v.is_number()) || (first.is_string() && v.is_string()) ||
                                (first.is_boolean() && v.is_boolean()));
      all_int = all_int && v.is_number_integer();
    }
    if (!same_kind) continue;
    if (first.is_string()) {
      std::vector<std::string> s;
      for (const Item* it : items) s.push_back(it->properties[key].get<std::string>());
      coords.set(key, Coordinate::strings("time", std::move(s)));
    } else if (first.is_boolean()) {
      Chunk c = Chunk::allocate(DType::Bool, {n});
      auto v = c.mutable_values<bool>();
      for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = items[static_cast<std::size_t>(i)]->properties[key].get<bool>();
      coords.set(key, Coordinate({"time"}, std::move(c)));
    } else if (all_int) {
      std::vector<std::int64_t> v;
      for (const Item* it : items) v.push_back(it->properties[key].get<std::int64_t>());
      coords.set(key, Coordinate::from_vector("time", v));
    } else {
      std::vector<double> v;
      for (const Item* it : items) v.push_back(it->properties[key].get<double>());
      coords.set(key, Coordinate::from_vector("time", v));
    }
  }
}

ChunkGrid chunk_grid(const Shape& shape, const std::vector<std::int64_t>& chunksize) {
  Shape chunk(4);
  for (std::size_t i = 0; i < 4; ++i) chunk[i] = chunksize[i] == -1 ? shape[i] : std::min(chunksize[i], shape[i]);
  return ChunkGrid::regular(shape, chunk);
}

}  // namespace

DataArray stack(const ItemCollection& items, const StackOptions& options) {
  stac::StackPlan plan = stac::plan_stack(items, options);
  const Shape shape{plan.read.times, plan.read.bands, plan.height, plan.width};

  graph::LayerSpec spec;
  spec.label = "stack";
  spec.op = "stac_read";
  spec.kind = graph::LayerKind::Source;
  spec.params = plan.read.to_json();
  spec.grid = chunk_grid(shape, options.chunksize);
  spec.dtype = options.dtype;

  Coords coords;
  std::vector<std::int64_t> times;
  for (const Item* it : plan.items) times.push_back(it->datetime);
  coords.set("time", Coordinate::datetimes_ns("time", times));
  coords.set("band", Coordinate::strings("band", plan.bands));
  std::vector<double> xs(static_cast<std::size_t>(plan.width)), ys(static_cast<std::size_t>(plan.height));
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = plan.bounds.minx + (static_cast<double>(i) + 0.5) * plan.xres;
  for (std::size_t j = 0; j < ys.size(); ++j) ys[j] = plan.bounds.maxy - (static_cast<double>(j) + 0.5) * plan.yres;
  coords.set("x", Coordinate::from_vector("x", xs));
  coords.set("y", Coordinate::from_vector("y", ys));
  add_property_coords(plan.items, coords);
  Chunk epsg = Chunk::allocate(DType::Int64, {});
  epsg.mutable_values<std::int64_t>()[0] = plan.epsg;
  coords.set("epsg", Coordinate({}, std::move(epsg)));

  const Affine& t = plan.transform;
  Attrs attrs = {{"crs", fmt::format("epsg:{}", plan.epsg)},
                 {"transform", {t.a, t.b, t.c, t.d, t.e, t.f, 0.0, 0.0, 1.0}},
                 {"resolution", plan.xres == plan.yres ? json(plan.xres) : json::array({plan.xres, plan.yres})}};
  // Chunks no asset footprint reaches are the fill value: marked constant, they are neither read
  // nor computed downstream (an NDVI of two such chunks is constant too, and so on).
  const ChunkGrid grid = spec.grid;
  graph::LayerPtr layer = graph::make_layer(std::move(spec));
  if (auto unreached = stac::unreached_chunks(plan.read, grid); !unreached.empty())
    layer = graph::with_constant_chunks(*layer, {std::move(unreached), options.fill_value});
  DataArray da = DataArray::from_layer(std::move(layer), {"time", "band", "y", "x"}, std::move(coords),
                                       std::move(attrs), "stackstac");
  return write_crs(da, plan.crs);
}

}  // namespace cubist
