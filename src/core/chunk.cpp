#include "cubist/chunk.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

#include "core/buffer_cache.hpp"
#include "core/chunk_pages.hpp"

namespace cubist {
namespace {

// Freed chunk buffers are kept for reuse under BufferCachePolicy (core/buffer_cache.hpp): fresh
// pages cost a page fault and the kernel zeroing them, which for a Zarr decoder took more CPU
// than lz4 itself. Buffers of kMapBytes and more are mapped, and a request for one is built from
// the pages of cached buffers of any size, moved side by side with mremap (pages move without a
// fault or zeroing), so pipelines whose chunk sizes vary still reuse faulted memory; only what the
// cache cannot supply is mapped fresh. They are mapped directly rather than taken from malloc:
// malloc keeps freed multi-MB blocks inside its arenas (its mmap threshold grows to 32 MiB as
// other code frees large blocks), so a pipeline's peak of chunk bytes stayed resident long after
// the chunks were released; what the policy releases goes back to the system at once.
using Piece = detail::BufferCachePolicy::Buffer;
constexpr std::size_t kMapBytes = 1 << 20;

// What a chunk's buffer is made of: one malloc'd block, or mapped pieces (each inside one
// mapping of the kernel's, as mremap requires) that lie side by side from `pieces[0].p` on.
struct Buffer {
  bool mapped = false;
  bool sparse = false;  // made by Chunk::sparse_zeros: cached pages may have been moved into it
  std::vector<Piece> pieces;
};

class BufferCache {
 public:
  static BufferCache& instance() {
    static auto* cache = new BufferCache();  // never destroyed: chunks may be freed during exit
    return *cache;
  }

  // Storage for `bytes` (a multiple of kChunkAlignment); empty pieces when out of memory.
  Buffer take(std::size_t bytes) {
    Buffer out;
    std::vector<Piece> release;
    if (bytes >= kMapBytes) {
      out.mapped = true;
      bytes = round_to_page(bytes);
      std::vector<Piece> pieces;
      {
        std::lock_guard lock(mutex_);
        pieces = policy_.take_pieces(bytes, detail::BufferCachePolicy::Clock::now(), release, kMapBytes);
        std::size_t got = 0;
        for (const Piece& b : pieces) got += b.bytes;
        fit_under_peak(bytes > got ? bytes - got : 0, release);
      }
      free_all(release);
      out.pieces = assemble(bytes, pieces);
      return out;
    }
    if (bytes >= kMinBytes) {
      Piece b;
      {
        std::lock_guard lock(mutex_);
        b = policy_.take(bytes, detail::BufferCachePolicy::Clock::now(), release);
      }
      free_all(release);
      if (b.p) {
        out.pieces.push_back(b);
        return out;
      }
    }
    if (void* p = std::aligned_alloc(kChunkAlignment, bytes)) out.pieces.push_back({p, bytes});
    return out;
  }

  void give(const Buffer& buffer) {
    std::vector<Piece> release, drop;
    {
      std::lock_guard lock(mutex_);
      const auto now = detail::BufferCachePolicy::Clock::now();
      for (const Piece& b : buffer.sparse ? split_sparse(buffer.pieces.front()) : buffer.pieces)
        // A mapped piece below kMapBytes (the fresh end of an assembled buffer) is not cached: the
        // policy would hand it out as a malloc'd buffer.
        if (b.bytes < kMinBytes || (buffer.mapped && b.bytes < kMapBytes) || !policy_.give(b.p, b.bytes, now, release))
          drop.push_back(b);
      fit_under_peak(0, release);
      if (policy_.cached_bytes() > 0 && !guard_started_) {
        guard_started_ = true;
        std::thread([this] { guard_peak(); }).detach();
      }
    }
    guard_wake_.notify_one();
    free_all(release);
    for (const Piece& b : drop) buffer.mapped ? free_mapped(b) : std::free(b.p);
  }

