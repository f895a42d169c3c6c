#include "runtime/local_scheduler.hpp"

#include <atomic>
#include <condition_variable>
#include <fmt/format.h>
#include <mutex>
#include <algorithm>
#include <functional>
#include <unordered_map>

#include "cubist/error.hpp"
#include "kernels/op_registry.hpp"
#include "runtime/memory_policy.hpp"
#include "runtime/unit_runner.hpp"

namespace cubist::runtime {
namespace {

using graph::TaskGraph;

struct Run {
  const TaskGraph& g;
  ThreadPool& pool;
  const UnitRunner& runner;
  std::vector<std::uint32_t> dependents_begin, dependents;  // reverse unit edges
  std::vector<std::uint32_t> dependent_edge;  // per reverse edge: its index into g.unit_deps
  std::unique_ptr<std::atomic<std::uint32_t>[]> waiting, remaining_consumers;
  std::vector<char> keep;  // units holding a requested output
  std::vector<Chunk> results;
  std::vector<std::int64_t> unit_bytes;  // bytes of each unit's result
  // Distinct outside inputs of each unit with the number of edges to each (unit_deps repeats).
  std::vector<std::uint32_t> inputs_begin;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> inputs;
  std::int64_t budget = 0;
  // Streamed units (their first member's op has OpDef::accumulate): the first stream_edges[u]
  // entries of u's unit_deps are that member's inputs, each added to the unit's accumulator as
  // soon as its producer finishes and then released (the edge is consumed there, not when u runs).
  std::vector<std::uint32_t> stream_edges;
  // An accumulator counts as held by the bytes written into it so far (its pages are touched
  // only as they are written), and in full once the unit runs.
  struct Stream {
    std::mutex mutex;
    Chunk acc;
    std::atomic<std::int64_t> filled{0};
  };
  std::vector<std::unique_ptr<Stream>> streams;
  std::atomic<std::int64_t> open_streams{0}, peak_open_streams{0};
  // Scheduling state, guarded by sched_mutex: ready units by (priority, unit), units running,
  // and pool jobs ("tokens") that are running or queued; each token runs ready units until
  // choose_unit gives it none.
  std::mutex sched_mutex;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> ready;
  std::size_t running = 0, tokens = 0, completed = 0;
  std::atomic<std::size_t> done{0};
  std::atomic<std::int64_t> held_bytes{0};
  std::atomic<std::int64_t> peak_bytes{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::exception_ptr error;
  std::mutex done_mutex;
  std::condition_variable done_cv;
  bool finished = false;  // guarded by done_mutex

  Run(const TaskGraph& graph, ThreadPool& p, const UnitRunner& r) : g(graph), pool(p), runner(r) {}

  const Chunk& result_of(std::uint32_t unit) const { return results[unit]; }

  static void job(void* ctx, std::uint64_t) { static_cast<Run*>(ctx)->drive(); }

  // Bytes held after u ran minus before: its result, less the inputs it is the last consumer of.
  // A streamed unit already holds the filled part of its accumulator. (A result added to
  // accumulators is released at once but moves into them, so it counts as kept.)
  std::int64_t growth(std::uint32_t u) const {
    std::int64_t g = unit_bytes[u];
    for (auto i = inputs_begin[u]; i < inputs_begin[u + 1]; ++i) {
      const auto [v, edges] = inputs[i];
      if (!keep[v] && remaining_consumers[v].load(std::memory_order_relaxed) == edges) g -= unit_bytes[v];
    }
    if (streams[u]) g -= streams[u]->filled.load(std::memory_order_relaxed);
    return g;
  }

  // Called with sched_mutex held: the ready unit to run next, removed from `ready`.
  std::optional<std::uint32_t> pick_locked() {
    constexpr std::size_t kConsidered = 256;  // bounds the scan when many units are ready
    if (ready.empty()) return std::nullopt;
    const std::int64_t held = held_bytes.load();
    std::uint32_t u = ready.front().second;
    const std::int64_t first = growth(u);
    if (first <= 0 || held + first <= budget) {  // what choose_unit decides for the first: skip the scan
      pop_ready();
    } else {
      thread_local std::vector<std::pair<std::uint32_t, std::uint32_t>> popped;
      thread_local std::vector<UnitCandidate> candidates;
      popped.clear();
      candidates.clear();
      while (!ready.empty() && popped.size() < kConsidered) {
        popped.push_back(ready.front());
        candidates.push_back({ready.front().second, popped.size() == 1 ? first : growth(ready.front().second)});
        pop_ready();
      }
      auto k = choose_unit(candidates, held, budget, running > 0);
      for (std::size_t i = 0; i < popped.size(); ++i)
        if (!k || i != *k) push_ready(popped[i]);
      if (!k) return std::nullopt;
      u = candidates[*k].unit;
    }
    ++running;
    return u;
  }

  // `ready` is a binary min-heap of (priority, unit).
  void push_ready(std::pair<std::uint32_t, std::uint32_t> entry) {
    ready.push_back(entry);
    std::push_heap(ready.begin(), ready.end(), std::greater<>());
  }
  void pop_ready() {
    std::pop_heap(ready.begin(), ready.end(), std::greater<>());
    ready.pop_back();
  }

  // Adds tokens until min(threads, ready units) are out; returns how many to submit.
  std::size_t refill_locked() {
    const std::size_t want = std::min<std::size_t>(pool.size(), ready.size());
    const std::size_t add = want > tokens ? want - tokens : 0;
    tokens += add;
    return add;
  }

  void submit_tokens(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) pool.submit({&Run::job, this, 0});
  }

