#include "openeo/reindex.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cubist/creation.hpp"
#include "cubist/error.hpp"

namespace cubist::openeo {
namespace {

bool lies_along(const Coordinate& c, const std::string& dim) {
  return std::find(c.dims().begin(), c.dims().end(), dim) != c.dims().end();
}

// `along` restricted to the entries [begin, end).
Coords along_part(const Coords& along, std::int64_t begin, std::int64_t end) {
  std::vector<std::int64_t> index(static_cast<std::size_t>(end - begin));
  std::iota(index.begin(), index.end(), begin);
  Coords out;
  for (const auto& [name, c] : along) out.set(name, c.take(0, index, false));
  return out;
}

// `base` (without coordinates along dim) with `part` as its coordinates along dim.
DataArray with_coords(const DataArray& base, const Coords& part) {
  Coords coords = base.coords();
  for (const auto& [name, c] : part) coords.set(name, c);
  return DataArray::from_layer(base.layer(), base.dims(), coords, base.attrs(), base.name());
}

}  // namespace

DataArray reindex(const DataArray& cube, const std::string& dim, const std::vector<std::int64_t>& positions, const Coords& along,
                  double fill) {
  const auto n = static_cast<std::int64_t>(positions.size());
  for (const auto& [name, c] : along)
    if (c.dims() != std::vector<std::string>{dim} || c.size() != n)
      throw ValueError(fmt::format("reindex: coordinate '{}' must lie along '{}' only, with {} values", name, dim, n));
  Coords kept;
  for (const auto& [name, c] : cube.coords())
    if (!lies_along(c, dim)) kept.set(name, c);
  const DataArray base = DataArray::from_layer(cube.layer(), cube.dims(), kept, cube.attrs(), cube.name());
  const std::size_t axis = cube.axis(dim);

  auto fill_block = [&](std::int64_t length) {
    DimSizes sizes, chunks;
    for (std::size_t ax = 0; ax < cube.ndim(); ++ax) {
      const std::string& d = cube.dims()[ax];
      sizes.emplace_back(d, ax == axis ? length : cube.shape()[ax]);
      // The cube's chunk sizes, along `dim` too: a block of many steps must not become one chunk.
      const auto& own = cube.chunks().chunks(ax);
      chunks.emplace_back(d, own.empty() ? 1 : std::max<std::int64_t>(1, own.front()));
    }
    const DType dtype = std::isnan(fill) && !is_float(cube.dtype()) ? DType::Float64 : cube.dtype();
    const DataArray block = full(sizes, fill, dtype, chunks);
    return DataArray::from_layer(block.layer(), cube.dims(), kept, cube.attrs(), cube.name());
  };

  std::vector<DataArray> parts;
  for (std::int64_t i = 0; i < n;) {
    std::int64_t j = i + 1;
    const bool present = positions[static_cast<std::size_t>(i)] >= 0;
    while (j < n && (positions[static_cast<std::size_t>(j)] >= 0) == present) ++j;
    DataArray part;
    if (!present) {
      part = fill_block(j - i);
    } else {
      const std::vector<std::int64_t> index(positions.begin() + i, positions.begin() + j);
      const bool consecutive = index.back() - index.front() + 1 == static_cast<std::int64_t>(index.size()) &&
                               std::is_sorted(index.begin(), index.end());
      part = consecutive ? base.isel({{dim, Slice{index.front(), index.back() + 1}}}) : base.isel({{dim, index}});
    }
    parts.push_back(with_coords(part, along_part(along, i, j)));
    i = j;
  }
  if (parts.empty()) throw ValueError(fmt::format("reindex: no label along '{}'", dim));
  return parts.size() == 1 ? parts.front() : concat(parts, dim);
}

}  // namespace cubist::openeo
