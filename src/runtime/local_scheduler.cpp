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

namespace cubist::runtime {
namespace {

using graph::TaskGraph;

kernels::OpSignature signature_of(const graph::Layer& l) {
  kernels::OpSignature sig;
  sig.out_dtype = l.dtype;
  sig.out_shape = l.grid.shape();
  sig.literal = l.literal;
  for (const auto& in : l.inputs) {
    sig.input_dtypes.push_back(in.layer->dtype);
    sig.input_shapes.push_back(in.layer->grid.shape());
    std::vector<int> map;
    for (const auto& d : in.axes) map.push_back(d.kind == graph::DepKind::Identity || d.kind == graph::DepKind::Block ||
                                                        d.kind == graph::DepKind::Table
                                                    ? d.out_axis
                                                    : -1);
    sig.input_axis_to_out.push_back(std::move(map));
  }
  return sig;
}

struct Run {
  const TaskGraph& g;
  ThreadPool& pool;
  std::vector<const kernels::OpDef*> ops;
  std::vector<std::shared_ptr<const void>> prepared;
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

  Run(const TaskGraph& graph, ThreadPool& p) : g(graph), pool(p) {}

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

  // Runs task t on its inputs, or, with `acc`, adds just its input `only` (or none, when nullopt)
  // to the accumulator through OpDef::accumulate.
  Chunk run_task(std::uint32_t t, const std::vector<std::pair<std::uint32_t, Chunk>>& local, Chunk* acc = nullptr,
                 std::optional<std::uint32_t> only = std::nullopt, std::size_t* written = nullptr) {
    const graph::Task& task = g.tasks[t];
    const graph::Layer& layer = *g.layers[task.layer];
    const std::size_t rank = layer.rank();
    const std::size_t ndeps = task.dep_end - task.dep_begin;
    // One scratch buffer per thread for every index vector the context spans point into.
    thread_local std::vector<std::int64_t> scratch;
    thread_local std::vector<kernels::TaskInput> inputs;
    thread_local std::vector<Chunk> packed;  // contiguous copies for ops that need them
    std::size_t need = 3 * rank;
    for (auto d = task.dep_begin; d < task.dep_end; ++d) need += g.layers[g.tasks[g.deps[d]].layer]->rank();
    if (scratch.size() < need) scratch.resize(need);
    std::int64_t* s = scratch.data();
    std::span<std::int64_t> idx(s, rank), off(s + rank, rank), shape(s + 2 * rank, rank);
    std::size_t used = 3 * rank;
    std::int64_t lin = task.chunk;
    for (std::size_t a = rank; a-- > 0;) {
      auto n = layer.grid.num_chunks(a);
      idx[a] = lin % n;
      lin /= n;
      off[a] = layer.grid.offset(a, idx[a]);
      shape[a] = layer.grid.chunks(a)[static_cast<std::size_t>(idx[a])];
    }
    const std::size_t first = only ? *only : 0, end = only ? *only + 1 : (acc ? 0 : ndeps);
    inputs.resize(end - first);
    packed.assign(end - first, Chunk());
    for (std::size_t k = first; k < end; ++k) {
      const std::uint32_t dep = g.deps[task.dep_begin + k];
      const graph::Task& dt = g.tasks[dep];
      const graph::Layer& dl = *g.layers[dt.layer];
      const Chunk* c = nullptr;
      for (const auto& [id, chunk] : local)
        if (id == dep) c = &chunk;
      if (!c) c = &results[g.unit_of_task[dep]];
      if (!c->is_contiguous() && !ops[task.layer]->strided_inputs) {
        packed[k - first] = c->contiguous();
        c = &packed[k - first];
      }
      std::span<std::int64_t> doff(s + used, dl.rank());
      used += dl.rank();
      std::int64_t l = dt.chunk;
      for (std::size_t a = dl.rank(); a-- > 0;) {
        auto n = dl.grid.num_chunks(a);
        doff[a] = dl.grid.offset(a, l % n);
        l /= n;
      }
      inputs[k - first] = kernels::TaskInput{c, g.dep_slot[task.dep_begin + k], doff};
    }
    kernels::TaskContext ctx;
    ctx.prepared = prepared[task.layer].get();
    ctx.out_dtype = layer.dtype;
    ctx.linear_chunk = task.chunk;
    ctx.chunk_index = idx;
    ctx.out_offset = off;
    ctx.out_shape = shape;
    ctx.inputs = std::span<const kernels::TaskInput>(inputs.data(), end - first);
    if (acc) {
      *written = ops[task.layer]->accumulate(ctx, *acc);
      return Chunk();
    }
    Chunk out = ops[task.layer]->run(ctx);
    check_result(layer, out, shape);
    return out;
  }

