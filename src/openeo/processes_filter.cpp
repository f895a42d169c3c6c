// Spatial and temporal filters: filter_temporal, filter_bbox, filter_spatial, mask_polygon.
// Selections are lazy isel slices on the cube; polygons go through cubist::clip (rioxarray's rules).
#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "cubist/datetime.hpp"
#include "cubist/error.hpp"
#include "cubist/geo.hpp"
#include "openeo/cube.hpp"
#include "openeo/filters.hpp"
#include "openeo/registry.hpp"
#include "openeo/temporal_extent.hpp"

namespace cubist::openeo {

DataArray select_time(const DataArray& cube, const std::string& dim, std::optional<std::int64_t> start,
                      std::optional<std::int64_t> end) {
  const Coordinate& t = cube.coords().at(dim);
  if (t.dtype() != DType::DateTime64 || t.is_string())
    throw TypeError(fmt::format("the labels of '{}' are not datetimes", dim));
  const auto values = t.values().values<std::int64_t>();
  std::vector<std::int64_t> index;
  for (std::size_t i = 0; i < values.size(); ++i)
    if ((!start || values[i] >= *start) && (!end || values[i] < *end)) index.push_back(static_cast<std::int64_t>(i));
  if (index.empty())
    throw ValueError(fmt::format("no time step of the data cube lies within the temporal extent (dimension '{}')", dim));
  const bool contiguous = index.back() - index.front() + 1 == static_cast<std::int64_t>(index.size());
  if (contiguous) return cube.isel({{dim, Slice{index.front(), index.back() + 1}}});
  return cube.isel({{dim, index}});
}

DataArray select_bounds(const DataArray& cube, const Bounds& b) {
  DataArray out = cube;
  for (const auto& [dim, lo, hi] : {std::tuple{"x", b.minx, b.maxx}, std::tuple{"y", b.miny, b.maxy}}) {
    const Coordinate& c = cube.coords().at(dim);
    std::int64_t first = -1, last = -1;
    for (std::int64_t i = 0; i < c.size(); ++i) {
      const double v = c.numeric_value(i);
      if (v >= lo && v <= hi) {
        if (first < 0) first = i;
        last = i;
      }
    }
    if (first < 0) throw ValueError(fmt::format("the bounding box covers no pixel centre along '{}'", dim));
    out = out.isel({{dim, Slice{first, last + 1}}});
  }
  return out;
}

Bounds bounds_in_cube_crs(const DataArray& cube, const Bounds& b, const Crs& crs) {
  const auto cube_crs = crs_of(cube);
  if (!cube_crs || cube_crs->equals(crs)) return b;
  return transform_bounds(b, crs, *cube_crs);
}

std::optional<std::int64_t> time_bound(const Value& v, const std::string& what) {
  if (v.is_null()) return std::nullopt;
  if (v.kind != Value::Kind::String) throw ValueError(fmt::format("the {} must be a date-time string or null", what));
  return parse_datetime(v.scalar.get<std::string>()).ns;
}

std::pair<Bounds, Crs> parse_bbox(const Value& extent) {
  Bounds b;
  double* fields[] = {&b.minx, &b.miny, &b.maxx, &b.maxy};
  const char* names[] = {"west", "south", "east", "north"};
  for (int i = 0; i < 4; ++i) {
    const Value* v = extent.member(names[i]);
    if (!v || v->kind != Value::Kind::Number) throw ValueError(fmt::format("'{}' is missing or not a number", names[i]));
    *fields[i] = v->scalar.get<double>();
  }
  Crs crs = Crs::epsg(4326);
  if (const Value* c = extent.member("crs"); c && !c->is_null()) {
    if (c->kind == Value::Kind::Number) crs = Crs::epsg(static_cast<int>(c->scalar.get<double>()));
    else if (c->kind == Value::Kind::String) crs = Crs::from_user_input(c->scalar.get<std::string>());
    else throw ValueError("'crs' must be an EPSG code or a WKT/PROJ string");
  }
  if (b.minx > b.maxx || b.miny > b.maxy) throw ValueError("west must not exceed east, nor south north");
  return {b, crs};
}

std::vector<Geometry> geometries_of(const Value& v, const std::string& where) {
  if (v.kind == Value::Kind::String) return read_geojson(v.scalar.get<std::string>());
  if (v.kind != Value::Kind::Object) throw ValueError(fmt::format("{}: expected GeoJSON, got {}", where, v.describe()));
  auto g = parse_geojson(v.to_json(), where);
  if (g.empty()) throw ValueError(fmt::format("{}: the GeoJSON holds no polygon", where));
  return g;
}

namespace {

Parameter cube_param() { return {"data", "A data cube.", schema::cube(), false, nullptr}; }
nlohmann::json cube_returns(const std::string& d) { return {{"description", d}, {"schema", schema::cube()}}; }
nlohmann::json geometries_schema() { return {schema::geojson(), {{"type", "string"}, {"description", "A GeoJSON file."}}}; }

template <class F> auto or_fail(Args& a, const std::string& arg, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error& e) {
    a.fail(arg, e.what());
  }
}

const ProcessRegistration filter_temporal_reg{ProcessDef{
    "filter_temporal", "Temporal filter based on temporal intervals", "", {"cubes", "filter"},
    {cube_param(), {"extent", "Left-closed interval [start, end): end is excluded; null for an open end.", schema::temporal_interval(), false, nullptr},
     {"dimension", "The temporal dimension to filter on (null: every temporal dimension).", {{"type", {"string", "null"}}}, true, nullptr}},
    cube_returns("A data cube restricted to the temporal extent."),
    [](Args& a) -> Value {
      DataArray cube = a.cube("data");
      // The dimensions to filter: the one named (openEO's `t` is cubist's `time`), which must exist
      // (DimensionNotAvailable) and hold datetimes, else every temporal dimension.
      std::vector<std::string> dims;
      if (a.given("dimension")) {
        std::string dim;
        try {
          dim = dimension_of(cube, a.string("dimension"));
        } catch (const DimensionError& e) {
          a.fail("dimension", e.what());
        }
        const auto temporal = temporal_dimensions(cube);
        if (std::find(temporal.begin(), temporal.end(), dim) == temporal.end())
          a.fail("dimension", fmt::format("dimension '{}' is not temporal (its labels are not datetimes)", dim));
        dims = {dim};
      } else {
        dims = temporal_dimensions(cube);
        if (dims.empty()) a.fail("data", "the data cube has no temporal dimension (no dimension labelled by datetimes)");
      }
      const auto& ext = a.get("extent").items;
      if (ext.size() != 2) a.fail("extent", "expected [start, end]");
      const auto start = or_fail(a, "extent", [&] { return time_bound(ext[0], "start"); });
      const auto end = or_fail(a, "extent", [&] { return time_bound(ext[1], "end"); });
      if (!start && !end) a.fail("extent", "both ends are null");
      if (start && end && *end <= *start) a.fail("extent", "the end is not after the start");
      for (const auto& dim : dims) {
        cube = or_fail(a, "extent", [&] { return select_time(cube, dim, start, end); });
        cube = restrict_temporal_extent(cube, dim, {start, end});
      }
      return Value::of_cube(cube);
    }}};

const ProcessRegistration filter_bbox_reg{ProcessDef{
    "filter_bbox", "Spatial filter using a bounding box", "", {"cubes", "filter"},
    {cube_param(), {"extent", "A bounding box (crs: EPSG code or WKT, default 4326).", schema::bbox(), false, nullptr}},
    cube_returns("A data cube restricted to the pixels whose centres lie in the bounding box."),
    [](Args& a) -> Value {
      const DataArray cube = a.cube("data");
      return Value::of_cube(or_fail(a, "extent", [&] {
        auto [b, crs] = parse_bbox(a.get("extent"));
        return select_bounds(cube, bounds_in_cube_crs(cube, b, crs));
      }));
    }}};

const ProcessRegistration filter_spatial_reg{ProcessDef{
    "filter_spatial", "Spatial filter using geometries", "", {"cubes", "filter"},
    {cube_param(), {"geometries", "GeoJSON polygons (CRS84), or a GeoJSON file.", geometries_schema(), false, nullptr}},
    cube_returns("The data cube cropped to the geometries' pixels, no-data outside them."),
    [](Args& a) -> Value {
      const DataArray cube = a.cube("data");
      auto geoms = or_fail(a, "geometries", [&] { return geometries_of(a.get("geometries"), "geometries"); });
      return Value::of_cube(or_fail(a, "geometries", [&] { return clip(cube, geoms); }));
    }}};

// 1 on the (y, x) pixels the polygons cover, NaN elsewhere, on the cube's grid and chunks: clip
// of a plane that is finite everywhere (isnull + 1 of the cube's first plane), so no-data in the
// cube does not count as outside.
DataArray polygon_footprint(const DataArray& cube, const std::vector<Geometry>& geoms, const ClipOptions& o) {
  Indexers first;
  for (const auto& d : cube.dims())
    if (d != "x" && d != "y") first.emplace_back(d, std::int64_t{0});
  const DataArray plane = cube.isel(first);
  Coords coords;
  for (const auto& [name, c] : plane.coords())
    if (!c.dims().empty() || name == "spatial_ref") coords.set(name, c);
  const DataArray finite = plane.isnull().astype(DType::Float64) + 1.0;
  const DataArray grid = DataArray::from_layer(finite.layer(), finite.dims(), coords, plane.attrs(), "");
  const DataArray clipped = clip(grid, geoms, o);
  return DataArray::from_layer(clipped.layer(), clipped.dims(), coords, Attrs::object(), "");
}

// Whether any polygon overlaps the box of the cube's pixel centres (only then can a centre lie
// inside one; a polygon reaching the box between centres is left to clip, which then fails).
bool polygons_reach_pixels(const DataArray& cube, const std::vector<Geometry>& geoms) {
  Bounds box{std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
             -std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  for (const char* dim : {"x", "y"}) {
    if (!cube.coords().contains(dim)) throw DimensionError(fmt::format("the data cube has no '{}' coordinate", dim));
    const Coordinate& c = cube.coords().at(dim);
    for (std::int64_t i = 0; i < c.size(); ++i) {
      const double v = c.numeric_value(i);
      double& lo = dim[0] == 'x' ? box.minx : box.miny;
      double& hi = dim[0] == 'x' ? box.maxx : box.maxy;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  const auto crs = crs_of(cube);
  if (!crs) throw ValueError("the data cube has no CRS to place the polygons in");
  return std::any_of(geoms.begin(), geoms.end(), [&](const Geometry& g) { return g.to_crs(*crs).intersects(box); });
}

const ProcessRegistration mask_polygon_reg{ProcessDef{
    "mask_polygon", "Apply a polygon mask", "", {"cubes", "masks"},
    {cube_param(), {"mask", "GeoJSON polygons (CRS84), or a GeoJSON file.", geometries_schema(), false, nullptr},
     {"replacement", "The value for masked pixels (null: no-data).", schema::number_or_null(), true, nullptr},
     {"inside", "Mask the pixels inside the polygons instead of those outside.", {{"type", "boolean"}}, true, false}},
    cube_returns("A masked data cube with the same dimensions and labels."),
    [](Args& a) -> Value {
      const DataArray cube = a.cube("data");
      const bool inside = a.boolean("inside");
      const bool replace = a.given("replacement");
      auto geoms = or_fail(a, "mask", [&] { return geometries_of(a.get("mask"), "mask"); });
      const double replacement = replace ? a.number("replacement") : std::numeric_limits<double>::quiet_NaN();
      // Polygons that miss the cube mask nothing (inside) or everything (outside); rioxarray's
      // clip would fail with "no data found in bounds". No-data stays untouched.
      if (!or_fail(a, "mask", [&] { return polygons_reach_pixels(cube, geoms); }))
        return Value::of_cube(inside ? cube : cube.where(cube.isnull(), replacement));
      ClipOptions o;
      o.drop = false;  // openEO keeps the extent; only the values outside become no-data
      // The default is exactly rioxarray's clip (what the C++ seed pipeline does).
      if (!inside && !replace) return Value::of_cube(or_fail(a, "mask", [&] { return clip(cube, geoms, o); }));
      const DataArray footprint = or_fail(a, "mask", [&] { return polygon_footprint(cube, geoms, o); });
      const DataArray keep = inside ? footprint.isnull() : footprint.notnull();
      return Value::of_cube(cube.where(keep | cube.isnull(), replacement));
    }}};

}  // namespace
}  // namespace cubist::openeo
