// Op "median": numpy's median / nanmedian over axes that each lie wholly in this one chunk (the
// array layer rechunks first; a median cannot be combined from partial results).
// Each output's values are gathered contiguously, then selected with nth_element: O(n) per output.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <memory>

#include "cubist/error.hpp"
#include "kernels/op_registry.hpp"
#include "kernels/reduction.hpp"

namespace cubist::kernels {
namespace {

struct Prepared {
  ReduceParams p;
  DType input;
  DType result;
  std::size_t rank;
};

// Transposes the chunk so output k's values are buf[k * per, (k + 1) * per).
template <class T> struct Gather {
  T* buf;
  std::int64_t* fill;
  std::int64_t per;
  void col(std::int64_t k, const T* v, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) buf[(k + i) * per + fill[k + i]++] = v[i];
  }
  void row(std::int64_t k, const T* v, std::int64_t n) {
    std::copy(v, v + n, buf + k * per + fill[k]);
    fill[k] += n;
  }
};

template <class T, class R> void median_typed(const Prepared& pr, const Chunk& in, R* out) {
  const ReducePlan plan = make_plan(in.shape(), pr.p.axes);
  const std::int64_t outputs = plan.kept_size;
  const std::int64_t per = outputs > 0 ? plan.size / outputs : 0;
  auto buf = std::make_unique_for_overwrite<T[]>(static_cast<std::size_t>(plan.size));  // not vector<bool>
  std::vector<std::int64_t> fill(static_cast<std::size_t>(outputs), 0);
  Gather<T> g{buf.get(), fill.data(), per};
  traverse(plan, static_cast<const T*>(in.raw()), g);

  constexpr R nan = std::numeric_limits<R>::quiet_NaN();
  for (std::int64_t k = 0; k < outputs; ++k) {
    T* first = buf.get() + k * per;
    T* last = first + per;
    if constexpr (std::is_floating_point_v<T>) {
      T* valid = std::remove_if(first, last, [](T v) { return v != v; });
      if (valid != last && !pr.p.skipna) {
        out[k] = nan;
        continue;
      }
      last = valid;
    }
    const std::int64_t m = last - first;
    if (m == 0) {
      out[k] = nan;
      continue;
    }
    T* mid = first + m / 2;
    std::nth_element(first, mid, last);
    const double hi = static_cast<double>(*mid);
    // Even count: the mean of the two middle values; the lower one is the largest left of mid.
    out[k] = static_cast<R>(m % 2 ? hi : (static_cast<double>(*std::max_element(first, mid)) + hi) / 2);
  }
}

std::shared_ptr<const void> prepare(const nlohmann::json& params, const OpSignature& sig) {
  if (sig.input_dtypes.size() != 1 || sig.input_shapes.size() != 1)
    throw ValueError(fmt::format("median: expects exactly one input, got {}", sig.input_dtypes.size()));
  auto pr = std::make_shared<Prepared>();
  pr->rank = sig.input_shapes[0].size();
  pr->p = parse_reduce_params(params, "median", pr->rank, /*need_reduction=*/false);
  pr->input = sig.input_dtypes[0];
  pr->result = median_dtype(pr->input);
  if (sig.out_dtype != pr->result)
    throw TypeError(fmt::format("median: the median of {} is {}, but the layer's dtype is {}", dtype_name(pr->input),
                                dtype_name(pr->result), dtype_name(sig.out_dtype)));
  return pr;
}

Chunk run(const TaskContext& ctx) {
  const auto& pr = ctx.params<Prepared>();
  if (ctx.inputs.size() != 1) throw ValueError(fmt::format("median: expects one input chunk, got {}", ctx.inputs.size()));
  const Chunk& in = *ctx.inputs[0].chunk;
  if (in.rank() != pr.rank || in.dtype() != pr.input)
    throw ValueError(fmt::format("median: input chunk is {} {}, expected rank {} {}", dtype_name(in.dtype()),
                                 shape_to_string(in.shape()), pr.rank, dtype_name(pr.input)));
  Shape shape;
  for (std::size_t a = 0, next = 0; a < in.rank(); ++a) {
    if (next < pr.p.axes.size() && pr.p.axes[next] == static_cast<int>(a)) ++next;
    else shape.push_back(in.shape()[a]);
  }
  Chunk out = Chunk::allocate(pr.result, std::move(shape));
  visit_dtype(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using R = std::conditional_t<std::is_same_v<T, float>, float, double>;
    median_typed<T>(pr, in, out.mutable_values<R>().data());
  });
  return out;
}

const OpRegistration kRegistration{OpDef{"median", prepare, run}};

}  // namespace
}  // namespace cubist::kernels
