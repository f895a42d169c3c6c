#include "core/expression.hpp"

#include <array>
#include <fmt/format.h>
#include <functional>

#include "cubist/error.hpp"

namespace cubist::core {
namespace {
struct OpInfo {
  std::string_view name;
  int arity;
  std::string_view symbol;  // for binary infix printing, empty for calls
};
constexpr std::array<OpInfo, 31> kOps{{
    {"input", 0, ""},     {"const", 0, ""},     {"cast", 1, ""},      {"add", 2, "+"},
    {"sub", 2, "-"},      {"mul", 2, "*"},      {"div", 2, "/"},      {"floordiv", 2, "//"},
    {"mod", 2, "%"},      {"pow", 2, "**"},     {"minimum", 2, ""},   {"maximum", 2, ""},
    {"eq", 2, "=="},      {"ne", 2, "!="},      {"lt", 2, "<"},       {"le", 2, "<="},
    {"gt", 2, ">"},       {"ge", 2, ">="},      {"and", 2, "&"},      {"or", 2, "|"},
    {"xor", 2, "^"},      {"not", 1, ""},       {"neg", 1, ""},       {"abs", 1, ""},
    {"sqrt", 1, ""},      {"exp", 1, ""},       {"log", 1, ""},       {"floor", 1, ""},
    {"ceil", 1, ""},      {"isnull", 1, ""},    {"where", 3, ""},
}};
const OpInfo& info(ExprOp op) { return kOps[static_cast<std::size_t>(op)]; }
}  // namespace

std::string_view expr_op_name(ExprOp op) { return info(op).name; }
int expr_op_arity(ExprOp op) { return info(op).arity; }

ExprOp parse_expr_op(std::string_view name) {
  for (std::size_t i = 0; i < kOps.size(); ++i)
    if (kOps[i].name == name) return static_cast<ExprOp>(i);
  throw ValueError(fmt::format("unknown elementwise operation '{}'", name));
}

std::int32_t Expression::add(ExprNode n) {
  for (std::size_t k = 0; k < nodes.size(); ++k)
    if (nodes[k] == n) return static_cast<std::int32_t>(k);
  nodes.push_back(n);
  return static_cast<std::int32_t>(nodes.size() - 1);
}

std::int32_t Expression::input(std::int32_t slot, DType dtype) {
  return add({ExprOp::Input, dtype, {slot, -1, -1}, 0.0, 0});
}

std::int32_t Expression::constant(double value, DType dtype) {
  ExprNode n{ExprOp::Const, dtype, {-1, -1, -1}, 0.0, 0};
  if (is_float(dtype)) n.f = value;
  else n.i = static_cast<std::int64_t>(value);
  return add(n);
}

std::int32_t Expression::unary(ExprOp op, std::int32_t a, DType dtype) { return add({op, dtype, {a, -1, -1}, 0.0, 0}); }
std::int32_t Expression::binary(ExprOp op, std::int32_t a, std::int32_t b, DType dtype) {
  return add({op, dtype, {a, b, -1}, 0.0, 0});
}
std::int32_t Expression::where(std::int32_t c, std::int32_t a, std::int32_t b, DType dtype) {
  return add({ExprOp::Where, dtype, {c, a, b}, 0.0, 0});
}

int Expression::num_inputs() const {
  int n = 0;
  for (const auto& node : nodes)
    if (node.op == ExprOp::Input) n = std::max(n, node.args[0] + 1);
  return n;
}

Expression Expression::inline_input(std::int32_t slot, const Expression& inner,
                                    const std::vector<std::int32_t>& inner_slot_map) const {
  Expression out;
  std::vector<std::int32_t> inner_map(inner.nodes.size());
  for (std::size_t k = 0; k < inner.nodes.size(); ++k) {
    ExprNode n = inner.nodes[k];
    if (n.op == ExprOp::Input) n.args[0] = inner_slot_map.at(static_cast<std::size_t>(n.args[0]));
    else
      for (int a = 0; a < expr_op_arity(n.op); ++a) n.args[static_cast<std::size_t>(a)] = inner_map[static_cast<std::size_t>(n.args[static_cast<std::size_t>(a)])];
    inner_map[k] = out.add(n);
  }
  std::vector<std::int32_t> map(nodes.size());
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    ExprNode n = nodes[k];
    if (n.op == ExprOp::Input && n.args[0] == slot) {
      std::int32_t r = inner_map[static_cast<std::size_t>(inner.result)];
      // The outer program read the inner result as its own dtype; they agree by construction.
      map[k] = r;
      continue;
    }
    for (int a = 0; a < expr_op_arity(n.op); ++a) n.args[static_cast<std::size_t>(a)] = map[static_cast<std::size_t>(n.args[static_cast<std::size_t>(a)])];
    map[k] = out.add(n);
  }
  out.result = map[static_cast<std::size_t>(result)];
  return out.compacted();
}

