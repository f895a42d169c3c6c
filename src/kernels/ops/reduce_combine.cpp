// Op "reduce_combine": a set of reduction states -> one state of the same shape. Every merge is
// associative (up to rounding), so any tree of combines gives the result of one big reduction.
#include <cstring>
#include <fmt/format.h>

#include "cubist/error.hpp"
#include "kernels/op_registry.hpp"
#include "kernels/reduction.hpp"

namespace cubist::kernels {
namespace {

using Prepared = StateInput;

// Folds state b into state a, n outputs per field.
void merge_sum(Reduction r, DType state, void* a, const void* b, std::int64_t n) {
  const bool prod = r == Reduction::Prod;
  if (state == DType::Float64) {
    auto* __restrict x = static_cast<double*>(a);
    const auto* __restrict y = static_cast<const double*>(b);
    if (prod) for (std::int64_t i = 0; i < n; ++i) x[i] *= y[i];
    else for (std::int64_t i = 0; i < n; ++i) x[i] += y[i];
  } else {  // int64 or uint64: wrap in uint64 like numpy
    auto* __restrict x = static_cast<std::uint64_t*>(a);
    const auto* __restrict y = static_cast<const std::uint64_t*>(b);
    if (prod) for (std::int64_t i = 0; i < n; ++i) x[i] *= y[i];
    else for (std::int64_t i = 0; i < n; ++i) x[i] += y[i];
  }
}

// Chan, Golub & LeVeque's pairwise update of (count, mean, M2).
void merge_var(double* __restrict a, const double* __restrict b, std::int64_t n) {
  double* __restrict na = a;
  double* __restrict ma = a + n;
  double* __restrict qa = a + 2 * n;
  const double* nb = b;
  const double* mb = b + n;
  const double* qb = b + 2 * n;
  for (std::int64_t i = 0; i < n; ++i) {
    const double cnt = na[i] + nb[i];
    // An empty side contributes nothing; the guard also keeps 0/0 out of the formula.
    const double w = cnt > 0 ? nb[i] / cnt : 0.0;
    const double d = mb[i] - ma[i];
    ma[i] = nb[i] > 0 ? (na[i] > 0 ? ma[i] + d * w : mb[i]) : ma[i];
    qa[i] = nb[i] > 0 ? (na[i] > 0 ? qa[i] + qb[i] + d * d * na[i] * w : qb[i]) : qa[i];
    na[i] = cnt;
  }
}

template <class T, bool Max, bool DT> void merge_minmax(void* a, const void* b, std::int64_t n, bool skipna) {
  auto* __restrict x = static_cast<T*>(a);
  const auto* __restrict y = static_cast<const T*>(b);
  if (skipna)
    for (std::int64_t i = 0; i < n; ++i) x[i] = merge_skipna<T, Max, DT>(x[i], y[i]);
  else
    for (std::int64_t i = 0; i < n; ++i) x[i] = merge_propagate<T, Max, DT>(x[i], y[i]);
}

void merge(const Prepared& pr, const Chunk& acc, const Chunk& in) {
  const std::int64_t n = acc.size() / pr.fields;
  void* a = acc.mutable_raw();
  const void* b = in.raw();
  switch (pr.p.reduction) {
    case Reduction::Sum:
    case Reduction::Prod: return merge_sum(pr.p.reduction, pr.state, a, b, n);
    case Reduction::Count: return merge_sum(Reduction::Sum, DType::Int64, a, b, n);
    case Reduction::Mean: return merge_sum(Reduction::Sum, DType::Float64, a, b, 2 * n);  // sums and counts add
    case Reduction::Var:
    case Reduction::Std: return merge_var(static_cast<double*>(a), static_cast<const double*>(b), n);
    case Reduction::Min:
    case Reduction::Max: {
      const bool mx = pr.p.reduction == Reduction::Max;
      const bool skip = pr.p.skipna;
      if (pr.state == DType::DateTime64)
        return mx ? merge_minmax<std::int64_t, true, true>(a, b, n, skip)
                  : merge_minmax<std::int64_t, false, true>(a, b, n, skip);
      return visit_dtype(pr.state, [&](auto tag) {
        using T = typename decltype(tag)::type;
        mx ? merge_minmax<T, true, false>(a, b, n, skip) : merge_minmax<T, false, false>(a, b, n, skip);
      });
    }
  }
}

// The state dtypes reduction_info can produce for this reduction.
bool valid_state(Reduction r, DType s) {
  switch (r) {
    case Reduction::Sum:
    case Reduction::Prod: return s == DType::Float64 || s == DType::Int64 || s == DType::UInt64;
    case Reduction::Mean:
    case Reduction::Var:
    case Reduction::Std: return s == DType::Float64;
    case Reduction::Count: return s == DType::Int64;
    case Reduction::Min:
    case Reduction::Max: return true;
  }
  return false;
}

std::shared_ptr<const void> prepare(const nlohmann::json& params, const OpSignature& sig) {
  auto pr = std::make_shared<Prepared>(read_state_input(params, sig, "reduce_combine"));
  if (!valid_state(pr->p.reduction, pr->state) || sig.out_dtype != pr->state)
    throw TypeError(fmt::format("reduce_combine: {} is not a {} state dtype (output {})", dtype_name(pr->state),
                                reduction_name(pr->p.reduction), dtype_name(sig.out_dtype)));
  require_state_fields(*pr, sig, "reduce_combine");
  return pr;
}

Chunk run(const TaskContext& ctx) {
  const auto& pr = ctx.params<Prepared>();
  if (ctx.inputs.empty()) throw ValueError("reduce_combine: no input chunks");
  const Chunk& first = *ctx.inputs[0].chunk;
  for (const auto& in : ctx.inputs)
    if (in.chunk->shape() != first.shape() || in.chunk->dtype() != pr.state || first.rank() != pr.rank)
      throw ValueError(fmt::format("reduce_combine: input states differ: {} {} vs {} {} (expected {} of rank {})",
                                   dtype_name(first.dtype()), shape_to_string(first.shape()),
                                   dtype_name(in.chunk->dtype()), shape_to_string(in.chunk->shape()),
                                   dtype_name(pr.state), pr.rank));
  Chunk out = Chunk::allocate(pr.state, first.shape());
  std::memcpy(out.mutable_raw(), first.raw(), first.nbytes());
  for (std::size_t i = 1; i < ctx.inputs.size(); ++i) merge(pr, out, *ctx.inputs[i].chunk);
  return out;
}

const OpRegistration kRegistration{OpDef{"reduce_combine", prepare, run}};

}  // namespace
}  // namespace cubist::kernels
