// Math, comparison, logic and reducer processes on numbers (cases from the openEO process
// definitions' examples) and on cubes (values computed by hand).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "graph/optimize.hpp"
#include "helpers.hpp"

namespace cubist::openeo::testing {
namespace {

using nlohmann::json;
const double nan = std::numeric_limits<double>::quiet_NaN();

Value run(const std::string& pid, const json& args) { return eval(single(pid, args)); }
bool is_true(const Value& v) { return v.kind == Value::Kind::Boolean && v.scalar.get<bool>(); }
bool is_false(const Value& v) { return v.kind == Value::Kind::Boolean && !v.scalar.get<bool>(); }

TEST(OpenEoMath, ArithmeticExamples) {
  EXPECT_DOUBLE_EQ(number(run("add", {{"x", 5}, {"y", 2.5}})), 7.5);
  EXPECT_DOUBLE_EQ(number(run("add", {{"x", -2}, {"y", -4}})), -6);
  EXPECT_TRUE(run("add", {{"x", 1}, {"y", nullptr}}).is_null());
  EXPECT_DOUBLE_EQ(number(run("subtract", {{"x", 5}, {"y", 2.5}})), 2.5);
  EXPECT_DOUBLE_EQ(number(run("subtract", {{"x", -2}, {"y", 4}})), -6);
  EXPECT_DOUBLE_EQ(number(run("multiply", {{"x", 5}, {"y", 2.5}})), 12.5);
  EXPECT_DOUBLE_EQ(number(run("multiply", {{"x", -2}, {"y", -4}})), 8);
  EXPECT_TRUE(run("multiply", {{"x", nullptr}, {"y", 2}}).is_null());
  EXPECT_DOUBLE_EQ(number(run("divide", {{"x", 5}, {"y", 2.5}})), 2);
  EXPECT_DOUBLE_EQ(number(run("divide", {{"x", -2}, {"y", 4}})), -0.5);
  EXPECT_DOUBLE_EQ(number(run("normalized_difference", {{"x", 1}, {"y", 1}})), 0);
  EXPECT_DOUBLE_EQ(number(run("normalized_difference", {{"x", 1}, {"y", 0}})), 1);
  EXPECT_DOUBLE_EQ(number(run("clip", {{"x", -5}, {"min", -1}, {"max", 1}})), -1);
  EXPECT_DOUBLE_EQ(number(run("clip", {{"x", 10.001}, {"min", -1}, {"max", 10}})), 10);
  EXPECT_DOUBLE_EQ(number(run("clip", {{"x", 0.000001}, {"min", 0}, {"max", 0.02}})), 0.000001);
  EXPECT_TRUE(run("clip", {{"x", nullptr}, {"min", 0}, {"max", 1}}).is_null());
  EXPECT_DOUBLE_EQ(number(run("linear_scale_range", {{"x", 0.3}, {"inputMin", -1}, {"inputMax", 1}, {"outputMin", 0}, {"outputMax", 255}})), 165.75);
  EXPECT_DOUBLE_EQ(number(run("linear_scale_range", {{"x", 25.5}, {"inputMin", 0}, {"inputMax", 255}})), 0.1);
  EXPECT_TRUE(run("linear_scale_range", {{"x", nullptr}, {"inputMin", 0}, {"inputMax", 100}}).is_null());
  EXPECT_DOUBLE_EQ(number(run("linear_scale_range", {{"x", 300}, {"inputMin", 0}, {"inputMax", 255}})), 1);  // clipped
}

TEST(OpenEoMath, ComparisonAndLogicExamples) {
  EXPECT_TRUE(run("gt", {{"x", 1}, {"y", nullptr}}).is_null());
  EXPECT_TRUE(is_false(run("gt", {{"x", 0}, {"y", 0}})));
  EXPECT_TRUE(is_true(run("gt", {{"x", 2}, {"y", 1}})));
  EXPECT_TRUE(is_false(run("gt", {{"x", true}, {"y", 0}})));
  EXPECT_TRUE(is_true(run("lt", {{"x", 0}, {"y", 1}})));
  EXPECT_TRUE(is_false(run("lt", {{"x", 1}, {"y", 1}})));
  EXPECT_TRUE(run("lt", {{"x", nullptr}, {"y", 1}}).is_null());
  EXPECT_TRUE(run("eq", {{"x", 1}, {"y", nullptr}}).is_null());
  EXPECT_TRUE(is_true(run("eq", {{"x", 1}, {"y", 1}})));
  EXPECT_TRUE(is_false(run("eq", {{"x", 1}, {"y", "1"}})));
  EXPECT_TRUE(is_true(run("eq", {{"x", 1.02}, {"y", 1}, {"delta", 0.01 * 3}})));
  EXPECT_TRUE(is_true(run("eq", {{"x", "Test"}, {"y", "test"}, {"case_sensitive", false}})));
  EXPECT_TRUE(is_false(run("eq", {{"x", "Test"}, {"y", "test"}})));
  EXPECT_TRUE(is_false(run("and", {{"x", false}, {"y", nullptr}})));
  EXPECT_TRUE(run("and", {{"x", true}, {"y", nullptr}}).is_null());
  EXPECT_TRUE(is_true(run("and", {{"x", true}, {"y", true}})));
  EXPECT_TRUE(is_true(run("or", {{"x", true}, {"y", nullptr}})));
  EXPECT_TRUE(run("or", {{"x", false}, {"y", nullptr}}).is_null());
  EXPECT_TRUE(is_false(run("or", {{"x", false}, {"y", false}})));
  EXPECT_TRUE(run("not", {{"x", nullptr}}).is_null());
  EXPECT_TRUE(is_false(run("not", {{"x", true}})));
  EXPECT_TRUE(is_false(run("is_nan", {{"x", 1}})));
  EXPECT_TRUE(is_false(run("is_nan", {{"x", "Test"}})));  // 2.0.0-rc.2 (#551): false for non-numbers
  EXPECT_TRUE(is_true(run("is_nodata", {{"x", nullptr}})));
  EXPECT_TRUE(is_false(run("is_nodata", {{"x", 1}})));
}

TEST(OpenEoMath, ReducerExamplesOnArrays) {
  EXPECT_DOUBLE_EQ(number(run("mean", {{"data", {1, 0, 3, 2}}})), 1.5);
  EXPECT_DOUBLE_EQ(number(run("mean", {{"data", {9, 2.5, nullptr, -2.5}}})), 3);
  EXPECT_TRUE(run("mean", {{"data", {1, nullptr}}, {"ignore_nodata", false}}).is_null());
  EXPECT_TRUE(run("mean", {{"data", json::array()}}).is_null());
  EXPECT_DOUBLE_EQ(number(run("median", {{"data", {1, 3, 3, 6, 7, 8, 9}}})), 6);
  EXPECT_DOUBLE_EQ(number(run("median", {{"data", {1, 2, 3, 4, 5, 6, 8, 9}}})), 4.5);
  EXPECT_DOUBLE_EQ(number(run("median", {{"data", {-1, -0.5, nullptr, 1}}})), -0.5);
  EXPECT_DOUBLE_EQ(number(run("sd", {{"data", {-1, 1, 3, nullptr}}})), 2);
  EXPECT_TRUE(run("sd", {{"data", {-1, 1, 3, nullptr}}, {"ignore_nodata", false}}).is_null());
  EXPECT_DOUBLE_EQ(number(run("max", {{"data", {1, 0, 3, 2}}})), 3);
  EXPECT_DOUBLE_EQ(number(run("max", {{"data", {5, 2.5, nullptr, -0.7}}})), 5);
  EXPECT_DOUBLE_EQ(number(run("min", {{"data", {1, 0, 3, 2}}})), 0);
  EXPECT_DOUBLE_EQ(number(run("min", {{"data", {5, 2.5, nullptr, -0.7}}})), -0.7);
  EXPECT_DOUBLE_EQ(number(run("sum", {{"data", {5, 1}}})), 6);
  EXPECT_DOUBLE_EQ(number(run("sum", {{"data", {-2, 4, 2.5}}})), 4.5);
  EXPECT_TRUE(run("sum", {{"data", {1, nullptr}}, {"ignore_nodata", false}}).is_null());
  EXPECT_DOUBLE_EQ(number(run("count", {{"data", json::array()}})), 0);
  EXPECT_DOUBLE_EQ(number(run("count", {{"data", {1, 0, 3, 2}}})), 4);
  EXPECT_DOUBLE_EQ(number(run("count", {{"data", {"ABC", nullptr}}})), 1);
  EXPECT_DOUBLE_EQ(number(run("count", {{"data", {false, nullptr}}, {"condition", true}})), 2);
  EXPECT_DOUBLE_EQ(number(run("first", {{"data", {1, 0, 3, 2}}})), 1);
  EXPECT_EQ(run("first", {{"data", {nullptr, "A", "B"}}}).scalar, "A");
  EXPECT_TRUE(run("first", {{"data", {nullptr, 2, 3}}, {"ignore_nodata", false}}).is_null());
  EXPECT_DOUBLE_EQ(number(run("last", {{"data", {1, 0, 3, 2}}})), 2);
  EXPECT_EQ(run("last", {{"data", {"A", "B", nullptr}}}).scalar, "B");
  EXPECT_DOUBLE_EQ(number(run("array_element", {{"data", {9, 8, 7, 6, 5}}, {"index", 2}})), 7);
  EXPECT_TRUE(run("array_element", {{"data", {9, 8}}, {"index", 5}, {"return_nodata", true}}).is_null());
}

// The remaining examples of the openEO process definitions (openeo-processes 2.0.0-rc.2) for the
// math, comparison, logic and reducer processes cubist runs, as they are written there.
TEST(OpenEoMath, RemainingDefinitionExamples) {
  EXPECT_TRUE(run("subtract", {{"x", 1}, {"y", nullptr}}).is_null());
  EXPECT_TRUE(run("divide", {{"x", 1}, {"y", nullptr}}).is_null());
  EXPECT_TRUE(run("max", {{"data", {1, 0, 3, nullptr, 2}}, {"ignore_nodata", false}}).is_null());
  EXPECT_TRUE(run("min", {{"data", {1, 0, 3, nullptr, 2}}, {"ignore_nodata", false}}).is_null());
  EXPECT_TRUE(run("min", {{"data", json::array()}}).is_null());
  EXPECT_TRUE(run("median", {{"data", {-1, 0, nullptr, 1}}, {"ignore_nodata", false}}).is_null());
  EXPECT_DOUBLE_EQ(number(run("sum", {{"data", {100}}})), 100);
  EXPECT_TRUE(run("sum", {{"data", {nullptr}}, {"ignore_nodata", false}}).is_null());
  EXPECT_TRUE(run("sum", {{"data", json::array()}}).is_null());
  // The example reads `element`, but the definition names the condition's parameter `x`.
  const json gt2 = {{"process_graph", {{"gt", {{"process_id", "gt"}, {"arguments", {{"x", {{"from_parameter", "x"}}}, {"y", 2}}}, {"result", true}}}}}};
  EXPECT_DOUBLE_EQ(number(run("count", {{"data", {0, 1, 2, 3, 4, 5, nullptr}}, {"condition", gt2}})), 3);
  EXPECT_TRUE(run("last", {{"data", {0, 1, nullptr}}, {"ignore_nodata", false}}).is_null());
  EXPECT_TRUE(is_true(run("gt", {{"x", -0.5}, {"y", -0.6}})));
  EXPECT_TRUE(is_false(run("gt", {{"x", "2018-01-02T00:00:00Z"}, {"y", "2018-01-01T00:00:00Z"}})));
  EXPECT_TRUE(is_false(run("gt", {{"x", true}, {"y", false}})));
  EXPECT_TRUE(is_false(run("lt", {{"x", 0}, {"y", 0}})));
  EXPECT_TRUE(is_true(run("lt", {{"x", 1}, {"y", 2}})));
  EXPECT_TRUE(is_false(run("lt", {{"x", -0.5}, {"y", -0.6}})));
  EXPECT_TRUE(is_false(run("lt", {{"x", "2018-01-01T00:00:00Z"}, {"y", "2018-01-02T00:00:00Z"}})));
  EXPECT_TRUE(is_false(run("lt", {{"x", 0}, {"y", true}})));
  EXPECT_TRUE(is_false(run("lt", {{"x", false}, {"y", true}})));
  EXPECT_TRUE(is_false(run("eq", {{"x", 0}, {"y", false}})));
  EXPECT_TRUE(is_false(run("eq", {{"x", 1.02}, {"y", 1}, {"delta", 0.01}})));
  EXPECT_TRUE(is_true(run("eq", {{"x", -1}, {"y", -1.001}, {"delta", 0.01}})));
  EXPECT_TRUE(is_true(run("eq", {{"x", 115}, {"y", 110}, {"delta", 10}})));
  EXPECT_TRUE(is_true(run("eq", {{"x", "\u00c4"}, {"y", "\u00e4"}, {"case_sensitive", false}})));
  EXPECT_TRUE(is_false(run("eq", {{"x", "2018-01-01T00:00:00Z"}, {"y", "2018-01-01T00:00:00+00:00"}})));
  EXPECT_TRUE(is_false(run("and", {{"x", true}, {"y", false}})));
  EXPECT_TRUE(is_false(run("and", {{"x", false}, {"y", false}})));
  EXPECT_TRUE(is_true(run("or", {{"x", true}, {"y", true}})));
  EXPECT_TRUE(is_true(run("or", {{"x", nullptr}, {"y", true}})));
  EXPECT_TRUE(is_true(run("not", {{"x", false}})));
  EXPECT_TRUE(is_false(run("is_nodata", {{"x", "Test"}})));
  EXPECT_TRUE(is_false(run("is_nodata", {{"x", {nullptr, nullptr}}})));
  EXPECT_DOUBLE_EQ(number(run("clip", {{"x", 10.001}, {"min", 1}, {"max", 10}})), 10);
  EXPECT_DOUBLE_EQ(number(run("linear_scale_range", {{"x", 1.12}, {"inputMin", 0}, {"inputMax", 1}, {"outputMin", 0}, {"outputMax", 255}})), 255);
  EXPECT_EQ(run("array_element", {{"data", {"A", "B", "C"}}, {"index", 0}}).scalar, "A");
  EXPECT_TRUE(run("array_element", {{"data", json::array()}, {"index", 0}, {"return_nodata", true}}).is_null());
}

// apply(x -> f(x)) on a cube with NaN no-data.
DataArray apply_cube(const json& callback_nodes, const DataArray& cube) {
  set_test_cube("apply_in", cube);
  json g = {{"c", {{"process_id", "test_cube"}, {"arguments", {{"name", "apply_in"}}}}},
            {"a", {{"process_id", "apply"},
                   {"arguments", {{"data", {{"from_node", "c"}}}, {"process", {{"process_graph", callback_nodes}}}}},
                   {"result", true}}}};
  Value v = eval(g);
  EXPECT_EQ(v.kind, Value::Kind::Cube);
  return v.cube;
}

json cb(const std::string& id, const std::string& pid, json args, bool result = false) {
  json n = {{"process_id", pid}, {"arguments", std::move(args)}};
  if (result) n["result"] = true;
  return {{id, n}};
}

DataArray vec(const std::vector<double>& v) { return DataArray::from_vector(v, {{"x", static_cast<std::int64_t>(v.size())}}); }

// These processes are exact up to rounding: a tighter bound than the shared helper's default.
void expect_exact(const DataArray& a, const std::vector<double>& want) { expect_values(a, want, 1e-12); }

TEST(OpenEoMath, ElementwiseOnCubesKeepNodata) {
  const DataArray x = vec({-2, 0.5, nan, 4});
  const json p = {{"from_parameter", "x"}};
  expect_exact(apply_cube(cb("r", "add", {{"x", p}, {"y", 1}}, true), x), {-1, 1.5, nan, 5});
  expect_exact(apply_cube(cb("r", "subtract", {{"x", 10}, {"y", p}}, true), x), {12, 9.5, nan, 6});
  expect_exact(apply_cube(cb("r", "divide", {{"x", p}, {"y", 2}}, true), x), {-1, 0.25, nan, 2});
  expect_exact(apply_cube(cb("r", "multiply", {{"x", p}, {"y", p}}, true), x), {4, 0.25, nan, 16});
  expect_exact(apply_cube(cb("r", "normalized_difference", {{"x", p}, {"y", 1}}, true), x), {3, -1.0 / 3, nan, 0.6});
  expect_exact(apply_cube(cb("r", "clip", {{"x", p}, {"min", 0}, {"max", 1}}, true), x), {0, 0.5, nan, 1});
  expect_exact(apply_cube(cb("r", "linear_scale_range", {{"x", p}, {"inputMin", 0}, {"inputMax", 4}, {"outputMin", 0}, {"outputMax", 100}}, true), x),
                {0, 12.5, nan, 100});
  // Comparisons: null where the input is no-data, 1/0 elsewhere.
  expect_exact(apply_cube(cb("r", "gt", {{"x", p}, {"y", 0}}, true), x), {0, 1, nan, 1});
  expect_exact(apply_cube(cb("r", "lt", {{"x", p}, {"y", 0.5}}, true), x), {1, 0, nan, 0});
  expect_exact(apply_cube(cb("r", "eq", {{"x", p}, {"y", 4}}, true), x), {0, 0, nan, 1});
  expect_exact(apply_cube(cb("r", "is_nodata", {{"x", p}}, true), x), {0, 0, 1, 0});
  expect_exact(apply_cube(cb("r", "is_nan", {{"x", p}}, true), x), {0, 0, 1, 0});
  // Three-valued logic: and(false, null) = false, and(true, null) = null, or(true, null) = true.
  json g = cb("a", "gt", {{"x", p}, {"y", 0}});
  g.update(cb("b", "lt", {{"x", p}, {"y", 3}}));
  g.update(cb("r", "and", {{"x", {{"from_node", "a"}}}, {"y", {{"from_node", "b"}}}}, true));
  expect_exact(apply_cube(g, x), {0, 1, nan, 0});
  g["r"]["process_id"] = "or";
  expect_exact(apply_cube(g, x), {1, 1, nan, 1});
  g["r"] = {{"process_id", "not"}, {"arguments", {{"x", {{"from_node", "a"}}}}}, {"result", true}};
  expect_exact(apply_cube(g, x), {1, 0, nan, 0});
  // Integer cubes give plain booleans (they cannot hold no-data).
  const DataArray ints = DataArray::from_vector<std::int32_t>({1, 5, 9}, {{"x", 3}});
  EXPECT_EQ(apply_cube(cb("r", "gt", {{"x", p}, {"y", 4}}, true), ints).dtype(), DType::Bool);
  expect_exact(apply_cube(cb("r", "divide", {{"x", p}, {"y", 2}}, true), ints), {0.5, 2.5, 4.5});
}

std::size_t count_layers(const graph::LayerPtr& out) {
  std::set<const graph::Layer*> seen;
  std::vector<const graph::Layer*> todo{out.get()};
  while (!todo.empty()) {
    const graph::Layer* l = todo.back();
    todo.pop_back();
    if (!seen.insert(l).second) continue;
    for (const auto& in : l->inputs) todo.push_back(in.layer.get());
  }
  return seen.size();
}

std::string describe_layers(const graph::LayerPtr& out) {
  std::string s;
  std::vector<const graph::Layer*> todo{out.get()};
  while (!todo.empty()) {
    const graph::Layer* l = todo.back();
    todo.pop_back();
    s += l->label + "/" + l->op + " <- " + std::to_string(l->inputs.size()) + "; ";
    for (const auto& in : l->inputs) todo.push_back(in.layer.get());
  }
  return s;
}

// A reducer given a list of cubes and numbers (merge_cubes' resolver sum([x, y])) works
// elementwise across the items: no-data skipped unless ignore_nodata is false.
TEST(OpenEoMath, ReducersAcrossListsOfCubes) {
  const DataArray x = vec({-2, 0.5, nan, 4});
  const json p = {{"from_parameter", "x"}};
  const json items = {p, 1, nullptr, p};
  expect_exact(apply_cube(cb("r", "sum", {{"data", items}}, true), x), {-3, 2, 1, 9});
  expect_exact(apply_cube(cb("r", "mean", {{"data", items}}, true), x), {-1, 2.0 / 3, 1, 3});
  expect_exact(apply_cube(cb("r", "max", {{"data", items}}, true), x), {1, 1, 1, 4});
  expect_exact(apply_cube(cb("r", "min", {{"data", items}}, true), x), {-2, 0.5, 1, 1});
  expect_exact(apply_cube(cb("r", "max", {{"data", {p, 1}}, {"ignore_nodata", false}}, true), x), {1, 1, nan, 4});
  expect_exact(apply_cube(cb("r", "sum", {{"data", {p, 1}}, {"ignore_nodata", false}}, true), x), {-1, 1.5, nan, 5});
  EXPECT_THROW(apply_cube(cb("r", "median", {{"data", items}}, true), x), ValueError);
}

TEST(OpenEoMath, CallbacksCompileIntoOneFusedElementwiseLayer) {
  // x -> linear_scale_range(clip(multiply(add(x, 1), 2), 0, 10), 0, 10) over a chunked cube.
  const DataArray x = DataArray::from_vector(std::vector<double>(64, 1.5), {{"y", 8}, {"x", 8}}).chunk({{"y", 4}, {"x", 4}});
  const json p = {{"from_parameter", "x"}};
  json g = cb("a", "add", {{"x", p}, {"y", 1}});
  g.update(cb("m", "multiply", {{"x", {{"from_node", "a"}}}, {"y", 2}}));
  g.update(cb("c", "clip", {{"x", {{"from_node", "m"}}}, {"min", 0}, {"max", 10}}));
  g.update(cb("r", "linear_scale_range", {{"x", {{"from_node", "c"}}}, {"inputMin", 0}, {"inputMax", 10}}, true));
  const DataArray out = apply_cube(g, x);
  const std::size_t input_layers = count_layers(x.layer());
  // Built lazily as several elementwise layers; fused, one layer reads the input directly.
  EXPECT_GT(count_layers(out.layer()), input_layers + 1);
  // Fused: one elementwise layer reading the cube directly (the bounds are rank-0 constants).
  const auto fused = graph::fuse_elementwise({out.layer()});
  EXPECT_EQ(fused.front()->op, "elementwise");
  std::size_t elementwise = 0, reads_cube = 0;
  std::vector<const graph::Layer*> todo{fused.front().get()};
  while (!todo.empty()) {
    const graph::Layer* l = todo.back();
    todo.pop_back();
    elementwise += l->op == "elementwise";
    for (const auto& in : l->inputs) {
      reads_cube += in.layer == x.layer();
      todo.push_back(in.layer.get());
    }
  }
  EXPECT_EQ(elementwise, 1u) << describe_layers(fused.front());
  EXPECT_EQ(reads_cube, 1u) << describe_layers(fused.front());
  expect_exact(out, std::vector<double>(64, 0.5));
}

}  // namespace
}  // namespace cubist::openeo::testing
