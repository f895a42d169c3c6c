// Big codec scratch buffers of one array (an edge chunk padded to the full chunk shape, the
// encoding of a chunk of tens of MiB), kept between its chunks.
//
// Why: a fresh buffer of 80 MiB costs ~20k page faults and the kernel zeroing 80 MiB; the NDVI
// demo padded every edge chunk into one (36 % of its page faults, ~1 GB of zeroing). Small
// buffers stay per thread (array.cpp), but a per-thread buffer of 80 MiB would stay resident after
// the write is over, so big ones live here instead, bounded:
//   - as many idle buffers as were ever leased at once (the threads writing this array's big
//     chunks concurrently), no more: a lease returns its buffer when it ends, and one returned
//     while that many wait is freed. With one kept for two writing threads, every other edge
//     chunk of the NDVI demo padded into fresh pages; keeping one per concurrent lease took 40k
//     page faults and 2.6 % of CPU off it for +6 MiB peak RSS (medians of 6 interleaved runs).
//     Idle buffers held beyond that (one per thread of the machine, whether it writes or not)
//     raised the peak by ~100 MiB (figures in array.cpp);
//   - a buffer idle for kMaxIdle is freed at the next take or give;
//   - all are freed with the pool, i.e. when the array (held by the run's write ops) goes.
#pragma once
#include <chrono>
#include <cstddef>
#include <mutex>
#include <vector>

#include "cubist/zarr.hpp"

namespace cubist::zarr::detail {

class ScratchPool {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::duration kMaxIdle = std::chrono::seconds(2);

  class Lease {
   public:
    Lease(ScratchPool& pool, Bytes bytes) : pool_(&pool), bytes_(std::move(bytes)) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), bytes_(std::move(o.bytes_)) { o.pool_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_) pool_->give(std::move(bytes_));
    }
    Bytes& bytes() { return bytes_; }

   private:
    ScratchPool* pool_;
    Bytes bytes_;
  };

  // A buffer whose capacity() is at least `capacity` bytes: the most recently returned one that is
  // big enough (likeliest still in cache), else a new one (its pages are faulted only when used).
  Lease take(std::size_t capacity);
  std::size_t cached_bytes() const;

 private:
  void give(Bytes b);
  void release_idle(Clock::time_point now, std::vector<Bytes>& freed);

  struct Idle {
    Bytes bytes;
    Clock::time_point since;
  };
  mutable std::mutex mutex_;
  std::vector<Idle> idle_;  // oldest first
  std::size_t leased_ = 0, peak_leased_ = 0;
};

}  // namespace cubist::zarr::detail
