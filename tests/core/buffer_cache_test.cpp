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

TEST(BufferCachePolicy, AMissTakesTheSmallestResizableBufferThatIsBigEnough) {
  BufferCachePolicy cache(1 << 30, 5s);
  auto t = BufferCachePolicy::Clock::now();
  std::vector<BufferCachePolicy::Buffer> release;
  cache.give(tag(1), 3000, t, release);
  cache.give(tag(2), 500, t, release);    // below the resizable size: never handed out for another
  cache.give(tag(3), 12000, t, release);
  cache.give(tag(4), 2000, t, release);   // the most recently freed, but too small
  auto b = cache.take(2500, t, release, 1000);
  EXPECT_EQ(b.p, tag(1));
  EXPECT_EQ(b.bytes, 3000u);
  EXPECT_TRUE(BufferCachePolicy::used_whole(b, 2500));  // no resize: its pages stay for the next
  EXPECT_TRUE(release.empty());                         // it covers the request: nothing released
  // Left: 500 (not resizable), 12000 (over four times 2500: shrinking it would drop 9500 bytes of
  // pages) and 2000 (growing it adds 500): the 2000 one.
  b = cache.take(2500, t, release, 1000);
  EXPECT_EQ(b.p, tag(4));
  EXPECT_FALSE(BufferCachePolicy::used_whole(b, 2500));
  ASSERT_EQ(release.size(), 1u);  // it grows by 500 bytes: as much cached memory goes (the oldest)
  EXPECT_EQ(release[0].p, tag(2));
  release.clear();
  EXPECT_EQ(cache.take(800, t, release, 1000).p, nullptr);  // too small to take a resizable one
  EXPECT_EQ(cache.cached_bytes(), 0u);  // ... so 800 bytes of the rest were released
}

TEST(BufferCachePolicy, WithNoneBigEnoughTheLargestIsGrown) {
  BufferCachePolicy cache(1 << 30, 5s);
  auto t = BufferCachePolicy::Clock::now();
  std::vector<BufferCachePolicy::Buffer> release;
  cache.give(tag(1), 1500, t, release);
  cache.give(tag(2), 2000, t + 1ms, release);
  cache.give(tag(3), 1200, t + 2ms, release);
  auto b = cache.take(2500, t + 3ms, release, 1000);
  EXPECT_EQ(b.p, tag(2));  // the fewest new pages
  EXPECT_FALSE(BufferCachePolicy::used_whole(b, 2500));
  // It grows by 500 bytes: at least that much cached memory is released (the oldest, tag 1).
  ASSERT_EQ(release.size(), 1u);
  EXPECT_EQ(release[0].p, tag(1));
  EXPECT_EQ(cache.cached_bytes(), 1200u);
}

TEST(BufferCachePolicy, MixedSizesKeepTheirBuffers) {
  // Two chunk sizes taken in turn, one of each live at a time (a rechunk's big outputs between
  // its small inputs): after the first round every request is served without a new buffer or a
  // resize, where "the most recently freed" swapped one buffer between the two sizes. (A floor
  // above what is cached, as the real cache's 64 MiB is above a few chunks: nothing released.)
  BufferCachePolicy cache(1 << 30, 1h, 100000);
  auto t = BufferCachePolicy::Clock::now();
  std::vector<BufferCachePolicy::Buffer> release;
  cache.give(tag(1), 80000, t, release);
  cache.give(tag(2), 2300, t, release);
  for (int round = 0; round < 5; ++round) {
    auto big = cache.take(80000, t, release, 1000);
    auto small = cache.take(2300, t, release, 1000);
    EXPECT_EQ(big.p, tag(1));
    EXPECT_EQ(small.p, tag(2));
    cache.give(small.p, small.bytes, t, release);
    cache.give(big.p, big.bytes, t, release);
    // Another size in between: 6800 bytes served by neither (80000 is over four times it, 2300
    // too small) takes the closest fit, 2300, grown; it comes back at 6800.
    auto mid = cache.take(6800, t, release, 1000);
    EXPECT_EQ(mid.p, round == 0 ? tag(2) : tag(3));
    if (round == 0) {
      cache.give(tag(3), 6800, t, release);  // the caller grew it (a new address in general)
      cache.give(tag(2), 2300, t, release);  // a fresh 2300 for the next round
    } else {
      cache.give(mid.p, mid.bytes, t, release);
    }
  }
  EXPECT_TRUE(release.empty());
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
