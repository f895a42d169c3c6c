#include "openeo/cube.hpp"

#include <fmt/format.h>

#include <limits>

#include "cubist/error.hpp"

namespace cubist::openeo {
namespace {

std::string dims_text(const DataArray& a) {
  std::string s;
  for (const auto& d : a.dims()) s += (s.empty() ? "" : ", ") + d;
  return s;
}

}  // namespace

std::string dimension_of(const DataArray& cube, const std::string& name) {
  if (cube.has_dim(name)) return name;
  if (name == "t" && cube.has_dim("time")) return "time";
  if (name == "time" && cube.has_dim("t")) return "t";
  if (name == "bands" && cube.has_dim("band")) return "band";
  if (name == "band" && cube.has_dim("bands")) return "bands";
  throw DimensionError(fmt::format("dimension '{}' is not in the data cube (dims: {})", name, dims_text(cube)));
}

std::vector<std::string> temporal_dimensions(const DataArray& cube) {
  std::vector<std::string> out;
  for (const auto& d : cube.dims()) {
    const bool labelled = cube.coords().contains(d) && cube.coords().at(d).dims() == std::vector<std::string>{d};
    if (labelled ? (!cube.coords().at(d).is_string() && cube.coords().at(d).dtype() == DType::DateTime64)
                 : (d == "time" || d == "t"))
      out.push_back(d);
  }
  return out;
}

std::string time_dimension(const DataArray& cube) {
  const auto dims = temporal_dimensions(cube);
  if (dims.size() == 1) return dims[0];
  if (dims.empty()) throw DimensionError(fmt::format("the data cube has no temporal dimension (dims: {})", dims_text(cube)));
  std::string names;
  for (const auto& d : dims) names += (names.empty() ? "" : ", ") + d;
  throw DimensionError(fmt::format("the data cube has several temporal dimensions ({}): name one as 'dimension'", names));
}

std::string band_dimension(const DataArray& cube) {
  for (const char* d : {"band", "bands"})
    if (cube.has_dim(d)) return d;
  throw DimensionError(fmt::format("the data cube has no bands dimension (dims: {})", dims_text(cube)));
}

std::vector<std::string> labels_of(const DataArray& cube, const std::string& dim) {
  std::vector<std::string> out;
  if (!cube.coords().contains(dim)) {
    for (std::int64_t i = 0; i < cube.size(dim); ++i) out.push_back(std::to_string(i));
    return out;
  }
  const Coordinate& c = cube.coords().at(dim);
  if (c.is_string()) return c.string_values();
  for (std::int64_t i = 0; i < c.size(); ++i) out.push_back(c.format_value(i));
  return out;
}

DataArray scalar_array(double v) { return DataArray::from_vector<double>({v}, {}); }

DataArray as_float(const DataArray& a) { return is_float(a.dtype()) ? a : a.astype(DType::Float64); }

DataArray bool_with_nodata(const DataArray& result, const std::vector<DataArray>& inputs) {
  std::optional<DataArray> valid;
  for (const auto& in : inputs) {
    if (!is_float(in.dtype())) continue;
    DataArray v = in.notnull();
    valid = valid ? (*valid & v) : v;
  }
  if (!valid) return result;
  return result.astype(DType::Float64).where(*valid);
}

bool is_numeric_operand(const Value& v) {
  return v.is_array_like() || v.kind == Value::Kind::Number || v.kind == Value::Kind::Null;
}

DataArray operand_array(const Value& v) {
  if (v.is_array_like()) return v.cube;
  if (v.kind == Value::Kind::Number) return scalar_array(v.scalar.get<double>());
  if (v.kind == Value::Kind::Boolean) return scalar_array(v.scalar.get<bool>() ? 1.0 : 0.0);
  if (v.is_null()) return scalar_array(std::numeric_limits<double>::quiet_NaN());
  throw TypeError(fmt::format("expected a number or a data cube, got {}", v.describe()));
}

Value like_operands(DataArray result, const std::vector<const Value*>& operands) {
  for (const Value* v : operands)
    if (v->kind == Value::Kind::Labeled) return Value::labeled(std::move(result), v->dim);
  return Value::of_cube(std::move(result));
}

}  // namespace cubist::openeo
