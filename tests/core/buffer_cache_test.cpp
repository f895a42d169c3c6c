// The freed-buffer cache policy: reuse by exact size, never more memory than the peak of live
// buffers, idle buffers and the cap released.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "core/buffer_cache.hpp"

using cubist::detail::BufferCachePolicy;
using namespace std::chrono_literals;

namespace {
void* tag(int i) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(0x1000 * i)); }
std::size_t total(const std::vector<BufferCachePolicy::Buffer>& v) {
  std::size_t n = 0;
  for (const auto& b : v) n += b.bytes;
  return n;
}
}  // namespace

TEST(BufferCachePolicy, ReusesTheMostRecentBufferOfTheSameSize) {
  BufferCachePolicy cache(1 << 30, 5s);
  auto t = BufferCachePolicy::Clock::now();
  std::vector<BufferCachePolicy::Buffer> release;
  EXPECT_TRUE(cache.give(tag(1), 4096, t, release));
  EXPECT_TRUE(cache.give(tag(2), 4096, t, release));
  EXPECT_TRUE(cache.give(tag(3), 8192, t, release));
  EXPECT_EQ(cache.take(4096, t, release).p, tag(2));
  EXPECT_EQ(cache.take(4096, t, release).p, tag(1));
  EXPECT_TRUE(release.empty());
  EXPECT_EQ(cache.cached_bytes(), 8192u);
}

TEST(BufferCachePolicy, AMissReleasesAtLeastTheRequestedBytesOldestFirst) {
  BufferCachePolicy cache(1 << 30, 5s);
  auto t = BufferCachePolicy::Clock::now();
  std::vector<BufferCachePolicy::Buffer> release;
  for (int i = 1; i <= 4; ++i) cache.give(tag(i), 1000, t + std::chrono::milliseconds(i), release);
  // 2500 bytes of another size: three cached buffers go, so mapped + cached bytes do not grow.
  EXPECT_EQ(cache.take(2500, t + 10ms, release).p, nullptr);
  ASSERT_EQ(release.size(), 3u);
  EXPECT_EQ(release[0].p, tag(1));
  EXPECT_EQ(release[2].p, tag(3));
  EXPECT_EQ(cache.cached_bytes(), 1000u);
  EXPECT_EQ(cache.take(1000, t + 10ms, release).p, tag(4));
}

TEST(BufferCachePolicy, MemoryNeverExceedsThePeakOfLiveBuffers) {
  // Alternating phases of different chunk sizes: live + cached stays within the live peak.
  BufferCachePolicy cache(1 << 30, 1h);
  auto t = BufferCachePolicy::Clock::now();
  std::vector<BufferCachePolicy::Buffer> release;
  std::size_t live = 0, peak_live = 0, mapped = 0;
  int next = 1;
  for (std::size_t size : {3000u, 5000u, 3000u, 7000u, 1000u}) {
    std::vector<void*> held;
    for (int i = 0; i < 20; ++i) {
      release.clear();
      void* p = cache.take(size, t, release).p;
      mapped -= total(release);
      if (!p) {
        p = tag(next++);
        mapped += size;
      }
      held.push_back(p);
      live += size;
      peak_live = std::max(peak_live, live);
      EXPECT_LE(mapped, peak_live + size);
    }
    for (void* p : held) {
      release.clear();
      ASSERT_TRUE(cache.give(p, size, t, release));
      mapped -= total(release);
      live -= size;
    }
  }
  EXPECT_LE(mapped, peak_live + 7000);
}

TEST(BufferCachePolicy, MissesLeaveTheFloorCached) {
  BufferCachePolicy cache(1 << 30, 5s, 2500);
  auto t = BufferCachePolicy::Clock::now();
  std::vector<BufferCachePolicy::Buffer> release;
  for (int i = 1; i <= 4; ++i) cache.give(tag(i), 1000, t, release);
  EXPECT_EQ(cache.take(5000, t, release).p, nullptr);
  EXPECT_EQ(total(release), 2000u);  // down to the floor, not to zero
  EXPECT_EQ(cache.cached_bytes(), 2000u);
}

