#include "zarr/layout.hpp"

#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cubist::zarr::detail {
namespace {

template <std::size_t N> struct Elem {
  unsigned char b[N];
};

template <std::size_t N, class F> void with_elem(std::size_t itemsize, F&& f) {
  switch (itemsize) {
    case 1: f.template operator()<std::uint8_t>(); break;
    case 2: f.template operator()<std::uint16_t>(); break;
    case 4: f.template operator()<std::uint32_t>(); break;
    case 8: f.template operator()<std::uint64_t>(); break;
    default: f.template operator()<Elem<N>>(); break;
  }
}

// Row copy into a large destination: non-temporal stores skip the read-for-ownership of lines
// about to be fully overwritten (the scatter of shard inner chunks is store-bandwidth bound).
void copy_row_streaming(std::byte* dst, const std::byte* src, std::size_t n) {
#if defined(__SSE2__)
  if ((reinterpret_cast<std::uintptr_t>(dst) & 15) == 0 && n % 16 == 0) {
    auto* d = reinterpret_cast<__m128i*>(dst);
    auto* s = reinterpret_cast<const __m128i*>(src);
    for (std::size_t i = 0; i < n / 16; ++i) _mm_stream_si128(d + i, _mm_loadu_si128(s + i));
    return;
  }
#endif
  std::memcpy(dst, src, n);
}

Shape strides_of(const Shape& shape) {
  Shape s(shape.size(), 1);
  for (std::size_t a = shape.size(); a-- > 1;) s[a - 1] = s[a] * shape[a];
  return s;
}

}  // namespace

void fill_elements(std::byte* dst, std::int64_t count, const std::array<std::byte, 8>& fill, std::size_t itemsize) {
  bool zero = true;
  for (std::size_t i = 0; i < itemsize; ++i) zero = zero && fill[i] == std::byte{0};
  if (zero) {
    std::memset(dst, 0, static_cast<std::size_t>(count) * itemsize);
    return;
  }
  with_elem<1>(itemsize, [&]<class T>() {
    T v;
    std::memcpy(&v, fill.data(), sizeof(T));
    auto* p = reinterpret_cast<T*>(dst);
    for (std::int64_t i = 0; i < count; ++i) std::memcpy(p + i, &v, sizeof(T));
  });
}

bool block_is_contiguous(const Shape& outer, const Shape& block) {
  // Contiguous iff after the first axis where the block is shorter than 1 element... i.e. all axes
  // after the first non-unit block axis span the whole outer extent.
  std::size_t a = 0;
  while (a < block.size() && block[a] == 1) ++a;
  for (std::size_t k = a + 1; k < block.size(); ++k)
    if (block[k] != outer[k]) return false;
  return true;
}

std::int64_t block_linear_offset(const Shape& outer_shape, const Shape& offset) {
  auto st = strides_of(outer_shape);
  std::int64_t o = 0;
  for (std::size_t a = 0; a < offset.size(); ++a) o += offset[a] * st[a];
  return o;
}

void copy_block(std::byte* outer, const Shape& outer_shape, const Shape& offset, std::byte* dense, const Shape& block,
                std::size_t itemsize, bool to_dense) {
  std::size_t rank = block.size();
  if (shape_size(block) == 0) return;
  if (rank == 0) {
    to_dense ? std::memcpy(dense, outer, itemsize) : std::memcpy(outer, dense, itemsize);
    return;
  }
  auto ost = strides_of(outer_shape);
  std::size_t row = static_cast<std::size_t>(block[rank - 1]) * itemsize;
  std::int64_t rows = shape_size(block) / block[rank - 1];
  // Stream only big scatters of whole 64-byte lines; small copies stay in cache for the reader.
  const bool stream = !to_dense && row % 64 == 0 && static_cast<std::size_t>(shape_size(outer_shape)) * itemsize >= (1u << 20);
  std::vector<std::int64_t> idx(rank, 0);  // index over the leading rank-1 axes
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int64_t o = offset[rank - 1];
    for (std::size_t a = 0; a + 1 < rank; ++a) o += (offset[a] + idx[a]) * ost[a];
    std::byte* op = outer + static_cast<std::size_t>(o) * itemsize;
    std::byte* dp = dense + static_cast<std::size_t>(r) * row;
    if (to_dense) std::memcpy(dp, op, row);
    else if (stream) copy_row_streaming(op, dp, row);
    else std::memcpy(op, dp, row);
    for (std::size_t a = rank - 1; a-- > 0;) {
      if (++idx[a] < block[a]) break;
      idx[a] = 0;
    }
  }
