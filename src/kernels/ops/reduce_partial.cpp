// Op "reduce_partial": one input chunk -> its reduction state (layouts in kernels/reduction.hpp).
// The dtype is dispatched once per chunk; each accumulator's col/row loops run on contiguous
// memory with NaN handling done by masks, not branches, so they vectorise (checked with
// -fopt-info-vec; a float32 mean over the outer axis streams at ~4-5 GB/s per core).
#include <bit>
#include <cmath>
#include <fmt/format.h>

#include "cubist/error.hpp"
#include "kernels/op_registry.hpp"
#include "kernels/reduction.hpp"

namespace cubist::kernels {
namespace {

struct Prepared {
  ReduceParams p;
  ReductionInfo info;
  DType input;
  std::size_t rank;
};

// `ok ? x : y` by bit masking. Baseline x86-64 (SSE2) has no masked stores, so GCC turns a select
// that feeds an accumulator into a branch and gives up vectorising; a mask it vectorises.
inline double pick(bool ok, double x, double y) {
  const std::uint64_t m = std::uint64_t{0} - std::uint64_t{ok};
  return std::bit_cast<double>((std::bit_cast<std::uint64_t>(x) & m) | (std::bit_cast<std::uint64_t>(y) & ~m));
}

// sum/prod accumulate floats in float64; integers wrap in uint64 as numpy's int64/uint64 do
// (an int64 state holds the same bits), which also keeps signed overflow defined.
template <class T> using WideT = std::conditional_t<std::is_floating_point_v<T>, double, std::uint64_t>;
template <class T> inline WideT<T> widen(T v) {
  if constexpr (std::is_floating_point_v<T>) return static_cast<double>(v);
  else if constexpr (std::is_signed_v<T>) return static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
  else return static_cast<std::uint64_t>(v);
}

// Whether a run holds a NaN. One cheap pass lets NaN-free runs (the common case) take the plain
// loop, which then reads the run from L1.
template <class T> inline bool any_nan(const T* v, std::int64_t n) {
  if constexpr (!std::is_floating_point_v<T>) {
    return false;
  } else {
    int any = 0;
    for (std::int64_t i = 0; i < n; ++i) any |= v[i] != v[i];
    return any != 0;
  }
}

template <class T, bool Prod> struct SumAcc {
  using A = WideT<T>;
  A* a;
  bool skip;  // skipna on a type that has nulls
  static A op(A x, A y) { return Prod ? x * y : x + y; }
  static A skip_nan(T v) {  // NaN -> the identity
    const A x = widen(v);
    if constexpr (std::is_floating_point_v<A>) return pick(x == x, x, Prod ? 1.0 : 0.0);
    else return x;
  }
  void col(std::int64_t k, const T* __restrict v, std::int64_t n) {
    A* __restrict s = a + k;
    if (skip && any_nan(v, n))
      for (std::int64_t i = 0; i < n; ++i) s[i] = op(s[i], skip_nan(v[i]));
    else
      for (std::int64_t i = 0; i < n; ++i) s[i] = op(s[i], widen(v[i]));
  }
  void row(std::int64_t k, const T* __restrict v, std::int64_t n) {
    A lane[kLanes];
    std::fill(lane, lane + kLanes, A(Prod ? 1 : 0));
    if (skip && any_nan(v, n))
      for_lanes(n, [&](int j, std::int64_t i) { lane[j] = op(lane[j], skip_nan(v[i])); });
    else
      for_lanes(n, [&](int j, std::int64_t i) { lane[j] = op(lane[j], widen(v[i])); });
    for (int j = 0; j < kLanes; ++j) a[k] = op(a[k], lane[j]);
  }
};

// mean and the first pass of var: per-output sum of the non-null values, and the number of
// nulls skipped. Every output of a chunk sees the same number of values, so the caller turns
// nulls into counts once at the end; NaN-free runs touch only the sums.
template <class T> struct MeanAcc {
  double* sum;
  double* nulls;
  bool skip;
  void col(std::int64_t k, const T* __restrict v, std::int64_t n) {
    double* __restrict s = sum + k;
    if (skip && any_nan(v, n)) {
      double* __restrict q = nulls + k;
      for (std::int64_t i = 0; i < n; ++i) {
        const double x = static_cast<double>(v[i]);
        s[i] += pick(x == x, x, 0.0);
        q[i] += pick(x == x, 0.0, 1.0);
      }
    } else {
      for (std::int64_t i = 0; i < n; ++i) s[i] += static_cast<double>(v[i]);
    }
  }
  void row(std::int64_t k, const T* __restrict v, std::int64_t n) {
    double s[kLanes] = {}, q[kLanes] = {};
    if (skip && any_nan(v, n)) {
      for_lanes(n, [&](int j, std::int64_t i) {
        const double x = static_cast<double>(v[i]);
        s[j] += pick(x == x, x, 0.0);
        q[j] += pick(x == x, 0.0, 1.0);
      });
    } else {
      for_lanes(n, [&](int j, std::int64_t i) { s[j] += static_cast<double>(v[i]); });
    }
    for (int j = 0; j < kLanes; ++j) sum[k] += s[j], nulls[k] += q[j];
  }
};
// Runs MeanAcc over the chunk: fills sum[0, n) and cnt[0, n) (which must start at zero).
template <class T> void sum_and_count(const ReducePlan& plan, const T* in, double* sum, double* cnt, bool skip) {
  MeanAcc<T> acc{sum, cnt, skip};
  traverse(plan, in, acc);
  const double per = plan.kept_size > 0 ? static_cast<double>(plan.size / plan.kept_size) : 0.0;
  for (std::int64_t i = 0; i < plan.kept_size; ++i) cnt[i] = per - cnt[i];
}

// Second pass of var: squared deviations from the chunk's own mean (two passes are exact enough
// where the one-pass sum-of-squares formula cancels catastrophically).
template <class T> struct M2Acc {
  const double* mean;
  double* m2;
  bool skip;
  static double dev2(T v, double m, bool skip) {
    const double x = static_cast<double>(v);
    const double d = x - m;
    return pick(!(skip & (x != x)), d * d, 0.0);
  }
  void col(std::int64_t k, const T* __restrict v, std::int64_t n) {
    const double* __restrict m = mean + k;
    double* __restrict q = m2 + k;
    const bool sk = skip;
    for (std::int64_t i = 0; i < n; ++i) q[i] += dev2(v[i], m[i], sk);
  }
  void row(std::int64_t k, const T* __restrict v, std::int64_t n) {
    double q[kLanes] = {};
    const double m = mean[k];
    const bool sk = skip;
    for_lanes(n, [&](int j, std::int64_t i) { q[j] += dev2(v[i], m, sk); });
    for (int j = 0; j < kLanes; ++j) m2[k] += q[j];
  }
};

template <class T, bool DT> struct CountAcc {
  std::int64_t* c;
  void col(std::int64_t k, const T* __restrict v, std::int64_t n) {
    std::int64_t* __restrict q = c + k;
    for (std::int64_t i = 0; i < n; ++i) q[i] += is_null<T, DT>(v[i]) ? 0 : 1;
  }
  void row(std::int64_t k, const T* __restrict v, std::int64_t n) {
    if constexpr (!has_null<T, DT>) {
      c[k] += n;
    } else {
      std::int64_t q = 0;
      for (std::int64_t i = 0; i < n; ++i) q += is_null<T, DT>(v[i]) ? 0 : 1;
      c[k] += q;
    }
  }
};

template <class T, bool Max, bool DT> void run_minmax(const ReducePlan& plan, const T* in, const Chunk& out, bool skipna) {
  auto s = out.mutable_values<T>();
  std::fill(s.begin(), s.end(), minmax_init<T, Max, DT>(skipna));
  MinMaxAcc<T, Max, DT> acc{s.data(), skipna};
  traverse(plan, in, acc);
}

template <class T> void run_typed(const Prepared& pr, const ReducePlan& plan, const T* in, const Chunk& out) {
  const std::int64_t n = plan.kept_size;
  const bool skip = pr.p.skipna && has_null<T, false>;  // datetime never reaches the float-only paths
  const bool dt = pr.input == DType::DateTime64;
  switch (pr.p.reduction) {
    case Reduction::Sum:
    case Reduction::Prod: {
      using A = WideT<T>;
      // An int64 state is filled through uint64 (same bits, defined wrap-around).
      A* a = static_cast<A*>(out.mutable_raw());
      const bool prod = pr.p.reduction == Reduction::Prod;
      std::fill(a, a + n, A(prod ? 1 : 0));
      if (prod) {
        SumAcc<T, true> acc{a, skip};
        traverse(plan, in, acc);
      } else {
        SumAcc<T, false> acc{a, skip};
        traverse(plan, in, acc);
      }
      return;
    }
    case Reduction::Mean: {
      double* s = out.mutable_values<double>().data();
      std::fill(s, s + 2 * n, 0.0);
      sum_and_count(plan, in, s, s + n, skip);
      return;
    }
    case Reduction::Var:
    case Reduction::Std: {
      double* s = out.mutable_values<double>().data();  // [count, mean, M2]
      std::fill(s, s + 3 * n, 0.0);
      sum_and_count(plan, in, s + n, s, skip);
      for (std::int64_t i = 0; i < n; ++i) s[n + i] = s[i] > 0 ? s[n + i] / s[i] : 0.0;
      M2Acc<T> second{s + n, s + 2 * n, skip};
      traverse(plan, in, second);
      return;
    }
    case Reduction::Count: {
      auto c = out.mutable_values<std::int64_t>();
      std::fill(c.begin(), c.end(), 0);
      if constexpr (std::is_same_v<T, std::int64_t>) {
        if (dt) {
          CountAcc<T, true> acc{c.data()};
          traverse(plan, in, acc);
          return;
        }
      }
      CountAcc<T, false> acc{c.data()};
      traverse(plan, in, acc);
      return;
    }
    case Reduction::Min:
    case Reduction::Max: {
      const bool mx = pr.p.reduction == Reduction::Max;
      if constexpr (std::is_same_v<T, std::int64_t>) {
        if (dt) {
          mx ? run_minmax<T, true, true>(plan, in, out, pr.p.skipna) : run_minmax<T, false, true>(plan, in, out, pr.p.skipna);
          return;
        }
      }
      mx ? run_minmax<T, true, false>(plan, in, out, pr.p.skipna) : run_minmax<T, false, false>(plan, in, out, pr.p.skipna);
      return;
    }
  }
}

std::shared_ptr<const void> prepare(const nlohmann::json& params, const OpSignature& sig) {
  if (sig.input_dtypes.size() != 1 || sig.input_shapes.size() != 1)
    throw ValueError(fmt::format("reduce_partial: expects exactly one input, got {}", sig.input_dtypes.size()));
  auto pr = std::make_shared<Prepared>();
  pr->rank = sig.input_shapes[0].size();
  pr->p = parse_reduce_params(params, "reduce_partial", pr->rank);
  pr->input = sig.input_dtypes[0];
  pr->info = reduction_info(pr->p.reduction, pr->input);
  if (sig.out_dtype != pr->info.state_dtype)
    throw TypeError(fmt::format("reduce_partial: the {} state of {} input is {}, but the layer's dtype is {}",
                                reduction_name(pr->p.reduction), dtype_name(pr->input),
                                dtype_name(pr->info.state_dtype), dtype_name(sig.out_dtype)));
  return pr;
}

Chunk run(const TaskContext& ctx) {
  const auto& pr = ctx.params<Prepared>();
  if (ctx.inputs.size() != 1) throw ValueError(fmt::format("reduce_partial: expects one input chunk, got {}", ctx.inputs.size()));
  const Chunk& in = *ctx.inputs[0].chunk;
  if (in.rank() != pr.rank || in.dtype() != pr.input)
    throw ValueError(fmt::format("reduce_partial: input chunk is {} {}, expected rank {} {}", dtype_name(in.dtype()),
                                 shape_to_string(in.shape()), pr.rank, dtype_name(pr.input)));
  // Strided views (slices of in-memory data) are read in place when their rows are contiguous.
  Chunk src = in;
  ReducePlan plan = make_plan(src.shape(), pr.p.axes, src.strides());
  if (!unit_inner(plan)) {
    src = in.contiguous();
    plan = make_plan(src.shape(), pr.p.axes);
  }
  Chunk out = Chunk::allocate(pr.info.state_dtype, state_shape(pr.info.fields, in.shape(), pr.p.axes));
  visit_dtype(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    run_typed<T>(pr, plan, static_cast<const T*>(src.raw()), out);
  });
  return out;
}

const OpRegistration kRegistration{OpDef{"reduce_partial", prepare, run, true}};

}  // namespace
}  // namespace cubist::kernels