  // Before a writer writes the pages `touched` (page-aligned offsets into sparse buffer `base`,
  // sorted): moves cached pages into those that nothing has written yet (mincore: an untouched
  // page of a private anonymous mapping is not resident), where they form runs of at least
  // kMinRun; the other unwritten ones will fault fresh pages, and as many cached bytes are
  // released if the cache would otherwise raise the peak (fit_under_peak).
  void back_unwritten(std::byte* base, std::size_t mapped_bytes, std::span<const detail::ByteRange> touched) {
    {
      std::lock_guard lock(mutex_);
      if (!moved_into_.contains(base)) return;  // not a sparse buffer (or a view into one)
    }
    const std::size_t page = page_size();
    const std::size_t first = touched.front().begin, last = std::min(touched.back().end, mapped_bytes);
    if (last <= first) return;
    thread_local std::vector<unsigned char> resident;
    resident.resize((last - first) / page);
    if (::mincore(base + first, last - first, resident.data()) != 0) return;
    std::size_t fresh = 0;
    for (const detail::ByteRange& run : touched) {
      const std::size_t b = (run.begin - first) / page, e = (std::min(run.end, mapped_bytes) - first) / page;
      for (std::size_t i = b; i < e;) {
        if (resident[i] & 1) {
          ++i;
          continue;
        }
        std::size_t j = i;
        while (j < e && !(resident[j] & 1)) ++j;
        const std::size_t bytes = (j - i) * page;
        fresh += bytes;
        if (bytes >= kMinRun) fresh -= move_into(base, base + first + i * page, bytes);
        i = j;
      }
    }
    if (fresh == 0) return;
    std::vector<Piece> release;
    {
      std::lock_guard lock(mutex_);
      fit_under_peak(fresh, release);
    }
    free_all(release);
  }

  // Called with mutex_ held, when the process is about to fault `fresh` bytes of new pages:
  // see BufferCachePolicy::fit_under_peak. With nothing cached there is nothing to release (the
  // live peak it then misses is a lower bound: the cache only releases sooner).
  void fit_under_peak(std::size_t fresh, std::vector<Piece>& release) {
    if (policy_.cached_bytes() == 0) return;
    policy_.fit_under_peak(resident_bytes() + fresh, kPeakSlack, detail::BufferCachePolicy::Clock::now(), release);
  }
  // The process's resident memory (statm's second field), or 0 when /proc cannot tell: the cache
  // then keeps nothing beyond the slack.
  static std::size_t resident_bytes() {
    static const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    char text[128];
    const ssize_t n = fd < 0 ? -1 : ::pread(fd, text, sizeof text - 1, 0);
    if (n <= 0) return 0;
    text[n] = 0;
    unsigned long size = 0, resident = 0;
    if (std::sscanf(text, "%lu %lu", &size, &resident) != 2) return 0;
    return resident * page_size();
  }

  // While anything is cached, the process's resident memory is checked every kGuardPeriod, and
  // the cache trimmed (fit_under_peak): memory the cache cannot see (a Zarr write's codec
  // scratch, GDAL's buffers) can grow by tens of MiB between two chunk allocations, and a cache
  // checked only on its own calls then met a new peak full (NDVI demo: 600-660 MiB peak RSS vs
  // 545-560 MiB with the guard, same policy otherwise).
  void guard_peak() {
    std::unique_lock lock(mutex_);
    while (true) {
      guard_wake_.wait(lock, [&] { return policy_.cached_bytes() > 0; });
      std::vector<Piece> release;
      fit_under_peak(0, release);
      lock.unlock();
      free_all(release);
      std::this_thread::sleep_for(kGuardPeriod);
      lock.lock();
    }
  }

  static constexpr std::size_t kMinRun = 256 << 10;
  static std::size_t page_size() {
    static const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return page;
  }
  static std::size_t round_to_page(std::size_t bytes) { return (bytes + page_size() - 1) / page_size() * page_size(); }

  // Outside the cache until freed: see Chunk::sparse_zeros.
  Buffer map_zeroed(std::size_t bytes) {
    Buffer out;
    if (bytes >= kMapBytes) {
      out.mapped = true;
      out.sparse = true;
      bytes = round_to_page(bytes);
      void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p != MAP_FAILED) {
        out.pieces.push_back({p, bytes});
        std::lock_guard lock(mutex_);
        moved_into_[p];
      }
      return out;
    }
    void* p = std::aligned_alloc(kChunkAlignment, bytes);
    if (p) {
      std::memset(p, 0, bytes);
      out.pieces.push_back({p, bytes});
    }
    return out;
  }

