// A chunk seen through the axes of an output chunk: transposed and/or broadcast (stride 0).
#pragma once
#include <cstdint>
#include <vector>

#include "cubist/chunk.hpp"

namespace cubist::kernels {

struct StridedView {
  const void* data = nullptr;
  std::size_t item = 1;
  Shape out_shape;
  std::vector<std::int64_t> strides;  // in elements, per output axis (0 = broadcast)
  bool contiguous = false;            // element i of the output is element i of the chunk

  // `axis_to_out[a]` is the output axis of the chunk's axis a.
  static StridedView broadcast(const Chunk& chunk, const std::vector<int>& axis_to_out, const Shape& out_shape);
  // Copies elements [start, start + n) in the output's C order into dst.
  void gather(std::int64_t start, std::int64_t n, void* dst) const;
};

// C-order strides (in elements) of a shape.
std::vector<std::int64_t> c_strides(const Shape& shape);

}  // namespace cubist::kernels