  // A token: runs ready units until choose_unit gives it none. Finishing a unit and picking the
  // next happen under one lock.
  void drive() {
    std::optional<std::uint32_t> u;
    bool last = false;
    {
      std::lock_guard lock(sched_mutex);
      u = pick_locked();
      if (!u) last = --tokens == 0 && completed == g.num_units();
    }
    while (u) u = run_unit(*u, last);
    // The caller may destroy this Run as soon as it sees `finished`: touch nothing after.
    if (last) {
      std::lock_guard lock(done_mutex);
      finished = true;
      done_cv.notify_all();
    }
  }

  // Called while the task's exception is being handled.
  void fail(std::uint32_t t) {
    bool expected = false;
    if (!failed.compare_exchange_strong(expected, true)) return;
    auto e = std::make_exception_ptr(runner.task_error(t, std::current_exception()));
    std::lock_guard lock(error_mutex);
    error = std::move(e);
  }

  // Runs unit u; returns the next unit for this token, or nullopt after retiring the token
  // (`last`: it was the last token and every unit is done).
  std::optional<std::uint32_t> run_unit(std::uint32_t u, bool& last) {
    if (!failed.load(std::memory_order_relaxed)) {
      std::uint32_t t = 0;
      try {
        results[u] = runner.run_unit(
            u, [this](std::uint32_t v) -> const Chunk& { return result_of(v); },
            streams[u] ? std::function<Chunk(std::uint32_t)>([this, u](std::uint32_t head) {
              return finish_stream(u, head);  // its inputs were added (and released) as they completed
            })
                       : std::function<Chunk(std::uint32_t)>(),
            [this](std::int64_t bytes) { account(bytes); }, t);
      } catch (...) {
        fail(t);
      }
    }
    // Release inputs whose last consumer this was (stream edges were consumed when added), hand
    // this result to the accumulators waiting for it, then wake the units that waited on this one.
    for (auto d = g.unit_dep_begin[u] + stream_edges[u]; d < g.unit_dep_begin[u + 1]; ++d) consume(g.unit_deps[d]);
    thread_local std::vector<std::uint32_t> woken;
    woken.clear();
    for (auto d = dependents_begin[u]; d < dependents_begin[u + 1]; ++d) {
      auto w = dependents[d];
      const std::uint32_t edge = dependent_edge[d] - g.unit_dep_begin[w];
      if (edge < stream_edges[w]) {
        feed(w, edge);
        consume(u);
      }
      if (waiting[w].fetch_sub(1) == 1) woken.push_back(w);
    }
    done.fetch_add(1);
    std::size_t add = 0;
    std::optional<std::uint32_t> next;
    {
      std::lock_guard lock(sched_mutex);
      for (auto w : woken) push_ready({g.unit_priority[w], w});
      --running;
      ++completed;
      next = pick_locked();
      if (!next) last = --tokens == 0 && completed == g.num_units();
      add = refill_locked();
    }
    submit_tokens(add);
    return next;
  }

