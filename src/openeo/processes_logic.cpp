// Comparison and logic processes: gt, gte, lt, lte, eq, neq, and, or, not, is_nan, is_nodata.
// openEO's three-valued logic: a comparison with null is null; and(false, null) is false,
// or(true, null) is true. On cubes, null is NaN (see cube.hpp for the boolean encoding).
#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <locale.h>
#include <string>
#include <wctype.h>
#include <optional>

#include "openeo/cube.hpp"
#include "openeo/registry.hpp"

namespace cubist::openeo {
namespace {

// The text's code points in lower case (eq with case_sensitive false: "Ä" equals "ä", as the
// definition's example has it), through the C.UTF-8 locale's case mapping; bytes that are not
// UTF-8 are kept as they are.
std::u32string folded(const std::string& text) {
  static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  std::u32string out;
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    const std::size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    bool valid = n > 0 && i + n <= text.size();
    char32_t cp = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    for (std::size_t k = 1; valid && k < n; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      valid = (c >> 6) == 0x2;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (!valid) {
      out.push_back(b);
      ++i;
      continue;
    }
    out.push_back(utf8 ? static_cast<char32_t>(towlower_l(static_cast<wint_t>(cp), utf8))
                       : static_cast<char32_t>(cp < 0x80 ? std::tolower(static_cast<int>(cp)) : cp));
    i += n;
  }
  return out;
}

enum class Cmp { Gt, Gte, Lt, Lte, Eq, Neq };

bool compare(double a, double b, Cmp op) {
  switch (op) {
    case Cmp::Gt: return a > b;
    case Cmp::Gte: return a >= b;
    case Cmp::Lt: return a < b;
    case Cmp::Lte: return a <= b;
    case Cmp::Eq: return a == b;
    case Cmp::Neq: return a != b;
  }
  return false;
}

template <class B> DataArray compare(const DataArray& a, const B& b, Cmp op) {
  switch (op) {
    case Cmp::Gt: return a > b;
    case Cmp::Gte: return a >= b;
    case Cmp::Lt: return a < b;
    case Cmp::Lte: return a <= b;
    case Cmp::Eq: return a == b;
    case Cmp::Neq: return a != b;
  }
  return a == b;
}

Value comparison(Args& args, Cmp op) {
  const Value& x = args.get("x");
  const Value& y = args.get("y");
  if (x.is_null() || y.is_null()) {
    if (!x.is_array_like() && !y.is_array_like()) return Value::null();
  }
  if (!x.is_array_like() && !y.is_array_like()) {
    const bool eq_like = op == Cmp::Eq || op == Cmp::Neq;
    if (x.kind == Value::Kind::Number && y.kind == Value::Kind::Number) {
      double a = x.scalar.get<double>(), b = y.scalar.get<double>();
      if (eq_like && args.given("delta")) {
        const bool close = std::fabs(a - b) <= args.number("delta");
        return Value::boolean(op == Cmp::Eq ? close : !close);
      }
      return Value::boolean(compare(a, b, op));
    }
    if (eq_like) {  // strings, booleans: equal when the same type and value (temporal strings as text)
      bool same = x.kind == y.kind && x.scalar == y.scalar;
      if (same == false && x.kind == Value::Kind::String && y.kind == Value::Kind::String && args.given("case_sensitive") &&
          !args.boolean("case_sensitive")) {
        same = folded(x.scalar.get<std::string>()) == folded(y.scalar.get<std::string>());
      }
      return Value::boolean(op == Cmp::Eq ? same : !same);
    }
    return Value::boolean(false);  // openEO: comparing non-numbers with gt/lt is false
  }
  if (!is_numeric_operand(x)) args.fail("x", fmt::format("cannot compare {} with a data cube", x.describe()));
  if (!is_numeric_operand(y)) args.fail("y", fmt::format("cannot compare {} with a data cube", y.describe()));
  // A number stays a constant of the expression; only cube operands can hold no-data.
  std::vector<DataArray> arrays;
  DataArray r;
  if (x.is_array_like() && y.kind == Value::Kind::Number) {
    arrays = {x.cube};
    r = compare(x.cube, y.scalar.get<double>(), op);
    if ((op == Cmp::Eq || op == Cmp::Neq) && args.given("delta")) {
      DataArray close = (x.cube - y.scalar.get<double>()).abs() <= args.number("delta");
      r = op == Cmp::Eq ? close : ~close;
    }
  } else {
    const DataArray a = operand_array(x), b = operand_array(y);
    arrays = {a, b};
    r = compare(a, b, op);
    if ((op == Cmp::Eq || op == Cmp::Neq) && args.given("delta")) {
      DataArray close = (a - b).abs() <= args.number("delta");
      r = op == Cmp::Eq ? close : ~close;
    }
  }
  return like_operands(bool_with_nodata(r, arrays), {&x, &y});
}

ProcessDef comparison_def(std::string id, std::string summary, Cmp op) {
  ProcessDef d;
  d.id = std::move(id);
  d.summary = std::move(summary);
  d.categories = {"comparison"};
  d.parameters = {{"x", "First operand.", schema::any(), false, nullptr},
                  {"y", "Second operand.", schema::any(), false, nullptr}};
  if (op == Cmp::Eq || op == Cmp::Neq) {
    d.parameters.push_back({"delta", "Tolerance for numbers.", schema::number_or_null(), true, nullptr});
    d.parameters.push_back({"case_sensitive", "Case sensitive string comparison.", {{"type", "boolean"}}, true, true});
  }
  d.returns = {{"description", "The comparison result; null if any operand is null."},
               {"schema", schema::boolean_or_null()}};
  d.impl = [op](Args& a) { return comparison(a, op); };
  return d;
}

const ProcessRegistration gt_reg{comparison_def("gt", "Greater than comparison", Cmp::Gt)};
const ProcessRegistration gte_reg{comparison_def("gte", "Greater than or equal to comparison", Cmp::Gte)};
const ProcessRegistration lt_reg{comparison_def("lt", "Less than comparison", Cmp::Lt)};
const ProcessRegistration lte_reg{comparison_def("lte", "Less than or equal to comparison", Cmp::Lte)};
const ProcessRegistration eq_reg{comparison_def("eq", "Equal to comparison", Cmp::Eq)};
const ProcessRegistration neq_reg{comparison_def("neq", "Not equal to comparison", Cmp::Neq)};

// --- logic

std::optional<bool> truth(const Args& args, const std::string& name) {
  const Value& v = args.get(name);
  if (v.is_null()) return std::nullopt;
  if (v.kind == Value::Kind::Boolean) return v.scalar.get<bool>();
  if (v.kind == Value::Kind::Number) {
    const double d = v.scalar.get<double>();
    if (std::isnan(d)) return std::nullopt;
    return d != 0;
  }
  args.fail(name, fmt::format("expected a boolean, got {}", v.describe()));
}

// A boolean cube as float64 1/0/NaN (bool arrays have no null).
DataArray truth_array(const Value& v) {
  const DataArray a = operand_array(v);
  return a.dtype() == DType::Bool ? a.astype(DType::Float64) : as_float(a);
}

bool plain_bool(const Value& v) { return v.is_array_like() && v.cube.dtype() == DType::Bool; }

Value logic(Args& args, bool is_and) {
  const Value& x = args.get("x");
  const Value& y = args.get("y");
  if (!x.is_array_like() && !y.is_array_like()) {
    const auto a = truth(args, "x"), b = truth(args, "y");
    if (is_and) {
      if (a == false || b == false) return Value::boolean(false);
      if (!a || !b) return Value::null();
      return Value::boolean(true);
    }
    if (a == true || b == true) return Value::boolean(true);
    if (!a || !b) return Value::null();
    return Value::boolean(false);
  }
  if (plain_bool(x) && (plain_bool(y) || y.kind == Value::Kind::Boolean)) {
    const DataArray b = y.kind == Value::Kind::Boolean ? operand_array(y).astype(DType::Bool) : y.cube;
    return like_operands(is_and ? (x.cube & b) : (x.cube | b), {&x, &y});
  }
  const DataArray a = truth_array(x), b = truth_array(y);
  // The deciding value (false for and, true for or) wins over null; otherwise null propagates.
  const double decisive = is_and ? 0.0 : 1.0;
  const DataArray decided = (a == decisive) | (b == decisive);
  const DataArray known = a.notnull() & b.notnull();
  DataArray r = decided.astype(DType::Float64);
  if (is_and) r = 1.0 - r;
  return like_operands(r.where(decided | known), {&x, &y});
}

ProcessDef logic_def(std::string id, std::string summary, bool is_and) {
  ProcessDef d;
  d.id = std::move(id);
  d.summary = std::move(summary);
  d.categories = {"logic"};
  d.parameters = {{"x", "A boolean value.", schema::boolean_or_null(), false, nullptr},
                  {"y", "A boolean value.", schema::boolean_or_null(), false, nullptr}};
  d.returns = {{"description", "Boolean result of the logical operation."}, {"schema", schema::boolean_or_null()}};
  d.impl = [is_and](Args& a) { return logic(a, is_and); };
  return d;
}

const ProcessRegistration and_reg{logic_def("and", "Logical AND", true)};
const ProcessRegistration or_reg{logic_def("or", "Logical OR", false)};

const ProcessRegistration not_reg{ProcessDef{
    "not", "Inverting a boolean", "", {"logic"},
    {{"x", "Boolean value to invert.", schema::boolean_or_null(), false, nullptr}},
    {{"description", "Inverted boolean value."}, {"schema", schema::boolean_or_null()}},
    [](Args& a) -> Value {
      const Value& x = a.get("x");
      if (!x.is_array_like()) {
        const auto t = truth(a, "x");
        return t ? Value::boolean(!*t) : Value::null();
      }
      if (plain_bool(x)) return like_operands(~x.cube, {&x});
      const DataArray f = truth_array(x);
      return like_operands((f == 0.0).astype(DType::Float64).where(f.notnull()), {&x});
    }}};

const ProcessRegistration is_nodata_reg{ProcessDef{
    "is_nodata", "Value is a no-data value", "", {"comparison"},
    {{"x", "The data to check.", schema::any(), false, nullptr}},
    {{"description", "true if the data is a no-data value, otherwise false."}, {"schema", {{"type", "boolean"}}}},
    [](Args& a) -> Value {
      const Value& x = a.get("x");
      if (x.is_array_like()) return like_operands(x.cube.isnull(), {&x});
      return Value::boolean(x.is_null());
    }}};

// is_nan: true for NaN only (openeo-processes 2.0.0-rc.2, #551: false for null, booleans, strings,
// arrays and objects). On cubes no-data is NaN, so it is true there.
const ProcessRegistration is_nan_reg{ProcessDef{
    "is_nan", "Value is not a number", "", {"comparison", "math > constants"},
    {{"x", "The data to check.", schema::any(), false, nullptr}},
    {{"description", "true for NaN, otherwise false."}, {"schema", {{"type", "boolean"}}}},
    [](Args& a) -> Value {
      const Value& x = a.get("x");
      if (x.is_array_like()) return like_operands(x.cube.isnull(), {&x});
      return Value::boolean(x.kind == Value::Kind::Number && std::isnan(x.scalar.get<double>()));
    }}};

}  // namespace
}  // namespace cubist::openeo
