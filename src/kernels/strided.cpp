#include "kernels/strided.hpp"

#include <cstring>
#include <fmt/format.h>

namespace cubist::kernels {

std::vector<std::int64_t> c_strides(const Shape& shape) {
  std::vector<std::int64_t> s(shape.size());
  std::int64_t acc = 1;
  for (std::size_t a = shape.size(); a-- > 0;) {
    s[a] = acc;
    acc *= shape[a];
  }
  return s;
}

StridedView StridedView::broadcast(const Chunk& chunk, const std::vector<int>& axis_to_out, const Shape& out_shape) {
  StridedView v;
  v.data = chunk.raw();
  v.item = itemsize(chunk.dtype());
  v.out_shape = out_shape;
  v.strides.assign(out_shape.size(), 0);
  const auto& in_strides = chunk.strides();
  for (std::size_t a = 0; a < axis_to_out.size(); ++a) {
    int o = axis_to_out[a];
    if (o < 0) {
      if (chunk.shape()[a] != 1) throw Error(fmt::format("axis {} of an input chunk has no output axis", a));
      continue;
    }
    if (chunk.shape()[a] != out_shape[static_cast<std::size_t>(o)])
      throw Error(fmt::format("input chunk shape {} does not align with output chunk shape {}",
                              shape_to_string(chunk.shape()), shape_to_string(out_shape)));
    v.strides[static_cast<std::size_t>(o)] = in_strides[a];
  }
  auto want = c_strides(out_shape);
  v.contiguous = chunk.size() == shape_size(out_shape) && chunk.is_contiguous();
  for (std::size_t o = 0; o < out_shape.size() && v.contiguous; ++o)
    if (out_shape[o] > 1 && v.strides[o] != want[o]) v.contiguous = false;
  return v;
}

namespace {
template <class T>
void gather_typed(const T* src, const Shape& shape, const std::vector<std::int64_t>& strides, std::int64_t start,
                  std::int64_t n, T* dst) {
  const std::size_t rank = shape.size();
  if (rank == 0) {
    for (std::int64_t i = 0; i < n; ++i) dst[i] = src[0];
    return;
  }
  // Odometer over the output multi-index, starting at `start`.
  std::vector<std::int64_t> idx(rank);
  std::int64_t rem = start, off = 0;
  for (std::size_t a = rank; a-- > 0;) {
    idx[a] = rem % shape[a];
    rem /= shape[a];
    off += idx[a] * strides[a];
  }
  const std::int64_t inner = shape[rank - 1], inner_stride = strides[rank - 1];
  std::int64_t done = 0;
  while (done < n) {
    std::int64_t run = std::min(inner - idx[rank - 1], n - done);
    const T* s = src + off;
    if (inner_stride == 1) std::memcpy(dst + done, s, static_cast<std::size_t>(run) * sizeof(T));
    else if (inner_stride == 0) std::fill(dst + done, dst + done + run, *s);
    else
      for (std::int64_t i = 0; i < run; ++i) dst[done + i] = s[i * inner_stride];
    done += run;
    off += run * inner_stride;
    idx[rank - 1] += run;
    for (std::size_t a = rank - 1; a > 0 && idx[a] == shape[a]; --a) {
      off -= idx[a] * strides[a];
      idx[a] = 0;
      ++idx[a - 1];
      off += strides[a - 1];
    }
  }
}
}  // namespace

void StridedView::gather(std::int64_t start, std::int64_t n, void* dst) const {
  if (contiguous) {
    std::memcpy(dst, static_cast<const std::byte*>(data) + static_cast<std::size_t>(start) * item,
                static_cast<std::size_t>(n) * item);
    return;
  }
  switch (item) {
    case 1: return gather_typed(static_cast<const std::uint8_t*>(data), out_shape, strides, start, n, static_cast<std::uint8_t*>(dst));
    case 2: return gather_typed(static_cast<const std::uint16_t*>(data), out_shape, strides, start, n, static_cast<std::uint16_t*>(dst));
    case 4: return gather_typed(static_cast<const std::uint32_t*>(data), out_shape, strides, start, n, static_cast<std::uint32_t*>(dst));
    default: return gather_typed(static_cast<const std::uint64_t*>(data), out_shape, strides, start, n, static_cast<std::uint64_t*>(dst));
  }
}

}  // namespace cubist::kernels
