// resample_spatial on any cube (cubist::reproject), its resolution / align / method / projection
// arguments, resample_cube_spatial, and their metadata. Values of the average method computed by
// hand from small_cube's red = 10 t + 3 y + x, nir = red + 100 (helpers.hpp).
#include <gtest/gtest.h>

#include <cmath>

#include "graph/layer.hpp"
#include "helpers.hpp"

namespace cubist::openeo::testing {
namespace {

using nlohmann::json;

json ref(const std::string& id) { return {{"from_node", id}}; }

// test_cube "in" -> resample_spatial(args) as the result.
Value resample(const DataArray& cube, json args, const std::string& pid = "resample_spatial") {
  set_test_cube("in", cube);
  args["data"] = ref("c");
  json g = {{"c", {{"process_id", "test_cube"}, {"arguments", {{"name", "in"}}}}},
            {"p", {{"process_id", pid}, {"arguments", args}, {"result", true}}}};
  return eval(g);
}

// (band 2, y 12, x 10) on a 100 m UTM 32N grid with smooth values.
DataArray utm_cube() {
  std::vector<double> v;
  for (int b = 0; b < 2; ++b)
    for (int y = 0; y < 12; ++y)
      for (int x = 0; x < 10; ++x) v.push_back(std::sin(0.3 * y) * 10 + x + 100 * b);
  std::vector<double> xs, ys;
  for (int x = 0; x < 10; ++x) xs.push_back(600050.0 + 100 * x);
  for (int y = 0; y < 12; ++y) ys.push_back(5200950.0 - 100 * y);
  auto a = DataArray::from_vector(v, {{"band", 2}, {"y", 12}, {"x", 10}},
                                  {{"band", Coordinate::strings("band", {"red", "nir"})},
                                   {"y", Coordinate::from_vector("y", ys)},
                                   {"x", Coordinate::from_vector("x", xs)}});
  return write_crs(a.chunk({{"band", 1}, {"y", 5}, {"x", 5}}), Crs::epsg(32632));
}

void expect_same(const DataArray& a, const DataArray& b) {
  ASSERT_EQ(a.shape(), b.shape());
  const auto va = values(a), vb = values(b);
  for (std::size_t i = 0; i < va.size(); ++i) {
    ASSERT_EQ(std::isnan(va[i]), std::isnan(vb[i])) << i;
    if (!std::isnan(va[i])) {
      ASSERT_EQ(va[i], vb[i]) << i;
    }
  }
}

TEST(OpenEoResample, AnyCubeIsWarpedWithTheMethodAsked) {
  const DataArray cube = utm_cube();
  // openEO's method names map onto GDAL's; the projection may be an EPSG code or a string.
  for (auto [openeo, gdal] : {std::pair{"near", "nearest"}, std::pair{"bilinear", "bilinear"},
                              std::pair{"cubicspline", "cubic_spline"}}) {
    SCOPED_TRACE(openeo);
    DataArray out = resample(cube, {{"projection", 4326}, {"method", openeo}}).cube;
    ReprojectOptions o;
    o.resampling = gdal;
    expect_same(out, reproject(cube, Crs::epsg(4326), o));
    ASSERT_TRUE(crs_of(out));
    EXPECT_EQ(crs_of(out)->to_epsg(), 4326);
    EXPECT_EQ(out.dims(), cube.dims());
  }
  DataArray utm31 = resample(cube, {{"projection", "EPSG:32631"}, {"resolution", {150, 120}}}).cube;
  EXPECT_EQ(crs_of(utm31)->to_epsg(), 32631);
  const Affine t = transform_of(utm31);
  EXPECT_DOUBLE_EQ(t.a, 150);
  EXPECT_DOUBLE_EQ(t.e, -120);
}

TEST(OpenEoResample, AverageToACoarserResolution) {
  // 10 m -> 20 m, upper-left aligned: 3 x 2 pixels become 2 x 1; the second column has one
  // source column left (x = 2), the rest of its window is outside the data.
  DataArray out = resample(small_cube(), {{"resolution", 20}, {"method", "average"}}).cube;
  ASSERT_EQ(out.shape(), (Shape{4, 2, 1, 2}));
  const auto v = values(out);
  for (int t = 0; t < 4; ++t)
    for (int b = 0; b < 2; ++b) {
      const double base = 10.0 * t + 100 * b + 1.5;  // mean of 3 y over rows 0 and 1
      EXPECT_NEAR(v[static_cast<std::size_t>((t * 2 + b) * 2)], base + 0.5, 1e-9);
      EXPECT_NEAR(v[static_cast<std::size_t>((t * 2 + b) * 2 + 1)], base + 2, 1e-9);
    }
  EXPECT_EQ(out.coords().at("x").numeric_value(0), 505);
  EXPECT_EQ(out.coords().at("y").numeric_value(0), 1025);
}

TEST(OpenEoResample, AlignPicksTheCornerTheGridStartsFrom) {
  // The data's extent is x 495..525, y 1015..1035; two 20 m columns and one row cover it.
  auto coords = [](const std::string& align) {
    DataArray out = resample(small_cube(), {{"resolution", 20}, {"align", align}}).cube;
    return std::array<double, 3>{out.coords().at("x").numeric_value(0), out.coords().at("x").numeric_value(1),
                                 out.coords().at("y").numeric_value(0)};
  };
  EXPECT_EQ(coords("upper-left"), (std::array<double, 3>{505, 525, 1025}));
  EXPECT_EQ(coords("upper-right"), (std::array<double, 3>{495, 515, 1025}));
  EXPECT_EQ(coords("lower-left"), (std::array<double, 3>{505, 525, 1025}));
  EXPECT_EQ(coords("lower-right"), (std::array<double, 3>{495, 515, 1025}));
  // A 15 m grid: 2 columns (30 m) and 2 rows (20 m -> 30 m) make the bottom edge move.
  DataArray ll = resample(small_cube(), {{"resolution", 15}, {"align", "lower-left"}}).cube;
  EXPECT_EQ(ll.size("y"), 2);
  EXPECT_DOUBLE_EQ(ll.coords().at("y").numeric_value(1), 1015 + 7.5);
  DataArray ul = resample(small_cube(), {{"resolution", 15}, {"align", "upper-left"}}).cube;
  EXPECT_DOUBLE_EQ(ul.coords().at("y").numeric_value(0), 1035 - 7.5);
}

TEST(OpenEoResample, NothingAskedKeepsTheCubeAndErrorsNameTheArgument) {
  const DataArray cube = utm_cube();
  EXPECT_EQ(resample(cube, json::object()).cube.layer()->key, cube.layer()->key);
  auto error_of = [&](const DataArray& c, json args) -> std::string {
    try {
      resample(c, std::move(args));
    } catch (const ValueError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of(cube, {{"projection", "EPSG:99999999"}}).find("argument 'projection'"), std::string::npos);
  EXPECT_NE(error_of(cube, {{"resolution", {10, 0}}}).find("argument 'resolution'"), std::string::npos);
  DataArray no_crs = DataArray::from_layer(cube.layer(), cube.dims(), Coords{{"x", cube.coords().at("x")}, {"y", cube.coords().at("y")}});
  EXPECT_NE(error_of(no_crs, {{"resolution", 200}}).find("argument 'data'"), std::string::npos);
  EXPECT_NE(validation_error(single("resample_spatial", {{"data", 1}, {"method", "bicubic"}})), "");
}

TEST(OpenEoResample, CubeSpatialTakesTheTargetsGrid) {
  const DataArray target = resample(small_cube(), {{"resolution", 15}}).cube;  // 2 x 2: a grid with a transform
  set_test_cube("in", small_cube());
  set_test_cube("target", target);
  json g = {{"c", {{"process_id", "test_cube"}, {"arguments", {{"name", "in"}}}}},
            {"t", {{"process_id", "test_cube"}, {"arguments", {{"name", "target"}}}}},
            {"p", {{"process_id", "resample_cube_spatial"},
                   {"arguments", {{"data", ref("c")}, {"target", ref("t")}, {"method", "average"}}},
                   {"result", true}}}};
  DataArray out = eval(g).cube;
  ASSERT_EQ(out.shape(), (Shape{4, 2, 2, 2}));
  EXPECT_TRUE(out.coords().at("x").equals(target.coords().at("x")));
  EXPECT_TRUE(out.coords().at("y").equals(target.coords().at("y")));
  expect_same(out, resample(small_cube(), {{"resolution", 15}, {"method", "average"}}).cube);
}

TEST(OpenEoResample, ProcessMetadata) {
  const ProcessDef* rs = find_process("resample_spatial");
  ASSERT_NE(rs, nullptr);
  const json doc = rs->to_json();
  bool has_rms = false, has_lower_right = false;
  for (const auto& p : doc.at("parameters")) {
    if (p.at("name") == "method") has_rms = p.at("schema").dump().find("\"rms\"") != std::string::npos;
    if (p.at("name") == "align") has_lower_right = p.at("schema").dump().find("lower-right") != std::string::npos;
  }
  EXPECT_TRUE(has_rms);
  EXPECT_TRUE(has_lower_right);
  const ProcessDef* rcs = find_process("resample_cube_spatial");
  ASSERT_NE(rcs, nullptr);
  ASSERT_NE(rcs->parameter("target"), nullptr);
  EXPECT_EQ(rcs->parameter("method")->default_value, "near");
}

}  // namespace
}  // namespace cubist::openeo::testing
