#include "graph/constant_fold.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <unordered_map>

#include "graph/chunk_box.hpp"

namespace cubist::graph {
namespace {

using core::ExprOp;

// Same value for every element: NaNs alike, +0 and -0 apart.
bool same_value(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}

// One evaluation with every input known; nullopt for what the kernels are not reproduced for.
// Each case computes exactly what kernels/ops/elementwise.cpp computes for float64 and bool.
std::optional<double> evaluate(const core::Expression& expr, const std::vector<double>& in) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> v(expr.nodes.size());
  for (std::size_t k = 0; k < expr.nodes.size(); ++k) {
    const core::ExprNode& n = expr.nodes[k];
    const bool boolean = n.dtype == DType::Bool;
    if (!boolean && n.dtype != DType::Float64) return std::nullopt;
    auto arg = [&](int a) { return v[static_cast<std::size_t>(n.args[static_cast<std::size_t>(a)])]; };
    auto float_args = [&](int count) {
      for (int a = 0; a < count; ++a)
        if (expr.dtype_of(n.args[static_cast<std::size_t>(a)]) != DType::Float64) return false;
      return true;
    };
    auto bool_args = [&](int count) {
      for (int a = 0; a < count; ++a)
        if (expr.dtype_of(n.args[static_cast<std::size_t>(a)]) != DType::Bool) return false;
      return true;
    };
    const bool arithmetic = !boolean && float_args(core::expr_op_arity(n.op));
    double r = 0;
    switch (n.op) {
      case ExprOp::Input: r = in[static_cast<std::size_t>(n.args[0])]; break;
      case ExprOp::Const: r = boolean ? static_cast<double>(n.i != 0) : n.f; break;
      case ExprOp::Cast: r = boolean ? static_cast<double>(arg(0) != 0) : arg(0); break;  // NaN -> true
      case ExprOp::Add: if (!arithmetic) return std::nullopt; r = arg(0) + arg(1); break;
      case ExprOp::Sub: if (!arithmetic) return std::nullopt; r = arg(0) - arg(1); break;
      case ExprOp::Mul: if (!arithmetic) return std::nullopt; r = arg(0) * arg(1); break;
      case ExprOp::Div: if (!arithmetic) return std::nullopt; r = arg(0) / arg(1); break;
      case ExprOp::Minimum:
        if (!arithmetic) return std::nullopt;
        r = std::isnan(arg(0)) || std::isnan(arg(1)) ? kNaN : (arg(1) < arg(0) ? arg(1) : arg(0));
        break;
      case ExprOp::Maximum:
        if (!arithmetic) return std::nullopt;
        r = std::isnan(arg(0)) || std::isnan(arg(1)) ? kNaN : (arg(0) < arg(1) ? arg(1) : arg(0));
        break;
      case ExprOp::Eq: case ExprOp::Ne: case ExprOp::Lt: case ExprOp::Le: case ExprOp::Gt: case ExprOp::Ge: {
        if (!boolean || !(float_args(2) || bool_args(2))) return std::nullopt;
        const double a = arg(0), b = arg(1);
        const bool c = n.op == ExprOp::Eq ? a == b : n.op == ExprOp::Ne ? a != b : n.op == ExprOp::Lt ? a < b
                     : n.op == ExprOp::Le ? a <= b : n.op == ExprOp::Gt ? a > b : a >= b;
        r = c;
        break;
      }
      case ExprOp::And: case ExprOp::Or: case ExprOp::Xor: {
        if (!boolean || !bool_args(2)) return std::nullopt;
        const bool a = arg(0) != 0, b = arg(1) != 0;
        r = n.op == ExprOp::And ? (a && b) : n.op == ExprOp::Or ? (a || b) : (a != b);
        break;
      }
      case ExprOp::Not: if (!boolean || !bool_args(1)) return std::nullopt; r = arg(0) == 0; break;
      case ExprOp::Neg: if (!arithmetic) return std::nullopt; r = -arg(0); break;
      case ExprOp::Abs: if (!arithmetic) return std::nullopt; r = std::fabs(arg(0)); break;
      case ExprOp::Sqrt: if (!arithmetic) return std::nullopt; r = std::sqrt(arg(0)); break;
      case ExprOp::Floor: if (!arithmetic) return std::nullopt; r = std::floor(arg(0)); break;
      case ExprOp::Ceil: if (!arithmetic) return std::nullopt; r = std::ceil(arg(0)); break;
      case ExprOp::IsNull: r = expr.dtype_of(n.args[0]) == DType::Float64 && std::isnan(arg(0)); break;
      case ExprOp::Where:
        if (expr.dtype_of(n.args[0]) != DType::Bool) return std::nullopt;
        r = arg(0) != 0 ? arg(1) : arg(2);
        break;
      default: return std::nullopt;  // FloorDiv, Mod, Pow, Exp, Log: not reproduced bit for bit here
    }
    v[k] = r;
  }
  return v[static_cast<std::size_t>(expr.result)];
}

}  // namespace

