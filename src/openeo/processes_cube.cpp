// Cube processes with callbacks or labels: reduce_dimension, apply, apply_dimension, ndvi,
// filter_bands, rename_labels. Callbacks run once on whole lazy arrays (merge_cubes: processes_merge).
#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "cubist/error.hpp"
#include "cubist/geo.hpp"
#include "openeo/append_label.hpp"
#include "openeo/cube.hpp"
#include "openeo/registry.hpp"

namespace cubist::openeo {
namespace {

Parameter cube_param(const std::string& name = "data", const std::string& d = "A data cube.") {
  return {name, d, schema::cube(), false, nullptr};
}
Parameter context_param() { return {"context", "Additional data passed to the process.", schema::any(), true, nullptr}; }
nlohmann::json cube_returns(const std::string& d) { return {{"description", d}, {"schema", schema::cube()}}; }

// The cube's dimension named by the "dimension" argument (openEO's `t` is cubist's `time`).
std::string dimension_arg(Args& a, const DataArray& cube) {
  try {
    return dimension_of(cube, a.string("dimension"));
  } catch (const DimensionError& e) {
    a.fail("dimension", e.what());
  }
}

const ProcessRegistration reduce_dimension_reg{ProcessDef{
    "reduce_dimension", "Reduce dimensions", "", {"cubes", "reducer"},
    {cube_param(),
     {"reducer", "A reducer: receives `data` (the labeled array along the dimension).", schema::callback({"data", "context"}), false, nullptr},
     {"dimension", "The name of the dimension over which to reduce.", schema::string(), false, nullptr},
     context_param()},
    cube_returns("A data cube without the reduced dimension."),
    [](Args& a) -> Value {
      const DataArray cube = a.cube("data");
      const std::string dim = dimension_arg(a, cube);
      Value r = a.call("reducer", {{"data", Value::labeled(cube, dim)}, {"context", a.get("context")}});
      if (!r.is_array_like())
        a.fail("reducer", fmt::format("the reducer returned {}, not a value per pixel", r.describe()));
      if (r.cube.has_dim(dim))
        a.fail("reducer", fmt::format("the reducer did not reduce dimension '{}' (use a reducer such as mean)", dim));
      return Value::of_cube(r.cube);
    }}};

const ProcessRegistration apply_reg{ProcessDef{
    "apply", "Apply a process to each value", "", {"cubes"},
    {cube_param(), {"process", "A unary process: receives `x`.", schema::callback({"x", "context"}), false, nullptr},
     context_param()},
    cube_returns("A data cube with the newly computed values and the same dimensions."),
    [](Args& a) -> Value {
      const DataArray cube = a.cube("data");
      Value r = a.call("process", {{"x", Value::of_cube(cube)}, {"context", a.get("context")}});
      if (!r.is_array_like()) a.fail("process", fmt::format("the process returned {}, not a value per pixel", r.describe()));
      if (r.cube.dims() != cube.dims()) a.fail("process", "the process changed the dimensions of the data cube");
      return Value::of_cube(r.cube);
    }}};

// apply_dimension's result along the target dimension: labels are kept when the target is the
// source and the process returned as many values; otherwise the target dimension (renamed from the
// source, in its place) is labelled 0, 1, ... and the source's other coordinates along it are
// dropped, as the definition says (openEO's dimension type "other").
DataArray relabel_target(const DataArray& result, const std::string& source, const std::string& target,
                         bool keep_labels) {
  if (keep_labels && target == source) return result;
  std::vector<std::string> dims = result.dims();
  std::replace(dims.begin(), dims.end(), source, target);
  Coords coords;
  for (const auto& [name, c] : result.coords())
    if (std::find(c.dims().begin(), c.dims().end(), source) == c.dims().end()) coords.set(name, c);
  std::vector<std::int64_t> labels(static_cast<std::size_t>(result.size(source)));
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int64_t>(i);
  coords.set(target, Coordinate::from_vector(target, labels));
  return DataArray::from_layer(result.layer(), std::move(dims), std::move(coords), result.attrs(), result.name());
}

const ProcessRegistration apply_dimension_reg{ProcessDef{
    "apply_dimension", "Apply a process to all values along a dimension", "", {"cubes"},
    {cube_param(),
     {"process", "Receives `data`, the labeled array along the dimension, and returns the values along the target dimension "
      "(as many as it likes: labels then become 0, 1, ...).",
      schema::callback({"data", "context"}), false, nullptr},
     {"dimension", "The name of the source dimension.", schema::string(), false, nullptr},
     {"target_dimension",
      "The name of the target dimension, or null for the source dimension. A target other than the source replaces it, "
      "labelled with incrementing integers from zero.",
      {{"type", {"string", "null"}}}, true, nullptr},
     context_param()},
    cube_returns("A data cube with the newly computed values."),
    [](Args& a) -> Value {
      const DataArray cube = a.cube("data");
      const std::string dim = dimension_arg(a, cube);
      std::string target = dim;
      if (a.given("target_dimension")) {
        const std::string name = a.string("target_dimension");
        if (name.empty()) a.fail("target_dimension", "the target dimension needs a name");
        std::string existing;
        try {
          existing = dimension_of(cube, name);
        } catch (const DimensionError&) {
        }
        if (!existing.empty() && existing != dim)
          a.fail("target_dimension", fmt::format("the data cube already has a dimension '{}' other than the source '{}'", name, dim));
        target = existing.empty() ? name : dim;
      }
      Value r = a.call("process", {{"data", Value::labeled(cube, dim)}, {"context", a.get("context")}});
      if (!r.is_array_like() || !r.cube.has_dim(dim))
        a.fail("process", fmt::format("the process must return an array along '{}', got {}", dim, r.describe()));
      const bool same_length = r.cube.size(dim) == cube.size(dim);
      std::vector<std::string> order = cube.dims();
      std::replace(order.begin(), order.end(), dim, target);
      return Value::of_cube(relabel_target(r.cube, dim, target, same_length).transpose(order));
    }}};

std::int64_t band_index(Args& a, const std::string& arg, const DataArray& cube, const std::string& dim,
                        const std::string& label) {
  const auto labels = labels_of(cube, dim);
  auto it = std::find(labels.begin(), labels.end(), label);
  if (it == labels.end()) {
    std::string have;
    for (const auto& l : labels) have += (have.empty() ? "" : ", ") + l;
    a.fail(arg, fmt::format("no band '{}' in the data cube (bands: {})", label, have));
  }
  return it - labels.begin();
}

const ProcessRegistration ndvi_reg{ProcessDef{
    "ndvi", "Normalized Difference Vegetation Index", "", {"math > indices", "vegetation indices"},
    {cube_param("data", "A raster data cube with two bands that have the common names red and nir assigned."),
     {"nir", "The name of the NIR band.", schema::string(), true, "nir"},
     {"red", "The name of the red band.", schema::string(), true, "red"},
     {"target_band", "null: the bands dimension is dropped; a name: the NDVI is appended to the bands dimension under that label.",
      {{"type", {"string", "null"}}}, true, nullptr}},
    cube_returns("A raster data cube containing the computed NDVI values: without the bands dimension, or with the NDVI as band target_band."),
    [](Args& a) -> Value {
      const DataArray cube = a.cube("data");
      std::string dim;
      try {
        dim = band_dimension(cube);
      } catch (const DimensionError& e) {
        a.fail("data", e.what());
      }
      band_index(a, "nir", cube, dim, a.string("nir"));
      band_index(a, "red", cube, dim, a.string("red"));
      // The same operations as the C++ seed pipeline, so both build the same graph.
      const DataArray red = cube.sel({{dim, a.string("red")}});
      const DataArray nir = cube.sel({{dim, a.string("nir")}});
      DataArray ndvi = (nir - red) / (nir + red);
      if (auto crs = crs_of(cube)) ndvi = write_crs(ndvi, *crs);
      if (is_float(ndvi.dtype())) ndvi = set_nodata(ndvi, std::numeric_limits<double>::quiet_NaN());
      if (!a.given("target_band")) return Value::of_cube(ndvi);
      const std::string target = a.string("target_band");
      try {
        return Value::of_cube(append_label(cube, dim, target, ndvi));
      } catch (const ValueError& e) {
        a.fail("target_band", e.what());
      }
    }}};

// filter_bands: bands by name or common name (the `common_name` coordinate load_stac keeps from
// eo:bands; a name wins over a common name), or by wavelength ranges in micrometres against the
// `center_wavelength` coordinate; criteria are OR-ed, in the order given (names, then ranges).
const ProcessRegistration filter_bands_reg{ProcessDef{
    "filter_bands", "Filter the bands by names", "", {"cubes", "filter"},
    {cube_param(),
     {"bands", "Band names or common band names, in the order wanted.", {{"type", "array"}, {"items", {{"type", "string"}}}}, true,
      nlohmann::json::array()},
     {"wavelengths", "Ranges [min, max] of wavelengths in micrometres (eo:bands center_wavelength), in the order wanted.",
      {{"type", "array"}, {"items", {{"type", "array"}, {"minItems", 2}, {"maxItems", 2}, {"items", {{"type", "number"}}}}}}, true,
      nlohmann::json::array()}},
    cube_returns("A data cube limited to the given bands."),
    [](Args& a) -> Value {
      const DataArray cube = a.cube("data");
      std::string dim;
      try {
        dim = band_dimension(cube);
      } catch (const DimensionError& e) {
        a.fail("data", e.what());
      }
      const auto labels = labels_of(cube, dim);
      std::vector<std::int64_t> index;
      auto keep = [&](std::int64_t i) {
        if (std::find(index.begin(), index.end(), i) == index.end()) index.push_back(i);
      };
      const bool has_common = cube.coords().contains("common_name") && cube.coords().at("common_name").is_string() &&
                              cube.coords().at("common_name").dims() == std::vector<std::string>{dim};
      for (const auto& b : a.get("bands").items) {
        if (b.kind != Value::Kind::String) a.fail("bands", fmt::format("expected band names, found {}", b.describe()));
        const std::string name = b.scalar.get<std::string>();
        if (std::find(labels.begin(), labels.end(), name) != labels.end()) {
          keep(band_index(a, "bands", cube, dim, name));
          continue;
        }
        bool found = false;
        if (has_common) {
          const auto& common = cube.coords().at("common_name").string_values();
          for (std::size_t i = 0; i < common.size(); ++i)
            if (common[i] == name) {
              keep(static_cast<std::int64_t>(i));
              found = true;
            }
        }
        if (!found) band_index(a, "bands", cube, dim, name);  // fails naming the bands there are
      }
      const auto& ranges = a.get("wavelengths").items;
      if (!ranges.empty()) {
        if (!cube.coords().contains("center_wavelength") ||
            cube.coords().at("center_wavelength").dims() != std::vector<std::string>{dim})
          a.fail("wavelengths", "the bands of the data cube have no wavelengths (eo:bands center_wavelength of the STAC items)");
        const Coordinate& wl = cube.coords().at("center_wavelength");
        for (const auto& r : ranges) {
          if (r.kind != Value::Kind::List || r.items.size() != 2 || r.items[0].kind != Value::Kind::Number ||
              r.items[1].kind != Value::Kind::Number)
            a.fail("wavelengths", "each range must be [min, max] in micrometres");
          const double lo = r.items[0].scalar.get<double>(), hi = r.items[1].scalar.get<double>();
          bool found = false;
          for (std::int64_t i = 0; i < wl.size(); ++i) {
            const double w = wl.numeric_value(i);
            if (w >= lo && w <= hi) {  // NaN (a band without a wavelength) never matches
              keep(i);
              found = true;
            }
          }
          if (!found) a.fail("wavelengths", fmt::format("no band has a wavelength within [{}, {}] micrometres", lo, hi));
        }
      }
      if (index.empty()) a.fail("bands", "give at least one band name or wavelength range");
      return Value::of_cube(cube.isel({{dim, index}}));
    }}};

const ProcessRegistration rename_labels_reg{ProcessDef{
    "rename_labels", "Rename dimension labels", "", {"cubes"},
    {cube_param(), {"dimension", "The name of the dimension.", schema::string(), false, nullptr},
     {"target", "The new names for the labels.", {{"type", "array"}, {"items", {{"type", {"number", "string"}}}}}, false, nullptr},
     {"source", "The original labels to rename (empty: all, in order).", {{"type", "array"}}, true, nlohmann::json::array()}},
    cube_returns("The data cube with the same dimensions and renamed labels."),
    [](Args& a) -> Value {
      const DataArray cube = a.cube("data");
      const std::string dim = dimension_arg(a, cube);
      auto text = [](const Value& v) {
        return v.kind == Value::Kind::String ? v.scalar.get<std::string>() : fmt::format("{}", v.scalar.get<double>());
      };
      const auto& target = a.get("target").items;
      const auto& source = a.get("source").items;
      std::vector<std::string> labels = labels_of(cube, dim);
      const std::vector<std::string> before = labels;
      if (source.empty()) {
        // Without source the labels must be enumerated (0, 1, 2, ...): target[i] renames label i
        // (the definition; openeo-processes' LabelsNotEnumerated case).
        for (std::size_t i = 0; i < labels.size(); ++i)
          if (labels[i] != std::to_string(i))
            a.fail("source", fmt::format("the labels along '{}' are not enumerated (0, 1, ...: found '{}'); give the "
                                         "labels to rename as source", dim, labels[i]));
        if (target.size() > labels.size())
          a.fail("target", fmt::format("{} labels given for {} labels along '{}'", target.size(), labels.size(), dim));
        for (std::size_t i = 0; i < target.size(); ++i) labels[i] = text(target[i]);
      } else {
        if (source.size() != target.size())
          a.fail("source", fmt::format("source has {} labels and target {}: they must have the same length", source.size(),
                                       target.size()));
        for (std::size_t i = 0; i < source.size(); ++i) {
          auto it = std::find(before.begin(), before.end(), text(source[i]));
          if (it == before.end()) a.fail("source", fmt::format("no label '{}' along '{}'", text(source[i]), dim));
          labels[static_cast<std::size_t>(it - before.begin())] = text(target[i]);
        }
      }
      std::vector<std::string> sorted = labels;
      std::sort(sorted.begin(), sorted.end());
      if (auto dup = std::adjacent_find(sorted.begin(), sorted.end()); dup != sorted.end())
        a.fail("target", fmt::format("label '{}' would exist twice along '{}'", *dup, dim));
      return Value::of_cube(cube.assign_coords(dim, Coordinate::strings(dim, labels)));
    }}};

}  // namespace
}  // namespace cubist::openeo
