// Cube processes on a small in-memory (time, band, y, x) cube: values computed by hand from
// red = 10 t + 3 y + x, nir = red + 100 (see helpers.hpp).
#include <gdal.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "cubist/datetime.hpp"
#include "cubist/io.hpp"
#include "helpers.hpp"
#include "openeo/run.hpp"

namespace cubist::openeo::testing {
namespace {

using nlohmann::json;
const double nan = std::numeric_limits<double>::quiet_NaN();

json ref(const std::string& id) { return {{"from_node", id}}; }
json param(const std::string& name) { return {{"from_parameter", name}}; }
json callback(const std::string& pid, json args) {
  return {{"process_graph", {{"r", {{"process_id", pid}, {"arguments", std::move(args)}, {"result", true}}}}}};
}

// test_cube -> <pid>(data = cube, args...) as the result.
DataArray on_cube(const std::string& pid, json args, const DataArray& cube = small_cube()) {
  set_test_cube("in", cube);
  args["data"] = ref("c");
  json g = {{"c", {{"process_id", "test_cube"}, {"arguments", {{"name", "in"}}}}},
            {"p", {{"process_id", pid}, {"arguments", args}, {"result", true}}}};
  Value v = eval(g);
  EXPECT_EQ(v.kind, Value::Kind::Cube) << v.describe();
  return v.cube;
}


// Values over (band, y, x) from f(b, y, x).
template <class F> std::vector<double> per_band_pixel(F f) {
  std::vector<double> v;
  for (int b = 0; b < 2; ++b)
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 3; ++x) v.push_back(f(b, y, x));
  return v;
}

std::vector<std::string> times_of(const DataArray& a) {
  std::vector<std::string> out;
  const Coordinate& c = a.coords().at("time");
  for (std::int64_t t : c.values().values<std::int64_t>()) out.push_back(format_datetime(t));
  return out;
}

DataArray reduce_time(const std::string& reducer, json extra = json::object(), const DataArray& cube = small_cube()) {
  extra["data"] = param("data");
  return on_cube("reduce_dimension", {{"dimension", "t"}, {"reducer", callback(reducer, extra)}}, cube);
}

TEST(OpenEoCube, ReduceDimensionOverTimeWithEachReducer) {
  const auto base = [](int b, int y, int x) { return cell(0, b, y, x); };
  DataArray r = reduce_time("mean");
  EXPECT_EQ(r.dims(), (std::vector<std::string>{"band", "y", "x"}));
  expect_values(r, per_band_pixel([&](int b, int y, int x) { return base(b, y, x) + 15; }));
  expect_values(reduce_time("median"), per_band_pixel([&](int b, int y, int x) { return base(b, y, x) + 15; }));
  expect_values(reduce_time("max"), per_band_pixel([&](int b, int y, int x) { return base(b, y, x) + 30; }));
  expect_values(reduce_time("min"), per_band_pixel(base));
  expect_values(reduce_time("sum"), per_band_pixel([&](int b, int y, int x) { return 4 * base(b, y, x) + 60; }));
  expect_values(reduce_time("count"), per_band_pixel([](int, int, int) { return 4.0; }));
  const double sd = std::sqrt((15.0 * 15 + 5 * 5 + 5 * 5 + 15 * 15) / 3);  // sample sd of 0, 10, 20, 30
  expect_values(reduce_time("sd"), per_band_pixel([&](int, int, int) { return sd; }));
  expect_values(reduce_time("first"), per_band_pixel(base));
  expect_values(reduce_time("last"), per_band_pixel([&](int b, int y, int x) { return base(b, y, x) + 30; }));
}

TEST(OpenEoCube, ReducersFollowIgnoreNodata) {
  // t = 0 is no-data everywhere, t = 3 at pixel (y 0, x 0) of both bands.
  DataArray c = small_cube();
  std::vector<double> v = values(c);
  for (std::size_t i = 0; i < 12; ++i) v[i] = nan;
  v[3 * 12 + 0] = nan;
  v[3 * 12 + 6] = nan;
  DataArray holes = write_crs(DataArray::from_vector(v, c.sizes(), c.coords()), Crs::epsg(32632));
  DataArray first = reduce_time("first", json::object(), holes);
  expect_values(first, per_band_pixel([](int b, int y, int x) { return cell(1, b, y, x); }));
  DataArray last = reduce_time("last", json::object(), holes);
  expect_values(last, per_band_pixel([](int b, int y, int x) { return cell(y == 0 && x == 0 ? 2 : 3, b, y, x); }));
  expect_values(reduce_time("first", {{"ignore_nodata", false}}, holes), per_band_pixel([](int, int, int) { return nan; }));
  expect_values(reduce_time("count", json::object(), holes),
                per_band_pixel([](int, int y, int x) { return y == 0 && x == 0 ? 2.0 : 3.0; }));
  expect_values(reduce_time("count", {{"condition", true}}, holes), per_band_pixel([](int, int, int) { return 4.0; }));
  expect_values(reduce_time("max", {{"ignore_nodata", false}}, holes), per_band_pixel([](int, int, int) { return nan; }));
  expect_values(reduce_time("mean", json::object(), holes),
                per_band_pixel([](int b, int y, int x) { return y == 0 && x == 0 ? cell(1, b, y, x) + 5 : cell(2, b, y, x); }));
}

TEST(OpenEoCube, ReduceBandsWithArrayElementIsNdvi) {
  json nodes = {{"nir", {{"process_id", "array_element"}, {"arguments", {{"data", param("data")}, {"label", "nir"}}}}},
                {"red", {{"process_id", "array_element"}, {"arguments", {{"data", param("data")}, {"index", 0}}}}},
                {"nd", {{"process_id", "normalized_difference"}, {"arguments", {{"x", ref("nir")}, {"y", ref("red")}}}, {"result", true}}}};
  DataArray by_hand = on_cube("reduce_dimension", {{"dimension", "bands"}, {"reducer", {{"process_graph", nodes}}}});
  DataArray ndvi = on_cube("ndvi", json::object());
  EXPECT_EQ(ndvi.dims(), (std::vector<std::string>{"time", "y", "x"}));
  std::vector<double> want;
  for (int t = 0; t < 4; ++t)
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 3; ++x) want.push_back(100 / (2 * cell(t, 0, y, x) + 100));
  expect_values(by_hand, want);
  expect_values(ndvi, want);
  EXPECT_TRUE(crs_of(ndvi).has_value());
  // A reducer that does not reduce is an error naming the argument.
  try {
    on_cube("reduce_dimension", {{"dimension", "t"}, {"reducer", callback("multiply", {{"x", param("data")}, {"y", 2}})}});
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("argument 'reducer'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(on_cube("ndvi", {{"nir", "B08"}}), ValueError);
  EXPECT_THROW(on_cube("reduce_dimension", {{"dimension", "z"}, {"reducer", callback("mean", {{"data", param("data")}})}}), ValueError);
}

TEST(OpenEoCube, ApplyAndApplyDimension) {
  DataArray a = on_cube("apply", {{"process", callback("multiply", {{"x", param("x")}, {"y", 2}})}});
  EXPECT_EQ(a.dims(), small_cube().dims());
  std::vector<double> want = values(small_cube());
  for (auto& w : want) w *= 2;
  expect_values(a, want);
  DataArray d = on_cube("apply_dimension", {{"dimension", "t"}, {"process", callback("multiply", {{"x", param("data")}, {"y", 2}})}});
  EXPECT_EQ(d.dims(), small_cube().dims());
  expect_values(d, want);
  EXPECT_THROW(on_cube("apply_dimension", {{"dimension", "t"}, {"process", callback("mean", {{"data", param("data")}})}}), ValueError);
}

TEST(OpenEoCube, FilterBandsTemporalBbox) {
  DataArray nir = on_cube("filter_bands", {{"bands", {"nir"}}});
  EXPECT_EQ(nir.shape(), (Shape{4, 1, 2, 3}));
  EXPECT_EQ(nir.coords().at("band").string_values(), (std::vector<std::string>{"nir"}));
  EXPECT_DOUBLE_EQ(values(nir)[0], 100);
  DataArray swapped = on_cube("filter_bands", {{"bands", {"nir", "red"}}});
  EXPECT_EQ(swapped.coords().at("band").string_values(), (std::vector<std::string>{"nir", "red"}));

  // [start, end): the end instant is excluded.
  DataArray jan = on_cube("filter_temporal", {{"extent", {"2023-01-01", "2023-01-20"}}});
  EXPECT_EQ(times_of(jan), (std::vector<std::string>{"2023-01-01T10:00:00", "2023-01-01T15:00:00"}));
  DataArray open_start = on_cube("filter_temporal", {{"extent", {nullptr, "2023-03-01"}}});
  EXPECT_EQ(open_start.size("time"), 3);
  DataArray open_end = on_cube("filter_temporal", {{"extent", {"2023-01-02", nullptr}}});
  EXPECT_EQ(times_of(open_end), (std::vector<std::string>{"2023-01-20", "2023-03-05"}));
  EXPECT_THROW(on_cube("filter_temporal", {{"extent", {"2024-01-01", "2024-02-01"}}}), ValueError);

  DataArray box = on_cube("filter_bbox", {{"extent", {{"west", 505}, {"east", 525}, {"south", 1000}, {"north", 1025}, {"crs", 32632}}}});
  EXPECT_EQ(box.shape(), (Shape{4, 2, 1, 2}));
  EXPECT_DOUBLE_EQ(values(box)[0], cell(0, 0, 1, 1));
  // The same box in lon/lat (default crs 4326) selects the same pixels.
  const Bounds ll = transform_bounds({504, 1001, 524, 1024}, Crs::epsg(32632), Crs::epsg(4326));
  DataArray box_ll = on_cube("filter_bbox", {{"extent", {{"west", ll.minx}, {"east", ll.maxx}, {"south", ll.miny}, {"north", ll.maxy}}}});
  EXPECT_EQ(box_ll.shape(), (Shape{4, 2, 1, 2}));
}

TEST(OpenEoCube, RenameLabelsAndMergeCubes) {
  DataArray renamed = on_cube("rename_labels", {{"dimension", "bands"}, {"target", {"B04", "B08"}}, {"source", {"red", "nir"}}});
  EXPECT_EQ(renamed.coords().at("band").string_values(), (std::vector<std::string>{"B04", "B08"}));
  DataArray one = on_cube("rename_labels", {{"dimension", "bands"}, {"target", {"B08"}}, {"source", {"nir"}}});
  EXPECT_EQ(one.coords().at("band").string_values(), (std::vector<std::string>{"red", "B08"}));
  // Sources are looked up among the original labels, so two labels can swap names.
  DataArray swapped = on_cube("rename_labels", {{"dimension", "bands"}, {"target", {"nir", "red"}}, {"source", {"red", "nir"}}});
  EXPECT_EQ(swapped.coords().at("band").string_values(), (std::vector<std::string>{"nir", "red"}));
  EXPECT_THROW(on_cube("rename_labels", {{"dimension", "bands"}, {"target", {"A", "A"}}, {"source", {"red", "nir"}}}), ValueError);
  // Without source only enumerated labels (0, 1, ...) can be renamed: target[i] names label i.
  EXPECT_THROW(on_cube("rename_labels", {{"dimension", "bands"}, {"target", {"B04", "B08"}}}), ValueError);
  const DataArray enumerated = small_cube().assign_coords("band", Coordinate::from_vector<double>("band", {0, 1}));
  DataArray first = on_cube("rename_labels", {{"dimension", "bands"}, {"target", {"B04"}}}, enumerated);
  EXPECT_EQ(first.coords().at("band").string_values(), (std::vector<std::string>{"B04", "1"}));

  set_test_cube("m1", small_cube());
  json g = {{"a", {{"process_id", "test_cube"}, {"arguments", {{"name", "m1"}}}}},
            {"b", {{"process_id", "test_cube"}, {"arguments", {{"name", "m1"}}}}},
            {"m", {{"process_id", "merge_cubes"},
                   {"arguments", {{"cube1", ref("a")}, {"cube2", ref("b")},
                                  {"overlap_resolver", callback("add", {{"x", param("x")}, {"y", param("y")}})}}},
                   {"result", true}}}};
  std::vector<double> want = values(small_cube());
  for (auto& w : want) w *= 2;
  expect_values(eval(g).cube, want);
  g["m"]["arguments"].erase("overlap_resolver");
  EXPECT_THROW(eval(g), ValueError);
}

TEST(OpenEoCube, AggregateTemporalPeriod) {
  auto agg = [](const std::string& period, const std::string& reducer) {
    return on_cube("aggregate_temporal_period", {{"period", period}, {"reducer", callback(reducer, {{"data", param("data")}})}});
  };
  // Every day from the first to the last label, no-data on the days without any.
  DataArray day = agg("day", "max");
  const auto days = times_of(day);
  ASSERT_EQ(days.size(), 64u);
  EXPECT_EQ(days[0], "2023-01-01");
  EXPECT_EQ(days[19], "2023-01-20");
  EXPECT_EQ(days[63], "2023-03-05");
  std::vector<double> want;
  for (int t : {1, 2, 3})
    for (int b = 0; b < 2; ++b)
      for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x) want.push_back(cell(t, b, y, x));
  expect_values(day.isel({{"time", std::vector<std::int64_t>{0, 19, 63}}}), want);
  expect_values(day.isel({{"time", std::vector<std::int64_t>{1}}}), std::vector<double>(12, std::nan("")));
  DataArray month = agg("month", "mean");
  EXPECT_EQ(times_of(month), (std::vector<std::string>{"2023-01-01", "2023-02-01", "2023-03-01"}));
  EXPECT_DOUBLE_EQ(values(month)[0], 10);  // mean of 0, 10, 20
  EXPECT_TRUE(std::isnan(values(month)[12]));  // February: no data
  const auto weeks = times_of(agg("week", "max"));
  EXPECT_EQ(weeks.size(), 10u);
  EXPECT_EQ(weeks.front(), "2022-12-26");
  EXPECT_EQ(weeks[3], "2023-01-16");
  EXPECT_EQ(weeks.back(), "2023-02-27");
  EXPECT_EQ(times_of(agg("season", "max")), (std::vector<std::string>{"2022-12-01", "2023-03-01"}));
  EXPECT_EQ(times_of(agg("dekad", "max")), (std::vector<std::string>{"2023-01-01", "2023-01-11", "2023-01-21", "2023-02-01",
                                                                    "2023-02-11", "2023-02-21", "2023-03-01"}));
  DataArray year = agg("year", "sum");
  EXPECT_EQ(times_of(year), (std::vector<std::string>{"2023-01-01"}));
  EXPECT_DOUBLE_EQ(values(year)[0], 60);
  DataArray median = agg("month", "median");
  EXPECT_DOUBLE_EQ(values(median)[0], 10);
  DataArray count = agg("month", "count");
  EXPECT_DOUBLE_EQ(values(count)[0], 3);
  // A reducer that is not a reduction of the periods is an error naming the argument.
  try {
    on_cube("aggregate_temporal_period", {{"period", "month"}, {"reducer", callback("add", {{"x", 1}, {"y", 2}})}});
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'reducer'"), std::string::npos) << e.what();
  }
}

json square_polygon_32632(double x0, double y0, double x1, double y1) {
  return {{"type", "Polygon"},
          {"crs", {{"type", "name"}, {"properties", {{"name", "EPSG:32632"}}}}},
          {"coordinates", {{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}}};
}

TEST(OpenEoCube, MaskPolygonAndFilterSpatial) {
  const json poly = square_polygon_32632(495, 1015, 515, 1035);  // pixel centres x 500, 510; both rows
  DataArray masked = on_cube("mask_polygon", {{"mask", poly}});
  EXPECT_EQ(masked.shape(), small_cube().shape());
  std::vector<double> want = values(small_cube());
  for (std::size_t i = 2; i < want.size(); i += 3) want[i] = nan;  // the x = 520 column
  expect_values(masked, want);
  DataArray cropped = on_cube("filter_spatial", {{"geometries", poly}});
  EXPECT_EQ(cropped.shape(), (Shape{4, 2, 2, 2}));
  // inside: the covered columns become no-data; replacement: a number instead of no-data.
  std::vector<double> inside_want = values(small_cube());
  for (std::size_t i = 0; i < inside_want.size(); ++i)
    if (i % 3 != 2) inside_want[i] = nan;
  expect_values(on_cube("mask_polygon", {{"mask", poly}, {"inside", true}}), inside_want);
  std::vector<double> replaced = values(small_cube());
  for (std::size_t i = 2; i < replaced.size(); i += 3) replaced[i] = -1;
  expect_values(on_cube("mask_polygon", {{"mask", poly}, {"replacement", -1}}), replaced);
  // No-data in a kept pixel stays no-data (it does not count as outside the polygon), and so does
  // no-data in a masked pixel: "No data values in data will be left untouched by the masking
  // operation" (mask_polygon's definition).
  const DataArray holey = small_cube().where(small_cube() != 0.0);
  ASSERT_TRUE(std::isnan(values(holey)[0]));
  std::vector<double> holey_want = values(holey);
  for (std::size_t i = 2; i < holey_want.size(); i += 3) holey_want[i] = -1;
  expect_values(on_cube("mask_polygon", {{"mask", poly}, {"replacement", -1}}, holey), holey_want);
  std::vector<double> holey_inside = values(holey);
  for (std::size_t i = 0; i < holey_inside.size(); ++i)
    if (i % 3 != 2 && !std::isnan(holey_inside[i])) holey_inside[i] = -1;
  ASSERT_TRUE(std::isnan(holey_inside[0]));
  expect_values(on_cube("mask_polygon", {{"mask", poly}, {"inside", true}, {"replacement", -1}}, holey), holey_inside);
  EXPECT_THROW(on_cube("mask_polygon", {{"mask", {{"type", "Point"}, {"coordinates", {1, 2}}}}}), ValueError);
}

TEST(OpenEoCube, NdviTargetBandAppendsABand) {
  DataArray r = on_cube("ndvi", {{"target_band", "ndvi"}});
  EXPECT_EQ(r.dims(), (std::vector<std::string>{"time", "band", "y", "x"}));
  EXPECT_EQ(r.shape(), (Shape{4, 3, 2, 3}));
  EXPECT_EQ(r.coords().at("band").string_values(), (std::vector<std::string>{"red", "nir", "ndvi"}));
  std::vector<double> want;
  for (int t = 0; t < 4; ++t)
    for (int b = 0; b < 3; ++b)
      for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x)
          want.push_back(b < 2 ? cell(t, b, y, x) : 100.0 / (2 * cell(t, 0, y, x) + 100));
  expect_values(r, want);
  // An existing label is refused, naming the argument.
  set_test_cube("in", small_cube());
  json g = {{"c", {{"process_id", "test_cube"}, {"arguments", {{"name", "in"}}}}},
            {"p", {{"process_id", "ndvi"}, {"arguments", {{"data", ref("c")}, {"target_band", "nir"}}}, {"result", true}}}};
  try {
    eval(g);
    ADD_FAILURE() << "target_band 'nir' was accepted";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("target_band"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'nir'"), std::string::npos) << e.what();
  }
}

TEST(OpenEoRun, SaveResultWritesZarrAndFailuresLeaveNothing) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("cubist_openeo_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  set_test_cube("save", small_cube());
  json g = {{"c", {{"process_id", "test_cube"}, {"arguments", {{"name", "save"}}}}},
            {"n", {{"process_id", "ndvi"}, {"arguments", {{"data", ref("c")}}}}},
            {"s", {{"process_id", "save_result"}, {"arguments", {{"data", ref("n")}, {"format", "zarr"}}}, {"result", true}}}};
  RunOptions o;
  o.output = (dir / "out.zarr").string();
  RunResult r = run_process_graph({{"process_graph", g}}, o);
  EXPECT_EQ(r.node, "s");
  EXPECT_EQ(r.shape, (Shape{4, 2, 3}));
  Dataset ds = open_zarr(o.output);
  expect_values(ds["data"], values(on_cube("ndvi", json::object())));
  // Running again replaces the store; nothing else is left in the directory.
  run_process_graph({{"process_graph", g}}, o);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);

  // A graph failing while it is evaluated writes nothing.
  json bad = g;
  bad["n"]["arguments"]["red"] = "B04";
  o.output = (dir / "bad.zarr").string();
  EXPECT_THROW(run_process_graph({{"process_graph", bad}}, o), ValueError);
  EXPECT_FALSE(fs::exists(o.output));
  json jpeg = g;
  jpeg["s"]["arguments"]["format"] = "JPEG";
  EXPECT_THROW(run_process_graph({{"process_graph", jpeg}}, o), ValueError);
  EXPECT_FALSE(fs::exists(o.output));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  fs::remove_all(dir);
}

TEST(OpenEoRun, SaveResultWritesGTiffAsCog) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("cubist_openeo_tif_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  set_test_cube("tif", small_cube());
  json g = {{"c", {{"process_id", "test_cube"}, {"arguments", {{"name", "tif"}}}}},
            {"m", {{"process_id", "reduce_dimension"}, {"arguments", {{"data", ref("c")}, {"dimension", "t"}, {"reducer", callback("max", {{"data", param("data")}})}}}}},
            {"s", {{"process_id", "save_result"}, {"arguments", {{"data", ref("m")}, {"format", "GTiff"}}}, {"result", true}}}};
  RunOptions o;
  o.output = (dir / "max.tif").string();
  run_process_graph({{"process_graph", g}}, o);
  GDALAllRegister();
  GDALDatasetH ds = GDALOpen(o.output.c_str(), GA_ReadOnly);
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(GDALGetRasterXSize(ds), 3);
  EXPECT_EQ(GDALGetRasterYSize(ds), 2);
  ASSERT_EQ(GDALGetRasterCount(ds), 2);
  double gt[6];
  GDALGetGeoTransform(ds, gt);
  EXPECT_DOUBLE_EQ(gt[0], 495);
  EXPECT_DOUBLE_EQ(gt[1], 10);
  EXPECT_DOUBLE_EQ(gt[3], 1035);
  EXPECT_DOUBLE_EQ(gt[5], -10);
  EXPECT_NE(std::string(GDALGetProjectionRef(ds)).find("32632"), std::string::npos);
  EXPECT_STREQ(GDALGetDescription(GDALGetRasterBand(ds, 2)), "nir");
  std::vector<double> nir(6);
  ASSERT_EQ(GDALRasterIO(GDALGetRasterBand(ds, 2), GF_Read, 0, 0, 3, 2, nir.data(), 3, 2, GDT_Float64, 0, 0), CE_None);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x) EXPECT_DOUBLE_EQ(nir[static_cast<std::size_t>(3 * y + x)], cell(3, 1, y, x));
  GDALClose(ds);
  // A (time, band, y, x) cube does not fit a GeoTIFF: one line, nothing written.
  g["s"]["arguments"]["data"] = ref("c");
  o.output = (dir / "bad.tif").string();
  EXPECT_THROW(run_process_graph({{"process_graph", g}}, o), ValueError);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cubist::openeo::testing