#if defined(__SSE2__)
  if (stream) _mm_sfence();  // order the streaming stores before the chunk is handed on
#endif
}

void copy_subarray(const std::byte* src, const Shape& src_shape, const Shape& src_offset, std::byte* dst,
                   const Shape& dst_shape, const Shape& dst_offset, const Shape& block, std::size_t itemsize) {
  const std::size_t rank = block.size();
  if (shape_size(block) == 0) return;
  if (rank == 0) {
    std::memcpy(dst, src, itemsize);
    return;
  }
  const auto ss = strides_of(src_shape), ds = strides_of(dst_shape);
  const std::size_t row = static_cast<std::size_t>(block[rank - 1]) * itemsize;
  const std::int64_t rows = shape_size(block) / block[rank - 1];
  std::vector<std::int64_t> idx(rank, 0);
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int64_t so = src_offset[rank - 1], d = dst_offset[rank - 1];
    for (std::size_t a = 0; a + 1 < rank; ++a) {
      so += (src_offset[a] + idx[a]) * ss[a];
      d += (dst_offset[a] + idx[a]) * ds[a];
    }
    std::memcpy(dst + static_cast<std::size_t>(d) * itemsize, src + static_cast<std::size_t>(so) * itemsize, row);
    for (std::size_t a = rank - 1; a-- > 0;) {
      if (++idx[a] < block[a]) break;
      idx[a] = 0;
    }
  }
}

void pack_strided_block(const std::byte* base, const Shape& strides, const Shape& offset, std::byte* dense,
                        const Shape& block, std::size_t itemsize) {
  const std::size_t rank = block.size();
  if (shape_size(block) == 0) return;
  if (rank == 0) {
    std::memcpy(dense, base, itemsize);
    return;
  }
  const std::int64_t inner = block[rank - 1], rows = shape_size(block) / inner, last = strides[rank - 1];
  const std::size_t row = static_cast<std::size_t>(inner) * itemsize;
  std::vector<std::int64_t> idx(rank, 0);  // index over the leading rank-1 axes
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int64_t o = offset[rank - 1] * last;
    for (std::size_t a = 0; a + 1 < rank; ++a) o += (offset[a] + idx[a]) * strides[a];
    const std::byte* sp = base + o * static_cast<std::int64_t>(itemsize);
    std::byte* dp = dense + static_cast<std::size_t>(r) * row;
    if (last == 1) {
      std::memcpy(dp, sp, row);
    } else {
      for (std::int64_t i = 0; i < inner; ++i)
        std::memcpy(dp + static_cast<std::size_t>(i) * itemsize, sp + i * last * static_cast<std::int64_t>(itemsize), itemsize);
    }
    for (std::size_t a = rank - 1; a-- > 0;) {
      if (++idx[a] < block[a]) break;
      idx[a] = 0;
    }
  }
}

