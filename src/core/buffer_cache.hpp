// Which freed chunk buffers to keep for reuse, and which to give back to the system.
//
// A pipeline allocates the same chunk sizes over and over, and a fresh page costs a page fault
// plus the kernel zeroing it: for a decoder writing 1 GB of chunks, zeroing fresh pages took more
// CPU than lz4 itself (measured, session 4). Reusing a freed buffer of the same size costs neither.
// Keeping freed buffers must not raise the process's peak memory, so the policy is:
//   - a miss (no cached buffer of that size) first releases cached buffers, oldest first, until
//     as many bytes as requested are released or only `floor` bytes stay cached: mapped plus
//     cached bytes then never exceed the peak of live chunk bytes plus `floor` (and one buffer's
//     rounding), so beyond a small floor the cache only holds memory the process already had at
//     its peak. The floor keeps a pipeline's few recurring odd sizes from being released by every
//     miss of another size (the NDVI demo faulted 25% more pages without it);
//   - buffers idle longer than `max_idle` are released on the next call;
//   - never more than `cap` bytes are cached.
// Bookkeeping only: the owner maps and frees the memory (outside its lock).
#pragma once
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <list>
#include <unordered_map>
#include <vector>

namespace cubist::detail {

class BufferCachePolicy {
 public:
  using Clock = std::chrono::steady_clock;
  struct Buffer {
    void* p = nullptr;
    std::size_t bytes = 0;
  };

  BufferCachePolicy(std::size_t cap, Clock::duration max_idle, std::size_t floor = 0)
      : cap_(cap), floor_(floor), max_idle_(max_idle) {}

  // A buffer up to this many times the request is handed out whole rather than resized: its
  // pages stay resident for the next request of its own size (see take).
  static constexpr std::size_t kWholeUpTo = 4;

  // A cached buffer for `bytes`: of exactly that size; else, when `bytes` >= `resizable`, the
  // cached buffer of at least `resizable` bytes that costs the fewest pages: one of `bytes` to
  // kWholeUpTo times `bytes` costs none (used whole, see used_whole; the smallest such is taken),
  // a smaller one costs the pages the caller adds growing it (mremap keeps the others), a bigger
  // one the pages the caller drops shrinking it. Taking the most recently freed instead shrank
  // 80 MiB buffers for 2 MiB chunks and grew 2 MiB ones back to 80 MiB: fresh pages either way.
  // Empty when there is none; `release` then holds the buffers the caller must free before
  // allocating, so new memory replaces cached memory instead of adding to it.
  Buffer take(std::size_t bytes, Clock::time_point now, std::vector<Buffer>& release,
              std::size_t resizable = ~std::size_t{0}) {
    release_idle(now, release);
    if (auto it = by_size_.find(bytes); it != by_size_.end() && !it->second.empty()) {
      auto entry = it->second.back();  // the most recently freed: likeliest still in cache
      it->second.pop_back();
      return remove(entry);
    }
    Buffer reused;
    if (bytes >= resizable) {
      auto cost = [bytes](std::size_t size) -> std::size_t {
        if (used_whole({nullptr, size}, bytes)) return 0;
        return size < bytes ? bytes - size : size - bytes;
      };
      auto best = order_.end();
      for (auto e = order_.begin(); e != order_.end(); ++e)  // oldest first: ties go to the newest
        if (e->bytes >= resizable &&
            (best == order_.end() || cost(e->bytes) < cost(best->bytes) ||
             (cost(e->bytes) == cost(best->bytes) && e->bytes <= best->bytes)))
          best = e;
      if (best != order_.end()) {
        auto& same = by_size_[best->bytes];
        same.erase(std::find(same.begin(), same.end(), best));
        if (same.empty()) by_size_.erase(best->bytes);
        reused = remove(best);
      }
    }
    std::size_t freed = reused.bytes;
    while (freed < bytes && cached_ > floor_) freed += pop_oldest(release);
    return reused;
  }

  // Whether a buffer `take` returned for `bytes` is used as it is (larger than asked for, up to
  // kWholeUpTo times) rather than resized to `bytes`.
  static bool used_whole(const Buffer& b, std::size_t bytes) { return b.bytes >= bytes && b.bytes <= kWholeUpTo * bytes; }

  // Keeps `p` for reuse (true), or returns false when the caller must free it; `release` gets
  // idle buffers to free either way.
  bool give(void* p, std::size_t bytes, Clock::time_point now, std::vector<Buffer>& release) {
    release_idle(now, release);
    if (bytes > cap_) return false;
    while (cached_ + bytes > cap_) pop_oldest(release);
    order_.push_back({p, bytes, now});
    by_size_[bytes].push_back(std::prev(order_.end()));
    cached_ += bytes;
    return true;
  }

  std::size_t cached_bytes() const { return cached_; }

 private:
  struct Entry {
    void* p;
    std::size_t bytes;
    Clock::time_point freed_at;
  };
  using Order = std::list<Entry>;  // oldest first

  Buffer remove(Order::iterator e) {
    const Buffer b{e->p, e->bytes};
    cached_ -= e->bytes;
    order_.erase(e);
    return b;
  }

  std::size_t pop_oldest(std::vector<Buffer>& release) {
    const Entry e = order_.front();
    // Same-size entries are queued in the order they were freed, so this one is at its front.
    auto& same = by_size_[e.bytes];
    same.pop_front();
    if (same.empty()) by_size_.erase(e.bytes);
    order_.pop_front();
    cached_ -= e.bytes;
    release.push_back({e.p, e.bytes});
    return e.bytes;
  }
  void release_idle(Clock::time_point now, std::vector<Buffer>& release) {
    while (!order_.empty() && now - order_.front().freed_at > max_idle_) pop_oldest(release);
  }

  std::size_t cap_, floor_;
  Clock::duration max_idle_;
  Order order_;
  std::unordered_map<std::size_t, std::deque<Order::iterator>> by_size_;
  std::size_t cached_ = 0;
};

}  // namespace cubist::detail
