// Reductions with xarray/numpy NaN semantics, built as a dask-style tree:
//   reduce_partial  (one per input chunk)   input chunk      -> state [F, kept..., 1 per reduced axis]
//   reduce_combine  (levels of them)        states (a set)   -> one state of the same shape
//   reduce_finalize (one per output chunk)  state            -> result [kept...]
// plus `median`, which needs every reduced axis in one chunk and runs blockwise.
//
// State layouts (field axis 0, F = ReductionInfo::fields):
//   sum, prod : [acc]            float64 for floats, int64 for bool/signed, uint64 for unsigned
//   mean      : [sum, count]     float64
//   var, std  : [count, mean, M2] float64 (Chan et al.'s parallel update when combining)
//   min, max  : [value]          input dtype; a null (NaN/NaT) means "nothing seen" with skipna,
//                                "a null was seen" without it
//   count     : [count]          int64
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "cubist/chunk.hpp"
#include "cubist/dtype.hpp"
#include "kernels/op_registry.hpp"

namespace cubist::kernels {

enum class Reduction { Sum, Mean, Min, Max, Var, Std, Count, Prod };

Reduction parse_reduction(std::string_view name);  // throws cubist::ValueError naming it
std::string_view reduction_name(Reduction r);

struct ReductionInfo {
  int fields;          // F: length of the state's field axis
  DType state_dtype;   // dtype of reduce_partial / reduce_combine chunks
  DType result_dtype;  // dtype of reduce_finalize chunks
};

// Throws cubist::TypeError when `input` cannot be reduced that way. datetime64 supports
// min/max/count only (NaT is the null).
ReductionInfo reduction_info(Reduction r, DType input);

// Result dtype of op "median": float64 for bool/integers, the same float type for floats;
// throws cubist::TypeError for datetime64.
DType median_dtype(DType input);

// ---- shared by the op files (not used by the array layer) ----

struct ReduceParams {
  Reduction reduction = Reduction::Sum;
  std::vector<int> axes;  // reduced axes of the original rank-R input, sorted, unique
  bool skipna = true;
  std::int64_t ddof = 0;
};

// Parses {"reduction", "axes", "skipna", "ddof"}; `op` and `rank` (R) make the messages precise.
// With need_reduction=false (median) "reduction" and "ddof" are not read.
ReduceParams parse_reduce_params(const nlohmann::json& params, std::string_view op, std::size_t rank,
                                 bool need_reduction = true);

// What reduce_combine and reduce_finalize share: one input of partial states [F, ...] of rank R + 1.
struct StateInput {
  ReduceParams p;
  int fields = 0;
  DType state = DType::Float64;
  std::size_t rank = 0;  // of the state: R + 1
};
// Checks there is one input with a field axis and parses the params; `op` names the caller.
StateInput read_state_input(const nlohmann::json& params, const OpSignature& sig, std::string_view op);
// Checks the input's field axis holds exactly the reduction's F fields (after the caller's dtype check).
void require_state_fields(const StateInput& in, const OpSignature& sig, std::string_view op);

// The reduction of one C-contiguous chunk in canonical form: extent-1 axes dropped and
// neighbouring axes of the same kind (kept/reduced) merged, so a (t, y, x) mean over t is a
// 2-D (reduced, kept) problem with one long contiguous kept row.
struct ReducePlan {
  std::vector<std::int64_t> extent;  // merged groups, outermost first
  std::vector<bool> reduced;         // per group
  std::vector<std::int64_t> stride;  // element stride of each group's innermost axis
  std::int64_t kept_size = 1;        // number of output elements
  std::int64_t size = 1;             // number of input elements
};
// `strides` (elements) describe a strided view; empty means C-contiguous. Axes merge only where
// their strides line up. traverse() needs the innermost group to have stride 1 (unit_inner()).
ReducePlan make_plan(const Shape& shape, std::span<const int> axes, std::span<const std::int64_t> strides = {});
inline bool unit_inner(const ReducePlan& p) { return p.stride.empty() || p.stride.back() == 1; }

// Shape of a partial state for an input chunk of `shape`: [F, e0, ...] with 1 on reduced axes.
Shape state_shape(int fields, const Shape& shape, std::span<const int> axes);

// Null tests by storage type; datetime64 is int64 storage, so it is a separate flag.
template <class T, bool DateTime> constexpr bool has_null = std::is_floating_point_v<T> || DateTime;
template <class T, bool DateTime> inline bool is_null(T v) {
  if constexpr (std::is_floating_point_v<T>) return v != v;
  else if constexpr (DateTime) return v == kNaT;
  else return false;
}

// min/max merge of a value into an accumulator. With skipna a null accumulator means "nothing
// seen yet" and null values are ignored; without it a null accumulator is sticky ("a null was
// seen"), so the same function merges raw values (reduce_partial) and states (reduce_combine).
// `&`/`|` rather than `&&`/`||`: every comparison runs unconditionally, so the compiler may turn
// the loop into vector compares and blends (it will not speculate a short-circuited compare).
template <class T, bool Max> inline bool better(T v, T a) {
  if constexpr (Max) return a < v;
  else return v < a;
}
template <class T, bool Max, bool DateTime> inline T merge_skipna(T a, T v) {
  return ((!is_null<T, DateTime>(v)) & (is_null<T, DateTime>(a) | better<T, Max>(v, a))) ? v : a;
}
template <class T, bool Max, bool DateTime> inline T merge_propagate(T a, T v) {
  return ((!is_null<T, DateTime>(a)) & (is_null<T, DateTime>(v) | better<T, Max>(v, a))) ? v : a;
}
// The starting accumulator: null when skipping nulls (so all-null gives null), otherwise the
// extreme non-null value (so the first real value always wins).
template <class T, bool Max, bool DateTime> inline T minmax_init(bool skipna) {
  if (skipna && has_null<T, DateTime>) {
    if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::quiet_NaN();
    else return static_cast<T>(kNaT);
  }
  if constexpr (std::is_floating_point_v<T>)
    return Max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  else if constexpr (DateTime) return Max ? kNaT + 1 : std::numeric_limits<T>::max();
  else return Max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
}

// Horizontal reductions use independent lanes: the compiler may not reassociate floating-point
// sums itself, but it vectorises independent lanes, and they also cut rounding error.
constexpr int kLanes = 32;
template <class Step> inline void for_lanes(std::int64_t n, Step step) {
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) step(j, i + j);
  for (; i < n; ++i) step(0, i);
}

