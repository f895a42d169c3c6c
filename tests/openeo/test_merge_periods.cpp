// merge_cubes with differing labels, count with a condition, first/last as period reducers,
// filter_bands by wavelength, aggregate_temporal_period's openEO labels and the chunk-by-chunk
// save_result writers, on the small cube of helpers.hpp (red = 10 t + 3 y + x, nir = red + 100).
#include <gdal.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>

#include "cubist/datetime.hpp"
#include "../test_support/error_of.hpp"
#include "helpers.hpp"
#include "openeo/chunk_sink.hpp"
#include "openeo/gtiff.hpp"

namespace cubist::openeo::testing {
namespace {

using nlohmann::json;
using Index = std::vector<std::int64_t>;
const double nan = std::numeric_limits<double>::quiet_NaN();

json ref(const std::string& id) { return {{"from_node", id}}; }
json param(const std::string& name) { return {{"from_parameter", name}}; }
json callback(const std::string& pid, json args) {
  return {{"process_graph", {{"r", {{"process_id", pid}, {"arguments", std::move(args)}, {"result", true}}}}}};
}


using test_support::error_of;

// merge_cubes(cube1, cube2[, overlap_resolver = <resolver>(x, y)]).
DataArray merge(const DataArray& c1, const DataArray& c2, const std::string& resolver = "") {
  set_test_cube("m1", c1);
  set_test_cube("m2", c2);
  json args = {{"cube1", ref("a")}, {"cube2", ref("b")}};
  if (!resolver.empty()) args["overlap_resolver"] = callback(resolver, {{"x", param("x")}, {"y", param("y")}});
  json g = {{"a", {{"process_id", "test_cube"}, {"arguments", {{"name", "m1"}}}}},
            {"b", {{"process_id", "test_cube"}, {"arguments", {{"name", "m2"}}}}},
            {"m", {{"process_id", "merge_cubes"}, {"arguments", args}, {"result", true}}}};
  return eval(g).cube;
}

DataArray relabel_bands(const DataArray& c, std::vector<std::string> labels) {
  return c.assign_coords("band", Coordinate::strings("band", std::move(labels)));
}

std::vector<std::string> times_of(const DataArray& a) {
  std::vector<std::string> out;
  for (std::int64_t t : a.coords().at("time").values().values<std::int64_t>()) out.push_back(format_datetime(t));
  return out;
}

TEST(OpenEoMerge, DisjointBandsAreAppended) {  // the definition's example 1
  const DataArray cube = small_cube();
  const DataArray m = merge(cube.isel({{"band", Index{0}}}), cube.isel({{"band", Index{1}}}));
  EXPECT_EQ(m.coords().at("band").string_values(), (std::vector<std::string>{"red", "nir"}));
  expect_values(m, values(cube));
  // cube2's bands come after cube1's, whatever their names.
  const DataArray swapped = merge(cube.isel({{"band", Index{1}}}), cube.isel({{"band", Index{0}}}));
  EXPECT_EQ(swapped.coords().at("band").string_values(), (std::vector<std::string>{"nir", "red"}));
}

TEST(OpenEoMerge, OverlappingBandsNeedTheResolver) {  // example 2: B1 B2 + B2 B3 -> B1 B2 B3
  const DataArray c1 = relabel_bands(small_cube(), {"B1", "B2"});
  const DataArray c2 = relabel_bands(small_cube(), {"B2", "B3"});
  const std::string e = error_of([&] { merge(c1, c2); });
  EXPECT_NE(e.find("'overlap_resolver'"), std::string::npos) << e;
  EXPECT_NE(e.find("'B2'"), std::string::npos) << e;
  const DataArray m = merge(c1, c2, "subtract");
  EXPECT_EQ(m.coords().at("band").string_values(), (std::vector<std::string>{"B1", "B2", "B3"}));
  std::vector<double> want;
  for (int t = 0; t < 4; ++t)
    for (int b = 0; b < 3; ++b)
      for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x)
          want.push_back(b == 0 ? cell(t, 0, y, x) : b == 1 ? cell(t, 1, y, x) - cell(t, 0, y, x) : cell(t, 1, y, x));
  expect_values(m, want);
}

TEST(OpenEoMerge, TimeLabelsAreUnitedAndSorted) {
  const DataArray cube = small_cube();
  const DataArray m = merge(cube.isel({{"time", Index{3, 0}}}), cube.isel({{"time", Index{2, 1}}}));
  EXPECT_EQ(times_of(m), times_of(cube));
  expect_values(m, values(cube));
  // Overlapping times [0, 1, 2] and [1, 2, 3]: the resolver combines times 1 and 2.
  const DataArray o = merge(cube.isel({{"time", Slice{0, 3}}}), cube.isel({{"time", Slice{1, 4}}}) * 2.0, "add");
  EXPECT_EQ(times_of(o), times_of(cube));
  std::vector<double> want;
  for (int t = 0; t < 4; ++t)
    for (int b = 0; b < 2; ++b)
      for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x) want.push_back(cell(t, b, y, x) * (t == 0 ? 1 : t == 3 ? 2 : 3));
  expect_values(o, want);
  EXPECT_EQ(o.dims(), cube.dims());
}