TEST(BufferCachePolicy, PiecesAreAnExactBufferElseTheSmallestLargerOneSplit) {
  BufferCachePolicy cache(1 << 30, 5s);
  auto t = BufferCachePolicy::Clock::now();
  std::vector<BufferCachePolicy::Buffer> release;
  cache.give(tag(1), 8000, t, release);
  cache.give(tag(2), 5000, t, release);
  cache.give(tag(3), 3000, t, release);
  auto exact = cache.take_pieces(5000, t, release, 1000);
  ASSERT_EQ(exact.size(), 1u);
  EXPECT_EQ(exact[0].p, tag(2));
  // 2000 bytes: the smallest larger buffer (3000, not the most recent 8000) loses its first 2000.
  auto split = cache.take_pieces(2000, t, release, 1000);
  ASSERT_EQ(split.size(), 1u);
  EXPECT_EQ(split[0].p, tag(3));
  EXPECT_EQ(split[0].bytes, 2000u);
  EXPECT_EQ(cache.cached_bytes(), 9000u);
  // ... its last 1000 bytes stay cached at their own address, and serve an exact request.
  auto rest = cache.take_pieces(1000, t, release, 1000);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].p, static_cast<char*>(tag(3)) + 2000);
  // 7500 of the 8000: a rest below the smallest piece is not split off, the buffer goes whole.
  auto whole = cache.take_pieces(7500, t, release, 1000);
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].bytes, 8000u);
  EXPECT_TRUE(release.empty());
  EXPECT_EQ(cache.cached_bytes(), 0u);
}

TEST(BufferCachePolicy, LargerRequestsGatherTheMostRecentPiecesAndNeverRelease) {
  BufferCachePolicy cache(1 << 30, 5s);
  auto t = BufferCachePolicy::Clock::now();
  std::vector<BufferCachePolicy::Buffer> release;
  cache.give(tag(1), 4000, t, release);
  cache.give(tag(2), 500, t, release);  // below the smallest piece: never part of another request
  cache.give(tag(3), 3000, t, release);
  cache.give(tag(4), 2000, t, release);
  auto pieces = cache.take_pieces(6000, t, release, 1000);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].p, tag(4));
  EXPECT_EQ(pieces[1].p, tag(3));
  EXPECT_EQ(pieces[2].p, tag(1));  // the last one split: 1000 of its 4000
  EXPECT_EQ(total(pieces), 6000u);
  EXPECT_EQ(cache.cached_bytes(), 3500u);
  // More than the cache holds: everything usable, short of the request (the caller maps the rest).
  pieces = cache.take_pieces(9000, t, release, 1000);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].p, static_cast<char*>(tag(1)) + 1000);
  EXPECT_EQ(pieces[0].bytes, 3000u);
  EXPECT_TRUE(release.empty());  // cached memory is used, not released
  EXPECT_EQ(cache.cached_bytes(), 500u);
  EXPECT_EQ(cache.take(500, t, release).p, tag(2));
}

TEST(BufferCachePolicy, PiecesKeepMappedMemoryWithinThePeakOfLiveBuffers) {
  // Phases of different sizes, as chunks of an edge and of the interior: served from pieces,
  // mapped + cached bytes never exceed the peak of live bytes (no rounding slack here).
  BufferCachePolicy cache(1 << 30, 1h);
  auto t = BufferCachePolicy::Clock::now();
  std::vector<BufferCachePolicy::Buffer> release;
  std::size_t live = 0, peak_live = 0, mapped = 0;
  int next = 1;
  for (std::size_t size : {3000u, 5000u, 3000u, 7000u, 1000u, 9000u}) {
    std::vector<std::size_t> held;
    for (int i = 0; i < 20; ++i) {
      const auto pieces = cache.take_pieces(size, t, release, 1000);
      ASSERT_TRUE(release.empty());
      const std::size_t got = total(pieces);
      if (got < size) mapped += size - got;  // the fresh part
      held.push_back(std::max(got, size));
      live += held.back();
      peak_live = std::max(peak_live, live);
      EXPECT_LE(mapped, peak_live);
    }
    for (std::size_t bytes : held) {
      ASSERT_TRUE(cache.give(tag(next++), bytes, t, release));
      live -= bytes;
    }
  }
  EXPECT_EQ(mapped, cache.cached_bytes());
  EXPECT_LE(mapped, peak_live);
}