 private:
  static constexpr std::size_t kMinBytes = 64 << 10;
  // Cached whatever the misses (the bound of the cache before session 4): at most this much
  // above the peak of live chunk bytes.
  static constexpr std::size_t kCacheFloor = 64 << 20;
  // What the cache may add to the process's peak memory (fit_under_peak): room to keep a
  // recurring chunk between its uses when the process runs near its peak. NDVI demo (medium, 2
  // workers, VM loaded 6-9, 3 runs each interleaved with the previous binary's 480-555k faults
  // and 572-678 MiB): page faults / peak RSS with no slack 547-552k / 544-561 MiB; 12 MiB
  // 366-412k / 569-681 MiB; 24 MiB 330-337k / 574-603 MiB; 48 MiB 328-347k / 594-683 MiB.
  static constexpr std::size_t kPeakSlack = 12 << 20;
  static constexpr auto kGuardPeriod = std::chrono::milliseconds(5);

  // One range of at least `bytes` made of the cached `pieces` (moved into place in order) and,
  // past them, fresh pages for what they lack. The pieces of the result, or none when the
  // kernel refused the mapping.
  static std::vector<Piece> assemble(std::size_t bytes, const std::vector<Piece>& pieces) {
    std::size_t total = 0;
    for (const Piece& b : pieces) total += b.bytes;
    if (pieces.size() == 1 && total >= bytes) return pieces;  // one cached buffer: used in place
    // No MADV_HUGEPAGE on fresh pages: it halved the NDVI demo's page faults but, with THP defrag
    // on "madvise" (Debian's default), faults then compact memory: the demo took ~10% more CPU and
    // Zarr 1024² reads fell from 3.5 to 1.7 GB/s (measured, session 3).
    const std::size_t span = std::max(bytes, total);
    auto* base = static_cast<std::byte*>(mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (base == MAP_FAILED) {
      for (const Piece& b : pieces) free_mapped(b);
      return {};
    }
    std::vector<Piece> out;
    std::size_t offset = 0;
    for (const Piece& b : pieces) {
      void* at = base + offset;
      // Replaces that part of the fresh mapping; should the kernel refuse, it stays fresh.
      if (::mremap(b.p, b.bytes, b.bytes, MREMAP_MAYMOVE | MREMAP_FIXED, at) == MAP_FAILED) free_mapped(b);
      out.push_back({at, b.bytes});
      offset += b.bytes;
    }
    if (offset < span) out.push_back({base + offset, span - offset});
    return out;
  }

  // Fills [at, at + bytes) of sparse buffer `base` with cached pages, as far as the cache has
  // them; returns the bytes filled.
  std::size_t move_into(std::byte* base, std::byte* at, std::size_t bytes) {
    std::size_t filled = 0;
    std::vector<Piece> pieces, release, rest;
    {
      std::lock_guard lock(mutex_);
      pieces = policy_.take_pieces(bytes, detail::BufferCachePolicy::Clock::now(), release, kMapBytes);
    }
    free_all(release);
    std::vector<Piece> moved;
    for (const Piece& b : pieces) {
      const std::size_t n = std::min(b.bytes, bytes);  // a piece may be longer than the run
      if (n == 0) {
        rest.push_back(b);
        continue;
      }
      if (::mremap(b.p, n, n, MREMAP_MAYMOVE | MREMAP_FIXED, at) != MAP_FAILED) {
        moved.push_back({at, n});
        at += n;
        bytes -= n;
        filled += n;
      } else {
        rest.push_back({b.p, n});
      }
      if (n < b.bytes) rest.push_back({static_cast<std::byte*>(b.p) + n, b.bytes - n});
    }
    Buffer leftover{.mapped = true, .sparse = false, .pieces = std::move(rest)};
    give(leftover);
    std::lock_guard lock(mutex_);
    auto& record = moved_into_[base];
    record.insert(record.end(), moved.begin(), moved.end());
    return filled;
  }

  // Called with mutex_ held: sparse buffer `whole` as pieces each inside one kernel mapping (the
  // pieces moved into it, and the parts of its own mapping between them), for mremap later.
  std::vector<Piece> split_sparse(const Piece& whole) {
    std::vector<Piece> out;
    std::vector<Piece> moved;
    if (auto it = moved_into_.find(whole.p); it != moved_into_.end()) {
      moved = std::move(it->second);
      moved_into_.erase(it);
    }
    std::sort(moved.begin(), moved.end(), [](const Piece& x, const Piece& y) { return x.p < y.p; });
    auto* at = static_cast<std::byte*>(whole.p);
    auto* const end = at + whole.bytes;
    for (const Piece& m : moved) {
      auto* p = static_cast<std::byte*>(m.p);
      if (p > at) out.push_back({at, static_cast<std::size_t>(p - at)});
      out.push_back(m);
      at = p + m.bytes;
    }
    if (at < end) out.push_back({at, static_cast<std::size_t>(end - at)});
    return out;
  }

  static void free_mapped(const Piece& b) { munmap(b.p, b.bytes); }
  // Cached buffers: mapped ones are kMapBytes or more, malloc'd ones less (see give).
  static void free_all(const std::vector<Piece>& pieces) {
    for (const Piece& b : pieces) b.bytes >= kMapBytes ? free_mapped(b) : std::free(b.p);
  }

  // An eighth of physical memory, at least 64 MiB and at most 4 GiB: room for a persisted result
  // of a few GB to be recycled chunk for chunk by the next one of the same shape.
  static std::size_t cache_cap() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    const std::size_t ram = pages > 0 && page > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) : 0;
    return std::clamp<std::size_t>(ram / 8, std::size_t{64} << 20, std::size_t{4} << 30);
  }

