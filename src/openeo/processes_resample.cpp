// resample_spatial: a cube straight from load_stac / load_collection is stacked again from its
// items on the new grid (target EPSG and/or resolution, GDAL resampling), so every asset is
// warped once, as stackstac does with epsg= / resolution=. Other cubes are refused.
#include <fmt/format.h>

#include <cmath>
#include <map>

#include "cubist/error.hpp"
#include "cubist/geo.hpp"
#include "openeo/filters.hpp"
#include "openeo/provenance.hpp"
#include "openeo/registry.hpp"

namespace cubist::openeo {
namespace {

const std::map<std::string, Resampling>& methods() {
  static const std::map<std::string, Resampling> m = {
      {"near", Resampling::Nearest}, {"bilinear", Resampling::Bilinear}, {"cubic", Resampling::Cubic},
      {"cubicspline", Resampling::CubicSpline}, {"lanczos", Resampling::Lanczos}, {"average", Resampling::Average},
      {"mode", Resampling::Mode}, {"min", Resampling::Min}, {"max", Resampling::Max}, {"med", Resampling::Median}};
  return m;
}

nlohmann::json method_names() {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& [k, v] : methods()) a.push_back(k);
  return a;
}

const ProcessRegistration resample_spatial_reg{ProcessDef{
    "resample_spatial", "Resample and warp the spatial dimensions", "", {"cubes", "reproject"},
    {{"data", "A raster data cube straight from load_stac or load_collection.", schema::cube(), false, nullptr},
     {"resolution", "The new pixel size in units of the target CRS (0: keep the finest of the assets).",
      {{{"type", "number"}, {"minimum", 0}}, {{"type", "array"}, {"minItems", 2}, {"maxItems", 2}, {"items", {{"type", "number"}}}}},
      true, 0},
     {"projection", "The target CRS as an EPSG code or \"EPSG:<code>\" (null: keep).", {{"type", {"integer", "string", "null"}}}, true, nullptr},
     {"method", "Resampling method.", {{"type", "string"}, {"enum", method_names()}}, true, "near"},
     {"align", "Only upper-left alignment (stack()'s grid snapping) is supported.", {{"type", "string"}, {"enum", {"upper-left"}}}, true, "upper-left"}},
    {{"description", "A raster data cube with values warped onto the new projection and resolution."}, {"schema", schema::cube()}},
    [](Args& a) -> Value {
      const DataArray cube = a.cube("data");
      const LoadProvenance* from = load_provenance(cube);
      if (!from)
        a.fail("data", "resample_spatial needs a cube straight from load_stac or load_collection (the assets are read "
                       "again on the new grid); call it right after loading");
      StackOptions so = from->options;
      const Value& res = a.get("resolution");
      double resolution = 0;
      if (res.kind == Value::Kind::Number) resolution = res.scalar.get<double>();
      else if (res.kind == Value::Kind::List && res.items.size() == 2 && res.items[0].kind == Value::Kind::Number) {
        resolution = res.items[0].scalar.get<double>();
        if (res.items[1].kind != Value::Kind::Number || res.items[1].scalar.get<double>() != resolution)
          a.fail("resolution", "different x and y resolutions are not supported");
      }
      if (resolution < 0) a.fail("resolution", "must not be negative");
      if (resolution > 0) so.resolution = resolution;
      const Value& proj = a.get("projection");
      if (proj.kind == Value::Kind::Number) {
        so.epsg = static_cast<int>(proj.scalar.get<double>());
      } else if (proj.kind == Value::Kind::String) {
        try {
          auto epsg = Crs::from_user_input(proj.scalar.get<std::string>()).to_epsg();
          if (!epsg) a.fail("projection", "only CRSs with an EPSG code are supported");
          so.epsg = *epsg;
        } catch (const NodeError&) {
          throw;
        } catch (const Error& e) {
          a.fail("projection", e.what());
        }
      }
      // A new CRS without a resolution keeps the pixel size, when both CRSs use the same units.
      if (so.epsg && !so.resolution && cube.size("x") > 1) {
        const auto source = crs_of(cube);
        if (source && source->is_geographic() != Crs::epsg(*so.epsg).is_geographic())
          a.fail("resolution", "give the resolution in the units of the target CRS (they differ from the data's)");
        const Coordinate& x = cube.coords().at("x");
        so.resolution = std::abs(x.numeric_value(1) - x.numeric_value(0));
      }
      so.resampling = methods().at(a.string("method"));
      DataArray out;
      try {
        out = stack(from->items, so);
        if (from->bbox) out = select_bounds(out, bounds_in_cube_crs(out, from->bbox->first, from->bbox->second));
      } catch (const Error& e) {
        a.fail("data", e.what());
      }
      remember_load(out, LoadProvenance{from->items, so, from->bbox});
      return Value::of_cube(out);
    }}};

}  // namespace
}  // namespace cubist::openeo
