// The new label is one slice along `dim`: `values` broadcast onto the shape of the cube's first
// slice (where() with an always-true 1-d condition), labelled `label`, then joined to the cube
// with cubist::concat, which hands the cube's chunks on uncopied. All of it stays lazy.
#include "openeo/append_label.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "cubist/error.hpp"
#include "openeo/cube.hpp"

namespace cubist::openeo {
namespace {

// The coordinates of `a` without those along `dim`, plus `labels` as the labels of `dim`.
DataArray relabel(const DataArray& a, const std::string& dim, std::vector<std::string> labels) {
  Coords coords;
  for (const auto& [name, c] : a.coords())
    if (std::find(c.dims().begin(), c.dims().end(), dim) == c.dims().end()) coords.set(name, c);
  coords.set(dim, Coordinate::strings(dim, std::move(labels)));
  return DataArray::from_layer(a.layer(), a.dims(), coords, a.attrs(), a.name());
}

}  // namespace

DataArray append_label(const DataArray& cube, const std::string& dim, const std::string& label, const DataArray& values) {
  const std::vector<std::string> labels = labels_of(cube, dim);
  if (std::find(labels.begin(), labels.end(), label) != labels.end())
    throw ValueError(fmt::format("the dimension '{}' already has the label '{}'", dim, label));
  if (labels.empty()) throw ValueError(fmt::format("the dimension '{}' is empty", dim));
  const DataArray slice = cube.isel({{dim, std::vector<std::int64_t>{0}}});
  const DataArray always = DataArray::from_vector(std::vector<std::uint8_t>{1}, {{dim, 1}}).astype(DType::Bool);
  // where() orders dims by broadcasting (the condition's first); keep the cube's order.
  const DataArray added = where(always, values, slice).transpose(cube.dims());
  return concat({relabel(cube, dim, labels), relabel(added, dim, {label})}, dim);
}

}  // namespace cubist::openeo
