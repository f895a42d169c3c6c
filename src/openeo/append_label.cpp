// The new label is made by indexing the cube with its labels plus a repeat of the first one, so
// the shape, chunks and other dims are the cube's; the repeated slot is then replaced by `values`
// through where() on a 1-d condition along `dim`. All of it stays lazy and fuses with the rest.
#include "openeo/append_label.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "cubist/error.hpp"
#include "openeo/cube.hpp"

namespace cubist::openeo {

DataArray append_label(const DataArray& cube, const std::string& dim, const std::string& label, const DataArray& values) {
  std::vector<std::string> labels = labels_of(cube, dim);
  if (std::find(labels.begin(), labels.end(), label) != labels.end())
    throw ValueError(fmt::format("the dimension '{}' already has the label '{}'", dim, label));
  const auto n = static_cast<std::int64_t>(labels.size());
  if (n == 0) throw ValueError(fmt::format("the dimension '{}' is empty", dim));
  std::vector<std::int64_t> index(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) index[static_cast<std::size_t>(i)] = i;
  index.push_back(0);
  DataArray widened = cube.isel({{dim, index}});

  Coords coords;
  for (const auto& [name, c] : widened.coords())
    if (std::find(c.dims().begin(), c.dims().end(), dim) == c.dims().end()) coords.set(name, c);
  labels.push_back(label);
  coords.set(dim, Coordinate::strings(dim, labels));
  widened = DataArray::from_layer(widened.layer(), widened.dims(), coords, widened.attrs(), widened.name());

  std::vector<std::uint8_t> flags(labels.size(), 0);
  flags.back() = 1;
  DataArray is_new = DataArray::from_vector(flags, {{dim, static_cast<std::int64_t>(flags.size())}},
                                            Coords{{dim, Coordinate::strings(dim, labels)}})
                         .astype(DType::Bool);
  // where() orders dims by broadcasting (the condition's first); keep the cube's order.
  return where(is_new, values, widened).transpose(widened.dims());
}

}  // namespace cubist::openeo
