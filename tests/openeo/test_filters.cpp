// filter_temporal's `dimension` (one named temporal dimension, or every temporal dimension) and
// mask_polygon with polygons that miss the cube.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "helpers.hpp"

namespace cubist::openeo::testing {
namespace {

using nlohmann::json;
const double nan = std::numeric_limits<double>::quiet_NaN();

Value on(const std::string& pid, json args, const DataArray& cube) {
  set_test_cube("filters", cube);
  args["data"] = {{"from_node", "c"}};
  json g = single(pid, args);
  g["process_graph"]["c"] = {{"process_id", "test_cube"}, {"arguments", {{"name", "filters"}}}};
  return eval(g);
}

std::string error_of(const std::string& pid, json args, const DataArray& cube) {
  try {
    on(pid, std::move(args), cube);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> time_labels(const DataArray& a, const std::string& dim) {
  std::vector<std::string> out;
  const Coordinate& c = a.coords().at(dim);
  for (std::int64_t i = 0; i < c.size(); ++i) out.push_back(c.format_value(i));
  return out;
}

// (t2 3, time 2, y 1, x 2): two temporal dimensions, as the openEO test asset xytt-no-data has.
DataArray two_temporal_dims() {
  std::vector<double> v(12);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  Coords coords{{"t2", Coordinate::datetimes("t2", {"2019-01-01", "2020-01-01", "2021-01-01"})},
                {"time", Coordinate::datetimes("time", {"2020-01-01", "2021-01-01"})},
                {"y", Coordinate::from_vector<double>("y", {1030})},
                {"x", Coordinate::from_vector<double>("x", {500, 510})}};
  return write_crs(DataArray::from_vector(v, {{"t2", 3}, {"time", 2}, {"y", 1}, {"x", 2}}, coords), Crs::epsg(32632));
}

TEST(OpenEoFilters, FilterTemporalNamedDimension) {
  const json extent = {"2023-01-01", "2023-01-20"};
  for (const char* name : {"t", "time"}) {
    const Value v = on("filter_temporal", {{"extent", extent}, {"dimension", name}}, small_cube());
    EXPECT_EQ(time_labels(v.cube, "time"), (std::vector<std::string>{"2023-01-01T10:00:00", "2023-01-01T15:00:00"})) << name;
  }
  // A dimension that does not exist: DimensionNotAvailable, naming it and the argument.
  const std::string missing = error_of("filter_temporal", {{"extent", extent}, {"dimension", "t3"}}, small_cube());
  EXPECT_NE(missing.find("argument 'dimension'"), std::string::npos) << missing;
  EXPECT_NE(missing.find("'t3'"), std::string::npos) << missing;
  // A dimension that exists but is not temporal.
  const std::string bands = error_of("filter_temporal", {{"extent", extent}, {"dimension", "bands"}}, small_cube());
  EXPECT_NE(bands.find("'band' is not temporal"), std::string::npos) << bands;
  // A cube without a temporal dimension.
  const std::string none = error_of("filter_temporal", {{"extent", extent}}, small_cube().isel({{"time", std::int64_t{0}}}));
  EXPECT_NE(none.find("no temporal dimension"), std::string::npos) << none;
}

TEST(OpenEoFilters, FilterTemporalSeveralTemporalDimensions) {
  const DataArray cube = two_temporal_dims();
  const json extent = {"2020-01-01", "2022-01-01"};
  // No dimension: the extent applies to every temporal dimension.
  const Value both = on("filter_temporal", {{"extent", extent}}, cube);
  EXPECT_EQ(time_labels(both.cube, "t2"), (std::vector<std::string>{"2020-01-01", "2021-01-01"}));
  EXPECT_EQ(time_labels(both.cube, "time"), (std::vector<std::string>{"2020-01-01", "2021-01-01"}));
  expect_values(both.cube, {4, 5, 6, 7, 8, 9, 10, 11});
  // A named one: only that one.
  const Value t2 = on("filter_temporal", {{"extent", {"2019-06-01", "2020-06-01"}}, {"dimension", "t2"}}, cube);
  EXPECT_EQ(time_labels(t2.cube, "t2"), (std::vector<std::string>{"2020-01-01"}));
  EXPECT_EQ(time_labels(t2.cube, "time"), (std::vector<std::string>{"2020-01-01", "2021-01-01"}));
  expect_values(t2.cube, {4, 5, 6, 7});
  // The error names the dimension left empty.
  const std::string empty = error_of("filter_temporal", {{"extent", {"2019-01-01", "2019-06-01"}}}, cube);
  EXPECT_NE(empty.find("dimension 'time'"), std::string::npos) << empty;
  // aggregate_temporal_period needs `dimension` here (openEO's TooManyDimensions).
  const json mean = {{"process_graph", {{"m", {{"process_id", "mean"}, {"arguments", {{"data", {{"from_parameter", "data"}}}}}, {"result", true}}}}}};
  const std::string many = error_of("aggregate_temporal_period", {{"period", "year"}, {"reducer", mean}}, cube);
  EXPECT_NE(many.find("several temporal dimensions (t2, time)"), std::string::npos) << many;
  const Value yearly = on("aggregate_temporal_period", {{"period", "year"}, {"reducer", mean}, {"dimension", "t2"}}, cube);
  EXPECT_EQ(yearly.cube.size("t2"), 3);
}

TEST(OpenEoFilters, MaskPolygonMissingTheCube) {
  // A polygon in Austria; the cube lies in UTM 32N near the equator.
  const json far = {{"type", "Polygon"}, {"coordinates", {{{16.1, 48.1}, {16.1, 48.6}, {16.6, 48.6}, {16.6, 48.1}, {16.1, 48.1}}}}};
  DataArray cube = small_cube();
  cube = cube.where(cube != 0.0);  // one no-data pixel, left untouched by masking
  const auto in = values(cube);
  // Outside the polygon (the default) is everywhere: every pixel replaced.
  const Value all = on("mask_polygon", {{"mask", far}}, cube);
  expect_values(all.cube, std::vector<double>(in.size(), nan));
  std::vector<double> minus_one(in.size(), -1);
  minus_one[0] = nan;
  expect_values(on("mask_polygon", {{"mask", far}, {"replacement", -1}}, cube).cube, minus_one);
  // Inside the polygon is nowhere: nothing replaced.
  expect_values(on("mask_polygon", {{"mask", far}, {"inside", true}}, cube).cube, in);
}

}  // namespace
}  // namespace cubist::openeo::testing
