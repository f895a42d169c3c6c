#include "kernels/reduction.hpp"

#include <array>
#include <fmt/format.h>

#include "cubist/error.hpp"

namespace cubist::kernels {
namespace {
constexpr std::array<std::pair<Reduction, std::string_view>, 8> kNames{{{Reduction::Sum, "sum"},
                                                                        {Reduction::Mean, "mean"},
                                                                        {Reduction::Min, "min"},
                                                                        {Reduction::Max, "max"},
                                                                        {Reduction::Var, "var"},
                                                                        {Reduction::Std, "std"},
                                                                        {Reduction::Count, "count"},
                                                                        {Reduction::Prod, "prod"}}};
}  // namespace

Reduction parse_reduction(std::string_view name) {
  for (const auto& [r, n] : kNames)
    if (n == name) return r;
  throw ValueError(
      fmt::format("unknown reduction '{}' (expected one of sum, mean, min, max, var, std, count, prod)", name));
}

std::string_view reduction_name(Reduction r) {
  for (const auto& [rr, n] : kNames)
    if (rr == r) return n;
  return "?";
}

ReductionInfo reduction_info(Reduction r, DType in) {
  if (in == DType::DateTime64 && r != Reduction::Min && r != Reduction::Max && r != Reduction::Count)
    throw TypeError(fmt::format("cannot compute the {} of datetime64[ns] values (only min, max and count)",
                                reduction_name(r)));
  // numpy's accumulator: the platform integer for bool/signed, uint64 for unsigned.
  const DType int_acc = is_unsigned_integer(in) ? DType::UInt64 : DType::Int64;
  const DType float_result = is_float(in) ? in : DType::Float64;
  switch (r) {
    case Reduction::Sum:
    case Reduction::Prod:
      // Floats accumulate in float64 whatever their width, for accuracy.
      return {1, is_float(in) ? DType::Float64 : int_acc, is_float(in) ? in : int_acc};
    case Reduction::Mean: return {2, DType::Float64, float_result};
    case Reduction::Var:
    case Reduction::Std: return {3, DType::Float64, float_result};
    case Reduction::Min:
    case Reduction::Max: return {1, in, in};
    case Reduction::Count: return {1, DType::Int64, DType::Int64};
  }
  throw ValueError("unknown reduction");
}

DType median_dtype(DType in) {
  if (in == DType::DateTime64) throw TypeError("cannot compute the median of datetime64[ns] values");
  return is_float(in) ? in : DType::Float64;
}

ReduceParams parse_reduce_params(const nlohmann::json& params, std::string_view op, std::size_t rank,
                                 bool need_reduction) {
  if (!params.is_object()) throw ValueError(fmt::format("{}: parameters must be a JSON object", op));
  ReduceParams p;
  if (need_reduction) {
    auto it = params.find("reduction");
    if (it == params.end() || !it->is_string())
      throw ValueError(fmt::format("{}: parameter 'reduction' (a string such as \"mean\") is missing", op));
    p.reduction = parse_reduction(it->get<std::string>());
    if (auto d = params.find("ddof"); d != params.end()) {
      if (!d->is_number_integer()) throw ValueError(fmt::format("{}: 'ddof' must be an integer, got {}", op, d->dump()));
      p.ddof = d->get<std::int64_t>();
    }
  }
  if (auto s = params.find("skipna"); s != params.end()) {
    if (!s->is_boolean()) throw ValueError(fmt::format("{}: 'skipna' must be true or false, got {}", op, s->dump()));
    p.skipna = s->get<bool>();
  }
  auto a = params.find("axes");
  if (a == params.end() || !a->is_array())
    throw ValueError(fmt::format("{}: parameter 'axes' (a list of axis numbers) is missing", op));
  for (const auto& v : *a) {
    if (!v.is_number_integer()) throw ValueError(fmt::format("{}: axis {} is not an integer", op, v.dump()));
    const auto ax = v.get<std::int64_t>();
    if (ax < 0 || ax >= static_cast<std::int64_t>(rank))
      throw ValueError(fmt::format("{}: axis {} is out of range for a rank-{} array", op, ax, rank));
    if (!p.axes.empty() && ax <= p.axes.back())
      throw ValueError(fmt::format("{}: axes {} must be sorted and unique", op, a->dump()));
    p.axes.push_back(static_cast<int>(ax));
  }
  return p;
}

ReducePlan make_plan(const Shape& shape, std::span<const int> axes, std::span<const std::int64_t> strides) {
  std::vector<std::int64_t> c_strides(shape.size(), 1);
  for (std::size_t a = shape.size(); a-- > 1;) c_strides[a - 1] = c_strides[a] * shape[a];
  if (strides.empty()) strides = c_strides;
  ReducePlan plan;
  plan.size = shape_size(shape);
  std::size_t next = 0;  // axes are sorted, so one forward scan marks them
  for (std::size_t a = 0; a < shape.size(); ++a) {
    const bool red = next < axes.size() && axes[next] == static_cast<int>(a);
    if (red) ++next;
    if (!red) plan.kept_size *= shape[a];
    if (shape[a] == 1) continue;  // fits either kind; dropping it lets its neighbours merge
    if (!plan.extent.empty() && plan.reduced.back() == red && plan.stride.back() == strides[a] * shape[a]) {
      plan.extent.back() *= shape[a];
      plan.stride.back() = strides[a];
    } else {
      plan.extent.push_back(shape[a]);
      plan.reduced.push_back(red);
      plan.stride.push_back(strides[a]);
    }
  }
  return plan;
}

StateInput read_state_input(const nlohmann::json& params, const OpSignature& sig, std::string_view op) {
  if (sig.input_dtypes.size() != 1 || sig.input_shapes.size() != 1)
    throw ValueError(fmt::format("{}: expects exactly one input, got {}", op, sig.input_dtypes.size()));
  StateInput in;
  in.rank = sig.input_shapes[0].size();
  if (in.rank < 1) throw ValueError(fmt::format("{}: the input has no field axis (rank 0)", op));
  in.p = parse_reduce_params(params, op, in.rank - 1);
  in.state = sig.input_dtypes[0];
  in.fields = reduction_info(in.p.reduction, DType::Float64).fields;
  return in;
}

void require_state_fields(const StateInput& in, const OpSignature& sig, std::string_view op) {
  if (sig.input_shapes[0][0] != in.fields)
    throw ValueError(fmt::format("{}: a {} state has {} fields, the input has shape {}", op,
                                 reduction_name(in.p.reduction), in.fields, shape_to_string(sig.input_shapes[0])));
}

Shape state_shape(int fields, const Shape& shape, std::span<const int> axes) {
  Shape out{fields};
  out.insert(out.end(), shape.begin(), shape.end());
  for (int a : axes) out[static_cast<std::size_t>(a) + 1] = 1;
  return out;
}

}  // namespace cubist::kernels
