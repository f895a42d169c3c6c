#include "cubist/config.hpp"

#include <atomic>
#include <fmt/format.h>

#include "cubist/error.hpp"
#include "runtime/thread_pool.hpp"

namespace cubist::config {
namespace {
std::atomic<std::int64_t> g_chunk_bytes{128LL << 20};
std::atomic<std::int64_t> g_memory_budget{0};
}

std::int64_t chunk_size_bytes() { return g_chunk_bytes.load(); }
void set_chunk_size_bytes(std::int64_t bytes) {
  if (bytes <= 0) throw ValueError(fmt::format("chunk size must be positive, got {} bytes", bytes));
  g_chunk_bytes = bytes;
}
std::int64_t memory_budget_bytes() { return g_memory_budget.load(); }
void set_memory_budget_bytes(std::int64_t bytes) {
  if (bytes < 0) throw ValueError(fmt::format("memory budget must be positive (or 0 for the default), got {} bytes", bytes));
  g_memory_budget = bytes;
}
unsigned num_threads() { return runtime::ThreadPool::default_threads(); }

}  // namespace cubist::config
