// How an array is cut into chunks: regular or irregular chunk sizes per axis, as dask allows.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cubist/chunk.hpp"

namespace cubist {

class ChunkGrid {
 public:
  ChunkGrid() = default;
  // Explicit sizes per axis; each axis must sum to its extent (validated, ChunkError).
  explicit ChunkGrid(std::vector<std::vector<std::int64_t>> chunks);
  // Chunks of `chunk_shape` (the last along each axis may be shorter).
  static ChunkGrid regular(const Shape& shape, const Shape& chunk_shape);

  std::size_t rank() const { return chunks_.size(); }
  const Shape& shape() const { return shape_; }
  const std::vector<std::int64_t>& chunks(std::size_t axis) const { return chunks_[axis]; }
  const std::vector<std::vector<std::int64_t>>& all_chunks() const { return chunks_; }
  std::int64_t num_chunks(std::size_t axis) const { return static_cast<std::int64_t>(chunks_[axis].size()); }
  std::int64_t total_chunks() const { return total_; }
  // Offset of chunk i along axis (offsets(axis)[num_chunks] == extent).
  std::int64_t offset(std::size_t axis, std::int64_t i) const { return offsets_[axis][static_cast<std::size_t>(i)]; }
  const std::vector<std::int64_t>& offsets(std::size_t axis) const { return offsets_[axis]; }
  // Chunk along `axis` that holds element `index`.
  std::int64_t chunk_of(std::size_t axis, std::int64_t index) const;

  Shape chunk_shape(const std::vector<std::int64_t>& index) const;
  Shape chunk_shape(std::int64_t linear) const { return chunk_shape(unravel(linear)); }
  // The largest chunk along every axis (what dask's repr calls chunksize).
  Shape max_chunk_shape() const;
  std::vector<std::int64_t> unravel(std::int64_t linear) const;
  std::int64_t ravel(const std::vector<std::int64_t>& index) const;
  bool is_regular() const;

  bool operator==(const ChunkGrid& o) const { return chunks_ == o.chunks_; }
  std::string to_string() const;  // "((2, 2, 1), (4,))"

 private:
  std::vector<std::vector<std::int64_t>> chunks_;
  std::vector<std::vector<std::int64_t>> offsets_;
  Shape shape_;
  std::int64_t total_ = 1;
};

}  // namespace cubist