void pad_block(const std::byte* base, const Shape& strides, const Shape& block, std::byte* dst, const Shape& full,
               const std::array<std::byte, 8>& fill, std::size_t itemsize) {
  const std::size_t rank = full.size();
  if (rank == 0) {
    std::memcpy(dst, base, itemsize);
    return;
  }
  if (shape_size(full) == 0) return;
  const std::int64_t inner = block[rank - 1], last = strides[rank - 1];
  const std::int64_t full_row = full[rank - 1], rows = shape_size(full) / full_row;
  const std::size_t row = static_cast<std::size_t>(inner) * itemsize;
  std::vector<std::int64_t> idx(rank, 0);  // index over the leading rank-1 axes of `full`
  for (std::int64_t r = 0; r < rows; ++r) {
    std::byte* dp = dst + static_cast<std::size_t>(r * full_row) * itemsize;
    bool inside = inner > 0;
    std::int64_t o = 0;
    for (std::size_t a = 0; a + 1 < rank; ++a) {
      inside = inside && idx[a] < block[a];
      o += idx[a] * strides[a];
    }
    std::int64_t filled_from = 0;
    if (inside) {
      const std::byte* sp = base + o * static_cast<std::int64_t>(itemsize);
      if (last == 1) {
        std::memcpy(dp, sp, row);
      } else {
        for (std::int64_t i = 0; i < inner; ++i)
          std::memcpy(dp + static_cast<std::size_t>(i) * itemsize, sp + i * last * static_cast<std::int64_t>(itemsize), itemsize);
      }
      filled_from = inner;
    }
    fill_elements(dp + static_cast<std::size_t>(filled_from) * itemsize, full_row - filled_from, fill, itemsize);
    for (std::size_t a = rank - 1; a-- > 0;) {
      if (++idx[a] < full[a]) break;
      idx[a] = 0;
    }
  }
}

void permute_axes(const std::byte* src, const Shape& src_shape, std::byte* dst, const std::vector<int>& perm,
                  std::size_t itemsize) {
  std::size_t rank = src_shape.size();
  std::int64_t total = shape_size(src_shape);
  if (total == 0) return;
  if (rank == 0) {
    std::memcpy(dst, src, itemsize);
    return;
  }
  auto sst = strides_of(src_shape);
  Shape dshape(rank), dsrc_stride(rank);  // per dst axis: extent, and stride in src (elements)
  for (std::size_t i = 0; i < rank; ++i) {
    dshape[i] = src_shape[static_cast<std::size_t>(perm[i])];
    dsrc_stride[i] = sst[static_cast<std::size_t>(perm[i])];
  }
  std::int64_t inner = dshape[rank - 1], istride = dsrc_stride[rank - 1];
  with_elem<1>(itemsize, [&]<class T>() {
    static_assert(sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8);
    const T* s = reinterpret_cast<const T*>(src);
    T* d = reinterpret_cast<T*>(dst);
    std::vector<std::int64_t> idx(rank, 0);
    for (std::int64_t out = 0; out < total; out += inner) {
      std::int64_t base = 0;
      for (std::size_t a = 0; a + 1 < rank; ++a) base += idx[a] * dsrc_stride[a];
      for (std::int64_t i = 0; i < inner; ++i) d[out + i] = s[base + i * istride];
      for (std::size_t a = rank - 1; a-- > 0;) {
        if (++idx[a] < dshape[a]) break;
        idx[a] = 0;
      }
    }
  });
}

void byteswap(std::byte* data, std::int64_t count, std::size_t itemsize) {
  auto n = static_cast<std::size_t>(count);
  switch (itemsize) {
    case 2: {
      auto* p = reinterpret_cast<std::uint16_t*>(data);
      for (std::size_t i = 0; i < n; ++i) p[i] = __builtin_bswap16(p[i]);
      break;
    }
    case 4: {
      auto* p = reinterpret_cast<std::uint32_t*>(data);
      for (std::size_t i = 0; i < n; ++i) p[i] = __builtin_bswap32(p[i]);
      break;
    }
    case 8: {
      auto* p = reinterpret_cast<std::uint64_t*>(data);
      for (std::size_t i = 0; i < n; ++i) p[i] = __builtin_bswap64(p[i]);
      break;
    }
    default: break;  // single bytes have no order
  }
}

}  // namespace cubist::zarr::detail