  std::mutex mutex_;
  std::condition_variable guard_wake_;  // woken when buffers are cached (see guard_peak)
  bool guard_started_ = false;
  // Per sparse buffer (by its address): the cached pieces moved into it.
  std::unordered_map<void*, std::vector<Piece>> moved_into_;
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
// A C-ordered chunk over a buffer from `acquire(bytes)`, handed back through `release(buffer)`
// when its last view goes. The size is rounded up to a multiple of the alignment, as aligned_alloc
// requires.
Chunk chunk_in_buffer(DType dtype, Shape shape, Buffer (*acquire)(std::size_t), void (*release)(const Buffer&)) {
  const auto elements = static_cast<std::size_t>(shape_size(shape));
  const std::size_t bytes0 = std::max<std::size_t>(elements * itemsize(dtype), 1);
  const std::size_t bytes = (bytes0 + kChunkAlignment - 1) / kChunkAlignment * kChunkAlignment;
  Buffer buffer = acquire(bytes);
  if (buffer.pieces.empty()) throw Error(fmt::format("out of memory allocating a chunk of {} bytes", bytes));
  void* p = buffer.pieces.front().p;
  std::shared_ptr<const void> owner(p, [buffer = std::move(buffer), release](const void*) { release(buffer); });
  return Chunk::wrap(dtype, std::move(shape), std::move(owner), p);
}
}  // namespace

Chunk Chunk::allocate(DType dtype, Shape shape) {
  return chunk_in_buffer(
      dtype, std::move(shape), [](std::size_t bytes) { return BufferCache::instance().take(bytes); },
      [](const Buffer& buffer) { BufferCache::instance().give(buffer); });
}

// Given back to the cache when freed, like any chunk: streamed assembly writes every element, so
// by then it is resident in full, and the pages of a freed 80 MiB output chunk serve the next
// chunks of any size instead of fresh pages (the cache never holds more than the peak of live
// bytes: see take_pieces).
Chunk Chunk::sparse_zeros(DType dtype, Shape shape) {
  return chunk_in_buffer(
      dtype, std::move(shape), [](std::size_t bytes) { return BufferCache::instance().map_zeroed(bytes); },
      [](const Buffer& buffer) { BufferCache::instance().give(buffer); });
}

void detail::back_unwritten_pages(const Chunk& sparse, std::span<const ByteRange> written) {
  if (sparse.nbytes() < kMapBytes || written.empty()) return;  // malloc'd: nothing to move into
  const auto touched = page_runs(written, BufferCache::page_size(), BufferCache::page_size());
  if (touched.empty()) return;
  BufferCache::instance().back_unwritten(static_cast<std::byte*>(sparse.mutable_raw()),
                                         BufferCache::round_to_page(sparse.nbytes()), touched);
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