TEST(BufferCachePolicy, IdleBuffersAndTheCapAreReleased) {
  BufferCachePolicy cache(10000, 5s);
  auto t = BufferCachePolicy::Clock::now();
  std::vector<BufferCachePolicy::Buffer> release;
  EXPECT_FALSE(cache.give(tag(1), 20000, t, release));  // larger than the cap: the caller frees it
  cache.give(tag(2), 6000, t, release);
  cache.give(tag(3), 6000, t + 1s, release);  // over the cap: the oldest goes
  ASSERT_EQ(release.size(), 1u);
  EXPECT_EQ(release[0].p, tag(2));
  release.clear();
  EXPECT_EQ(cache.take(6000, t + 7s, release).p, nullptr);  // idle for 6 s: released, not reused
  ASSERT_EQ(release.size(), 1u);
  EXPECT_EQ(release[0].p, tag(3));
  EXPECT_EQ(cache.cached_bytes(), 0u);
}

TEST(BufferCachePolicy, CachedBuffersNeverRaiseTheMeasuredPeakBeyondTheSlack) {
  BufferCachePolicy cache(1 << 30, 1h);
  auto t = BufferCachePolicy::Clock::now();
  std::vector<BufferCachePolicy::Buffer> release;
  // 1000 bytes in use at the peak so far, nothing cached.
  cache.fit_under_peak(1000, 100, t, release);
  EXPECT_TRUE(release.empty());
  // 600 bytes freed into the cache (resident memory unchanged): in use 400, room for 600 + 100.
  cache.give(tag(1), 300, t, release);
  cache.give(tag(2), 300, t, release);
  cache.fit_under_peak(1000, 100, t, release);
  EXPECT_TRUE(release.empty());
  EXPECT_EQ(cache.cached_bytes(), 600u);
  // Memory the cache cannot see grows by 250 (in use 650): the cache may hold 350 + 100, so the
  // oldest buffer goes.
  cache.fit_under_peak(1250, 100, t, release);
  ASSERT_EQ(release.size(), 1u);
  EXPECT_EQ(release[0].p, tag(1));
  EXPECT_EQ(cache.cached_bytes(), 300u);
  release.clear();
  // In use beyond the old peak (1300 with the 300 cached): a new peak, of which the cache may
  // only keep the slack.
  cache.fit_under_peak(1600, 100, t, release);
  ASSERT_EQ(release.size(), 1u);
  EXPECT_EQ(cache.cached_bytes(), 0u);
  release.clear();
  // ... and the new peak is remembered: once in use falls back to 900, 400 + 100 may be cached.
  cache.give(tag(3), 500, t, release);
  cache.fit_under_peak(1400, 100, t, release);
  EXPECT_TRUE(release.empty());
  EXPECT_EQ(cache.cached_bytes(), 500u);
  // 200 more freed, and in use grows to 800 elsewhere: the cache may hold 500 + 100 of its 700.
  cache.give(tag(4), 200, t, release);
  cache.fit_under_peak(1500, 100, t, release);
  ASSERT_EQ(release.size(), 1u);
  EXPECT_EQ(release[0].p, tag(3));
  EXPECT_EQ(cache.cached_bytes(), 200u);
}
