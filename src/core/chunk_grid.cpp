#include "cubist/chunk_grid.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace cubist {

ChunkGrid::ChunkGrid(std::vector<std::vector<std::int64_t>> chunks) : chunks_(std::move(chunks)) {
  offsets_.resize(chunks_.size());
  shape_.resize(chunks_.size());
  total_ = 1;
  for (std::size_t a = 0; a < chunks_.size(); ++a) {
    auto& sizes = chunks_[a];
    if (sizes.empty()) throw ChunkError(fmt::format("axis {} has no chunks", a));
    std::int64_t off = 0;
    offsets_[a].reserve(sizes.size() + 1);
    offsets_[a].push_back(0);
    for (auto s : sizes) {
      // A zero-sized chunk is only meaningful for an empty axis, which then has exactly one.
      if (s < 0 || (s == 0 && sizes.size() != 1))
        throw ChunkError(fmt::format("chunk size {} on axis {} must be positive", s, a));
      off += s;
      offsets_[a].push_back(off);
    }
    shape_[a] = off;
    total_ *= static_cast<std::int64_t>(sizes.size());
  }
}

ChunkGrid ChunkGrid::regular(const Shape& shape, const Shape& chunk_shape) {
  if (shape.size() != chunk_shape.size())
    throw ChunkError(fmt::format("chunk shape {} has rank {}, array has rank {}", shape_to_string(chunk_shape),
                                 chunk_shape.size(), shape.size()));
  std::vector<std::vector<std::int64_t>> chunks(shape.size());
  for (std::size_t a = 0; a < shape.size(); ++a) {
    if (shape[a] < 0) throw ChunkError(fmt::format("negative extent {} on axis {}", shape[a], a));
    if (shape[a] == 0) {
      chunks[a] = {0};
      continue;
    }
    if (chunk_shape[a] <= 0)
      throw ChunkError(fmt::format("chunk size {} on axis {} must be positive", chunk_shape[a], a));
    std::int64_t c = std::min(chunk_shape[a], shape[a]);
    for (std::int64_t off = 0; off < shape[a]; off += c) chunks[a].push_back(std::min(c, shape[a] - off));
  }
  return ChunkGrid(std::move(chunks));
}

std::int64_t ChunkGrid::chunk_of(std::size_t axis, std::int64_t index) const {
  const auto& off = offsets_[axis];
  auto it = std::upper_bound(off.begin(), off.end(), index);
  return std::clamp<std::int64_t>(it - off.begin() - 1, 0, num_chunks(axis) - 1);
}

Shape ChunkGrid::chunk_shape(const std::vector<std::int64_t>& index) const {
  Shape s(rank());
  for (std::size_t a = 0; a < rank(); ++a) s[a] = chunks_[a][static_cast<std::size_t>(index[a])];
  return s;
}

Shape ChunkGrid::max_chunk_shape() const {
  Shape s(rank());
  for (std::size_t a = 0; a < rank(); ++a) s[a] = *std::max_element(chunks_[a].begin(), chunks_[a].end());
  return s;
}

std::vector<std::int64_t> ChunkGrid::unravel(std::int64_t linear) const {
  std::vector<std::int64_t> idx(rank());
  for (std::size_t a = rank(); a-- > 0;) {
    auto n = num_chunks(a);
    idx[a] = linear % n;
    linear /= n;
  }
  return idx;
}

std::int64_t ChunkGrid::ravel(const std::vector<std::int64_t>& index) const {
  std::int64_t linear = 0;
  for (std::size_t a = 0; a < rank(); ++a) linear = linear * num_chunks(a) + index[a];
  return linear;
}

bool ChunkGrid::is_regular() const {
  for (const auto& sizes : chunks_)
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i)
      if (sizes[i] != sizes[0] || (i + 2 == sizes.size() && sizes.back() > sizes[0])) return false;
  return true;
}

std::string ChunkGrid::to_string() const {
  std::vector<std::string> axes;
  for (const auto& sizes : chunks_) axes.push_back(shape_to_string(sizes));
  if (axes.size() == 1) return fmt::format("({},)", axes[0]);
  return fmt::format("({})", fmt::join(axes, ", "));
}

}  // namespace cubist
