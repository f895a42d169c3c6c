#include "runtime/thread_pool.hpp"

#include <cstdlib>
#include <string>

namespace cubist::runtime {
namespace {
thread_local ThreadPool* tls_pool = nullptr;
thread_local unsigned tls_index = 0;
}  // namespace

unsigned ThreadPool::default_threads() {
  if (const char* env = std::getenv("CUBIST_NUM_THREADS")) {
    char* end = nullptr;
    long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n > 0 && n <= 4096) return static_cast<unsigned>(n);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? hw : 1;
}

ThreadPool::ThreadPool(unsigned threads) {
  if (threads == 0) threads = default_threads();
  for (unsigned i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>());
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this, i] { run_worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(sleep_mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

ThreadPool& ThreadPool::shared() {
  static ThreadPool pool;
  return pool;
}

void ThreadPool::announce(std::size_t count) {
  pending_.fetch_add(static_cast<std::int64_t>(count));
  if (sleepers_.load() > 0) {
    std::lock_guard lock(sleep_mutex_);
    if (count == 1) wake_.notify_one();
    else wake_.notify_all();
  }
}

void ThreadPool::submit(Job job) {
  if (tls_pool == this) {
    auto& w = *workers_[tls_index];
    std::lock_guard lock(w.mutex);
    w.jobs.push_back(job);
  } else {
    std::lock_guard lock(shared_mutex_);
    shared_.push_back(job);
  }
  announce(1);
}

void ThreadPool::submit_shared(std::span<const Job> jobs) {
  if (jobs.empty()) return;
  {
    std::lock_guard lock(shared_mutex_);
    shared_.insert(shared_.end(), jobs.begin(), jobs.end());
  }
  announce(jobs.size());
}

bool ThreadPool::take(unsigned index, Job& job) {
  {
    auto& w = *workers_[index];
    std::lock_guard lock(w.mutex);
    if (!w.jobs.empty()) {
      job = w.jobs.back();
      w.jobs.pop_back();
      return true;
    }
  }
  {
    std::lock_guard lock(shared_mutex_);
    if (!shared_.empty()) {
      job = shared_.front();
      shared_.pop_front();
      return true;
    }
  }
  for (unsigned k = 1; k < workers_.size(); ++k) {
    auto& victim = *workers_[(index + k) % workers_.size()];
    std::lock_guard lock(victim.mutex);
    if (!victim.jobs.empty()) {
      job = victim.jobs.front();
      victim.jobs.pop_front();
      return true;
    }
  }
  return false;
}

void ThreadPool::run_worker(unsigned index) {
  tls_pool = this;
  tls_index = index;
  Job job;
  while (true) {
    if (take(index, job)) {
      pending_.fetch_sub(1);
      job.fn(job.ctx, job.arg);
      continue;
    }
    std::unique_lock lock(sleep_mutex_);
    sleepers_.fetch_add(1);
    wake_.wait(lock, [&] { return stop_.load() || pending_.load() > 0; });
    sleepers_.fetch_sub(1);
    if (stop_ && pending_.load() <= 0) return;
  }
}

}  // namespace cubist::runtime
