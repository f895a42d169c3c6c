#include "runtime/local_scheduler.hpp"

#include <atomic>
#include <condition_variable>
#include <fmt/format.h>
#include <mutex>
#include <unordered_map>

#include "cubist/error.hpp"
#include "kernels/op_registry.hpp"

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
  std::unique_ptr<std::atomic<std::uint32_t>[]> waiting, remaining_consumers;
  std::vector<char> keep;  // units holding a requested output
  std::vector<Chunk> results;
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

  static void job(void* ctx, std::uint64_t unit) { static_cast<Run*>(ctx)->run_unit(static_cast<std::uint32_t>(unit)); }

  Chunk run_task(std::uint32_t t, const std::vector<std::pair<std::uint32_t, Chunk>>& local) {
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
    inputs.resize(ndeps);
    packed.assign(ndeps, Chunk());
    for (std::size_t k = 0; k < ndeps; ++k) {
      const std::uint32_t dep = g.deps[task.dep_begin + k];
      const graph::Task& dt = g.tasks[dep];
      const graph::Layer& dl = *g.layers[dt.layer];
      const Chunk* c = nullptr;
      for (const auto& [id, chunk] : local)
        if (id == dep) c = &chunk;
      if (!c) c = &results[g.unit_of_task[dep]];
      if (!c->is_contiguous() && !ops[task.layer]->strided_inputs) {
        packed[k] = c->contiguous();
        c = &packed[k];
      }
      std::span<std::int64_t> doff(s + used, dl.rank());
      used += dl.rank();
      std::int64_t l = dt.chunk;
      for (std::size_t a = dl.rank(); a-- > 0;) {
        auto n = dl.grid.num_chunks(a);
        doff[a] = dl.grid.offset(a, l % n);
        l /= n;
      }
      inputs[k] = kernels::TaskInput{c, g.dep_slot[task.dep_begin + k], doff};
    }
    kernels::TaskContext ctx;
    ctx.prepared = prepared[task.layer].get();
    ctx.out_dtype = layer.dtype;
    ctx.linear_chunk = task.chunk;
    ctx.chunk_index = idx;
    ctx.out_offset = off;
    ctx.out_shape = shape;
    ctx.inputs = std::span<const kernels::TaskInput>(inputs.data(), ndeps);
    Chunk out = ops[task.layer]->run(ctx);
    if (out.dtype() != layer.dtype || out.shape() != Shape(shape.begin(), shape.end()))
      throw Error(fmt::format("op returned a {} chunk of shape {}, expected {} {}", dtype_name(out.dtype()),
                              shape_to_string(out.shape()), dtype_name(layer.dtype),
                              shape_to_string(Shape(shape.begin(), shape.end()))));
    return out;
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

  void run_unit(std::uint32_t u) {
    if (!failed.load(std::memory_order_relaxed)) {
      std::vector<std::pair<std::uint32_t, Chunk>> local;
      const auto first = g.unit_begin[u], last = g.unit_begin[u + 1];
      std::uint32_t t = g.unit_members[first];
      try {
        for (auto m = first; m < last; ++m) {
          t = g.unit_members[m];
          Chunk c = run_task(t, local);
          if (m + 1 == last) {
            account(static_cast<std::int64_t>(c.nbytes()));
            results[u] = std::move(c);
          } else {
            local.emplace_back(t, std::move(c));
          }
        }
      } catch (...) {
        fail(t);
      }
    }
    // Release inputs whose last consumer this was, then wake the units that waited on this one.
    for (auto d = g.unit_dep_begin[u]; d < g.unit_dep_begin[u + 1]; ++d) {
      auto v = g.unit_deps[d];
      if (remaining_consumers[v].fetch_sub(1) == 1 && !keep[v]) {
        account(-static_cast<std::int64_t>(results[v].nbytes()));
        results[v] = Chunk();
      }
    }
    for (auto d = dependents_begin[u]; d < dependents_begin[u + 1]; ++d) {
      auto w = dependents[d];
      if (waiting[w].fetch_sub(1) == 1) pool.submit({&Run::job, this, w});
    }
    if (done.fetch_add(1) + 1 == g.num_units()) {
      // The caller may destroy this Run as soon as it sees `finished`: touch nothing after.
      std::lock_guard lock(done_mutex);
      finished = true;
      done_cv.notify_all();
    }
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
  for (std::size_t u = 0; u < nu; ++u)
    for (auto d = g.unit_dep_begin[u]; d < g.unit_dep_begin[u + 1]; ++d)
      run.dependents[count[g.unit_deps[d]]++] = static_cast<std::uint32_t>(u);
  run.keep.assign(nu, 0);
  for (const auto& ot : g.output_tasks)
    for (auto t : ot)
      if (t != UINT32_MAX) run.keep[g.unit_of_task[t]] = 1;
  run.results.resize(nu);

  if (nu > 0) {
    std::vector<std::uint32_t> ready;
    for (std::uint32_t u = 0; u < nu; ++u)
      if (run.waiting[u] == 0) ready.push_back(u);
    std::sort(ready.begin(), ready.end(), [&](auto a, auto b) { return g.unit_priority[a] < g.unit_priority[b]; });
    std::vector<ThreadPool::Job> jobs;
    jobs.reserve(ready.size());
    for (auto u : ready) jobs.push_back({&Run::job, &run, u});
    pool.submit_shared(jobs);

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
  if (stats) *stats = {g.tasks.size(), nu, seconds, static_cast<std::size_t>(run.peak_bytes.load())};
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