std::optional<double> fold_expression(const core::Expression& expr, const std::vector<std::optional<double>>& inputs) {
  if (expr.result < 0) return std::nullopt;
  std::vector<double> in(inputs.size(), 0);
  std::vector<std::size_t> varying;  // boolean input slots tried both ways
  for (std::size_t s = 0; s < inputs.size(); ++s) {
    if (inputs[s]) {
      in[s] = *inputs[s];
      continue;
    }
    for (const auto& n : expr.nodes)
      if (n.op == ExprOp::Input && static_cast<std::size_t>(n.args[0]) == s && n.dtype != DType::Bool) return std::nullopt;
    varying.push_back(s);
  }
  constexpr std::size_t kMaxVarying = 4;
  if (varying.size() > kMaxVarying) return std::nullopt;
  std::optional<double> result;
  for (std::uint32_t bits = 0; bits < (1u << varying.size()); ++bits) {
    for (std::size_t k = 0; k < varying.size(); ++k) in[varying[k]] = (bits >> k) & 1u;
    auto r = evaluate(expr, in);
    if (!r || (result && !same_value(*result, *r))) return std::nullopt;
    result = r;
  }
  return result;
}

namespace {

// True for the layers of a min or max reduction (graph built by array/reduce and groupby: states
// -> combine levels -> finalize) of floating-point data: min/max states are the values themselves
// (one field), every state of a group_partial block or a combine merges at least one input value
// (a block holds members of each of its groups), and merging equal values gives that value, NaN
// included, with or without skipna. So such a chunk is constant when every input chunk it reads is
// constant, with their value. Other reductions (sum, mean, count...) depend on how many values merge.
bool is_minmax_reduction(const Layer& l) {
  static const char* const kOps[] = {"group_partial", "reduce_partial", "reduce_combine", "reduce_finalize"};
  if (std::none_of(std::begin(kOps), std::end(kOps), [&](const char* op) { return l.op == op; })) return false;
  if (l.inputs.size() != 1 || l.inputs[0].layer->dtype != l.dtype) return false;
  if (l.dtype != DType::Float64 && l.dtype != DType::Float32) return false;
  for (auto extent : l.inputs[0].layer->grid.shape())
    if (extent == 0) return false;  // a min/max of nothing is the initial state, not the input's value
  auto r = l.params.find("reduction");
  return r != l.params.end() && r->is_string() && (*r == "max" || *r == "min");
}

}  // namespace

bool ignores_constant_input(const Layer& l, double value) {
  if (!std::isnan(value) || l.op != "group_partial" || !is_minmax_reduction(l)) return false;
  auto s = l.params.find("skipna");
  return s == l.params.end() || (s->is_boolean() && s->get<bool>());  // skipna is the default
}

namespace {

// Ops that only move values (rechunk and selections, transposes, concatenation): a chunk all of
// whose input chunks are constant holds their value. The openEO seed graph's rechunk of the 44
// days without data (reindexed in as constant steps) otherwise assembled ~3 GB of NaN chunks.
bool copies_values(const Layer& l) {
  if (l.op != "gather" && l.op != "transpose" && l.op != "concat") return false;
  return std::all_of(l.inputs.begin(), l.inputs.end(), [&](const LayerInput& in) { return in.layer->dtype == l.dtype; });
}

// The value of every element of a "full" Source (the no-data steps openEO's reindex joins in),
// when a double holds it exactly (the constant chunks are made from a double).
std::optional<double> filled_value(const Layer& l) {
  if (l.op != "full" || !l.inputs.empty()) return std::nullopt;
  auto v = l.params.find("value");
  if (v == l.params.end()) return std::nullopt;
  if (v->is_boolean()) return v->get<bool>() ? 1.0 : 0.0;
  if (v->is_number_float()) return v->get<double>();
  if (v->is_number_integer()) {
    const auto i = v->is_number_unsigned() ? static_cast<double>(v->get<std::uint64_t>()) : static_cast<double>(v->get<std::int64_t>());
    if (std::abs(i) <= 9007199254740992.0) return i;  // 2^53
  }
  return std::nullopt;
}

// The value of chunk `c` of `l` when every input chunk it reads is constant with one value (at
// least one chunk read), else nullopt: what a min/max reduction or a value-moving chunk holds then.
std::optional<double> constant_of_inputs(const Layer& l, std::int64_t c, const std::vector<LayerConstants>& out,
                                      const std::unordered_map<const Layer*, std::size_t>& index) {
  std::optional<double> value;
  bool all = true;
  std::int64_t read = 0;
  const auto idx = l.grid.unravel(c);
  for (std::size_t s = 0; s < l.inputs.size() && all; ++s) {
    auto it = index.find(l.inputs[s].layer.get());
    const LayerConstants* input = it == index.end() ? nullptr : &out[it->second];
    for_each_chunk_in_box(l.inputs[s].layer->grid, input_chunk_ranges(l, s, idx), [&](std::int64_t ic) {
      ++read;
      if (!input || !input->chunk[static_cast<std::size_t>(ic)]) all = false;
      else if (!value) value = input->value;
      else if (!same_value(*value, input->value)) all = false;
    });
  }
  return all && read > 0 ? value : std::nullopt;
}

}  // namespace

