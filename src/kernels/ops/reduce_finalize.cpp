// Op "reduce_finalize": one reduction state [F, kept..., 1 per reduced axis] -> the result over
// the kept axes only (rank 0 when every axis is reduced).
#include <cmath>
#include <fmt/format.h>
#include <limits>

#include "cubist/error.hpp"
#include "kernels/op_registry.hpp"
#include "kernels/reduction.hpp"

namespace cubist::kernels {
namespace {

struct Prepared : StateInput {
  DType result = DType::Float64;
};

template <class R> void finish(const Prepared& pr, const double* s, R* out, std::int64_t n) {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  switch (pr.p.reduction) {
    case Reduction::Mean:  // [sum, count]
      for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<R>(s[n + i] > 0 ? s[i] / s[n + i] : nan);
      return;
    case Reduction::Var:
    case Reduction::Std: {  // [count, mean, M2]
      const bool sd = pr.p.reduction == Reduction::Std;
      const auto ddof = static_cast<double>(pr.p.ddof);
      for (std::int64_t i = 0; i < n; ++i) {
        const double dof = s[i] - ddof;  // nanvar: no degrees of freedom left gives NaN
        const double v = dof > 0 ? s[2 * n + i] / dof : nan;
        out[i] = static_cast<R>(sd ? std::sqrt(v) : v);
      }
      return;
    }
    default:  // float sum/prod: narrow the float64 accumulator
      for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<R>(s[i]);
      return;
  }
}

// Whether finalize turns `state` into `result` for this reduction.
bool valid_pair(Reduction r, DType state, DType result) {
  switch (r) {
    case Reduction::Sum:
    case Reduction::Prod:
      return state == DType::Float64 ? is_float(result)
                                     : (state == result && (state == DType::Int64 || state == DType::UInt64));
    case Reduction::Mean:
    case Reduction::Var:
    case Reduction::Std: return state == DType::Float64 && is_float(result);
    case Reduction::Count: return state == DType::Int64 && result == DType::Int64;
    case Reduction::Min:
    case Reduction::Max: return state == result;
  }
  return false;
}

std::shared_ptr<const void> prepare(const nlohmann::json& params, const OpSignature& sig) {
  auto pr = std::make_shared<Prepared>(Prepared{read_state_input(params, sig, "reduce_finalize"), sig.out_dtype});
  if (!valid_pair(pr->p.reduction, pr->state, pr->result))
    throw TypeError(fmt::format("reduce_finalize: a {} state of dtype {} cannot give a {} result",
                                reduction_name(pr->p.reduction), dtype_name(pr->state), dtype_name(pr->result)));
  require_state_fields(*pr, sig, "reduce_finalize");
  return pr;
}

Chunk run(const TaskContext& ctx) {
  const auto& pr = ctx.params<Prepared>();
  if (ctx.inputs.size() != 1)
    throw ValueError(fmt::format("reduce_finalize: expects one input chunk, got {}", ctx.inputs.size()));
  const Chunk& in = *ctx.inputs[0].chunk;
  if (in.dtype() != pr.state || in.rank() != pr.rank || in.shape()[0] != pr.fields)
    throw ValueError(fmt::format("reduce_finalize: input chunk is {} {}, expected a rank-{} {} state", dtype_name(in.dtype()),
                                 shape_to_string(in.shape()), pr.rank, dtype_name(pr.state)));
  Shape shape;  // kept axes: drop the field axis and the reduced axes
  for (std::size_t a = 0, next = 0; a + 1 < in.rank(); ++a) {
    if (next < pr.p.axes.size() && pr.p.axes[next] == static_cast<int>(a)) ++next;
    else shape.push_back(in.shape()[a + 1]);
  }
  // Integer sums/prods, counts and min/max already hold the result: share the bytes.
  const Reduction r = pr.p.reduction;
  if (pr.state == pr.result && r != Reduction::Mean && r != Reduction::Var && r != Reduction::Std)
    return in.reshaped(std::move(shape));
  Chunk out = Chunk::allocate(pr.result, std::move(shape));
  const double* s = in.values<double>().data();
  if (pr.result == DType::Float32) finish(pr, s, out.mutable_values<float>().data(), out.size());
  else finish(pr, s, out.mutable_values<double>().data(), out.size());
  return out;
}

const OpRegistration kRegistration{OpDef{"reduce_finalize", prepare, run}};

}  // namespace
}  // namespace cubist::kernels