TEST(OpenEoMerge, SpatialLabelsKeepTheirDirection) {
  const DataArray cube = small_cube();
  const DataArray m = merge(cube.isel({{"y", Index{1}}}), cube.isel({{"y", Index{0}}}));
  const auto y = m.coords().at("y");
  EXPECT_EQ(y.numeric_value(0), 1030);  // y descends, as in the cube
  expect_values(m, values(cube));
  const DataArray x = merge(cube.isel({{"x", Index{2}}}), cube.isel({{"x", Index{0, 1}}}));
  EXPECT_EQ(x.coords().at("x").numeric_value(0), 500);
  expect_values(x, values(cube));
}

TEST(OpenEoMerge, LowerDimensionalCubeMeetsEverySlice) {  // example 4: e.g. a DEM onto a time series
  const DataArray cube = small_cube();
  const DataArray dem = cube.isel({{"time", std::int64_t{0}}, {"band", std::int64_t{0}}});  // (y, x)
  const DataArray m = merge(cube, dem, "add");
  EXPECT_EQ(m.dims(), cube.dims());
  std::vector<double> want;
  for (int t = 0; t < 4; ++t)
    for (int b = 0; b < 2; ++b)
      for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x) want.push_back(cell(t, b, y, x) + cell(0, 0, y, x));
  expect_values(m, want);
  EXPECT_NE(error_of([&] { merge(cube, dem); }).find("'overlap_resolver'"), std::string::npos);
}

// Expected values of a merge over (time 4, band 2, y 2, x 3): `at(t, b, y, x)`, NaN for no-data.
template <class F> std::vector<double> grid_values(F at) {
  std::vector<double> want;
  for (int t = 0; t < 4; ++t)
    for (int b = 0; b < 2; ++b)
      for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x) want.push_back(at(t, b, y, x));
  return want;
}

TEST(OpenEoMerge, TilesOffsetInXAndYUniteWithNodataInTheCorners) {
  const DataArray cube = small_cube();
  // cube1: y 1030, x 500-510; cube2 (doubled): y 1030-1020, x 510-520. Overlap: (1030, 510).
  const DataArray c1 = cube.isel({{"y", Index{0}}, {"x", Index{0, 1}}});
  const DataArray c2 = (cube * 2.0).isel({{"x", Index{1, 2}}});
  const std::string e = error_of([&] { merge(c1, c2); });
  EXPECT_NE(e.find("'overlap_resolver'"), std::string::npos) << e;
  EXPECT_NE(e.find("y, x"), std::string::npos) << e;
  const DataArray m = merge(c1, c2, "add");
  EXPECT_EQ(m.dims(), cube.dims());
  EXPECT_EQ(m.coords().at("y").numeric_value(0), 1030);  // y keeps descending
  EXPECT_EQ(m.coords().at("x").numeric_value(2), 520);
  expect_values(m, grid_values([](int t, int b, int y, int x) {
                  const double v = cell(t, b, y, x);
                  if (y == 0) return x == 0 ? v : x == 1 ? 3 * v : 2 * v;
                  return x == 0 ? nan : 2 * v;
                }));
  // Disjoint tiles need no resolver: (1030, 500) from cube1, (1020, 510-520) from cube2.
  const DataArray d = merge(cube.isel({{"y", Index{0}}, {"x", Index{0}}}), (cube * 2.0).isel({{"y", Index{1}}, {"x", Index{1, 2}}}));
  expect_values(d, grid_values([](int t, int b, int y, int x) {
                  return y == 0 && x == 0 ? cell(t, b, y, x) : y == 1 && x > 0 ? 2 * cell(t, b, y, x) : nan;
                }));
}