std::vector<LayerConstants> fold_constant_chunks(const std::vector<const Layer*>& layers, bool fold) {
  std::vector<LayerConstants> out(layers.size());
  std::unordered_map<const Layer*, std::size_t> index;
  for (std::size_t i = 0; i < layers.size(); ++i) index[layers[i]] = i;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = *layers[i];
    LayerConstants& lc = out[i];
    lc.chunk.assign(static_cast<std::size_t>(l.grid.total_chunks()), 0);
    if (l.constant) {
      for (auto c : l.constant->chunks) lc.chunk[static_cast<std::size_t>(c)] = 1;
      lc.value = l.constant->value;
      lc.any = !l.constant->chunks.empty();
    }
    if (fold && !l.constant) {
      if (auto v = filled_value(l)) {  // every chunk of a "full" layer is constant
        lc.chunk.assign(lc.chunk.size(), 1);
        lc.value = *v;
        lc.any = !lc.chunk.empty();
        continue;
      }
    }
    if (fold && (is_minmax_reduction(l) || copies_values(l))) {
      const bool constant_inputs = std::any_of(l.inputs.begin(), l.inputs.end(), [&](const LayerInput& in) {
        auto it = index.find(in.layer.get());
        return it != index.end() && out[it->second].any;
      });
      for (std::int64_t c = 0; constant_inputs && c < l.grid.total_chunks(); ++c) {
        if (lc.chunk[static_cast<std::size_t>(c)]) continue;
        auto v = constant_of_inputs(l, c, out, index);
        if (!v || (lc.any && !same_value(lc.value, *v))) continue;  // a layer keeps one value
        lc.chunk[static_cast<std::size_t>(c)] = 1;
        lc.value = *v;
        lc.any = true;
      }
      continue;
    }
    if (!fold || l.kind != LayerKind::Elementwise || l.op != "elementwise" || !l.params.contains("expr")) continue;
    bool constant_inputs = false;
    for (const auto& in : l.inputs) {
      auto it = index.find(in.layer.get());
      constant_inputs = constant_inputs || (it != index.end() && out[it->second].any);
    }
    if (!constant_inputs) continue;
    const core::Expression expr = core::Expression::from_json(l.params.at("expr"));
    // Slots past the layer's inputs are Sources it reads itself (inline_sources): never known here.
    std::vector<std::optional<double>> values(std::max<std::size_t>(l.inputs.size(), static_cast<std::size_t>(expr.num_inputs())));
    for (std::int64_t c = 0; c < l.grid.total_chunks(); ++c) {
      if (lc.chunk[static_cast<std::size_t>(c)]) continue;
      const auto idx = l.grid.unravel(c);
      bool any_constant = false;
      for (std::size_t s = 0; s < l.inputs.size(); ++s) {
        values[s].reset();
        const Layer& p = *l.inputs[s].layer;
        auto it = index.find(&p);
        if (it == index.end() || !out[it->second].any) continue;
        auto ranges = input_chunk_ranges(l, s, idx);
        std::vector<std::int64_t> at;
        bool single = true;
        for (const auto& [lo, hi] : ranges) {
          single = single && hi - lo == 1;
          at.push_back(lo);
        }
        if (!single || !out[it->second].chunk[static_cast<std::size_t>(p.grid.ravel(at))]) continue;
        values[s] = out[it->second].value;
        any_constant = true;
      }
      if (!any_constant) continue;
      auto v = fold_expression(expr, values);
      if (!v || (lc.any && !same_value(lc.value, *v))) continue;
      lc.chunk[static_cast<std::size_t>(c)] = 1;
      lc.value = *v;
      lc.any = true;
    }
  }
  return out;
}

}  // namespace cubist::graph
