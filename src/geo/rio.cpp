// rioxarray's CRS / transform / nodata conventions on DataArrays.
#include <fmt/format.h>

#include <cmath>

#include "cubist/error.hpp"
#include "cubist/geo.hpp"

namespace cubist {
namespace {

// Python's str(float): shortest round-trip digits, always with a '.0' or an exponent.
std::string python_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

const Coordinate* axis_coord(const DataArray& da, const char* dim) {
  if (!da.has_dim(dim) || !da.coords().contains(dim)) return nullptr;
  const Coordinate& c = da.coords().at(dim);
  if (c.dims().size() != 1 || c.is_string() || c.dtype() == DType::DateTime64) return nullptr;
  return &c;
}

std::string grid_mapping_name(const DataArray& da) {
  auto it = da.attrs().find("grid_mapping");
  return it != da.attrs().end() && it->is_string() ? it->get<std::string>() : "spatial_ref";
}

}  // namespace

Affine transform_of(const DataArray& da) {
  const Coordinate* x = axis_coord(da, "x");
  const Coordinate* y = axis_coord(da, "y");
  if (!x || !y) throw DimensionError("transform: the array needs 1-d numeric 'x' and 'y' coordinates");
  if (x->size() < 2 || y->size() < 2)
    throw ValueError(fmt::format("transform: cannot infer the resolution from 'x' ({} values) and 'y' ({} values); "
                                 "2 or more are needed along each",
                                 x->size(), y->size()));
  // As rioxarray: resolution from the end points, origin half a pixel before the first centre.
  const double x0 = x->numeric_value(0), y0 = y->numeric_value(0);
  const double rx = (x->numeric_value(x->size() - 1) - x0) / static_cast<double>(x->size() - 1);
  const double ry = (y->numeric_value(y->size() - 1) - y0) / static_cast<double>(y->size() - 1);
  return {rx, 0, x0 - rx / 2, 0, ry, y0 - ry / 2};
}

DataArray write_crs(const DataArray& da, const Crs& crs) {
  if (crs.empty()) throw ValueError("write_crs: empty CRS");
  nlohmann::json attrs = crs.to_cf();
  attrs["spatial_ref"] = attrs["crs_wkt"];
  if (axis_coord(da, "x") && axis_coord(da, "y") && da.size("x") >= 2 && da.size("y") >= 2) {
    auto gt = transform_of(da).to_gdal();
    attrs["GeoTransform"] = fmt::format("{} {} {} {} {} {}", python_float(gt[0]), python_float(gt[1]), python_float(gt[2]),
                                        python_float(gt[3]), python_float(gt[4]), python_float(gt[5]));
  }
  Chunk zero = Chunk::zeros(DType::Int64, {});
  DataArray out = da;
  const std::string old = grid_mapping_name(da);
  if (old != "spatial_ref" && da.coords().contains(old)) {
    Coords coords = da.coords();
    coords.erase(old);
    out = DataArray::from_layer(da.layer(), da.dims(), coords, da.attrs(), da.name());
  }
  out = out.assign_coords("spatial_ref", Coordinate({}, std::move(zero), std::move(attrs)));
  return out.assign_attrs({{"grid_mapping", "spatial_ref"}});
}

std::optional<Crs> crs_of(const DataArray& da) {
  const std::string name = grid_mapping_name(da);
  if (da.coords().contains(name)) {
    const Attrs& a = da.coords().at(name).attrs();
    for (const char* key : {"crs_wkt", "spatial_ref"})
      if (auto it = a.find(key); it != a.end() && it->is_string()) return Crs::from_user_input(it->get<std::string>());
  }
  if (auto it = da.attrs().find("crs"); it != da.attrs().end() && it->is_string())
    return Crs::from_user_input(it->get<std::string>());
  return std::nullopt;
}

DataArray set_nodata(const DataArray& da, double nodata) {
  if (!is_float(da.dtype()) && !std::isfinite(nodata))
    throw ValueError(fmt::format("set_nodata: a {} array cannot hold nodata {}", dtype_name(da.dtype()), nodata));
  if (is_integer(da.dtype()) && nodata != std::floor(nodata))
    throw ValueError(fmt::format("set_nodata: {} is not an integer, the array is {}", nodata, dtype_name(da.dtype())));
  nlohmann::json v = is_float(da.dtype()) ? nlohmann::json(nodata) : nlohmann::json(static_cast<std::int64_t>(nodata));
  return da.assign_attrs({{"_FillValue", v}});
}

std::optional<double> nodata_of(const DataArray& da) {
  for (const char* key : {"_FillValue", "nodata"}) {
    auto it = da.attrs().find(key);
    if (it == da.attrs().end()) continue;
    if (it->is_number()) return it->get<double>();
    if (it->is_null()) return std::nan("");  // NaN written through JSON
  }
  return std::nullopt;
}

}  // namespace cubist