TEST(OpenEoMerge, BandsAndTimesDifferingAtOnce) {
  const DataArray cube = small_cube();
  // red at t0-t1 and nir at t1-t2: no label combination in both, so no resolver is needed.
  const DataArray m = merge(cube.isel({{"time", Index{0, 1}}, {"band", Index{0}}}), cube.isel({{"time", Index{1, 2}}, {"band", Index{1}}}));
  EXPECT_EQ(m.coords().at("band").string_values(), (std::vector<std::string>{"red", "nir"}));
  EXPECT_EQ(times_of(m), times_of(cube.isel({{"time", Index{0, 1, 2}}})));
  std::vector<double> want;
  for (int t = 0; t < 3; ++t)
    for (int b = 0; b < 2; ++b)
      for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x) want.push_back((b == 0 && t < 2) || (b == 1 && t > 0) ? cell(t, b, y, x) : nan);
  expect_values(m, want);
  // A coordinate only one cube has along a differing dimension cannot be merged: dropped, as
  // along one dimension.
  const DataArray named = cube.assign_coords("common_name", Coordinate::strings("band", {"red", "nir"}));
  const DataArray n = merge(named.isel({{"time", Index{0}}, {"band", Index{0}}}), cube.isel({{"time", Index{1}}, {"band", Index{1}}}));
  EXPECT_FALSE(n.coords().contains("common_name"));
}

TEST(OpenEoMerge, CubeOnAnotherGridIsResampledOntoCube1s) {
  // cube2 at 20 m (x 505, 525; y 1035, 1015) onto small_cube's 10 m grid (x 500-520, y 1030-1020)
  // by nearest neighbour, as resample_cube_spatial does: then every pixel overlaps.
  std::vector<double> v;
  for (int t = 0; t < 4; ++t)
    for (int b = 0; b < 2; ++b)
      for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 2; ++c) v.push_back(1000 + 100 * r + 10 * c + b);
  Coords coords{{"time", small_cube().coords().at("time")}, {"band", small_cube().coords().at("band")},
                {"y", Coordinate::from_vector<double>("y", {1035, 1015})}, {"x", Coordinate::from_vector<double>("x", {505, 525})}};
  const DataArray coarse = write_crs(DataArray::from_vector(v, {{"time", 4}, {"band", 2}, {"y", 2}, {"x", 2}}, coords), Crs::epsg(32632));
  const std::string e = error_of([&] { merge(small_cube(), coarse); });
  EXPECT_NE(e.find("'overlap_resolver'"), std::string::npos) << e;
  const DataArray m = merge(small_cube(), coarse, "add");
  EXPECT_TRUE(m.coords().at("x").equals(small_cube().coords().at("x")));
  EXPECT_TRUE(m.coords().at("y").equals(small_cube().coords().at("y")));
  expect_values(m, grid_values([](int t, int b, int y, int x) { return cell(t, b, y, x) + 1000 + 100 * y + 10 * (x == 2) + b; }));
  // Another CRS: warped too. The same numbers in UTM zone 33 lie far outside cube1's extent, so
  // the warped cube2 is no-data everywhere, and so is x + y (unwarped, it would be 2 x).
  const DataArray elsewhere = write_crs(small_cube(), Crs::epsg(32633));
  expect_values(merge(small_cube(), elsewhere, "add"), std::vector<double>(48, nan));
  // Without a CRS on one side the grids cannot be matched: one error naming the difference.
  const DataArray no_crs = DataArray::from_vector(v, {{"time", 4}, {"band", 2}, {"y", 2}, {"x", 2}}, coords);
  const std::string n = error_of([&] { merge(small_cube(), no_crs, "add"); });
  EXPECT_NE(n.find("argument 'cube2'"), std::string::npos) << n;
  EXPECT_NE(n.find("resolution along 'x' 10 vs 20"), std::string::npos) << n;
  EXPECT_NE(n.find("cube2 has no CRS"), std::string::npos) << n;
}

