// Graph parsing and validation: every error is one line naming the node and the argument.
#include <gtest/gtest.h>

#include <set>

#include "helpers.hpp"
#include "openeo/process_graph.hpp"

namespace cubist::openeo::testing {
namespace {

using nlohmann::json;

json node(const std::string& pid, json args, bool result = false) {
  json n = {{"process_id", pid}, {"arguments", std::move(args)}};
  if (result) n["result"] = true;
  return n;
}

TEST(OpenEoParse, TopLevelObjectAndBareGraphAreTheSame) {
  json bare = {{"a", node("add", {{"x", 1}, {"y", 2}}, true)}};
  EXPECT_DOUBLE_EQ(number(eval(bare)), 3);
  EXPECT_DOUBLE_EQ(number(eval({{"process_graph", bare}})), 3);
  EXPECT_DOUBLE_EQ(number(eval({{"id", "x"}, {"process_graph", bare}})), 3);
}

TEST(OpenEoParse, StructuralErrorsNameTheNode) {
  EXPECT_THROW(parse_process_graph(json::array()), ValueError);
  try {
    parse_process_graph({{"process_graph", {{"a", {{"arguments", json::object()}}}}}});
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("node 'a'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("process_id"), std::string::npos) << e.what();
  }
}

TEST(OpenEoValidate, AValidGraphPasses) {
  json g = {{"a", node("add", {{"x", 1}, {"y", 2}})},
            {"b", node("multiply", {{"x", {{"from_node", "a"}}}, {"y", 3}}, true)}};
  EXPECT_EQ(validation_error(g), "");
  EXPECT_DOUBLE_EQ(number(eval(g)), 9);
}

TEST(OpenEoValidate, UnknownProcess) {
  const std::string e = validation_error({{"p1", node("frobnicate", {{"x", 1}}, true)}});
  EXPECT_NE(e.find("node 'p1'"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown process 'frobnicate'"), std::string::npos) << e;
}

TEST(OpenEoValidate, MissingRequiredArgument) {
  const std::string e = validation_error({{"sum1", node("add", {{"x", 1}}, true)}});
  EXPECT_NE(e.find("node 'sum1'"), std::string::npos) << e;
  EXPECT_NE(e.find("argument 'y'"), std::string::npos) << e;
  EXPECT_NE(e.find("missing required argument"), std::string::npos) << e;
}

TEST(OpenEoValidate, UnknownArgument) {
  const std::string e = validation_error({{"a", node("add", {{"x", 1}, {"y", 1}, {"z", 1}}, true)}});
  EXPECT_NE(e.find("argument 'z'"), std::string::npos) << e;
}

TEST(OpenEoValidate, WrongType) {
  std::string e = validation_error({{"a", node("add", {{"x", "five"}, {"y", 1}}, true)}});
  EXPECT_NE(e.find("node 'a'"), std::string::npos) << e;
  EXPECT_NE(e.find("argument 'x'"), std::string::npos) << e;
  EXPECT_NE(e.find("wrong type"), std::string::npos) << e;
  // A number where a data cube is needed, and a bad enum value.
  e = validation_error({{"r", node("reduce_dimension", {{"data", 3}, {"dimension", "t"}, {"reducer", {{"process_graph", {{"m", node("mean", {{"data", {{"from_parameter", "data"}}}}, true)}}}}}}, true)}});
  EXPECT_NE(e.find("argument 'data'"), std::string::npos) << e;
  EXPECT_NE(e.find("datacube"), std::string::npos) << e;
  e = validation_error({{"c", node("test_cube", {{"name", "a"}})},
                        {"g", node("aggregate_temporal_period", {{"data", {{"from_node", "c"}}}, {"period", "fortnight"},
                                                                 {"reducer", {{"process_graph", {{"m", node("max", {{"data", {{"from_parameter", "data"}}}}, true)}}}}}}, true)}});
  EXPECT_NE(e.find("argument 'period'"), std::string::npos) << e;
  EXPECT_NE(e.find("one of hour, day"), std::string::npos) << e;
  // A plain value where a callback is needed.
  e = validation_error({{"c", node("test_cube", {{"name", "a"}})},
                        {"ap", node("apply", {{"data", {{"from_node", "c"}}}, {"process", 5}}, true)}});
  EXPECT_NE(e.find("argument 'process'"), std::string::npos) << e;
}

TEST(OpenEoValidate, Cycle) {
  const std::string e = validation_error({{"a", node("add", {{"x", {{"from_node", "b"}}}, {"y", 1}})},
                                          {"b", node("add", {{"x", {{"from_node", "a"}}}, {"y", 1}}, true)}});
  EXPECT_NE(e.find("cycle"), std::string::npos) << e;
  EXPECT_NE(e.find("argument 'x'"), std::string::npos) << e;
}

TEST(OpenEoValidate, DanglingFromNode) {
  const std::string e = validation_error({{"a", node("add", {{"x", {{"from_node", "ghost"}}}, {"y", 1}}, true)}});
  EXPECT_NE(e.find("node 'a'"), std::string::npos) << e;
  EXPECT_NE(e.find("argument 'x'"), std::string::npos) << e;
  EXPECT_NE(e.find("'ghost'"), std::string::npos) << e;
}

TEST(OpenEoValidate, ResultNodes) {
  EXPECT_NE(validation_error({{"a", node("add", {{"x", 1}, {"y", 1}})}}).find("no node has result"), std::string::npos);
  const std::string e = validation_error({{"a", node("add", {{"x", 1}, {"y", 1}}, true)}, {"b", node("add", {{"x", 1}, {"y", 1}}, true)}});
  EXPECT_NE(e.find("'a' and 'b'"), std::string::npos) << e;
}

TEST(OpenEoValidate, ParametersAndCallbacks) {
  // from_parameter at the top level names nothing.
  std::string e = validation_error({{"a", node("add", {{"x", {{"from_parameter", "x"}}}, {"y", 1}}, true)}});
  EXPECT_NE(e.find("from_parameter 'x'"), std::string::npos) << e;
  // An error inside a callback names the outer node and argument, then the inner node.
  e = validation_error({{"c", node("test_cube", {{"name", "a"}})},
                        {"ap", node("apply", {{"data", {{"from_node", "c"}}},
                                              {"process", {{"process_graph", {{"inner", node("add", {{"x", {{"from_parameter", "x"}}}}, true)}}}}}}, true)}});
  EXPECT_NE(e.find("node 'ap' argument 'process'"), std::string::npos) << e;
  EXPECT_NE(e.find("node 'inner'"), std::string::npos) << e;
  EXPECT_NE(e.find("argument 'y'"), std::string::npos) << e;
  // The callback's own parameters are in scope, and those of the graph around it.
  e = validation_error({{"c", node("test_cube", {{"name", "a"}})},
                        {"ap", node("apply", {{"data", {{"from_node", "c"}}},
                                              {"process", {{"process_graph", {{"inner", node("add", {{"x", {{"from_parameter", "x"}}}, {"y", {{"from_parameter", "context"}}}}, true)}}}}}}, true)}});
  EXPECT_EQ(e, "");
}

TEST(OpenEoParameters, DeclaredParametersTakeDefaultsOrArguments) {
  json doc = {{"parameters", {{{"name", "a"}, {"default", 2}}, {{"name", "b"}}}},
              {"process_graph", {{"m", node("multiply", {{"x", {{"from_parameter", "a"}}}, {"y", {{"from_parameter", "b"}}}}, true)}}}};
  RunContext ctx;
  EXPECT_DOUBLE_EQ(number(evaluate_graph(doc, ctx, {{"b", 5}})), 10);
  EXPECT_DOUBLE_EQ(number(evaluate_graph(doc, ctx, {{"a", 3}, {"b", 5}})), 15);
  try {
    evaluate_graph(doc, ctx);
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("parameter 'b'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(evaluate_graph(doc, ctx, {{"b", 1}, {"c", 1}}), ValueError);
}

TEST(OpenEoValidate, RuntimeErrorsNameTheNodeAndArgument) {
  set_test_cube("small", small_cube());
  try {
    eval({{"c", node("test_cube", {{"name", "small"}})},
          {"f", node("filter_bands", {{"data", {{"from_node", "c"}}}, {"bands", {"swir"}}}, true)}});
    FAIL();
  } catch (const ValueError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("node 'f' (filter_bands): argument 'bands'"), std::string::npos) << m;
    EXPECT_NE(m.find("'swir'"), std::string::npos) << m;
  }
}

TEST(OpenEoProcesses, DocumentListsEveryProcessWithMetadata) {
  const json doc = processes_document();
  std::set<std::string> ids;
  for (const auto& p : doc["processes"]) {
    ids.insert(p["id"].get<std::string>());
    EXPECT_TRUE(p.contains("summary") && p.contains("parameters") && p.contains("returns")) << p["id"];
    for (const auto& param : p["parameters"]) EXPECT_TRUE(param.contains("schema")) << p["id"];
  }
  for (const char* id : {"load_stac", "load_collection", "filter_bbox", "filter_temporal", "filter_bands", "filter_spatial",
                         "mask_polygon", "ndvi", "apply", "apply_dimension", "reduce_dimension", "aggregate_temporal_period",
                         "rename_labels", "merge_cubes", "add", "subtract", "multiply", "divide", "normalized_difference",
                         "max", "min", "mean", "median", "sum", "count", "sd", "first", "last", "gt", "lt", "eq", "and",
                         "or", "not", "is_nan", "is_nodata", "clip", "linear_scale_range", "save_result"})
    EXPECT_TRUE(ids.count(id)) << id;
}

}  // namespace
}  // namespace cubist::openeo::testing
