#include "cubist/chunk.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

#include "core/buffer_cache.hpp"

namespace cubist {
namespace {

// Freed chunk buffers are kept for reuse by size under BufferCachePolicy (core/buffer_cache.hpp):
// fresh pages cost a page fault and the kernel zeroing them, which for a Zarr decoder took more
// CPU than lz4 itself; beyond a 64 MiB floor the policy never lets the cache raise the process's
// peak memory. A miss takes the mapped buffer of another size that costs the fewest pages: a
// larger one (up to 4x) as it is, else one resized with mremap, which keeps its pages: pipelines
// whose chunk sizes vary still reuse faulted memory.
// Buffers of kMapBytes and more are mapped directly rather than taken from malloc: malloc keeps
// freed multi-MB blocks inside its arenas (its mmap threshold grows to 32 MiB as other code
// frees large blocks), so a pipeline's peak of chunk bytes stayed resident long after the chunks
// were released; what the policy releases goes back to the system at once.
class BufferCache {
 public:
  static BufferCache& instance() {
    static auto* cache = new BufferCache();  // never destroyed: chunks may be freed during exit
    return *cache;
  }
  using Buffer = detail::BufferCachePolicy::Buffer;
  // A buffer of at least `bytes`; its size (for give) is in Buffer::bytes.
  Buffer take(std::size_t bytes) {
    if (bytes >= kMinBytes) {
      std::vector<Buffer> release;
      Buffer b;
      {
        std::lock_guard lock(mutex_);
        b = policy_.take(bytes, detail::BufferCachePolicy::Clock::now(), release, kMapBytes);
      }
      free_all(release);
      if (b.p && detail::BufferCachePolicy::used_whole(b, bytes)) return {b.p, b.bytes};
      if (b.p) {  // a mapped buffer of another size: resized, its pages kept (no fault, no zeroing)
        void* q = ::mremap(b.p, b.bytes, bytes, MREMAP_MAYMOVE);
        if (q != MAP_FAILED) return {q, bytes};
        munmap(b.p, b.bytes);
      }
    }
    if (bytes >= kMapBytes) {
      void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) return {};
      // No MADV_HUGEPAGE here: it halved the NDVI demo's page faults but, with THP defrag on
      // "madvise" (Debian's default), faults then compact memory: the demo took ~10% more CPU and
      // Zarr 1024² reads fell from 3.5 to 1.7 GB/s (measured, session 3). Zarr's reader no longer
      // advises its own chunks either (session 5: a first read cost ~30% more CPU with it).
      return {p, bytes};
    }
    return {std::aligned_alloc(kChunkAlignment, bytes), bytes};
  }
  // Outside the cache: see Chunk::sparse_zeros.
  static Buffer map_zeroed(std::size_t bytes) {
    if (bytes >= kMapBytes) {
      void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      return {p == MAP_FAILED ? nullptr : p, bytes};
    }
    void* p = std::aligned_alloc(kChunkAlignment, bytes);
    if (p) std::memset(p, 0, bytes);
    return {p, bytes};
  }
  static void free_one(void* p, std::size_t bytes) {
    if (bytes >= kMapBytes) munmap(p, bytes);
    else std::free(p);
  }

  void give(void* p, std::size_t bytes) {
    if (bytes >= kMinBytes) {
      std::vector<Buffer> release;
      bool kept;
      {
        std::lock_guard lock(mutex_);
        kept = policy_.give(p, bytes, detail::BufferCachePolicy::Clock::now(), release);
      }
      free_all(release);
      if (kept) return;
    }
    free_one(p, bytes);
  }

 private:
  static constexpr std::size_t kMinBytes = 64 << 10;
  static constexpr std::size_t kMapBytes = 1 << 20;
  // Cached whatever the misses (the bound of the cache before session 4): at most this much
  // above the peak of live chunk bytes.
  static constexpr std::size_t kCacheFloor = 64 << 20;

  // An eighth of physical memory, at least 64 MiB and at most 4 GiB: room for a persisted result
  // of a few GB to be recycled chunk for chunk by the next one of the same shape.
  static std::size_t cache_cap() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    const std::size_t ram = pages > 0 && page > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) : 0;
    return std::clamp<std::size_t>(ram / 8, std::size_t{64} << 20, std::size_t{4} << 30);
  }
  static void free_all(const std::vector<Buffer>& buffers) {
    for (const auto& b : buffers) free_one(b.p, b.bytes);
  }

  std::mutex mutex_;
  detail::BufferCachePolicy policy_{cache_cap(), std::chrono::seconds(5), kCacheFloor};
};

}  // namespace

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

namespace {
// A C-ordered chunk over a buffer from `acquire(bytes)` (perhaps a larger one), handed back
// through `release(buffer, its size)` when its last view goes. The size is rounded up to a
// multiple of the alignment, as aligned_alloc requires.
Chunk chunk_in_buffer(DType dtype, Shape shape, BufferCache::Buffer (*acquire)(std::size_t),
                      void (*release)(void*, std::size_t)) {
  const auto elements = static_cast<std::size_t>(shape_size(shape));
  const std::size_t bytes0 = std::max<std::size_t>(elements * itemsize(dtype), 1);
  const std::size_t bytes = (bytes0 + kChunkAlignment - 1) / kChunkAlignment * kChunkAlignment;
  const auto [p, size] = acquire(bytes);  // size >= bytes: what goes back to `release`
  if (!p) throw Error(fmt::format("out of memory allocating a chunk of {} bytes", bytes));
  std::shared_ptr<const void> owner(p, [size, release](const void* q) { release(const_cast<void*>(q), size); });
  return Chunk::wrap(dtype, std::move(shape), std::move(owner), p);
}
}  // namespace