Expression Expression::compacted() const {
  std::vector<bool> live(nodes.size(), false);
  if (result >= 0) live[static_cast<std::size_t>(result)] = true;
  for (std::size_t k = nodes.size(); k-- > 0;) {
    if (!live[k]) continue;
    for (int a = 0; a < expr_op_arity(nodes[k].op); ++a) live[static_cast<std::size_t>(nodes[k].args[static_cast<std::size_t>(a)])] = true;
  }
  Expression out;
  std::vector<std::int32_t> map(nodes.size(), -1);
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    if (!live[k]) continue;
    ExprNode n = nodes[k];
    for (int a = 0; a < expr_op_arity(n.op); ++a) n.args[static_cast<std::size_t>(a)] = map[static_cast<std::size_t>(n.args[static_cast<std::size_t>(a)])];
    map[k] = out.add(n);
  }
  out.result = result >= 0 ? map[static_cast<std::size_t>(result)] : -1;
  return out;
}

nlohmann::json Expression::to_json() const {
  auto arr = nlohmann::json::array();
  for (const auto& n : nodes) {
    nlohmann::json j{{"op", expr_op_name(n.op)}, {"dtype", dtype_name(n.dtype)}};
    int arity = expr_op_arity(n.op);
    if (n.op == ExprOp::Input) j["slot"] = n.args[0];
    else if (n.op == ExprOp::Const) {
      if (is_float(n.dtype)) j["value"] = n.f;
      else j["value"] = n.i;
    } else {
      j["args"] = std::vector<std::int32_t>(n.args.begin(), n.args.begin() + arity);
    }
    arr.push_back(std::move(j));
  }
  return {{"nodes", std::move(arr)}, {"result", result}};
}

Expression Expression::from_json(const nlohmann::json& j) {
  try {
    Expression e;
    for (const auto& jn : j.at("nodes")) {
      ExprNode n;
      n.op = parse_expr_op(jn.at("op").get<std::string>());
      n.dtype = parse_dtype(jn.at("dtype").get<std::string>());
      if (n.op == ExprOp::Input) {
        n.args[0] = jn.at("slot").get<std::int32_t>();
        if (n.args[0] < 0) throw ValueError("negative input slot");
      } else if (n.op == ExprOp::Const) {
        if (is_float(n.dtype)) n.f = jn.at("value").get<double>();
        else n.i = jn.at("value").get<std::int64_t>();
      } else {
        auto args = jn.at("args").get<std::vector<std::int32_t>>();
        if (static_cast<int>(args.size()) != expr_op_arity(n.op))
          throw ValueError(fmt::format("'{}' takes {} arguments, got {}", expr_op_name(n.op), expr_op_arity(n.op), args.size()));
        for (std::size_t a = 0; a < args.size(); ++a) {
          if (args[a] < 0 || args[a] >= static_cast<std::int32_t>(e.nodes.size()))
            throw ValueError(fmt::format("argument {} refers to node {} which is not defined before it", a, args[a]));
          n.args[a] = args[a];
        }
      }
      e.nodes.push_back(n);  // no dedupe: keep node numbering as given
    }
    e.result = j.at("result").get<std::int32_t>();
    if (e.result < 0 || e.result >= static_cast<std::int32_t>(e.nodes.size())) throw ValueError("result node out of range");
    return e;
  } catch (const nlohmann::json::exception& ex) {
    throw ValueError(fmt::format("malformed elementwise program: {}", ex.what()));
  } catch (const Error& ex) {
    throw ValueError(fmt::format("malformed elementwise program: {}", ex.what()));
  }
}

std::string Expression::to_string() const {
  std::function<std::string(std::int32_t)> str = [&](std::int32_t k) -> std::string {
    const auto& n = nodes[static_cast<std::size_t>(k)];
    const auto& in = info(n.op);
    switch (n.op) {
      case ExprOp::Input: return fmt::format("in{}", n.args[0]);
      case ExprOp::Const: return is_float(n.dtype) ? fmt::format("{}", n.f) : fmt::format("{}", n.i);
      case ExprOp::Cast: return fmt::format("{}({})", dtype_name(n.dtype), str(n.args[0]));
      default: break;
    }
    if (!in.symbol.empty()) return fmt::format("({} {} {})", str(n.args[0]), in.symbol, str(n.args[1]));
    std::vector<std::string> args;
    for (int a = 0; a < in.arity; ++a) args.push_back(str(n.args[static_cast<std::size_t>(a)]));
    return fmt::format("{}({})", in.name, fmt::join(args, ", "));
  };
  return result >= 0 ? str(result) : "";
}

}  // namespace cubist::core
