// Op "group_partial": the reduction states of several groups from a few input chunks, for groupby.
// The input chunks are consecutive along the grouped axis (a task reads a bounded block of the
// chunks holding its groups). The output is a state chunk [F, ..., G, ...] (kernels/reduction.hpp
// layouts) whose grouped axis holds one state per group of this task's group range;
// reduce_combine merges the states that different blocks give for the same groups, and
// reduce_finalize (with no reduced axes) turns them into values. The arithmetic is reduce_partial's and reduce_combine's own: each run
// of consecutive positions of one group is a zero-copy view reduced by reduce_partial, and the
// runs of one group (unsorted labels) are merged by reduce_combine; min and max merge the runs
// straight into the group's state with the same accumulator (identical bits, no per-run states).
//
// Params: {"reduction", "axes": [g], "skipna", "ddof",
//          "group_of": [group of each position along axis g, -1 for none],
//          "pair_groups": [[k0, k1] per output chunk along the grouped state axis g + 1]}
#include <fmt/format.h>

#include <algorithm>
#include <span>

#include "cubist/error.hpp"
#include "kernels/group_slots.hpp"
#include "kernels/op_registry.hpp"
#include "kernels/reduction.hpp"

namespace cubist::kernels {
namespace {

struct Prepared {
  std::size_t axis = 0;
  Reduction reduction = Reduction::Sum;
  bool skipna = true;
  DType input = DType::Float64;
  DType state = DType::Float64;
  std::vector<std::int64_t> group_of;
  std::vector<std::pair<std::int64_t, std::int64_t>> pair_groups;
  std::unique_ptr<InnerOp> partial, combine;
};

std::vector<std::int64_t> int_list(const nlohmann::json& params, const char* key) {
  auto it = params.find(key);
  if (it == params.end() || !it->is_array())
    throw ValueError(fmt::format("group_partial: parameter '{}' (a list of integers) is missing", key));
  std::vector<std::int64_t> out;
  out.reserve(it->size());
  for (const auto& v : *it) {
    if (!v.is_number_integer()) throw ValueError(fmt::format("group_partial: '{}' holds {}, not an integer", key, v.dump()));
    out.push_back(v.get<std::int64_t>());
  }
  return out;
}

std::shared_ptr<const void> prepare(const nlohmann::json& params, const OpSignature& sig) {
  if (sig.input_dtypes.size() != 1 || sig.input_shapes.size() != 1)
    throw ValueError(fmt::format("group_partial: expects exactly one input, got {}", sig.input_dtypes.size()));
  const Shape& in_shape = sig.input_shapes[0];
  const ReduceParams p = parse_reduce_params(params, "group_partial", in_shape.size());
  if (p.axes.size() != 1) throw ValueError("group_partial: 'axes' must name exactly one (the grouped) axis");
  auto pr = std::make_shared<Prepared>();
  pr->axis = static_cast<std::size_t>(p.axes[0]);
  pr->reduction = p.reduction;
  pr->skipna = p.skipna;
  pr->input = sig.input_dtypes[0];
  const ReductionInfo info = reduction_info(p.reduction, pr->input);
  pr->state = info.state_dtype;
  if (sig.out_dtype != pr->state)
    throw TypeError(fmt::format("group_partial: the {} state of {} input is {}, but the layer's dtype is {}",
                                reduction_name(p.reduction), dtype_name(pr->input), dtype_name(pr->state),
                                dtype_name(sig.out_dtype)));
  pr->group_of = int_list(params, "group_of");
  if (static_cast<std::int64_t>(pr->group_of.size()) != in_shape[pr->axis])
    throw ValueError(fmt::format("group_partial: 'group_of' has {} entries for an axis of {}", pr->group_of.size(),
                                 in_shape[pr->axis]));
  auto pg = params.find("pair_groups");
  if (pg == params.end() || !pg->is_array())
    throw ValueError("group_partial: parameter 'pair_groups' (a list of [first, last) group ranges) is missing");
  for (const auto& r : *pg) {
    if (!r.is_array() || r.size() != 2 || !r[0].is_number_integer() || !r[1].is_number_integer() ||
        r[0].get<std::int64_t>() < 0 || r[1].get<std::int64_t>() <= r[0].get<std::int64_t>())
      throw ValueError(fmt::format("group_partial: group range {} is not [first, last) with first < last", r.dump()));
    pr->pair_groups.emplace_back(r[0].get<std::int64_t>(), r[1].get<std::int64_t>());
  }
  Shape state_full{info.fields};
  state_full.insert(state_full.end(), in_shape.begin(), in_shape.end());
  pr->partial = std::make_unique<InnerOp>("reduce_partial", params, pr->input, in_shape, pr->state);
  pr->combine = std::make_unique<InnerOp>("reduce_combine", params, pr->state, std::move(state_full), pr->state);
  return pr;
}

// min and max merge every value of a group's runs straight into one state: the same merges in the
// same order as reduce_partial per run then reduce_combine (both keep the first of equal values and
// the first null), so the bits are identical, without a state per run and a combine copy of them.
template <class T, bool Max, bool DT> void merge_runs_minmax(const std::vector<Chunk>& runs, std::span<const int> axes,
                                                               bool skipna, const Chunk& state) {
  auto s = state.mutable_values<T>();
  const T init = minmax_init<T, Max, DT>(skipna);
  MinMaxAcc<T, Max, DT> acc{s.data(), skipna};
  // The leading runs of one contiguous position each (time steps of their own chunks, as stacks
  // are chunked) merge block by block: each block of the state is written once, from the initial
  // value and every such run in order, while it stays in cache (a pass per run wrote and re-read
  // the whole state for each). Same merges in the same order as one run after another.
  std::size_t flat = 0;
  while (flat < runs.size() && runs[flat].is_contiguous() && runs[flat].size() == state.size()) ++flat;
  if (flat > 0) {
    constexpr std::int64_t kBlock = 2048;
    const std::int64_t n = state.size();
    T* out = s.data();
    for (std::int64_t b = 0; b < n; b += kBlock) {
      const std::int64_t m = std::min(kBlock, n - b);
      T* __restrict o = out + b;
      for (std::size_t k = 0; k < flat; ++k) {
        const T* __restrict v = static_cast<const T*>(runs[k].raw()) + b;
        if (k == 0 && skipna)
          for (std::int64_t i = 0; i < m; ++i) o[i] = merge_skipna<T, Max, DT>(init, v[i]);
        else if (k == 0)
          for (std::int64_t i = 0; i < m; ++i) o[i] = merge_propagate<T, Max, DT>(init, v[i]);
        else if (skipna)
          for (std::int64_t i = 0; i < m; ++i) o[i] = merge_skipna<T, Max, DT>(o[i], v[i]);
        else
          for (std::int64_t i = 0; i < m; ++i) o[i] = merge_propagate<T, Max, DT>(o[i], v[i]);
      }
    }
  } else {
    std::fill(s.begin(), s.end(), init);
  }
  const std::size_t first = flat;
  for (std::size_t k = first; k < runs.size(); ++k) {
    const Chunk& run = runs[k];
    Chunk src = run;
    ReducePlan plan = make_plan(src.shape(), axes, src.strides());
    if (!unit_inner(plan)) {
      src = run.contiguous();
      plan = make_plan(src.shape(), axes);
    }
    traverse(plan, static_cast<const T*>(src.raw()), acc);
  }
}

void merge_runs_minmax(const Prepared& pr, const std::vector<Chunk>& runs, const Chunk& state) {
  const int axis = static_cast<int>(pr.axis);
  const std::span<const int> axes(&axis, 1);
  const bool mx = pr.reduction == Reduction::Max;
  if (pr.input == DType::DateTime64) {
    mx ? merge_runs_minmax<std::int64_t, true, true>(runs, axes, pr.skipna, state)
       : merge_runs_minmax<std::int64_t, false, true>(runs, axes, pr.skipna, state);
    return;
  }
  visit_dtype(pr.input, [&](auto tag) {
    using T = typename decltype(tag)::type;
    mx ? merge_runs_minmax<T, true, false>(runs, axes, pr.skipna, state)
       : merge_runs_minmax<T, false, false>(runs, axes, pr.skipna, state);
  });
}

Chunk run(const TaskContext& ctx) {
  const auto& pr = ctx.params<Prepared>();
  const std::size_t g = pr.axis;
  if (ctx.inputs.empty()) throw ValueError("group_partial: no input chunks");
  const auto pair = static_cast<std::size_t>(ctx.chunk_index[g + 1]);
  if (pair >= pr.pair_groups.size())
    throw ValueError(fmt::format("group_partial: output chunk {} along the grouped axis has no group range", pair));
  const auto [k0, k1] = pr.pair_groups[pair];
  if (ctx.out_shape[g + 1] != k1 - k0)
    throw ValueError(fmt::format("group_partial: output chunk {} holds {} groups, its group range [{}, {}) has {}", pair,
                                 ctx.out_shape[g + 1], k0, k1, k1 - k0));
  // Per group of [k0, k1): its runs of consecutive positions over every input chunk, as zero-copy views.
  std::vector<std::vector<Chunk>> runs(static_cast<std::size_t>(k1 - k0));
  const std::size_t rank = ctx.out_shape.size() - 1;
  std::vector<std::int64_t> offset(rank, 0);
  auto cut = [&](const Chunk& in, std::int64_t start, std::int64_t len) {
    Shape shape = in.shape();
    offset[g] = start;
    shape[g] = len;
    return in.view(offset, shape);
  };
  for (const TaskInput& input : ctx.inputs) {
    const Chunk& in = *input.chunk;
    if (in.rank() != rank || in.dtype() != pr.input)
      throw ValueError(fmt::format("group_partial: input chunk is {} {}, expected rank {} {}", dtype_name(in.dtype()),
                                   shape_to_string(in.shape()), rank, dtype_name(pr.input)));
    const std::int64_t first = input.offset[g];
    const std::int64_t n = in.shape()[g];
    if (first < 0 || first + n > static_cast<std::int64_t>(pr.group_of.size()))
      throw ValueError(fmt::format("group_partial: input positions [{}, {}) leave the grouped axis", first, first + n));
    for (std::int64_t i = 0; i < n;) {
      const std::int64_t k = pr.group_of[static_cast<std::size_t>(first + i)];
      std::int64_t e = i + 1;
      while (e < n && pr.group_of[static_cast<std::size_t>(first + e)] == k) ++e;
      if (k >= k0 && k < k1) runs[static_cast<std::size_t>(k - k0)].push_back(cut(in, i, e - i));
      i = e;
    }
  }
  const bool minmax = pr.reduction == Reduction::Min || pr.reduction == Reduction::Max;
  std::vector<Chunk> states;
  states.reserve(runs.size());
  for (auto& group : runs) {
    if (minmax) {
      Shape shape = ctx.shape();  // [1, ..., 1 along the grouped axis, ...]
      shape[g + 1] = 1;
      Chunk state = Chunk::allocate(pr.state, shape);
      merge_runs_minmax(pr, group, state);
      states.push_back(std::move(state));
      continue;
    }
    std::vector<Chunk> parts;
    parts.reserve(group.size());
    for (const Chunk& r : group) parts.push_back(pr.partial->run({r}));
    if (parts.empty()) states.push_back(pr.partial->run({cut(*ctx.inputs[0].chunk, 0, 0)}));  // the identity: nothing seen
    else if (parts.size() == 1) states.push_back(std::move(parts[0]));
    else states.push_back(pr.combine->run(parts));
  }
  if (states.size() == 1) return states[0];  // already [F, ..., 1, ...]
  Chunk out = Chunk::allocate(pr.state, ctx.shape());
  for (std::size_t s = 0; s < states.size(); ++s) place_slot(out, g + 1, static_cast<std::int64_t>(s), states[s]);
  return out;
}

const OpRegistration kRegistration{OpDef{"group_partial", prepare, run, true}};

}  // namespace
}  // namespace cubist::kernels
