// An elementwise program: the IR that fused elementwise layers carry as parameters.
// Nodes are in SSA form and topological order; each node has the dtype it produces.
// The array layer builds programs, the graph optimiser merges them, a kernel evaluates them.
#pragma once
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "cubist/dtype.hpp"

namespace cubist::core {

enum class ExprOp : std::uint8_t {
  Input,  // args[0] = input slot
  Const,  // value in `f` (floats) or `i` (integers, bool, datetime)
  Cast,
  Add, Sub, Mul, Div, FloorDiv, Mod, Pow, Minimum, Maximum,
  Eq, Ne, Lt, Le, Gt, Ge,
  And, Or, Xor, Not,
  Neg, Abs, Sqrt, Exp, Log, Floor, Ceil,
  IsNull,  // NaN for floats, NaT for datetime64, false otherwise
  Where,   // args: cond (bool), a, b
};

std::string_view expr_op_name(ExprOp op);
ExprOp parse_expr_op(std::string_view name);  // throws cubist::ValueError
int expr_op_arity(ExprOp op);

struct ExprNode {
  ExprOp op = ExprOp::Const;
  DType dtype = DType::Float64;
  std::array<std::int32_t, 3> args{-1, -1, -1};
  double f = 0.0;
  std::int64_t i = 0;
  bool operator==(const ExprNode&) const = default;
};

struct Expression {
  std::vector<ExprNode> nodes;
  std::int32_t result = -1;

  std::int32_t add(ExprNode n);  // appends, reusing an identical existing node
  std::int32_t input(std::int32_t slot, DType dtype);
  std::int32_t constant(double value, DType dtype);
  std::int32_t unary(ExprOp op, std::int32_t a, DType dtype);
  std::int32_t binary(ExprOp op, std::int32_t a, std::int32_t b, DType dtype);
  std::int32_t where(std::int32_t cond, std::int32_t a, std::int32_t b, DType dtype);
  DType dtype_of(std::int32_t node) const { return nodes[static_cast<std::size_t>(node)].dtype; }
  int num_inputs() const;  // 1 + the highest input slot used

  // Replaces input `slot` by the program `inner` whose own inputs map to `inner_slot_map` slots here.
  // Slots above `slot` are left as they are: the caller renumbers inputs if it needs to.
  Expression inline_input(std::int32_t slot, const Expression& inner,
                          const std::vector<std::int32_t>& inner_slot_map) const;
  // Keeps only the nodes the result needs.
  Expression compacted() const;

  nlohmann::json to_json() const;
  static Expression from_json(const nlohmann::json& j);  // validates: throws cubist::ValueError
  std::string to_string() const;  // "(in0 + 1.0) * in1" for graph labels
};

}  // namespace cubist::core
