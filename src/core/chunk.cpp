#include "cubist/chunk.hpp"

#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <limits>

namespace cubist {

std::int64_t shape_size(const Shape& shape) {
  std::int64_t n = 1;
  for (auto e : shape) {
    if (e < 0) throw ValueError(fmt::format("negative extent {} in shape", e));
    if (e != 0 && n > std::numeric_limits<std::int64_t>::max() / e)
      throw ValueError("shape has more elements than fit in 64 bits");
    n *= e;
  }
  return n;
}

std::string shape_to_string(const Shape& shape) {
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

Chunk Chunk::allocate(DType dtype, Shape shape) {
  Chunk c;
  c.dtype_ = dtype;
  c.size_ = shape_size(shape);
  c.shape_ = std::move(shape);
  // Round up so the size is a multiple of the alignment, as aligned_alloc requires.
  std::size_t bytes = std::max<std::size_t>(c.nbytes(), 1);
  bytes = (bytes + kChunkAlignment - 1) / kChunkAlignment * kChunkAlignment;
  void* p = std::aligned_alloc(kChunkAlignment, bytes);
  if (!p) throw Error(fmt::format("out of memory allocating a chunk of {} bytes", bytes));
  c.data_ = std::shared_ptr<const void>(p, [](const void* q) { std::free(const_cast<void*>(q)); });
  return c;
}

Chunk Chunk::zeros(DType dtype, Shape shape) {
  Chunk c = allocate(dtype, std::move(shape));
  std::memset(c.mutable_raw(), 0, c.nbytes());
  return c;
}

Chunk Chunk::wrap(DType dtype, Shape shape, std::shared_ptr<const void> owner, const void* data) {
  Chunk c;
  c.dtype_ = dtype;
  c.size_ = shape_size(shape);
  c.shape_ = std::move(shape);
  c.data_ = std::shared_ptr<const void>(std::move(owner), data);
  return c;
}

Chunk Chunk::reshaped(Shape shape) const {
  if (shape_size(shape) != size_)
    throw ValueError(fmt::format("cannot reshape a chunk of shape {} to {}", shape_to_string(shape_),
                                 shape_to_string(shape)));
  Chunk c = *this;
  c.shape_ = std::move(shape);
  return c;
}

void Chunk::throw_type_mismatch(DType requested) const {
  throw TypeError(fmt::format("chunk holds {} values, not {}", dtype_name(dtype_), dtype_name(requested)));
}

}  // namespace cubist
