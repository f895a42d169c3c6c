// What the grouping ops (kernels/ops/group_partial.cpp, group_median.cpp) share: the per-group
// reductions they delegate to the plain reduction ops, and writing one group's result into its
// slot of the output chunk.
#pragma once
#include <cstdint>
#include <cstring>
#include <fmt/format.h>
#include <memory>

#include "cubist/chunk.hpp"
#include "cubist/error.hpp"
#include "kernels/op_registry.hpp"

namespace cubist::kernels {

// A registered op prepared once for a fixed signature, run on chunks that are not graph tasks
// (a group's positions cut out of a task's input chunk).
class InnerOp {
 public:
  InnerOp(std::string_view name, const nlohmann::json& params, DType in, Shape in_full_shape, DType out)
      : op_(&OpRegistry::instance().get(name)), out_(out) {
    OpSignature sig;
    sig.out_dtype = out;
    sig.input_dtypes = {in};
    sig.input_shapes = {std::move(in_full_shape)};
    prepared_ = op_->prepare(params, sig);
  }
  // Runs the op with `inputs` in slot 0 (the reduction ops read neither offsets nor regions).
  Chunk run(const std::vector<Chunk>& inputs) const {
    std::vector<TaskInput> tin;
    tin.reserve(inputs.size());
    for (const auto& c : inputs) tin.push_back(TaskInput{&c, 0, {}});
    TaskContext ctx;
    ctx.prepared = prepared_.get();
    ctx.out_dtype = out_;
    ctx.inputs = tin;
    return op_->run(ctx);
  }

 private:
  const OpDef* op_;
  DType out_;
  std::shared_ptr<const void> prepared_;
};

// Copies `part` (the result for one slot: `dst` with extent 1 along `axis`, or with `axis`
// removed; same element order either way) into slot `slot` along `axis` of `dst`.
inline void place_slot(const Chunk& dst, std::size_t axis, std::int64_t slot, const Chunk& part) {
  std::int64_t outer = 1, inner = 1;
  for (std::size_t a = 0; a < axis; ++a) outer *= dst.shape()[a];
  for (std::size_t a = axis + 1; a < dst.rank(); ++a) inner *= dst.shape()[a];
  const std::int64_t extent = dst.shape()[axis];
  if (part.dtype() != dst.dtype() || part.size() != outer * inner || slot < 0 || slot >= extent)
    throw ValueError(fmt::format("group slot {}: a {} part of shape {} does not fit a {} chunk of shape {} along axis {}",
                                 slot, dtype_name(part.dtype()), shape_to_string(part.shape()), dtype_name(dst.dtype()),
                                 shape_to_string(dst.shape()), axis));
  const Chunk src = part.contiguous();
  const std::size_t row = static_cast<std::size_t>(inner) * itemsize(dst.dtype());
  const auto* from = static_cast<const std::byte*>(src.raw());
  auto* to = static_cast<std::byte*>(dst.mutable_raw());
  for (std::int64_t o = 0; o < outer; ++o)
    std::memcpy(to + static_cast<std::size_t>(o * extent + slot) * row, from + static_cast<std::size_t>(o) * row, row);
}

}  // namespace cubist::kernels
