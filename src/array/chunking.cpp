// chunk()/rechunk: resolving chunk specs (incl. dask's "auto" algorithm) and the gather layer
// that moves data between chunk grids.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <set>

#include "array/builder.hpp"
#include "array/chunking.hpp"
#include "cubist/config.hpp"
#include "cubist/error.hpp"

namespace cubist {
namespace {

// dask's round_to: a size near `c` that aligns with `s` (a multiple of s when larger).
std::int64_t round_to(double c, double s) {
  if (c <= s) return std::max<std::int64_t>(1, static_cast<std::int64_t>(c));
  return static_cast<std::int64_t>(std::floor(c / s) * s);
}

std::vector<std::int64_t> regular_sizes(std::int64_t extent, std::int64_t size) {
  if (extent == 0) return {0};
  std::vector<std::int64_t> out;
  for (std::int64_t off = 0; off < extent; off += size) out.push_back(std::min(size, extent - off));
  return out;
}

}  // namespace

// dask.array.core.auto_chunks: sizes for the "auto" axes so a chunk holds about `limit` bytes,
// keeping the aspect ratio of the previous chunks when there are any.
std::vector<std::int64_t> auto_chunk_sizes(const Shape& shape, std::vector<std::int64_t> fixed, std::set<std::size_t> autos,
                                           std::int64_t limit, std::size_t item,
                                           const std::vector<std::vector<std::int64_t>>* previous) {
  std::vector<std::int64_t> result = fixed;
  if (autos.empty()) return result;
  limit = std::max<std::int64_t>(1, limit);
  double largest_block = 1;
  for (std::size_t a = 0; a < shape.size(); ++a)
    if (!autos.count(a)) largest_block *= static_cast<double>(std::max<std::int64_t>(1, fixed[a]));
  if (previous) {
    std::map<std::size_t, double> res;
    std::vector<double> ideal(shape.size());
    for (std::size_t a = 0; a < shape.size(); ++a) {
      std::vector<std::int64_t> sorted = (*previous)[a];
      std::sort(sorted.begin(), sorted.end());
      double median = sorted.size() % 2 ? static_cast<double>(sorted[sorted.size() / 2])
                                        : 0.5 * static_cast<double>(sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
      if (autos.count(a)) res[a] = median;
      std::map<std::int64_t, std::size_t> freq;
      for (auto v : (*previous)[a]) ++freq[v];
      auto mode = std::max_element(freq.begin(), freq.end(), [](auto& x, auto& y) { return x.second < y.second; });
      ideal[a] = (mode->first > 1 && static_cast<double>(mode->second) >= static_cast<double>((*previous)[a].size()) / 2)
                     ? static_cast<double>(mode->first)
                     : static_cast<double>(shape[a]);
    }
    auto multiplier_of = [&] {
      double prod = 1;
      for (auto& [a, r] : res)
        if (r != 0) prod *= r;
      return static_cast<double>(limit) / static_cast<double>(item) / largest_block / prod;
    };
    double multiplier = multiplier_of(), last_multiplier = 0;
    std::set<std::size_t> last_autos;
    while (multiplier != last_multiplier || autos != last_autos) {
      last_multiplier = multiplier;
      last_autos = autos;
      for (std::size_t a : std::set<std::size_t>(autos)) {
        if (ideal[a] == 0) {
          res[a] = 0;
          continue;
        }
        double proposed = res[a] * std::pow(multiplier, 1.0 / static_cast<double>(autos.size()));
        if (proposed > static_cast<double>(shape[a])) {
          autos.erase(a);
          largest_block *= static_cast<double>(shape[a]);
          result[a] = shape[a];
          res.erase(a);
        } else {
          res[a] = static_cast<double>(round_to(proposed, ideal[a]));
        }
      }
      multiplier = multiplier_of();
    }
    for (auto& [a, r] : res) result[a] = static_cast<std::int64_t>(r);
    return result;
  }
  double size = std::pow(static_cast<double>(limit) / static_cast<double>(item) / largest_block,
                         1.0 / static_cast<double>(autos.size()));
  std::vector<std::size_t> small;
  for (auto a : autos)
    if (static_cast<double>(shape[a]) < size) small.push_back(a);
  if (!small.empty()) {
    for (auto a : small) {
      result[a] = shape[a];
      autos.erase(a);
    }
    return auto_chunk_sizes(shape, result, autos, limit, item, nullptr);
  }
  for (auto a : autos) result[a] = round_to(size, static_cast<double>(shape[a]));
  return result;
}

ChunkGrid resolve_chunks(const std::vector<std::string>& dims, const Shape& shape, DType dtype, const ChunkSpec& spec,
                         const ChunkGrid* previous) {
  for (const auto& [d, s] : spec.dims)
    if (std::find(dims.begin(), dims.end(), d) == dims.end())
      throw DimensionError(fmt::format("chunk: dimension '{}' not found (dims: {})", d, fmt::join(dims, ", ")));
  const std::size_t rank = dims.size();
  std::vector<std::vector<std::int64_t>> out(rank);
  std::vector<std::int64_t> fixed(rank, 0);
  std::set<std::size_t> autos;
  for (std::size_t a = 0; a < rank; ++a) {
    const ChunkSize* cs = nullptr;
    for (const auto& [d, s] : spec.dims)
      if (d == dims[a]) cs = &s;
    if (!cs && !spec.all_auto) {  // unnamed dims keep their chunks (in-memory data: one chunk)
      out[a] = previous ? previous->chunks(a) : std::vector<std::int64_t>{shape[a]};
      fixed[a] = *std::max_element(out[a].begin(), out[a].end());
      continue;
    }
    if (!cs || cs->kind == ChunkSize::Kind::Auto) {
      autos.insert(a);
      continue;
    }
    switch (cs->kind) {
      case ChunkSize::Kind::Full: out[a] = {shape[a]}; break;
      case ChunkSize::Kind::Size:
        if (cs->size <= 0)
          throw ChunkError(fmt::format("chunk size {} for dimension '{}' must be positive (or -1 for the whole dimension)",
                                       cs->size, dims[a]));
        out[a] = regular_sizes(shape[a], cs->size);
        break;
      case ChunkSize::Kind::Explicit: {
        std::int64_t total = 0;
        for (auto s : cs->sizes) {
          if (s <= 0 && !(s == 0 && shape[a] == 0))
            throw ChunkError(fmt::format("chunk sizes for dimension '{}' must be positive", dims[a]));
          total += s;
        }
        if (total != shape[a])
          throw ChunkError(fmt::format("chunk sizes for dimension '{}' add up to {} but the dimension has {}", dims[a],
                                       total, shape[a]));
        out[a] = cs->sizes;
        break;
      }
      case ChunkSize::Kind::Auto: break;
    }
    fixed[a] = shape[a] == 0 ? 0 : *std::max_element(out[a].begin(), out[a].end());
  }
  if (!autos.empty()) {
    std::int64_t limit = spec.target_bytes > 0 ? spec.target_bytes : config::chunk_size_bytes();
    const std::vector<std::vector<std::int64_t>>* prev = previous ? &previous->all_chunks() : nullptr;
    auto sizes = auto_chunk_sizes(shape, fixed, autos, limit, itemsize(dtype), prev);
    for (auto a : autos) out[a] = regular_sizes(shape[a], std::max<std::int64_t>(1, sizes[a]));
  }
  return ChunkGrid(std::move(out));
}

graph::LayerPtr ArrayBuilder::rechunk_layer(const graph::LayerPtr& source, const ChunkGrid& grid) {
  if (source->grid == grid) return source;
  if (source->grid.shape() != grid.shape())
    throw ChunkError(fmt::format("cannot rechunk shape {} to chunks of shape {}", shape_to_string(source->grid.shape()),
                                 shape_to_string(grid.shape())));
  // In-memory data in one chunk (from_chunk, compute()): chunks become zero-copy views into it,
  // as dask.array.from_array slices a numpy array without copying.
  if (source->op == "literal" && source->literal && source->literal->size() == 1) {
    const Chunk& whole = (*source->literal)[0];
    std::vector<Chunk> views;
    views.reserve(static_cast<std::size_t>(grid.total_chunks()));
    std::vector<std::int64_t> offset(grid.rank());
    for (std::int64_t c = 0; c < grid.total_chunks(); ++c) {
      auto idx = grid.unravel(c);
      for (std::size_t a = 0; a < grid.rank(); ++a) offset[a] = grid.offset(a, idx[a]);
      views.push_back(whole.view(offset, grid.chunk_shape(idx)));
    }
    return literal_layer(std::move(views), grid, source->dtype);
  }
  graph::LayerSpec spec;
  spec.label = "rechunk";
  spec.op = "gather";
  spec.kind = graph::LayerKind::General;
  nlohmann::json axes = nlohmann::json::array();
  std::vector<graph::AxisDep> deps;
  for (std::size_t a = 0; a < grid.rank(); ++a) {
    axes.push_back({{"out_axis", a}, {"start", 0}, {"step", 1}});
    std::vector<std::pair<std::int64_t, std::int64_t>> table;
    for (std::int64_t c = 0; c < grid.num_chunks(a); ++c) {
      std::int64_t lo = grid.offset(a, c), hi = grid.offset(a, c + 1);
      if (hi == lo) table.emplace_back(0, 1);
      else table.emplace_back(source->grid.chunk_of(a, lo), source->grid.chunk_of(a, hi - 1) + 1);
    }
    deps.push_back(graph::AxisDep::from_table(static_cast<int>(a), std::move(table)));
  }
  spec.params = {{"axes", axes}};
  spec.inputs = {{source, std::move(deps)}};
  spec.grid = grid;
  spec.dtype = source->dtype;
  return graph::make_layer(std::move(spec));
}

DataArray DataArray::chunk(const ChunkSpec& spec) const {
  if (!layer_) throw ValueError("chunk: empty DataArray");
  ChunkGrid grid = resolve_chunks(dims_, shape(), dtype(), spec, in_memory() ? nullptr : &chunks());
  return ArrayBuilder::with_layer(*this, ArrayBuilder::rechunk_layer(layer_, grid));
}

}  // namespace cubist
