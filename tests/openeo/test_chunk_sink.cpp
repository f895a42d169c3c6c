// write_chunks: a writer that takes concurrent calls gets them (netCDF chunks are compressed on
// the worker threads); one that does not gets them one at a time.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "helpers.hpp"
#include "openeo/chunk_sink.hpp"

namespace cubist::openeo::testing {
namespace {

// Counts the calls inside write() at once; each call waits (up to `wait`) for a second one.
class OverlapProbe : public ChunkWriter {
 public:
  OverlapProbe(bool concurrent, std::chrono::milliseconds wait) : concurrent_(concurrent), wait_(wait) {}
  bool thread_safe() const override { return concurrent_; }
  void write(const Chunk& chunk, std::span<const std::int64_t>) override {
    const int now = ++inside_;
    int seen = most_.load();
    while (now > seen && !most_.compare_exchange_weak(seen, now)) {}
    const auto until = std::chrono::steady_clock::now() + wait_;
    while (most_.load() < 2 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    elements_ += chunk.size();
    --inside_;
  }
  void finish() override { finished_ = true; }
  int most() const { return most_.load(); }
  std::int64_t elements() const { return elements_.load(); }
  bool finished() const { return finished_; }

 private:
  bool concurrent_;
  std::chrono::milliseconds wait_;
  std::atomic<int> inside_{0}, most_{0};
  std::atomic<std::int64_t> elements_{0};
  bool finished_ = false;
};

TEST(OpenEoChunkSink, ThreadSafeWritersGetConcurrentCalls) {
  const DataArray cube = small_cube().chunk({{"time", 1}});  // 4 chunks
  ComputeOptions o;
  o.num_threads = 2;
  OverlapProbe concurrent(true, std::chrono::seconds(5));
  write_chunks(cube, concurrent, o);
  EXPECT_EQ(concurrent.most(), 2);
  EXPECT_EQ(concurrent.elements(), cube.size());
  EXPECT_TRUE(concurrent.finished());
  // Not thread-safe: never two at once (each call then waits out its 200 ms).
  OverlapProbe serial(false, std::chrono::milliseconds(200));
  write_chunks(cube, serial, o);
  EXPECT_EQ(serial.most(), 1);
}

}  // namespace
}  // namespace cubist::openeo::testing