// --- count

DataArray reduce_time(const json& reducer_args, const std::string& reducer, const DataArray& cube) {
  set_test_cube("r", cube);
  json args = reducer_args;
  args["data"] = param("data");
  json g = {{"c", {{"process_id", "test_cube"}, {"arguments", {{"name", "r"}}}}},
            {"p", {{"process_id", "reduce_dimension"},
                   {"arguments", {{"data", ref("c")}, {"dimension", "t"}, {"reducer", callback(reducer, args)}}},
                   {"result", true}}}};
  return eval(g).cube;
}

DataArray with_nan_at_t1(const DataArray& cube) {
  std::vector<std::uint8_t> keep{1, 0, 1, 1};
  const DataArray mask = DataArray::from_vector(keep, {{"time", 4}}, Coords{{"time", cube.coords().at("time")}}).astype(DType::Bool);
  return cube.where(mask).transpose(cube.dims());
}

TEST(OpenEoCount, ConditionCallbackOnArraysAndCubes) {
  // The definition's example (its callback reads the element as `x`, the parameter it declares).
  const json cond = callback("gt", {{"x", param("x")}, {"y", 2}});
  EXPECT_DOUBLE_EQ(number(eval(single("count", {{"data", {0, 1, 2, 3, 4, 5, nullptr}}, {"condition", cond}}))), 3);
  // Per pixel over time: the steps whose value exceeds 15 (t = 2, 3 for red; all for nir).
  const DataArray c = reduce_time({{"condition", cond}}, "count", small_cube());
  EXPECT_EQ(c.dims(), (std::vector<std::string>{"band", "y", "x"}));
  const DataArray over15 = reduce_time({{"condition", callback("gt", {{"x", param("x")}, {"y", 15}})}}, "count", small_cube());
  std::vector<double> want;
  for (int b = 0; b < 2; ++b)
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 3; ++x) {
        double n = 0;
        for (int t = 0; t < 4; ++t) n += cell(t, b, y, x) > 15;
        want.push_back(n);
      }
  expect_values(over15, want);
  // No-data never satisfies a condition; null counts valid values; true counts everything.
  const DataArray holes = with_nan_at_t1(small_cube());
  expect_values(reduce_time({{"condition", callback("gt", {{"x", param("x")}, {"y", -1}})}}, "count", holes), std::vector<double>(12, 3));
  expect_values(reduce_time(json::object(), "count", holes), std::vector<double>(12, 3));
  expect_values(reduce_time({{"condition", true}}, "count", holes), std::vector<double>(12, 4));
  EXPECT_THROW(eval(single("count", {{"data", {1}}, {"condition", false}})), ValueError);
}

DataArray aggregate(const std::string& period, const std::string& reducer, json extra = json::object(),
                    const DataArray& cube = small_cube()) {
  set_test_cube("agg", cube);
  extra["data"] = param("data");
  json g = {{"c", {{"process_id", "test_cube"}, {"arguments", {{"name", "agg"}}}}},
            {"p", {{"process_id", "aggregate_temporal_period"},
                   {"arguments", {{"data", ref("c")}, {"period", period}, {"reducer", callback(reducer, extra)}}},
                   {"result", true}}}};
  return eval(g).cube;
}

