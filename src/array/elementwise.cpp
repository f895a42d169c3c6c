// Elementwise operations: alignment by dimension name, numpy type promotion, and one
// "elementwise" layer per user operation carrying a small Expression program.
#include <cmath>
#include <fmt/format.h>
#include <functional>
#include <limits>

#include "array/builder.hpp"
#include "core/expression.hpp"
#include "cubist/error.hpp"

namespace cubist {
namespace {

using core::Expression;
using core::ExprOp;

struct Operand {
  const DataArray* array = nullptr;
  double scalar = 0;
};

// numpy 1.x value-based casting: the dtype a Python scalar takes next to an array of `arr`
// (the smallest type of the array's kind that holds the value).
DType scalar_dtype(DType arr, double v) {
  const bool integral = std::isfinite(v) && v == std::floor(v);
  if (arr == DType::DateTime64) return arr;
  if (is_float(arr)) {
    bool fits32 = !std::isfinite(v) || std::fabs(v) <= static_cast<double>(std::numeric_limits<float>::max());
    return arr == DType::Float32 && !fits32 ? DType::Float64 : arr;
  }
  if (!integral) return DType::Float64;
  if (arr == DType::Bool) return DType::Int64;
  auto min_signed = [](double x) {
    return x >= -128 && x <= 127 ? DType::Int8 : x >= -32768 && x <= 32767 ? DType::Int16
         : x >= -2147483648.0 && x <= 2147483647.0 ? DType::Int32 : DType::Int64;
  };
  auto min_unsigned = [](double x) {
    return x <= 255 ? DType::UInt8 : x <= 65535 ? DType::UInt16 : x <= 4294967295.0 ? DType::UInt32 : DType::UInt64;
  };
  DType s = (v < 0 || is_signed_integer(arr)) ? min_signed(v) : min_unsigned(v);
  return promote_types(arr, s);
}

// Result dtype of combining operands as numpy would.
DType common_dtype(const std::vector<Operand>& ops) {
  std::optional<DType> arrays;
  for (const auto& o : ops)
    if (o.array) arrays = arrays ? promote_types(*arrays, o.array->dtype()) : o.array->dtype();
  if (!arrays) return DType::Float64;
  DType t = *arrays;
  for (const auto& o : ops)
    if (!o.array) t = scalar_dtype(t, o.scalar);
  return t;
}

std::int32_t cast_to(Expression& e, std::int32_t node, DType to) {
  return e.dtype_of(node) == to ? node : e.unary(ExprOp::Cast, node, to);
}

using ProgramFn = std::function<std::int32_t(Expression&, const std::vector<std::int32_t>& operands)>;

// Builds one elementwise layer over `ops` aligned by dimension name.
DataArray elementwise(const std::string& label, const std::vector<Operand>& ops, DType result, const ProgramFn& program,
                      bool keep_attrs = false) {
  const DataArray* first = nullptr;
  std::vector<std::string> dims;
  Shape shape;
  std::vector<std::vector<std::int64_t>> chunks;
  Coords coords;
  std::vector<std::string> dropped;  // conflicting non-index coordinates
  std::string name;
  bool name_set = false;
  for (const auto& o : ops) {
    if (!o.array) continue;
    const DataArray& a = *o.array;
    if (!a.layer()) throw ValueError(fmt::format("{}: operand is an empty DataArray", label));
    if (!first) first = &a;
    for (std::size_t k = 0; k < a.ndim(); ++k) {
      auto it = std::find(dims.begin(), dims.end(), a.dims()[k]);
      if (it == dims.end()) {
        dims.push_back(a.dims()[k]);
        shape.push_back(a.shape()[k]);
        chunks.push_back(a.chunks().chunks(k));
      } else if (shape[static_cast<std::size_t>(it - dims.begin())] != a.shape()[k]) {
        throw DimensionError(fmt::format("{}: dimension '{}' has size {} in one operand and {} in another", label,
                                         a.dims()[k], shape[static_cast<std::size_t>(it - dims.begin())], a.shape()[k]));
      }
    }
    for (const auto& [cname, c] : a.coords()) {
      if (std::find(dropped.begin(), dropped.end(), cname) != dropped.end()) continue;
      if (coords.contains(cname)) {
        if (coords.at(cname).equals(c)) continue;
        // xarray drops conflicting non-index coordinates (e.g. the scalar `band` left by
        // sel(band="red") and sel(band="nir")); differing index coordinates would need alignment.
        const bool index = c.dims().size() == 1 && c.dims()[0] == cname;
        if (index)
          throw ValueError(fmt::format("{}: coordinate '{}' differs between operands (cubist does not align by "
                                       "label yet: select matching labels first)", label, cname));
        coords.erase(cname);
        dropped.push_back(cname);
      } else {
        coords.set(cname, c);
      }
    }
    if (!name_set) {
      name = a.name();
      name_set = true;
    } else if (name != a.name()) {
      name.clear();
    }
  }
  if (!first) throw ValueError(fmt::format("{}: needs at least one DataArray operand", label));
  ChunkGrid grid(chunks);

  std::vector<graph::LayerInput> inputs;
  Expression e;
  std::vector<std::int32_t> nodes;
  for (const auto& o : ops) {
    if (!o.array) {
      nodes.push_back(-1);  // filled below once dtypes are known
      continue;
    }
    const DataArray& a = *o.array;
    std::vector<std::vector<std::int64_t>> want;
    std::vector<graph::AxisDep> axes;
    for (std::size_t k = 0; k < a.ndim(); ++k) {
      auto out_axis = static_cast<int>(std::find(dims.begin(), dims.end(), a.dims()[k]) - dims.begin());
      want.push_back(chunks[static_cast<std::size_t>(out_axis)]);
      axes.push_back(graph::AxisDep::identity(out_axis));
    }
    graph::LayerPtr layer = ArrayBuilder::rechunk_layer(a.layer(), ChunkGrid(want));
    auto slot = static_cast<std::int32_t>(inputs.size());
    inputs.push_back({layer, std::move(axes)});
    nodes.push_back(e.input(slot, a.dtype()));
  }
  // Scalars take the dtype of the computation they join (value-based, as numpy 1.x).
  DType arrays_dtype = common_dtype(ops);
  for (std::size_t i = 0; i < ops.size(); ++i)
    if (!ops[i].array) nodes[i] = e.constant(ops[i].scalar, scalar_dtype(arrays_dtype, ops[i].scalar));
  e.result = program(e, nodes);
  if (e.dtype_of(e.result) != result) e.result = e.unary(ExprOp::Cast, e.result, result);

  graph::LayerSpec spec;
  spec.label = label;
  spec.op = "elementwise";
  spec.kind = graph::LayerKind::Elementwise;
  spec.params = {{"expr", e.compacted().to_json()}};
  spec.inputs = std::move(inputs);
  spec.grid = std::move(grid);
  spec.dtype = result;
  auto layer = graph::make_layer(std::move(spec));
  return ArrayBuilder::make(name, dims, coords, keep_attrs ? first->attrs() : Attrs::object(), layer);
}

DataArray arithmetic(const char* label, ExprOp op, Operand a, Operand b) {
  DType t = common_dtype({a, b});
  if (t == DType::DateTime64 || (a.array && a.array->dtype() == DType::DateTime64) ||
      (b.array && b.array->dtype() == DType::DateTime64))
    throw TypeError(fmt::format("{}: arithmetic on datetime64 values is not supported", label));
  if (t == DType::Bool && (op == ExprOp::Sub || op == ExprOp::Div || op == ExprOp::FloorDiv || op == ExprOp::Mod))
    throw TypeError(fmt::format("{}: not supported for two bool operands (as numpy); use astype first", label));
  DType result = (op == ExprOp::Div && !is_float(t)) ? DType::Float64 : t;
  return elementwise(label, {a, b}, result, [&](Expression& e, const std::vector<std::int32_t>& n) {
    return e.binary(op, cast_to(e, n[0], result), cast_to(e, n[1], result), result);
  });
}

DataArray comparison(const char* label, ExprOp op, Operand a, Operand b) {
  DType t;
  DType da = a.array ? a.array->dtype() : DType::Float64, db = b.array ? b.array->dtype() : DType::Float64;
  if (a.array && b.array && da == DType::DateTime64 && db == DType::DateTime64) t = DType::DateTime64;
  else t = common_dtype({a, b});
  return elementwise(label, {a, b}, DType::Bool, [&](Expression& e, const std::vector<std::int32_t>& n) {
    return e.binary(op, cast_to(e, n[0], t), cast_to(e, n[1], t), DType::Bool);
  });
}

DataArray logical(const char* label, ExprOp op, const DataArray& a, const DataArray& b) {
  DType t = promote_types(a.dtype(), b.dtype());
  if (!(t == DType::Bool || is_integer(t)))
    throw TypeError(fmt::format("{}: needs bool or integer operands, got {} and {}", label, dtype_name(a.dtype()),
                                dtype_name(b.dtype())));
  return elementwise(label, {{&a, 0}, {&b, 0}}, t, [&](Expression& e, const std::vector<std::int32_t>& n) {
    return e.binary(op, cast_to(e, n[0], t), cast_to(e, n[1], t), t);
  });
}

DataArray float_unary(const char* label, ExprOp op, const DataArray& a) {
  if (a.dtype() == DType::DateTime64) throw TypeError(fmt::format("{}: not defined for datetime64", label));
  // numpy's float result type: small integers fit float32 exactly (int8 would be float16, which
  // cubist does not have, so it also gets float32).
  DType t = is_float(a.dtype()) ? a.dtype() : (itemsize(a.dtype()) <= 2 ? DType::Float32 : DType::Float64);
  return elementwise(label, {{&a, 0}}, t, [&](Expression& e, const std::vector<std::int32_t>& n) {
    return e.unary(op, cast_to(e, n[0], t), t);
  }, true);
}

// `cond_first` orders the result dims as xr.where(cond, x, y); otherwise as x.where(cond, y).
DataArray select(const char* label, const DataArray& cond, Operand x, Operand y, bool cond_first) {
  if (cond.dtype() != DType::Bool)
    throw TypeError(fmt::format("{}: the condition must be bool, got {} (compare it first, e.g. da > 0)", label,
                                dtype_name(cond.dtype())));
  DType t = common_dtype({x, y});
  const int c = cond_first ? 0 : 1, xi = cond_first ? 1 : 0;
  std::vector<Operand> ops = cond_first ? std::vector<Operand>{{&cond, 0}, x, y} : std::vector<Operand>{x, {&cond, 0}, y};
  return elementwise(label, ops, t, [&](Expression& e, const std::vector<std::int32_t>& n) {
    return e.where(n[static_cast<std::size_t>(c)], cast_to(e, n[static_cast<std::size_t>(xi)], t), cast_to(e, n[2], t), t);
  }, true);
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

DataArray DataArray::astype(DType dtype) const {
  return elementwise("astype", {{this, 0}}, dtype, [&](Expression& e, const std::vector<std::int32_t>& n) {
    return cast_to(e, n[0], dtype);
  }, true);
}

DataArray DataArray::isnull() const {
  return elementwise("isnull", {{this, 0}}, DType::Bool, [](Expression& e, const std::vector<std::int32_t>& n) {
    return e.unary(ExprOp::IsNull, n[0], DType::Bool);
  });
}

DataArray DataArray::notnull() const {
  return elementwise("notnull", {{this, 0}}, DType::Bool, [](Expression& e, const std::vector<std::int32_t>& n) {
    return e.unary(ExprOp::Not, e.unary(ExprOp::IsNull, n[0], DType::Bool), DType::Bool);
  });
}

DataArray DataArray::fillna(double value) const {
  DType t = common_dtype({{this, 0}, {nullptr, value}});
  return elementwise("fillna", {{this, 0}, {nullptr, value}}, t, [&](Expression& e, const std::vector<std::int32_t>& n) {
    auto null = e.unary(ExprOp::IsNull, n[0], DType::Bool);
    return e.where(null, cast_to(e, n[1], t), cast_to(e, n[0], t), t);
  }, true);
}

DataArray DataArray::where(const DataArray& cond, double other) const {
  return select("where", cond, {this, 0}, {nullptr, other}, false);
}
DataArray DataArray::where(const DataArray& cond, const DataArray& other) const {
  return select("where", cond, {this, 0}, {&other, 0}, false);
}
DataArray DataArray::where(const DataArray& cond) const { return where(cond, kNaN); }
DataArray where(const DataArray& cond, const DataArray& x, const DataArray& y) {
  return select("where", cond, {&x, 0}, {&y, 0}, true);
}

DataArray DataArray::abs() const {
  if (dtype() == DType::DateTime64) throw TypeError("abs: not defined for datetime64");
  return elementwise("abs", {{this, 0}}, dtype(), [&](Expression& e, const std::vector<std::int32_t>& n) {
    return e.unary(ExprOp::Abs, n[0], dtype());
  }, true);
}
DataArray DataArray::sqrt() const { return float_unary("sqrt", ExprOp::Sqrt, *this); }
DataArray DataArray::exp() const { return float_unary("exp", ExprOp::Exp, *this); }
DataArray DataArray::log() const { return float_unary("log", ExprOp::Log, *this); }

DataArray operator+(const DataArray& a, const DataArray& b) { return arithmetic("add", ExprOp::Add, {&a, 0}, {&b, 0}); }
DataArray operator-(const DataArray& a, const DataArray& b) { return arithmetic("sub", ExprOp::Sub, {&a, 0}, {&b, 0}); }
DataArray operator*(const DataArray& a, const DataArray& b) { return arithmetic("mul", ExprOp::Mul, {&a, 0}, {&b, 0}); }
DataArray operator/(const DataArray& a, const DataArray& b) { return arithmetic("truediv", ExprOp::Div, {&a, 0}, {&b, 0}); }
DataArray operator+(const DataArray& a, double b) { return arithmetic("add", ExprOp::Add, {&a, 0}, {nullptr, b}); }
DataArray operator-(const DataArray& a, double b) { return arithmetic("sub", ExprOp::Sub, {&a, 0}, {nullptr, b}); }
DataArray operator*(const DataArray& a, double b) { return arithmetic("mul", ExprOp::Mul, {&a, 0}, {nullptr, b}); }
DataArray operator/(const DataArray& a, double b) { return arithmetic("truediv", ExprOp::Div, {&a, 0}, {nullptr, b}); }
DataArray operator+(double a, const DataArray& b) { return arithmetic("add", ExprOp::Add, {nullptr, a}, {&b, 0}); }
DataArray operator-(double a, const DataArray& b) { return arithmetic("sub", ExprOp::Sub, {nullptr, a}, {&b, 0}); }
DataArray operator*(double a, const DataArray& b) { return arithmetic("mul", ExprOp::Mul, {nullptr, a}, {&b, 0}); }
DataArray operator/(double a, const DataArray& b) { return arithmetic("truediv", ExprOp::Div, {nullptr, a}, {&b, 0}); }
DataArray operator-(const DataArray& a) {
  if (a.dtype() == DType::Bool || a.dtype() == DType::DateTime64)
    throw TypeError(fmt::format("neg: not defined for {}", dtype_name(a.dtype())));
  return elementwise("neg", {{&a, 0}}, a.dtype(), [&](Expression& e, const std::vector<std::int32_t>& n) {
    return e.unary(ExprOp::Neg, n[0], a.dtype());
  });
}
DataArray floor_divide(const DataArray& a, const DataArray& b) { return arithmetic("floordiv", ExprOp::FloorDiv, {&a, 0}, {&b, 0}); }
DataArray mod(const DataArray& a, const DataArray& b) { return arithmetic("mod", ExprOp::Mod, {&a, 0}, {&b, 0}); }
DataArray pow(const DataArray& a, const DataArray& b) { return arithmetic("pow", ExprOp::Pow, {&a, 0}, {&b, 0}); }
DataArray pow(const DataArray& a, double b) { return arithmetic("pow", ExprOp::Pow, {&a, 0}, {nullptr, b}); }
DataArray minimum(const DataArray& a, const DataArray& b) { return arithmetic("minimum", ExprOp::Minimum, {&a, 0}, {&b, 0}); }
DataArray maximum(const DataArray& a, const DataArray& b) { return arithmetic("maximum", ExprOp::Maximum, {&a, 0}, {&b, 0}); }

DataArray operator==(const DataArray& a, const DataArray& b) { return comparison("eq", ExprOp::Eq, {&a, 0}, {&b, 0}); }
DataArray operator!=(const DataArray& a, const DataArray& b) { return comparison("ne", ExprOp::Ne, {&a, 0}, {&b, 0}); }
DataArray operator<(const DataArray& a, const DataArray& b) { return comparison("lt", ExprOp::Lt, {&a, 0}, {&b, 0}); }
DataArray operator<=(const DataArray& a, const DataArray& b) { return comparison("le", ExprOp::Le, {&a, 0}, {&b, 0}); }
DataArray operator>(const DataArray& a, const DataArray& b) { return comparison("gt", ExprOp::Gt, {&a, 0}, {&b, 0}); }
DataArray operator>=(const DataArray& a, const DataArray& b) { return comparison("ge", ExprOp::Ge, {&a, 0}, {&b, 0}); }
DataArray operator==(const DataArray& a, double b) { return comparison("eq", ExprOp::Eq, {&a, 0}, {nullptr, b}); }
DataArray operator!=(const DataArray& a, double b) { return comparison("ne", ExprOp::Ne, {&a, 0}, {nullptr, b}); }
DataArray operator<(const DataArray& a, double b) { return comparison("lt", ExprOp::Lt, {&a, 0}, {nullptr, b}); }
DataArray operator<=(const DataArray& a, double b) { return comparison("le", ExprOp::Le, {&a, 0}, {nullptr, b}); }
DataArray operator>(const DataArray& a, double b) { return comparison("gt", ExprOp::Gt, {&a, 0}, {nullptr, b}); }
DataArray operator>=(const DataArray& a, double b) { return comparison("ge", ExprOp::Ge, {&a, 0}, {nullptr, b}); }
DataArray operator&(const DataArray& a, const DataArray& b) { return logical("and", ExprOp::And, a, b); }
DataArray operator|(const DataArray& a, const DataArray& b) { return logical("or", ExprOp::Or, a, b); }
DataArray operator^(const DataArray& a, const DataArray& b) { return logical("xor", ExprOp::Xor, a, b); }
DataArray operator~(const DataArray& a) {
  if (!(a.dtype() == DType::Bool || is_integer(a.dtype())))
    throw TypeError(fmt::format("invert: needs bool or integer data, got {}", dtype_name(a.dtype())));
  return elementwise("invert", {{&a, 0}}, a.dtype(), [&](Expression& e, const std::vector<std::int32_t>& n) {
    return e.unary(ExprOp::Not, n[0], a.dtype());
  });
}

}  // namespace cubist
