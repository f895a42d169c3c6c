// The chunk buffer cache's lock across fork: a child must be able to allocate chunks whatever
// the parent's threads were doing (the cache's guard thread takes the lock every 5 ms).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "cubist/chunk.hpp"

using cubist::Chunk;
using cubist::DType;

TEST(ChunkFork, AChildAllocatesChunksWhileParentThreadsUseTheCache) {
  std::atomic<bool> stop{false};
  // Keeps the cache's lock busy: without the fork handlers, a child forked while it was held
  // would block on it forever.
  std::thread busy([&] {
    while (!stop) {
      Chunk c = Chunk::allocate(DType::Float64, {std::int64_t{1} << 18});  // 2 MiB: cached when freed
      static_cast<double*>(c.mutable_raw())[0] = 1;
    }
  });
  int failures = 0;
  for (int i = 0; i < 200; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::alarm(2);  // a deadlocked child dies of SIGALRM
      Chunk c = Chunk::allocate(DType::Float64, {std::int64_t{1} << 18});
      std::memset(c.mutable_raw(), 0, c.nbytes());
      c = Chunk();
      Chunk d = Chunk::allocate(DType::Float64, {std::int64_t{1} << 17});
      ::_exit(d.empty() ? 2 : 0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++failures;
      break;
    }
  }
  stop = true;
  busy.join();
  EXPECT_EQ(failures, 0);
}