  // One consumer edge of v is done: release v's result when it was the last.
  void consume(std::uint32_t v) {
    if (remaining_consumers[v].fetch_sub(1) == 1 && !keep[v]) {
      account(-static_cast<std::int64_t>(results[v].nbytes()));
      results[v] = Chunk();
    }
  }

  // Adds input `edge` of streamed unit w (its producer has just finished) to w's accumulator.
  void feed(std::uint32_t w, std::uint32_t edge) {
    if (failed.load(std::memory_order_relaxed)) return;
    Stream& s = *streams[w];
    const std::uint32_t t = g.unit_members[g.unit_begin[w]];
    std::lock_guard lock(s.mutex);
    try {
      add_to(s, t, edge);
    } catch (...) {
      fail(t);
    }
  }

  // Called with s.mutex held.
  void add_to(Stream& s, std::uint32_t t, std::optional<std::uint32_t> edge) {
    const bool fresh = s.acc.empty();
    std::size_t written = 0;
    runner.run_task(t, {}, [this](std::uint32_t v) -> const Chunk& { return result_of(v); }, &s.acc, edge, &written);
    const auto filled = s.filled.load(std::memory_order_relaxed);
    const auto add = std::min(static_cast<std::int64_t>(written), static_cast<std::int64_t>(s.acc.nbytes()) - filled);
    s.filled.store(filled + add, std::memory_order_relaxed);
    account(add);
    if (fresh && !s.acc.empty()) {
      auto open = open_streams.fetch_add(1) + 1;
      auto peak = peak_open_streams.load(std::memory_order_relaxed);
      while (open > peak && !peak_open_streams.compare_exchange_weak(peak, open)) {
      }
    }
  }

  // The streamed member's result: its accumulator (made now when it had no inputs at all).
  Chunk finish_stream(std::uint32_t u, std::uint32_t t) {
    Stream& s = *streams[u];
    std::lock_guard lock(s.mutex);
    if (s.acc.empty()) add_to(s, t, std::nullopt);
    Chunk c = std::move(s.acc);
    s.acc = Chunk();
    account(static_cast<std::int64_t>(c.nbytes()) - s.filled.load(std::memory_order_relaxed));
    s.filled.store(0, std::memory_order_relaxed);
    open_streams.fetch_sub(1);
    const graph::Layer& layer = *g.layers[g.tasks[t].layer];
    const auto idx = layer.grid.unravel(g.tasks[t].chunk);
    std::vector<std::int64_t> shape(idx.size());
    for (std::size_t a = 0; a < idx.size(); ++a) shape[a] = layer.grid.chunks(a)[static_cast<std::size_t>(idx[a])];
    UnitRunner::check_result(layer, c, shape);
    return c;
  }