TEST(OpenEoCount, ConditionAndAllInTemporalPeriods) {
  const DataArray holes = with_nan_at_t1(small_cube());
  // January holds t = 0, 1 (t = 1 no-data) and t = 2; March t = 3.
  const DataArray valid = aggregate("month", "count", json::object(), holes);
  EXPECT_EQ(values(valid)[0], 2);
  const DataArray all = aggregate("month", "count", {{"condition", true}}, holes);
  EXPECT_EQ(values(all)[0], 3);
  EXPECT_EQ(values(all)[12], 0);  // February: nothing to count
  EXPECT_EQ(values(all)[24], 1);
  const DataArray big = aggregate("month", "count", {{"condition", callback("gt", {{"x", param("x")}, {"y", 15}})}}, holes);
  std::vector<double> want;
  for (int month : {0, 1, 2})  // January, February (empty), March
    for (int b = 0; b < 2; ++b)
      for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x) {
          double n = 0;
          for (int t : month == 0 ? std::vector<int>{0, 2} : month == 2 ? std::vector<int>{3} : std::vector<int>{}) n += cell(t, b, y, x) > 15;
          want.push_back(n);
        }
  expect_values(big, want);
}

// --- first / last

TEST(OpenEoFirstLast, DefinitionExamples) {
  EXPECT_DOUBLE_EQ(number(eval(single("first", {{"data", {1, 0, 3, 2}}}))), 1);
  EXPECT_EQ(eval(single("first", {{"data", {nullptr, "A", "B"}}})).scalar, "A");
  EXPECT_TRUE(eval(single("first", {{"data", {nullptr, 2, 3}}, {"ignore_nodata", false}})).is_null());
  EXPECT_TRUE(eval(single("first", {{"data", json::array()}})).is_null());
  EXPECT_DOUBLE_EQ(number(eval(single("last", {{"data", {1, 0, 3, 2}}}))), 2);
  EXPECT_EQ(eval(single("last", {{"data", {"A", "B", nullptr}}})).scalar, "B");
  EXPECT_TRUE(eval(single("last", {{"data", {0, 1, nullptr}}, {"ignore_nodata", false}})).is_null());
  EXPECT_TRUE(eval(single("last", {{"data", json::array()}})).is_null());
}

TEST(OpenEoFirstLast, ReduceDimensionSkipsNodataUnlessAsked) {
  const DataArray holes = with_nan_at_t1(small_cube()).isel({{"time", Index{1, 0, 2, 3}}});  // no-data first
  std::vector<double> first_valid, first_any, last;
  for (int b = 0; b < 2; ++b)
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 3; ++x) {
        first_valid.push_back(cell(0, b, y, x));
        first_any.push_back(nan);
        last.push_back(cell(3, b, y, x));
      }
  expect_values(reduce_time(json::object(), "first", holes), first_valid);
  expect_values(reduce_time({{"ignore_nodata", false}}, "first", holes), first_any);
  expect_values(reduce_time(json::object(), "last", holes), last);
}

TEST(OpenEoFirstLast, PeriodReducers) {
  const DataArray holes = with_nan_at_t1(small_cube());
  // January: t = 0, 1 (no-data), 2 in that order; March: t = 3.
  const DataArray first = aggregate("month", "first", json::object(), holes);
  EXPECT_EQ(times_of(first), (std::vector<std::string>{"2023-01-01", "2023-02-01", "2023-03-01"}));
  EXPECT_EQ(first.dims(), small_cube().dims());
  EXPECT_EQ(values(first)[0], cell(0, 0, 0, 0));
  EXPECT_TRUE(std::isnan(values(first)[12]));  // February: no data
  EXPECT_EQ(values(first)[24], cell(3, 0, 0, 0));
  const DataArray last = aggregate("month", "last", json::object(), holes);
  EXPECT_EQ(values(last)[0], cell(2, 0, 0, 0));
  // Days: 2023-01-01 holds t = 0 and t = 1 (no-data): last skips it unless ignore_nodata is false.
  const DataArray day_last = aggregate("day", "last", json::object(), holes);
  EXPECT_EQ(values(day_last)[0], cell(0, 0, 0, 0));
  const DataArray day_last_any = aggregate("day", "last", {{"ignore_nodata", false}}, holes);
  EXPECT_TRUE(std::isnan(values(day_last_any)[0]));
  EXPECT_EQ(values(day_last_any)[19 * 12], cell(2, 0, 0, 0));  // 2023-01-20, the 20th day
  const DataArray day_first_any = aggregate("day", "first", {{"ignore_nodata", false}}, holes);
  EXPECT_EQ(values(day_first_any)[0], cell(0, 0, 0, 0));
  // Unsorted times: periods follow time, not position.
  const DataArray shuffled = aggregate("month", "first", json::object(), holes.isel({{"time", Index{3, 2, 1, 0}}}));
  EXPECT_EQ(values(shuffled)[0], cell(0, 0, 0, 0));  // the earliest time of the period, wherever it is
}

