#include "runtime/unit_runner.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace cubist::runtime {

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

UnitRunner::UnitRunner(const graph::TaskGraph& g) : g_(g) {
  for (const graph::Layer* l : g.layers) {
    const auto& op = kernels::OpRegistry::instance().get(l->op);
    ops_.push_back(&op);
    try {
      prepared_.push_back(op.prepare ? op.prepare(l->params, signature_of(*l)) : nullptr);
    } catch (const Error& e) {
      throw Error(fmt::format("layer {} (op '{}'): {}", l->key, l->op, e.what()));
    } catch (const std::exception& e) {
      throw Error(fmt::format("layer {} (op '{}'): bad parameters: {}", l->key, l->op, e.what()));
    }
  }
}

Chunk UnitRunner::run_task(std::uint32_t t, const Local& local, const UnitResult& outside, Chunk* acc,
                           std::optional<std::uint32_t> only, std::size_t* written) const {
  const graph::TaskGraph& g = g_;
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
    if (!c) c = &outside(g.unit_of_task[dep]);
    if (!c->is_contiguous() && !ops_[task.layer]->strided_inputs) {
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
  ctx.prepared = prepared_[task.layer].get();
  ctx.out_dtype = layer.dtype;
  ctx.linear_chunk = task.chunk;
  ctx.chunk_index = idx;
  ctx.out_offset = off;
  ctx.out_shape = shape;
  ctx.inputs = std::span<const kernels::TaskInput>(inputs.data(), end - first);
  if (acc) {
    *written = ops_[task.layer]->accumulate(ctx, *acc);
    return Chunk();
  }
  Chunk out = ops_[task.layer]->run(ctx);
  check_result(layer, out, shape);
  return out;
}

Chunk UnitRunner::run_unit(std::uint32_t u, const UnitResult& outside, const std::function<Chunk(std::uint32_t t)>& head,
                           const std::function<void(std::int64_t)>& account, std::uint32_t& current) const {
  const graph::TaskGraph& g = g_;
  Local local;
  const auto first = g.unit_begin[u], last = g.unit_begin[u + 1];
  current = g.unit_members[first];
  try {
    for (auto m = first; m < last; ++m) {
      const std::uint32_t t = current = g.unit_members[m];
      Chunk c;
      if (m == first && head) {
        c = head(t);
      } else {
        c = run_task(t, local, outside);
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
      if (m + 1 == last) return c;
      local.emplace_back(t, std::move(c));
    }
  } catch (...) {
    for (const auto& entry : local) account(-static_cast<std::int64_t>(entry.second.nbytes()));
    throw;
  }
  return Chunk();  // a unit has at least one member
}

void UnitRunner::check_result(const graph::Layer& layer, const Chunk& out, std::span<const std::int64_t> shape) {
  if (out.dtype() != layer.dtype || out.shape() != Shape(shape.begin(), shape.end()))
    throw Error(fmt::format("op returned a {} chunk of shape {}, expected {} {}", dtype_name(out.dtype()),
                            shape_to_string(out.shape()), dtype_name(layer.dtype),
                            shape_to_string(Shape(shape.begin(), shape.end()))));
}

TaskError UnitRunner::task_error(std::uint32_t t, std::exception_ptr cause) const {
  const graph::Task& task = g_.tasks[t];
  const graph::Layer& layer = *g_.layers[task.layer];
  std::string what;
  try {
    std::rethrow_exception(cause);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "unknown exception";
  }
  return TaskError(layer.key, layer.op, graph::format_index(layer.grid.unravel(task.chunk)), what);
}

}  // namespace cubist::runtime
