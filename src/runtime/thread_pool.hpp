// The one thread pool: a worker per core by default, work-stealing deques.
// A worker pushes the jobs it spawns on its own deque and pops them last-in-first-out, so it
// follows one branch of a graph depth-first; idle workers take from the shared queue (in the
// order jobs were submitted) and then steal the oldest job of another worker.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace cubist::runtime {

class ThreadPool {
 public:
  using JobFn = void (*)(void* ctx, std::uint64_t arg);
  struct Job {
    JobFn fn = nullptr;
    void* ctx = nullptr;
    std::uint64_t arg = 0;
  };

  explicit ThreadPool(unsigned threads = 0);  // 0: CUBIST_NUM_THREADS or one per core
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  unsigned size() const { return static_cast<unsigned>(workers_.size()); }
  void submit(Job job);                      // a worker's own deque, or the shared queue
  void submit_shared(std::span<const Job> jobs);  // the shared queue, in order

  // The process-wide pool used by compute() unless told otherwise.
  static ThreadPool& shared();
  static unsigned default_threads();

 private:
  struct Worker {
    std::mutex mutex;
    std::deque<Job> jobs;
  };
  void run_worker(unsigned index);
  bool take(unsigned index, Job& job);
  void announce(std::size_t count);

  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::mutex shared_mutex_;
  std::deque<Job> shared_;
  std::atomic<std::int64_t> pending_{0};
  std::atomic<int> sleepers_{0};
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stop_{false};
};

}  // namespace cubist::runtime