// --- filter_bands by wavelength

DataArray sentinel_like() {
  DataArray c = relabel_bands(small_cube(), {"B04", "B08"});
  c = c.assign_coords("common_name", Coordinate::strings("band", {"red", "nir"}));
  return c.assign_coords("center_wavelength", Coordinate::from_vector<double>("band", {0.665, 0.842}));
}

DataArray filter_bands(json args, const DataArray& cube) {
  set_test_cube("fb", cube);
  args["data"] = ref("c");
  json g = {{"c", {{"process_id", "test_cube"}, {"arguments", {{"name", "fb"}}}}},
            {"p", {{"process_id", "filter_bands"}, {"arguments", args}, {"result", true}}}};
  return eval(g).cube;
}

TEST(OpenEoFilterBands, ByWavelengthAndCommonName) {
  const DataArray c = sentinel_like();
  EXPECT_EQ(filter_bands({{"wavelengths", {{0.8, 0.9}}}}, c).coords().at("band").string_values(), (std::vector<std::string>{"B08"}));
  EXPECT_EQ(filter_bands({{"wavelengths", {{0.8, 0.9}, {0.6, 0.7}}}}, c).coords().at("band").string_values(),
            (std::vector<std::string>{"B08", "B04"}));
  EXPECT_EQ(filter_bands({{"bands", {"nir"}}}, c).coords().at("band").string_values(), (std::vector<std::string>{"B08"}));
  // Criteria are OR-ed: names first, then wavelengths; a band is kept once.
  const DataArray both = filter_bands({{"bands", {"B08"}}, {"wavelengths", {{0.5, 0.9}}}}, c);
  EXPECT_EQ(both.coords().at("band").string_values(), (std::vector<std::string>{"B08", "B04"}));
  expect_values(filter_bands({{"wavelengths", {{0.665, 0.665}}}}, c), values(c.isel({{"band", Index{0}}})));
  const std::string none = error_of([&] { filter_bands({{"wavelengths", {{1.0, 2.0}}}}, c); });
  EXPECT_NE(none.find("argument 'wavelengths': no band has a wavelength within [1, 2]"), std::string::npos) << none;
  const std::string unknown = error_of([&] { filter_bands({{"wavelengths", {{0.5, 0.9}}}}, small_cube()); });
  EXPECT_NE(unknown.find("argument 'wavelengths'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("no wavelengths"), std::string::npos) << unknown;
}

// --- aggregate_temporal_period labels

TEST(OpenEoPeriods, OpenEoLabelsBesidePeriodStarts) {
  auto labels = [](const std::string& period) { return aggregate(period, "max").coords().at("period").string_values(); };
  using L = std::vector<std::string>;
  // Times: 2023-01-01T10, 2023-01-01T15, 2023-01-20, 2023-03-05.
  // Every period from the first label's to the last's (see test_periods.cpp for the empty ones).
  const L hours = labels("hour");
  ASSERT_EQ(hours.size(), 24u * 63 + 1 - 10);  // 2023-01-01T10 .. 2023-03-05T00
  EXPECT_EQ(hours[0], "2023-01-01-10");
  EXPECT_EQ(hours[5], "2023-01-01-15");
  EXPECT_EQ(hours.back(), "2023-03-05-00");
  const L days = labels("day");
  ASSERT_EQ(days.size(), 64u);
  EXPECT_EQ(days[19], "2023-020");
  EXPECT_EQ(days.back(), "2023-064");
  EXPECT_EQ(labels("week"), (L{"2022-52", "2023-01", "2023-02", "2023-03", "2023-04", "2023-05", "2023-06", "2023-07", "2023-08",
                               "2023-09"}));  // 2023-01-01 is a Sunday of ISO week 2022-W52
  EXPECT_EQ(labels("dekad"), (L{"2023-01", "2023-02", "2023-03", "2023-04", "2023-05", "2023-06", "2023-07"}));
  EXPECT_EQ(labels("month"), (L{"2023-01", "2023-02", "2023-03"}));
  EXPECT_EQ(labels("season"), (L{"2022-djf", "2023-mam"}));
  EXPECT_EQ(labels("tropical-season"), (L{"2022-ndjfma"}));
  EXPECT_EQ(labels("year"), (L{"2023"}));
  EXPECT_EQ(labels("decade"), (L{"2020"}));
  EXPECT_EQ(labels("decade-ad"), (L{"2021"}));
  const DataArray t = aggregate("tropical-season", "max");
  EXPECT_EQ(times_of(t), (std::vector<std::string>{"2022-11-01"}));
  EXPECT_EQ(times_of(aggregate("decade-ad", "max")), (std::vector<std::string>{"2021-01-01"}));
  EXPECT_EQ(aggregate("month", "max").coords().at("period").dims(), (std::vector<std::string>{"time"}));
}

// --- save_result writes chunk by chunk

class Recorder : public ChunkWriter {
 public:
  void write(const Chunk& chunk, std::span<const std::int64_t> offset) override {
    std::lock_guard lock(mutex);
    seen[std::vector<std::int64_t>(offset.begin(), offset.end())] += 1;
    EXPECT_TRUE(chunk.is_contiguous());
    first_values[std::vector<std::int64_t>(offset.begin(), offset.end())] = chunk.values<double>()[0];
  }
  std::mutex mutex;
  std::map<std::vector<std::int64_t>, int> seen;
  std::map<std::vector<std::int64_t>, double> first_values;
};

TEST(OpenEoSave, ChunksAreHandedOverAsComputedAndMemoryStaysBounded) {
  // 64 chunks of 32 KiB: the run never holds the 2 MiB cube at once.
  std::vector<double> v(256 * 1024);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  const DataArray big = (DataArray::from_vector(v, {{"y", 256}, {"x", 1024}}).chunk({{"y", 32}, {"x", 128}}) + 1.0);
  Recorder r;
  ComputeStats stats;
  ComputeOptions o;
  o.num_threads = 2;
  write_chunks(big, r, o, &stats);
  ASSERT_EQ(r.seen.size(), 64u);
  for (const auto& [offset, n] : r.seen) {
    EXPECT_EQ(n, 1);
    EXPECT_EQ(r.first_values[offset], static_cast<double>(offset[0] * 1024 + offset[1]) + 1);
  }
  EXPECT_LT(stats.peak_chunk_bytes, big.nbytes() / 4);
}

TEST(OpenEoSave, ChunkedGTiffMatchesTheCube) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("cubist_openeo_chunked_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const DataArray cube = small_cube().isel({{"time", std::int64_t{2}}}).chunk({{"band", 1}, {"y", 1}, {"x", 2}});
  const std::string path = (dir / "c.tif").string();
  write_gtiff(cube, path);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);  // the scratch file is gone
  GDALAllRegister();
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
  ASSERT_NE(ds, nullptr);
  for (int b = 0; b < 2; ++b) {
    std::vector<double> got(6);
    ASSERT_EQ(GDALRasterIO(GDALGetRasterBand(ds, b + 1), GF_Read, 0, 0, 3, 2, got.data(), 3, 2, GDT_Float64, 0, 0), CE_None);
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 3; ++x) EXPECT_EQ(got[static_cast<std::size_t>(3 * y + x)], cell(2, b, y, x));
  }
  GDALClose(ds);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cubist::openeo::testing
