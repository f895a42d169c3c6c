// Which freed chunk buffers to keep for reuse, and which to give back to the system.
//
// A pipeline allocates the same chunk sizes over and over, and a fresh page costs a page fault
// plus the kernel zeroing it: for a decoder writing 1 GB of chunks, zeroing fresh pages took more
// CPU than lz4 itself (measured, session 4). Reusing a freed buffer of the same size costs neither.
// Keeping freed buffers must not raise the process's peak memory, so the policy is:
//   - buffers of 1 MiB and more are mapped, and a request for one is served from the pages of
//     cached ones of any size (`take_pieces`: the caller moves them side by side with mremap), so
//     cached pages are reused before any new page is mapped (NDVI demo: resizing one cached
//     buffer with mremap, the policy before, faulted ~500 MiB of fresh pages per run while it
//     shrank others);
//   - for smaller (malloc'd) buffers, a miss (no cached buffer of that size) first releases cached
//     buffers, oldest first, until as many bytes as requested are released or only `floor` bytes
//     stay cached. The floor keeps a pipeline's few recurring odd sizes from being released by
//     every miss of another size (the NDVI demo faulted 25% more pages without it);
//   - the owner measures the process's resident memory often and `fit_under_peak` releases
//     cached buffers whenever they would raise it above its peak without the cache (plus a
//     slack): memory the policy never sees (outputs growing by faults, codec scratch) counts too.
//     Counting only the bytes it hands out, the cache let the NDVI demo's peak RSS rise from 580
//     to 620-950 MiB once assembled outputs came back to it;
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

  // A cached buffer of exactly `bytes`, else none; `release` then holds the buffers the caller
  // must free before allocating, so new memory replaces cached memory instead of adding to it.
  Buffer take(std::size_t bytes, Clock::time_point now, std::vector<Buffer>& release) {
    release_idle(now, release);
    if (auto it = by_size_.find(bytes); it != by_size_.end() && !it->second.empty())
      return remove(it->second.back());  // the most recently freed: likeliest still in cache
    std::size_t freed = 0;
    while (freed < bytes && cached_ > floor_) freed += pop_oldest(release);
    return {};
  }

  // Cached memory for `bytes` as pieces the caller moves side by side into one range (mremap
  // moves pages without faulting or zeroing them), so a request of any size reuses the pages of
  // freed buffers of other sizes. Only buffers of at least `min_piece` bytes are pieces; sizes
  // are multiples of the page, and so are the splits. In order of preference: a buffer of
  // exactly `bytes`; the smallest larger one, split when at least `min_piece` is left over (else
  // taken whole: the pieces' total may exceed `bytes` by less than `min_piece`); else the most
  // recently freed buffers, the last one split likewise. When the cache holds less, the pieces
  // fall short and the caller maps the rest fresh. Nothing is released: cached pages are used
  // where the exact-size policy would have released them and mapped new ones.
  std::vector<Buffer> take_pieces(std::size_t bytes, Clock::time_point now, std::vector<Buffer>& release,
                                  std::size_t min_piece) {
    release_idle(now, release);
    std::vector<Buffer> pieces;
    if (auto it = by_size_.find(bytes); it != by_size_.end() && !it->second.empty()) {
      pieces.push_back(remove(it->second.back()));
      return pieces;
    }
    auto best = order_.end();
    for (auto e = order_.begin(); e != order_.end(); ++e)
      if (e->bytes > bytes && (best == order_.end() || e->bytes < best->bytes)) best = e;
    if (best != order_.end()) {
      pieces.push_back(take_front(best, bytes, min_piece));
      return pieces;
    }
    std::vector<Order::iterator> chosen;  // most recent first, until they hold `bytes`
    std::size_t got = 0;
    for (auto e = order_.rbegin(); e != order_.rend() && got < bytes; ++e)
      if (e->bytes >= min_piece) {
        chosen.push_back(std::prev(e.base()));
        got += e->bytes;
      }
    std::size_t left = bytes;
    for (auto e : chosen) {
      pieces.push_back(take_front(e, left, min_piece));
      left -= std::min(left, pieces.back().bytes);
    }
    return pieces;
  }

  // Keeps the cache from raising the process's peak memory, whatever else allocates. `rss`: the
  // process's resident memory now, counting the cached buffers as resident. The rest (memory in
  // use) is tracked to its peak so far, and cached buffers are released, oldest first, until in
  // use plus cached memory is at most that peak plus `slack`: the cache only holds memory the
  // process had at its peak anyway, so memory the policy never sees (an assembly output growing
  // by faults, codec scratch from malloc) never meets a full cache at a new peak, provided the
  // owner calls this often enough.
  void fit_under_peak(std::size_t rss, std::size_t slack, Clock::time_point now, std::vector<Buffer>& release) {
    release_idle(now, release);
    const std::size_t live = rss > cached_ ? rss - cached_ : 0;
    live_peak_ = std::max(live_peak_, live);
    while (cached_ > live_peak_ - live + slack) pop_oldest(release);
  }

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

  void unindex(Order::iterator e) {
    auto& same = by_size_[e->bytes];
    same.erase(std::find(same.begin(), same.end(), e));
    if (same.empty()) by_size_.erase(e->bytes);
  }
  Buffer remove(Order::iterator e) {
    unindex(e);
    const Buffer b{e->p, e->bytes};
    cached_ -= e->bytes;
    order_.erase(e);
    return b;
  }
  // The first `bytes` of cached buffer e (all of it when less than `min_piece` would be left);
  // the rest stays cached in e's place.
  Buffer take_front(Order::iterator e, std::size_t bytes, std::size_t min_piece) {
    if (e->bytes < bytes + min_piece) return remove(e);
    unindex(e);
    const Buffer b{e->p, bytes};
    e->p = static_cast<char*>(e->p) + bytes;
    e->bytes -= bytes;
    cached_ -= bytes;
    by_size_[e->bytes].push_back(e);
    return b;
  }

  std::size_t pop_oldest(std::vector<Buffer>& release) {
    const Buffer b = remove(order_.begin());
    release.push_back(b);
    return b.bytes;
  }
  void release_idle(Clock::time_point now, std::vector<Buffer>& release) {
    while (!order_.empty() && now - order_.front().freed_at > max_idle_) pop_oldest(release);
  }

  std::size_t cap_, floor_;
  Clock::duration max_idle_;
  Order order_;
  // Per size, cached buffers in the order they were given (the back is the most recent).
  std::unordered_map<std::size_t, std::deque<Order::iterator>> by_size_;
  std::size_t cached_ = 0;
  std::size_t live_peak_ = 0;  // see fit_under_peak
};

}  // namespace cubist::detail