// min/max accumulator for traverse(): merges every value into the state `a` (kept_size elements,
// starting at minmax_init or at an earlier state). Shared by reduce_partial and group_partial,
// which merges a group's runs straight into one state.
template <class T, bool Max, bool DT> struct MinMaxAcc {
  T* a;
  bool skipna;
  void col(std::int64_t k, const T* __restrict v, std::int64_t n) {
    T* __restrict s = a + k;
    if (skipna)
      for (std::int64_t i = 0; i < n; ++i) s[i] = merge_skipna<T, Max, DT>(s[i], v[i]);
    else
      for (std::int64_t i = 0; i < n; ++i) s[i] = merge_propagate<T, Max, DT>(s[i], v[i]);
  }
  void row(std::int64_t k, const T* __restrict v, std::int64_t n) {
    T lane[kLanes];
    std::fill(lane, lane + kLanes, minmax_init<T, Max, DT>(skipna));
    if (skipna)
      for_lanes(n, [&](int j, std::int64_t i) { lane[j] = merge_skipna<T, Max, DT>(lane[j], v[i]); });
    else
      for_lanes(n, [&](int j, std::int64_t i) { lane[j] = merge_propagate<T, Max, DT>(lane[j], v[i]); });
    for (int j = 0; j < kLanes; ++j)
      a[k] = skipna ? merge_skipna<T, Max, DT>(a[k], lane[j]) : merge_propagate<T, Max, DT>(a[k], lane[j]);
  }
};

