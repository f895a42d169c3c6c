// resample_spatial and resample_cube_spatial. Any cube is warped lazily by cubist::reproject
// (rioxarray's rio.reproject: each output chunk reads only the input chunks its footprint needs).
// A cube straight from load_stac / load_collection is instead stacked again from its items on the
// new grid when stack() can express the request (EPSG target, square pixels, upper-left alignment,
// a method stack() knows): every asset is then resampled once, from its own pixels, as stackstac
// does with epsg= / resolution=, instead of read onto the load grid and resampled a second time.
#include <fmt/format.h>

#include <cmath>
#include <map>

#include "cubist/error.hpp"
#include "cubist/geo.hpp"
#include "openeo/filters.hpp"
#include "openeo/provenance.hpp"
#include "openeo/resample.hpp"
#include "openeo/temporal_extent.hpp"
#include "openeo/registry.hpp"

namespace cubist::openeo {
namespace {

// openEO's method names -> rasterio's (cubist::reproject's).
const std::map<std::string, std::string>& methods() {
  static const std::map<std::string, std::string> m = {
      {"near", "nearest"}, {"bilinear", "bilinear"}, {"cubic", "cubic"}, {"cubicspline", "cubic_spline"},
      {"lanczos", "lanczos"}, {"average", "average"}, {"mode", "mode"}, {"min", "min"}, {"max", "max"},
      {"med", "med"}, {"q1", "q1"}, {"q3", "q3"}, {"sum", "sum"}, {"rms", "rms"}};
  return m;
}

// The methods stack() can read with (the re-stack path).
std::optional<Resampling> stack_method(const std::string& openeo_name) {
  static const std::map<std::string, Resampling> m = {
      {"near", Resampling::Nearest}, {"bilinear", Resampling::Bilinear}, {"cubic", Resampling::Cubic},
      {"cubicspline", Resampling::CubicSpline}, {"lanczos", Resampling::Lanczos}, {"average", Resampling::Average},
      {"mode", Resampling::Mode}, {"min", Resampling::Min}, {"max", Resampling::Max}, {"med", Resampling::Median}};
  auto it = m.find(openeo_name);
  return it == m.end() ? std::nullopt : std::optional<Resampling>(it->second);
}

nlohmann::json method_names() {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& [k, v] : methods()) a.push_back(k);
  return a;
}

struct Target {
  std::optional<Crs> crs;                          // null: keep the cube's
  std::optional<std::array<double, 2>> resolution;  // (x, y); null: keep / GDAL's suggestion
  std::string method = "near";
  std::string align = "upper-left";
};

Target parse_target(Args& a) {
  Target t;
  const Value& res = a.get("resolution");
  if (res.kind == Value::Kind::Number) {
    const double r = res.scalar.get<double>();
    if (r < 0) a.fail("resolution", "must not be negative");
    if (r > 0) t.resolution = std::array<double, 2>{r, r};
  } else if (res.kind == Value::Kind::List) {
    if (res.items.size() != 2 || res.items[0].kind != Value::Kind::Number || res.items[1].kind != Value::Kind::Number)
      a.fail("resolution", "must be a number or two numbers [x, y]");
    const double rx = res.items[0].scalar.get<double>(), ry = res.items[1].scalar.get<double>();
    if (rx < 0 || ry < 0) a.fail("resolution", "must not be negative");
    if ((rx == 0) != (ry == 0)) a.fail("resolution", "give both x and y resolutions, or 0 for both");
    if (rx > 0) t.resolution = std::array<double, 2>{rx, ry};
  }
  const Value& proj = a.get("projection");
  try {
    if (proj.kind == Value::Kind::Number) t.crs = Crs::epsg(static_cast<int>(proj.scalar.get<double>()));
    else if (proj.kind == Value::Kind::String) t.crs = Crs::from_user_input(proj.scalar.get<std::string>());
  } catch (const NodeError&) {
    throw;
  } catch (const Error& e) {
    a.fail("projection", e.what());
  }
  t.method = a.string("method");
  t.align = a.string("align");
  return t;
}

// The output grid for a corner other than upper-left: the size rasterio's resolution rule gives,
// anchored at that corner of the extent GDAL suggests for the target CRS.
GridSpec aligned_grid(const DataArray& cube, const Crs& src, const Crs& dst, const std::array<double, 2>& res,
                      const std::string& align) {
  const Affine st = transform_of(cube);
  const std::int64_t w = cube.size("x"), h = cube.size("y");
  const double x0 = st.c, x1 = st.c + st.a * static_cast<double>(w), y0 = st.f, y1 = st.f + st.e * static_cast<double>(h);
  const Bounds b{std::min(x0, x1), std::min(y0, y1), std::max(x0, x1), std::max(y0, y1)};
  const GridSpec full = calculate_default_transform(src, dst, w, h, b);
  GridSpec g = calculate_default_transform(src, dst, w, h, b, res);  // upper-left anchored
  const double left = full.transform.c, top = full.transform.f;
  const double right = left + full.transform.a * static_cast<double>(full.width);
  const double bottom = top + full.transform.e * static_cast<double>(full.height);
  if (align == "upper-right" || align == "lower-right") g.transform.c = right - res[0] * static_cast<double>(g.width);
  if (align == "lower-left" || align == "lower-right") g.transform.f = bottom + res[1] * static_cast<double>(g.height);
  return g;
}

DataArray resample_by_reprojection(Args& a, const DataArray& cube, const Target& t) {
  try {
    const auto src = crs_of(cube);
    if (!src) a.fail("data", "the cube has no CRS to resample from");
    const Crs dst = t.crs ? *t.crs : *src;
    ReprojectOptions o;
    o.resampling = methods().at(t.method);
    if (t.resolution) {
      if (t.align == "upper-left") {
        o.resolution = t.resolution;
      } else {
        GridSpec g = aligned_grid(cube, *src, dst, *t.resolution, t.align);
        o.transform = g.transform;
        o.shape = std::array<std::int64_t, 2>{g.height, g.width};
      }
    }
    return reproject(cube, dst, o);
  } catch (const NodeError&) {
    throw;
  } catch (const Error& e) {
    a.fail("data", e.what());
  }
}

// The load path: stack() again on the new grid. Nullopt when stack() cannot express the request.
std::optional<DataArray> restack(Args& a, const DataArray& cube, const LoadProvenance& from, const Target& t) {
  const auto method = stack_method(t.method);
  if (!method || t.align != "upper-left") return std::nullopt;
  if (t.resolution && (*t.resolution)[0] != (*t.resolution)[1]) return std::nullopt;
  StackOptions so = from.options;
  if (t.crs) {
    const auto epsg = t.crs->to_epsg();
    if (!epsg) return std::nullopt;
    so.epsg = *epsg;
  }
  if (t.resolution) {
    so.resolution = (*t.resolution)[0];
  } else if (t.crs && cube.size("x") > 1) {
    // stack() needs a resolution for a new CRS: keep the pixel size when both CRSs share units,
    // else let reproject() find GDAL's suggestion.
    const auto source = crs_of(cube);
    if (!source || source->is_geographic() != t.crs->is_geographic()) return std::nullopt;
    const Coordinate& x = cube.coords().at("x");
    so.resolution = std::abs(x.numeric_value(1) - x.numeric_value(0));
  }
  so.resampling = *method;
  DataArray out;
  try {
    out = with_band_metadata(stack(from.items, so), from.items);
    if (from.bbox) out = select_bounds(out, bounds_in_cube_crs(out, from.bbox->first, from.bbox->second));
    if (cube.coords().contains("time")) out = restrict_temporal_extent(out, "time", temporal_extent(cube, "time"));
  } catch (const Error& e) {
    a.fail("data", e.what());
  }
  remember_load(out, LoadProvenance{from.items, so, from.bbox});
  return out;
}

nlohmann::json method_parameter_schema() { return {{"type", "string"}, {"enum", method_names()}}; }

const ProcessRegistration resample_spatial_reg{ProcessDef{
    "resample_spatial", "Resample and warp the spatial dimensions",
    "Warps the cube onto a new CRS and/or resolution with GDAL's resampling (rioxarray's rio.reproject; "
    "lazily, chunk by chunk). A cube straight from a load process is read again from its items on the "
    "new grid instead, so every asset is resampled once.",
    {"cubes", "reproject"},
    {{"data", "A raster data cube.", schema::cube(), false, nullptr},
     {"resolution", "The new pixel size in units of the target CRS: one number, or [x, y] (0: keep it, or GDAL's "
                    "suggestion when the CRS changes).",
      {{{"type", "number"}, {"minimum", 0}}, {{"type", "array"}, {"minItems", 2}, {"maxItems", 2}, {"items", {{"type", "number"}, {"minimum", 0}}}}},
      true, 0},
     {"projection", "The target CRS as an EPSG code, \"EPSG:<code>\", WKT or PROJJSON (null: keep the cube's).",
      {{"type", {"integer", "string", "null"}}}, true, nullptr},
     {"method", "Resampling method (GDAL's).", method_parameter_schema(), true, "near"},
     {"align", "The corner of the extent the new grid is aligned to.",
      {{"type", "string"}, {"enum", {"lower-left", "upper-left", "lower-right", "upper-right"}}}, true, "upper-left"}},
    {{"description", "A raster data cube with values warped onto the new projection and resolution."}, {"schema", schema::cube()}},
    [](Args& a) -> Value {
      const DataArray cube = a.cube("data");
      const Target t = parse_target(a);
      if (!t.crs && !t.resolution) return Value::of_cube(cube);  // nothing to change
      if (const LoadProvenance* from = load_provenance(cube))
        if (auto out = restack(a, cube, *from, t)) return Value::of_cube(*out);
      return Value::of_cube(resample_by_reprojection(a, cube, t));
    }}};

const ProcessRegistration resample_cube_spatial_reg{ProcessDef{
    "resample_cube_spatial", "Resample the spatial dimensions to match a target data cube",
    "Warps the cube onto the target cube's CRS and pixel grid (rioxarray's rio.reproject_match): the result "
    "has the target's x and y coordinates.",
    {"cubes", "reproject"},
    {{"data", "A raster data cube.", schema::cube(), false, nullptr},
     {"target", "A raster data cube that describes the spatial target resolution.", schema::cube(), false, nullptr},
     {"method", "Resampling method (GDAL's).", method_parameter_schema(), true, "near"}},
    {{"description", "A raster data cube with the same dimensions as `data`, on the target's spatial grid."},
     {"schema", schema::cube()}},
    [](Args& a) -> Value {
      const DataArray cube = a.cube("data"), target = a.cube("target");
      try {
        return Value::of_cube(resample_onto(cube, target, a.string("method")));
      } catch (const NodeError&) {
        throw;
      } catch (const Error& e) {
        a.fail(std::string(e.what()).starts_with("the target") ? "target" : "data", e.what());
      }
    }}};

}  // namespace

DataArray resample_onto(const DataArray& cube, const DataArray& target, const std::string& method) {
  const auto crs = crs_of(target);
  if (!crs) throw ValueError("the target cube has no CRS");
  if (!target.has_dim("y") || !target.has_dim("x")) throw ValueError("the target cube has no 'y' and 'x' dimensions");
  ReprojectOptions o;
  o.resampling = methods().at(method);
  o.transform = transform_of(target);
  o.shape = std::array<std::int64_t, 2>{target.size("y"), target.size("x")};
  const DataArray out = reproject(cube, *crs, o);
  // As reproject_match: the target's coordinates themselves, not recomputed from its transform.
  return out.assign_coords("x", target.coords().at("x")).assign_coords("y", target.coords().at("y"));
}

}  // namespace cubist::openeo