Chunk Chunk::allocate(DType dtype, Shape shape) {
  return chunk_in_buffer(
      dtype, std::move(shape), [](std::size_t bytes) { return BufferCache::instance().take(bytes); },
      [](void* p, std::size_t bytes) { BufferCache::instance().give(p, bytes); });
}

// Freed straight back to the system: by then it is resident in full, and cached it would add a
// whole output chunk to the memory the cache may hold beyond the live chunks.
Chunk Chunk::sparse_zeros(DType dtype, Shape shape) {
  return chunk_in_buffer(dtype, std::move(shape), &BufferCache::map_zeroed, &BufferCache::free_one);
}

void Chunk::set_c_strides() {
  strides_.assign(shape_.size(), 1);
  for (std::size_t a = shape_.size(); a-- > 1;) strides_[a - 1] = strides_[a] * shape_[a];
  contiguous_ = true;
}

Chunk Chunk::view(std::span<const std::int64_t> offset, Shape shape) const {
  if (offset.size() != shape_.size() || shape.size() != shape_.size())
    throw ValueError(fmt::format("view of rank {} requested from a chunk of rank {}", shape.size(), shape_.size()));
  std::int64_t start = 0;
  for (std::size_t a = 0; a < shape_.size(); ++a) {
    if (offset[a] < 0 || shape[a] < 0 || offset[a] + shape[a] > shape_[a])
      throw ValueError(fmt::format("view at offset {} of shape {} leaves a chunk of shape {}",
                                   shape_to_string(Shape(offset.begin(), offset.end())), shape_to_string(shape),
                                   shape_to_string(shape_)));
    start += offset[a] * strides_[a];
  }
  Chunk c;
  c.dtype_ = dtype_;
  c.size_ = shape_size(shape);
  c.shape_ = std::move(shape);
  c.strides_ = strides_;
  // Contiguous when every axis outside the innermost partial one has extent 1.
  bool contiguous = contiguous_;
  std::size_t partial = 0;
  for (std::size_t a = 0; a < c.shape_.size(); ++a)
    if (c.shape_[a] != shape_[a]) partial = a;
  for (std::size_t a = 0; a < partial; ++a)
    if (c.shape_[a] > 1) contiguous = false;
  const auto* base = static_cast<const std::byte*>(data_.get()) + static_cast<std::size_t>(start) * itemsize(dtype_);
  c.data_ = std::shared_ptr<const void>(data_, base);
  if (contiguous) c.set_c_strides();
  else c.contiguous_ = false;
  return c;
}

Chunk Chunk::contiguous() const {
  if (contiguous_) return *this;
  Chunk out = allocate(dtype_, shape_);
  const std::size_t item = itemsize(dtype_), rank = shape_.size();
  const std::int64_t inner = shape_[rank - 1], inner_stride = strides_[rank - 1];
  if (size_ == 0) return out;
  std::vector<std::int64_t> idx(rank, 0);
  const auto* src = static_cast<const std::byte*>(data_.get());
  auto* dst = static_cast<std::byte*>(out.mutable_raw());
  for (std::int64_t row = 0; row < size_ / inner; ++row) {
    std::int64_t off = 0;
    for (std::size_t a = 0; a + 1 < rank; ++a) off += idx[a] * strides_[a];
    if (inner_stride == 1) {
      std::memcpy(dst, src + static_cast<std::size_t>(off) * item, static_cast<std::size_t>(inner) * item);
    } else {
      for (std::int64_t i = 0; i < inner; ++i)
        std::memcpy(dst + static_cast<std::size_t>(i) * item, src + static_cast<std::size_t>(off + i * inner_stride) * item, item);
    }
    dst += static_cast<std::size_t>(inner) * item;
    for (std::size_t a = rank - 1; a-- > 0;) {
      if (++idx[a] < shape_[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

void Chunk::throw_not_contiguous() const {
  throw ValueError(fmt::format("chunk of shape {} is a strided view; call contiguous() first", shape_to_string(shape_)));
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
  c.set_c_strides();
  return c;
}

Chunk Chunk::reshaped(Shape shape) const {
  if (shape_size(shape) != size_)
    throw ValueError(fmt::format("cannot reshape a chunk of shape {} to {}", shape_to_string(shape_),
                                 shape_to_string(shape)));
  if (!contiguous_) throw_not_contiguous();
  Chunk c = *this;
  c.shape_ = std::move(shape);
  c.set_c_strides();
  return c;
}

void Chunk::throw_type_mismatch(DType requested) const {
  throw TypeError(fmt::format("chunk holds {} values, not {}", dtype_name(dtype_), dtype_name(requested)));
}

}  // namespace cubist
