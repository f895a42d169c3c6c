#include "helpers.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "openeo/process_graph.hpp"

namespace cubist::openeo::testing {
namespace {

std::map<std::string, DataArray>& cubes() {
  static std::map<std::string, DataArray> c;
  return c;
}

const ProcessRegistration test_cube_reg{ProcessDef{
    "test_cube", "A fixture cube (tests only)", "", {"tests"},
    {{"name", "The fixture's name.", schema::string(), false, nullptr}},
    {{"description", "The cube."}, {"schema", schema::cube()}},
    [](Args& a) -> Value {
      auto it = cubes().find(a.string("name"));
      if (it == cubes().end()) a.fail("name", "no such test cube");
      return Value::of_cube(it->second);
    }}};

}  // namespace

void set_test_cube(const std::string& name, const DataArray& cube) { cubes()[name] = cube; }

DataArray small_cube() {
  std::vector<double> v;
  for (int t = 0; t < 4; ++t)
    for (int b = 0; b < 2; ++b)
      for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x) v.push_back(10.0 * t + 3 * y + x + (b == 1 ? 100 : 0));
  Coords coords{{"time", Coordinate::datetimes("time", {"2023-01-01T10:00", "2023-01-01T15:00", "2023-01-20", "2023-03-05"})},
                {"band", Coordinate::strings("band", {"red", "nir"})},
                {"y", Coordinate::from_vector<double>("y", {1030, 1020})},
                {"x", Coordinate::from_vector<double>("x", {500, 510, 520})}};
  DataArray a = DataArray::from_vector(v, {{"time", 4}, {"band", 2}, {"y", 2}, {"x", 3}}, coords);
  return write_crs(a, Crs::epsg(32632));
}

Value eval(const nlohmann::json& graph, RunContext* context) {
  RunContext local;
  return evaluate_graph(graph, context ? *context : local);
}

nlohmann::json single(const std::string& process_id, const nlohmann::json& arguments) {
  return {{"process_graph", {{"n", {{"process_id", process_id}, {"arguments", arguments}, {"result", true}}}}}};
}

double number(const Value& v) {
  EXPECT_EQ(v.kind, Value::Kind::Number) << v.describe();
  return v.kind == Value::Kind::Number ? v.scalar.get<double>() : -999;
}

std::vector<double> values(const DataArray& a) {
  DataArray c = a.astype(DType::Float64).compute();
  auto s = c.values<double>();
  return {s.begin(), s.end()};
}

double cell(int t, int b, int y, int x) { return 10.0 * t + 3 * y + x + (b ? 100 : 0); }

void expect_values(const DataArray& a, const std::vector<double>& want, double tolerance) {
  const auto got = values(a);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) EXPECT_TRUE(std::isnan(got[i])) << "at " << i << ": " << got[i];
    else EXPECT_NEAR(got[i], want[i], tolerance) << "at " << i;
  }
}

std::string validation_error(const nlohmann::json& doc) {
  try {
    validate(*parse_process_graph(doc));
  } catch (const ValueError& e) {
    return e.what();
  }
  return "";
}

}  // namespace cubist::openeo::testing
