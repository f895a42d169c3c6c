// Arithmetic processes: add, subtract, multiply, divide, normalized_difference, clip,
// linear_scale_range. Numbers give numbers (null in -> null out); with a data cube operand they
// become one lazy elementwise layer each, which cubist fuses into a single pass per chunk.
#include <fmt/format.h>

#include <cmath>
#include <optional>

#include "cubist/error.hpp"
#include "openeo/cube.hpp"
#include "openeo/registry.hpp"

namespace cubist::openeo {
namespace {

// Numbers stay numbers in the expression (DataArray op double), so a callback such as
// multiply(add(x, 1), 2) is one fused elementwise layer reading only x.
enum class Op { Add, Subtract, Multiply, Divide, NormalizedDifference };

double apply_op(Op op, double a, double b) {
  switch (op) {
    case Op::Add: return a + b;
    case Op::Subtract: return a - b;
    case Op::Multiply: return a * b;
    case Op::Divide: return a / b;
    case Op::NormalizedDifference: return (a - b) / (a + b);
  }
  return 0;
}

template <class A, class B> DataArray apply_op(Op op, const A& a, const B& b) {
  switch (op) {
    case Op::Add: return a + b;
    case Op::Subtract: return a - b;
    case Op::Multiply: return a * b;
    case Op::Divide: return a / b;
    case Op::NormalizedDifference: return (a - b) / (a + b);
  }
  throw ValueError("unknown arithmetic operation");
}

Value binary(Args& args, Op op) {
  const Value& x = args.get("x");
  const Value& y = args.get("y");
  if (!is_numeric_operand(x)) args.fail("x", fmt::format("expected a number or a data cube, got {}", x.describe()));
  if (!is_numeric_operand(y)) args.fail("y", fmt::format("expected a number or a data cube, got {}", y.describe()));
  if (!x.is_array_like() && !y.is_array_like()) {
    if (x.is_null() || y.is_null()) return Value::null();
    return Value::number(apply_op(op, x.scalar.get<double>(), y.scalar.get<double>()));
  }
  // Integer cubes divide as floats (openEO numbers are real numbers).
  const bool to_float = op == Op::Divide || op == Op::NormalizedDifference;
  auto arr = [&](const Value& v) { return to_float ? as_float(v.cube) : v.cube; };
  if (x.is_array_like() && y.kind == Value::Kind::Number) return like_operands(apply_op(op, arr(x), y.scalar.get<double>()), {&x});
  if (y.is_array_like() && x.kind == Value::Kind::Number) return like_operands(apply_op(op, x.scalar.get<double>(), arr(y)), {&y});
  const DataArray a = x.is_array_like() ? arr(x) : operand_array(x);
  const DataArray b = y.is_array_like() ? arr(y) : operand_array(y);
  return like_operands(apply_op(op, a, b), {&x, &y});
}

Parameter num(const std::string& name, const std::string& description) {
  return {name, description, schema::number_or_null(), false, nullptr};
}

ProcessDef arithmetic(std::string id, std::string summary, Op op) {
  ProcessDef d;
  d.id = std::move(id);
  d.summary = std::move(summary);
  d.categories = {"math"};
  d.parameters = {num("x", "The first operand."), num("y", "The second operand.")};
  d.returns = {{"description", "The computed result; null if any operand is null."}, {"schema", schema::number_or_null()}};
  d.impl = [op](Args& a) { return binary(a, op); };
  return d;
}

const ProcessRegistration add_reg{arithmetic("add", "Addition of two numbers", Op::Add)};
const ProcessRegistration subtract_reg{arithmetic("subtract", "Subtraction of two numbers", Op::Subtract)};
const ProcessRegistration multiply_reg{arithmetic("multiply", "Multiplication of two numbers", Op::Multiply)};
const ProcessRegistration divide_reg{arithmetic("divide", "Division of two numbers", Op::Divide)};
const ProcessRegistration normalized_difference_reg{
    arithmetic("normalized_difference", "Normalized difference", Op::NormalizedDifference)};

// clip and linear_scale_range: bounds are numbers, x a number or a cube; no-data stays no-data.
// x enters the expression once (a diamond of x.where(x < lo) would stop cubist's fusion) and
// maximum/minimum propagate NaN, so no-data stays no-data.
DataArray clip_array(const DataArray& x, double lo, double hi) {
  return minimum(maximum(x, scalar_array(lo)), scalar_array(hi));
}

const ProcessRegistration clip_reg{ProcessDef{
    "clip", "Clip a value between a minimum and a maximum", "", {"math"},
    {num("x", "A number."), {"min", "Minimum value.", {{"type", "number"}}, false, nullptr},
     {"max", "Maximum value.", {{"type", "number"}}, false, nullptr}},
    {{"description", "The value clipped to the specified range."}, {"schema", schema::number_or_null()}},
    [](Args& a) -> Value {
      const Value& x = a.get("x");
      const double lo = a.number("min"), hi = a.number("max");
      if (lo > hi) a.fail("max", fmt::format("max ({}) is less than min ({})", hi, lo));
      if (x.is_null()) return Value::null();
      // NaN bounds make NaN (openeo-processes' clip cases; std::min/max would drop them).
      if (std::isnan(lo) || std::isnan(hi))
        return x.is_array_like() ? like_operands(x.cube * scalar_array(lo + hi), {&x}) : Value::number(lo + hi);
      if (x.kind == Value::Kind::Number) return Value::number(std::min(std::max(x.scalar.get<double>(), lo), hi));
      if (!x.is_array_like()) a.fail("x", fmt::format("expected a number or a data cube, got {}", x.describe()));
      return like_operands(clip_array(x.cube, lo, hi), {&x});
    }}};

const ProcessRegistration linear_scale_range_reg{ProcessDef{
    "linear_scale_range", "Linear transformation between two ranges", "", {"math"},
    {num("x", "A number to transform; clipped to [inputMin, inputMax] first."),
     {"inputMin", "Minimum of the input range.", {{"type", "number"}}, false, nullptr},
     {"inputMax", "Maximum of the input range.", {{"type", "number"}}, false, nullptr},
     {"outputMin", "Minimum of the output range.", {{"type", "number"}}, true, 0},
     {"outputMax", "Maximum of the output range.", {{"type", "number"}}, true, 1}},
    {{"description", "The transformed number."}, {"schema", schema::number_or_null()}},
    [](Args& a) -> Value {
      const Value& x = a.get("x");
      const double in_lo = a.number("inputMin"), in_hi = a.number("inputMax");
      const double out_lo = a.number("outputMin"), out_hi = a.number("outputMax");
      if (in_lo == in_hi) a.fail("inputMax", "inputMin and inputMax must differ");
      const double lo = std::min(in_lo, in_hi), hi = std::max(in_lo, in_hi);
      const double scale = (out_hi - out_lo) / (in_hi - in_lo);
      if (x.is_null()) return Value::null();
      if (x.kind == Value::Kind::Number) {
        const double v = std::min(std::max(x.scalar.get<double>(), lo), hi);
        return Value::number((v - in_lo) * scale + out_lo);
      }
      if (!x.is_array_like()) a.fail("x", fmt::format("expected a number or a data cube, got {}", x.describe()));
      return like_operands((clip_array(as_float(x.cube), lo, hi) - in_lo) * scale + out_lo, {&x});
    }}};

}  // namespace
}  // namespace cubist::openeo
