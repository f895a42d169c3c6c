// Runs a task graph on the in-process thread pool.
#pragma once
#include <chrono>
#include <functional>
#include <vector>

#include "graph/task_graph.hpp"
#include "runtime/thread_pool.hpp"

namespace cubist::runtime {

struct Progress {
  std::size_t done = 0, total = 0;  // execution units
  double seconds = 0;
};

struct ExecuteOptions {
  ThreadPool* pool = nullptr;  // nullptr: ThreadPool::shared()
  std::function<void(const Progress&)> on_progress;  // called from the caller's thread
  std::chrono::milliseconds progress_interval{200};
  // Chunk bytes held at once above which no unit that would hold more starts while others run
  // (runtime/memory_policy.hpp); 0: default_memory_budget().
  std::int64_t memory_budget = 0;
  // Feed ops with OpDef::accumulate (rechunk) each input as it completes, releasing it at once;
  // false: run them like any other op, once all their inputs exist (kept to compare against).
  bool stream_inputs = true;
};

struct ExecuteStats {
  std::size_t tasks = 0, units = 0;
  double seconds = 0;
  std::size_t peak_bytes = 0;  // largest total of chunk bytes held at once
  std::size_t peak_streams = 0;  // most streamed units (OpDef::accumulate) holding a partial result at once
};

// Computes every output chunk; returns them per output, by linear chunk index.
// Ready units run in priority order (TaskGraph::unit_priority) under a memory budget
// (choose_unit). Every intermediate chunk is released as soon as its last consumer has run, or,
// for a consumer whose op has OpDef::accumulate (rechunk), as soon as it has been added to that
// consumer's partial result, on the thread that produced it. The first failing
// task's error is rethrown as cubist::TaskError naming its layer, op and chunk index.
std::vector<std::vector<Chunk>> execute(const graph::TaskGraph& graph, const ExecuteOptions& options = {},
                                        ExecuteStats* stats = nullptr);

}  // namespace cubist::runtime