  static void check_result(const graph::Layer& layer, const Chunk& out, std::span<const std::int64_t> shape) {
    if (out.dtype() != layer.dtype || out.shape() != Shape(shape.begin(), shape.end()))
      throw Error(fmt::format("op returned a {} chunk of shape {}, expected {} {}", dtype_name(out.dtype()),
                              shape_to_string(out.shape()), dtype_name(layer.dtype),
                              shape_to_string(Shape(shape.begin(), shape.end()))));
  }

  void fail(std::uint32_t t) {
    bool expected = false;
    if (!failed.compare_exchange_strong(expected, true)) return;
    const graph::Task& task = g.tasks[t];
    const graph::Layer& layer = *g.layers[task.layer];
    std::string cause;
    try {
      throw;
    } catch (const std::exception& e) {
      cause = e.what();
    } catch (...) {
      cause = "unknown exception";
    }
    std::lock_guard lock(error_mutex);
    error = std::make_exception_ptr(
        TaskError(layer.key, layer.op, graph::format_index(layer.grid.unravel(task.chunk)), cause));
  }

  // Runs unit u; returns the next unit for this token, or nullopt after retiring the token
  // (`last`: it was the last token and every unit is done).
  std::optional<std::uint32_t> run_unit(std::uint32_t u, bool& last) {
    if (!failed.load(std::memory_order_relaxed)) {
      std::vector<std::pair<std::uint32_t, Chunk>> local;
      const auto first = g.unit_begin[u], last = g.unit_begin[u + 1];
      std::uint32_t t = g.unit_members[first];
      try {
        for (auto m = first; m < last; ++m) {
          t = g.unit_members[m];
          Chunk c;
          if (m == first && streams[u]) {
            c = finish_stream(u, t);  // its inputs were added (and released) as they completed
          } else {
            c = run_task(t, local);
            account(static_cast<std::int64_t>(c.nbytes()));
          }
          // A fused member's only consumer is the next member that reads it: drop it once read.
          const graph::Task& task = g.tasks[t];
          std::erase_if(local, [&](const auto& entry) {
            for (auto d = task.dep_begin; d < task.dep_end; ++d)
              if (g.deps[d] == entry.first) {
                account(-static_cast<std::int64_t>(entry.second.nbytes()));
                return true;
              }
            return false;
          });
          if (m + 1 == last) results[u] = std::move(c);
          else local.emplace_back(t, std::move(c));
        }
      } catch (...) {
        for (const auto& entry : local) account(-static_cast<std::int64_t>(entry.second.nbytes()));
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
    run_task(t, {}, &s.acc, edge, &written);
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
    check_result(layer, c, shape);
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
  Run run(g, pool);
  const std::size_t nu = g.num_units();

  // Resolve and prepare each layer's op once (validates params before any work starts).
  for (const graph::Layer* l : g.layers) {
    const auto& op = kernels::OpRegistry::instance().get(l->op);
    run.ops.push_back(&op);
    try {
      run.prepared.push_back(op.prepare ? op.prepare(l->params, signature_of(*l)) : nullptr);
    } catch (const Error& e) {
      throw Error(fmt::format("layer {} (op '{}'): {}", l->key, l->op, e.what()));
    } catch (const std::exception& e) {
      throw Error(fmt::format("layer {} (op '{}'): bad parameters: {}", l->key, l->op, e.what()));
    }
  }

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
    if (options.stream_inputs && run.ops[head.layer]->accumulate) {
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