  void account(std::int64_t bytes) {
    auto now = held_bytes.fetch_add(bytes) + bytes;
    auto peak = peak_bytes.load(std::memory_order_relaxed);
    while (now > peak && !peak_bytes.compare_exchange_weak(peak, now)) {
    }
  }
};

}  // namespace

std::vector<std::vector<Chunk>> execute(const TaskGraph& g, const ExecuteOptions& options, ExecuteStats* stats) {
  auto t0 = std::chrono::steady_clock::now();
  ThreadPool& pool = options.pool ? *options.pool : ThreadPool::shared();
  const UnitRunner runner(g);  // resolves and prepares each layer's op (validates params before any work)
  Run run(g, pool, runner);
  const std::size_t nu = g.num_units();

  run.waiting = std::make_unique<std::atomic<std::uint32_t>[]>(nu);
  run.remaining_consumers = std::make_unique<std::atomic<std::uint32_t>[]>(nu);
  std::vector<std::uint32_t> count(nu + 1, 0);
  for (std::size_t u = 0; u < nu; ++u) {
    run.waiting[u] = g.unit_dep_begin[u + 1] - g.unit_dep_begin[u];
    run.remaining_consumers[u] = 0;
  }
  for (auto v : g.unit_deps) {
    ++count[v + 1];
    run.remaining_consumers[v].fetch_add(1, std::memory_order_relaxed);
  }
  for (std::size_t u = 0; u < nu; ++u) count[u + 1] += count[u];
  run.dependents_begin = count;
  run.dependents.resize(g.unit_deps.size());
  run.dependent_edge.resize(g.unit_deps.size());
  for (std::size_t u = 0; u < nu; ++u)
    for (auto d = g.unit_dep_begin[u]; d < g.unit_dep_begin[u + 1]; ++d) {
      run.dependent_edge[count[g.unit_deps[d]]] = d;
      run.dependents[count[g.unit_deps[d]]++] = static_cast<std::uint32_t>(u);
    }
  run.keep.assign(nu, 0);
  for (const auto& ot : g.output_tasks)
    for (auto t : ot)
      if (t != UINT32_MAX) run.keep[g.unit_of_task[t]] = 1;
  run.results.resize(nu);
  run.budget = options.memory_budget > 0 ? options.memory_budget : default_memory_budget();
  auto chunk_bytes = [&](const graph::Task& t) {
    const graph::Layer& l = *g.layers[t.layer];
    std::int64_t n = static_cast<std::int64_t>(itemsize(l.dtype));
    const auto idx = l.grid.unravel(t.chunk);
    for (std::size_t a = 0; a < idx.size(); ++a) n *= l.grid.chunks(a)[static_cast<std::size_t>(idx[a])];
    return n;
  };
  run.unit_bytes.resize(nu);
  run.stream_edges.assign(nu, 0);
  run.streams.resize(nu);
  run.inputs_begin.assign(1, 0);
  for (std::uint32_t u = 0; u < nu; ++u) {
    run.unit_bytes[u] = chunk_bytes(g.tasks[g.unit_members[g.unit_begin[u + 1] - 1]]);
    // The first member reads only outside units (fused producers come before their consumer).
    const graph::Task& head = g.tasks[g.unit_members[g.unit_begin[u]]];
    if (options.stream_inputs && runner.op(head.layer).accumulate) {
      run.stream_edges[u] = head.dep_end - head.dep_begin;
      run.streams[u] = std::make_unique<Run::Stream>();
    }
    std::vector<std::uint32_t> deps(g.unit_deps.begin() + g.unit_dep_begin[u] + run.stream_edges[u],
                                    g.unit_deps.begin() + g.unit_dep_begin[u + 1]);
    std::sort(deps.begin(), deps.end());
    for (std::size_t i = 0; i < deps.size();) {
      std::size_t e = i;
      while (e < deps.size() && deps[e] == deps[i]) ++e;
      run.inputs.emplace_back(deps[i], static_cast<std::uint32_t>(e - i));
      i = e;
    }
    run.inputs_begin.push_back(static_cast<std::uint32_t>(run.inputs.size()));
  }

  if (nu > 0) {
    std::size_t add = 0;
    {
      std::lock_guard lock(run.sched_mutex);
      for (std::uint32_t u = 0; u < nu; ++u)
        if (run.waiting[u] == 0) run.ready.emplace_back(g.unit_priority[u], u);
      std::make_heap(run.ready.begin(), run.ready.end(), std::greater<>());
      add = run.refill_locked();
    }
    run.submit_tokens(add);

    std::unique_lock lock(run.done_mutex);
    while (!run.done_cv.wait_for(lock, options.progress_interval, [&] { return run.finished; })) {
      if (options.on_progress) {
        lock.unlock();
        options.on_progress({run.done.load(), nu, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()});
        lock.lock();
      }
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (options.on_progress) options.on_progress({nu, nu, seconds});
  if (stats)
    *stats = {g.tasks.size(), nu, seconds, static_cast<std::size_t>(run.peak_bytes.load()),
              static_cast<std::size_t>(run.peak_open_streams.load())};
  if (run.error) std::rethrow_exception(run.error);

  std::vector<std::vector<Chunk>> out;
  for (const auto& ot : g.output_tasks) {
    std::vector<Chunk> chunks;
    chunks.reserve(ot.size());
    for (auto t : ot) chunks.push_back(run.results[g.unit_of_task[t]]);
    out.push_back(std::move(chunks));
  }
  return out;
}

}  // namespace cubist::runtime
