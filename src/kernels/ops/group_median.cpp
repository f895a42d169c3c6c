// Op "group_median": the median of each group, for groupby(...).median(). A median cannot be
// combined from partial results, so the array layer first gathers every group's positions into
// consecutive runs of one chunk (op "gather"); this op then runs the median op over each run.
//
// Params: {"axes": [g], "skipna", "sizes": [number of positions of each group, in group order]}
// The input chunk along g holds the groups [k0, k1) of the output chunk, back to back.
#include <fmt/format.h>
#include <numeric>

#include "cubist/error.hpp"
#include "kernels/group_slots.hpp"
#include "kernels/op_registry.hpp"
#include "kernels/reduction.hpp"

namespace cubist::kernels {
namespace {

struct Prepared {
  std::size_t axis = 0;
  DType input = DType::Float64;
  DType result = DType::Float64;
  std::vector<std::int64_t> starts;  // position of each group along the gathered axis, and the end
  std::unique_ptr<InnerOp> median;
};

std::shared_ptr<const void> prepare(const nlohmann::json& params, const OpSignature& sig) {
  if (sig.input_dtypes.size() != 1 || sig.input_shapes.size() != 1)
    throw ValueError(fmt::format("group_median: expects exactly one input, got {}", sig.input_dtypes.size()));
  const Shape& in_shape = sig.input_shapes[0];
  const ReduceParams p = parse_reduce_params(params, "group_median", in_shape.size(), /*need_reduction=*/false);
  if (p.axes.size() != 1) throw ValueError("group_median: 'axes' must name exactly one (the grouped) axis");
  auto pr = std::make_shared<Prepared>();
  pr->axis = static_cast<std::size_t>(p.axes[0]);
  pr->input = sig.input_dtypes[0];
  pr->result = median_dtype(pr->input);
  if (sig.out_dtype != pr->result)
    throw TypeError(fmt::format("group_median: the median of {} is {}, but the layer's dtype is {}", dtype_name(pr->input),
                                dtype_name(pr->result), dtype_name(sig.out_dtype)));
  auto sizes = params.find("sizes");
  if (sizes == params.end() || !sizes->is_array())
    throw ValueError("group_median: parameter 'sizes' (positions per group) is missing");
  pr->starts.push_back(0);
  for (const auto& s : *sizes) {
    if (!s.is_number_integer() || s.get<std::int64_t>() < 1)
      throw ValueError(fmt::format("group_median: group size {} is not a positive integer", s.dump()));
    pr->starts.push_back(pr->starts.back() + s.get<std::int64_t>());
  }
  if (pr->starts.back() != in_shape[pr->axis])
    throw ValueError(fmt::format("group_median: group sizes add up to {}, the gathered axis has {}", pr->starts.back(),
                                 in_shape[pr->axis]));
  if (static_cast<std::int64_t>(pr->starts.size()) - 1 != sig.out_shape[pr->axis])
    throw ValueError(fmt::format("group_median: {} group sizes for {} output groups", pr->starts.size() - 1,
                                 sig.out_shape[pr->axis]));
  pr->median = std::make_unique<InnerOp>("median", nlohmann::json{{"axes", p.axes}, {"skipna", p.skipna}}, pr->input,
                                         in_shape, pr->result);
  return pr;
}

Chunk run(const TaskContext& ctx) {
  const auto& pr = ctx.params<Prepared>();
  const std::size_t g = pr.axis;
  if (ctx.inputs.size() != 1)
    throw ValueError(fmt::format("group_median: expects one input chunk, got {}", ctx.inputs.size()));
  const Chunk& in = *ctx.inputs[0].chunk;
  const std::int64_t k0 = ctx.out_offset[g], groups = ctx.out_shape[g];
  const auto start = [&](std::int64_t k) { return pr.starts[static_cast<std::size_t>(k)]; };
  if (in.rank() != ctx.out_shape.size() || in.dtype() != pr.input || k0 + groups >= static_cast<std::int64_t>(pr.starts.size()) ||
      ctx.inputs[0].offset[g] != start(k0) || in.shape()[g] != start(k0 + groups) - start(k0))
    throw ValueError(fmt::format("group_median: input chunk {} {} at {} does not hold groups [{}, {})", dtype_name(in.dtype()),
                                 shape_to_string(in.shape()), ctx.inputs[0].offset[g], k0, k0 + groups));
  Chunk out = groups == 1 ? Chunk() : Chunk::allocate(pr.result, ctx.shape());
  std::vector<std::int64_t> offset(in.rank(), 0);
  Shape shape = in.shape();
  for (std::int64_t k = k0; k < k0 + groups; ++k) {
    offset[g] = start(k) - start(k0);
    shape[g] = start(k + 1) - start(k);
    Chunk m = pr.median->run({in.view(offset, shape).contiguous()});
    if (groups == 1) return m.reshaped(ctx.shape());
    place_slot(out, g, k - k0, m);
  }
  return out;
}

const OpRegistration kRegistration{OpDef{"group_median", prepare, run}};

}  // namespace
}  // namespace cubist::kernels