// Runs the accumulator over a chunk laid out as `plan`. Acc provides
//   col(k, v, n): element i of the contiguous run v[0, n) feeds output k + i   (kept innermost)
//   row(k, v, n): all of v[0, n) feed output k                                 (reduced innermost)
// Both see contiguous memory only, so their loops vectorise; index arithmetic happens per row.
template <class T, class Acc> void traverse(const ReducePlan& plan, const T* in, Acc& acc) {
  if (plan.size == 0) return;
  const std::size_t groups = plan.extent.size();
  if (groups == 0) {  // one element
    acc.col(0, in, 1);
    return;
  }
  const bool kept_inner = !plan.reduced[groups - 1];
  // The innermost two groups form one (reduced, kept) or (kept, reduced) block; the rest is outer.
  // (Two neighbouring groups of one kind exist only in strided views whose strides do not merge;
  // then the second is treated as an outer group.)
  const std::int64_t inner = plan.extent[groups - 1];
  const bool paired = groups >= 2 && plan.reduced[groups - 2] != plan.reduced[groups - 1];
  const std::int64_t second = paired ? plan.extent[groups - 2] : 1;
  const std::int64_t second_stride = paired ? plan.stride[groups - 2] : 0;
  const std::size_t outer_groups = groups - (paired ? 2 : 1);
  const std::int64_t kept_block = kept_inner ? inner : second;  // outputs one block touches

  // Column tile: the state rows of one tile stay in cache while every reduced row streams by.
  // (Measured: 2K..64K elements perform alike; smaller risks short prefetch streams.)
  constexpr std::int64_t kTile = 4096;
  // Outer groups are walked kept-first, reduced-innermost: a strided view whose kept axes do not
  // merge (a tile of a larger array) then finishes each output row before moving on, instead of
  // streaming the whole state once per reduced step. For contiguous chunks the order is unchanged
  // (their outer groups alternate and the inner pair already holds the reduced group).
  std::vector<std::size_t> order;
  for (std::size_t g = 0; g < outer_groups; ++g)
    if (!plan.reduced[g]) order.push_back(g);
  for (std::size_t g = 0; g < outer_groups; ++g)
    if (plan.reduced[g]) order.push_back(g);
  std::vector<std::int64_t> kept_weight(outer_groups, 0);  // C-order weight of each kept group
  for (std::int64_t w = kept_block, g = static_cast<std::int64_t>(outer_groups); g-- > 0;)
    if (!plan.reduced[static_cast<std::size_t>(g)]) {
      kept_weight[static_cast<std::size_t>(g)] = w;
      w *= plan.extent[static_cast<std::size_t>(g)];
    }
  std::vector<std::int64_t> idx(outer_groups, 0);
  std::int64_t outer_count = 1;
  for (std::size_t g = 0; g < outer_groups; ++g) outer_count *= plan.extent[g];
  std::int64_t base_off = 0;  // element offset of the current block
  std::int64_t k0 = 0;        // first output of the current block
  for (std::int64_t o = 0; o < outer_count; ++o) {
    const T* base = in + base_off;
    if (kept_inner) {
      for (std::int64_t t = 0; t < inner; t += kTile) {
        const std::int64_t n = std::min(kTile, inner - t);
        for (std::int64_t r = 0; r < second; ++r) acc.col(k0 + t, base + r * second_stride + t, n);
      }
    } else {
      for (std::int64_t k = 0; k < second; ++k) acc.row(k0 + k, base + k * second_stride, inner);
    }
    for (std::size_t j = order.size(); j-- > 0;) {  // odometer over the outer groups, in `order`
      const std::size_t g = order[j];
      base_off += plan.stride[g];
      k0 += kept_weight[g];
      if (++idx[g] < plan.extent[g]) break;
      base_off -= idx[g] * plan.stride[g];
      k0 -= idx[g] * kept_weight[g];
      idx[g] = 0;
    }
  }
}

}  // namespace cubist::kernels
