// Cube processes with callbacks or labels: reduce_dimension, apply, apply_dimension, ndvi,
// filter_bands, rename_labels, merge_cubes. Callbacks run once on whole lazy arrays.
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

const ProcessRegistration apply_dimension_reg{ProcessDef{
    "apply_dimension", "Apply a process to all values along a dimension", "", {"cubes"},
    {cube_param(),
     {"process", "Receives `data`, the labeled array along the dimension, and returns one of the same length.",
      schema::callback({"data", "context"}), false, nullptr},
     {"dimension", "The name of the source dimension.", schema::string(), false, nullptr},
     {"target_dimension", "The name of the target dimension (not supported: null).", {{"type", {"string", "null"}}}, true, nullptr},
     context_param()},
    cube_returns("A data cube with the newly computed values."),
    [](Args& a) -> Value {
      const DataArray cube = a.cube("data");
      if (a.given("target_dimension")) a.fail("target_dimension", "a target dimension is not supported yet; leave it null");
      const std::string dim = dimension_arg(a, cube);
      Value r = a.call("process", {{"data", Value::labeled(cube, dim)}, {"context", a.get("context")}});
      if (!r.is_array_like() || !r.cube.has_dim(dim) || r.cube.size(dim) != cube.size(dim))
        a.fail("process", fmt::format("the process must return an array along '{}' of the same length, got {}", dim,
                                      r.describe()));
      return Value::of_cube(r.cube.transpose(cube.dims()));
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

const ProcessRegistration filter_bands_reg{ProcessDef{
    "filter_bands", "Filter the bands by names", "", {"cubes", "filter"},
    {cube_param(),
     {"bands", "A list of band names, in the order wanted.", {{"type", "array"}, {"items", {{"type", "string"}}}}, true,
      nlohmann::json::array()},
     {"wavelengths", "Not supported: band metadata has no wavelengths.", {{"type", "array"}}, true, nlohmann::json::array()}},
    cube_returns("A data cube limited to the given bands."),
    [](Args& a) -> Value {
      const DataArray cube = a.cube("data");
      if (!a.get("wavelengths").items.empty()) a.fail("wavelengths", "filtering by wavelengths is not supported");
      std::string dim;
      try {
        dim = band_dimension(cube);
      } catch (const DimensionError& e) {
        a.fail("data", e.what());
      }
      std::vector<std::int64_t> index;
      for (const auto& b : a.get("bands").items) {
        if (b.kind != Value::Kind::String) a.fail("bands", fmt::format("expected band names, found {}", b.describe()));
        index.push_back(band_index(a, "bands", cube, dim, b.scalar.get<std::string>()));
      }
      if (index.empty()) a.fail("bands", "give at least one band");
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
      if (source.empty()) {
        if (target.size() != labels.size())
          a.fail("target", fmt::format("{} labels given for {} labels along '{}'", target.size(), labels.size(), dim));
        for (std::size_t i = 0; i < target.size(); ++i) labels[i] = text(target[i]);
      } else {
        if (source.size() != target.size()) a.fail("source", "source and target must have the same length");
        for (std::size_t i = 0; i < source.size(); ++i) {
          auto it = std::find(labels.begin(), labels.end(), text(source[i]));
          if (it == labels.end()) a.fail("source", fmt::format("no label '{}' along '{}'", text(source[i]), dim));
          *it = text(target[i]);
        }
      }
      std::vector<std::string> sorted = labels;
      std::sort(sorted.begin(), sorted.end());
      if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
        a.fail("target", fmt::format("the new labels along '{}' are not unique", dim));
      return Value::of_cube(cube.assign_coords(dim, Coordinate::strings(dim, labels)));
    }}};

// Cubes with the same dimensions and labels: the overlap resolver combines them elementwise.
const ProcessRegistration merge_cubes_reg{ProcessDef{
    "merge_cubes", "Merge two data cubes", "", {"cubes"},
    {cube_param("cube1", "The base data cube."), cube_param("cube2", "The other data cube to be merged."),
     {"overlap_resolver", "Combines overlapping values: receives `x` and `y`.", schema::callback({"x", "y", "context"}), true,
      nullptr},
     context_param()},
    cube_returns("The merged data cube."),
    [](Args& a) -> Value {
      const DataArray c1 = a.cube("cube1"), c2 = a.cube("cube2");
      if (c1.dims() != c2.dims() || c1.shape() != c2.shape())
        a.fail("cube2", "merging cubes with different dimensions or sizes is not supported yet");
      for (const auto& d : c1.dims())
        if (c1.coords().contains(d) && c2.coords().contains(d) && !c1.coords().at(d).equals(c2.coords().at(d)))
          a.fail("cube2", fmt::format("the labels along '{}' differ; only fully overlapping cubes can be merged yet", d));
      if (!a.given("overlap_resolver")) a.fail("overlap_resolver", "the cubes overlap completely: an overlap resolver is required");
      Value r = a.call("overlap_resolver", {{"x", Value::of_cube(c1)}, {"y", Value::of_cube(c2)}, {"context", a.get("context")}});
      if (!r.is_array_like()) a.fail("overlap_resolver", fmt::format("returned {}, not a value per pixel", r.describe()));
      return Value::of_cube(r.cube);
    }}};

}  // namespace
}  // namespace cubist::openeo
