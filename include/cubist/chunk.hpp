// The one chunk-buffer type: a typed, C-contiguous, 64-byte aligned, reference-counted block.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "cubist/dtype.hpp"
#include "cubist/error.hpp"

namespace cubist {

using Shape = std::vector<std::int64_t>;

std::int64_t shape_size(const Shape& shape);  // product of extents; 1 for rank 0
std::string shape_to_string(const Shape& shape);  // "(3, 4)"

inline constexpr std::size_t kChunkAlignment = 64;

class Chunk {
 public:
  Chunk() = default;

  // Uninitialised storage for `shape` elements of `dtype`.
  static Chunk allocate(DType dtype, Shape shape);
  static Chunk zeros(DType dtype, Shape shape);
  // Zero-filled storage whose pages become resident only as they are written: a fresh mapping
  // (for 1 MiB and more), never taken from nor returned to the freed-buffer cache. For outputs
  // filled piece by piece over a long time (streamed assembly), which would otherwise hold a
  // whole recycled, resident buffer from their first piece on.
  static Chunk sparse_zeros(DType dtype, Shape shape);
  // Zero-copy view of memory the caller keeps alive through `owner` (a user buffer, numpy later).
  static Chunk wrap(DType dtype, Shape shape, std::shared_ptr<const void> owner, const void* data);

  // A zero-copy view of the block [offset, offset + shape) of this chunk. The view shares the
  // buffer and is usually not contiguous: kernels that cannot walk strides get contiguous()
  // copies from the runtime.
  Chunk view(std::span<const std::int64_t> offset, Shape shape) const;
  // This chunk if it is C-contiguous, else a packed C-order copy.
  Chunk contiguous() const;
  bool is_contiguous() const { return contiguous_; }
  // Element strides per axis (C-order strides for a contiguous chunk).
  const std::vector<std::int64_t>& strides() const { return strides_; }

  bool empty() const { return !data_; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  std::size_t rank() const { return shape_.size(); }
  std::int64_t size() const { return size_; }
  std::size_t nbytes() const { return static_cast<std::size_t>(size_) * itemsize(dtype_); }

  const void* raw() const { return data_.get(); }
  // Writable only while its producer still holds the only reference.
  void* mutable_raw() const { return const_cast<void*>(data_.get()); }

  template <class T> std::span<const T> values() const {
    check_type<T>();
    return {static_cast<const T*>(raw()), static_cast<std::size_t>(size_)};
  }
  template <class T> std::span<T> mutable_values() const {
    check_type<T>();
    return {static_cast<T*>(mutable_raw()), static_cast<std::size_t>(size_)};
  }

  // Same bytes, new shape with the same element count.
  Chunk reshaped(Shape shape) const;

 private:
  template <class T> void check_type() const {
    if (!storage_matches<T>(dtype_)) throw_type_mismatch(dtype_of<T>());
    if (!contiguous_) throw_not_contiguous();
  }
  [[noreturn]] void throw_type_mismatch(DType requested) const;
  [[noreturn]] void throw_not_contiguous() const;
  void set_c_strides();

  DType dtype_ = DType::Float64;
  Shape shape_;
  std::int64_t size_ = 0;
  std::vector<std::int64_t> strides_;
  bool contiguous_ = true;
  std::shared_ptr<const void> data_;
};

// Read-only values that keep their chunk alive, so `a.compute().values<float>()` is safe to hold.
template <class T> class Values {
 public:
  Values() = default;
  explicit Values(Chunk chunk) : chunk_(std::move(chunk)), span_(chunk_.values<T>()) {}
  const T* data() const { return span_.data(); }
  std::size_t size() const { return span_.size(); }
  bool empty() const { return span_.empty(); }
  const T& operator[](std::size_t i) const { return span_[i]; }
  auto begin() const { return span_.begin(); }
  auto end() const { return span_.end(); }
  operator std::span<const T>() const { return span_; }
  std::span<const T> span() const { return span_; }
  const Chunk& chunk() const { return chunk_; }

 private:
  Chunk chunk_;
  std::span<const T> span_;
};

}  // namespace cubist
