// reproject(): the output grid (calculate_default_transform), the dependency tables planned from
// chunk footprints (checked against every output pixel's source position), constant chunks that
// read nothing, edge chunks, and results that do not depend on the chunking.
#include <gtest/gtest.h>

#include <cmath>

#include "cubist/cubist.hpp"
#include "cubist/geo.hpp"
#include "geo/osr.hpp"
#include "geo/reproject_plan.hpp"
#include "graph/layer.hpp"
#include "graph/optimize.hpp"
#include "graph/task_graph.hpp"

using namespace cubist;

namespace {

// An ny x nx float64 array on a 100 m UTM 32N grid (x centres from 600050, y from 5200950 down),
// smooth values with a few NaNs.
DataArray utm_array(std::int64_t ny, std::int64_t nx, std::int64_t chunk, bool with_nan = true) {
  std::vector<double> v(static_cast<std::size_t>(ny * nx)), xs, ys;
  for (std::int64_t r = 0; r < ny; ++r)
    for (std::int64_t c = 0; c < nx; ++c)
      v[static_cast<std::size_t>(r * nx + c)] =
          (with_nan && (r * nx + c) % 61 == 7) ? NAN : std::sin(0.11 * static_cast<double>(r)) * 50 + 0.7 * static_cast<double>(c);
  for (std::int64_t c = 0; c < nx; ++c) xs.push_back(600050.0 + 100.0 * static_cast<double>(c));
  for (std::int64_t r = 0; r < ny; ++r) ys.push_back(5200950.0 - 100.0 * static_cast<double>(r));
  auto da = DataArray::from_vector(v, {{"y", ny}, {"x", nx}},
                                   {{"y", Coordinate::from_vector("y", ys)}, {"x", Coordinate::from_vector("x", xs)}});
  return write_crs(da.chunk({{"y", chunk}, {"x", chunk}}), Crs::epsg(32632));
}

std::vector<double> values_of(const DataArray& da) {
  auto v = da.compute().values<double>();
  return {v.begin(), v.end()};
}

void expect_same(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(std::isnan(a[i]), std::isnan(b[i])) << "at " << i;
    if (!std::isnan(a[i])) {
      ASSERT_NEAR(a[i], b[i], tol) << "at " << i;
    }
  }
}

}  // namespace

TEST(CalculateDefaultTransform, SameCrsKeepsTheGrid) {
  Bounds b{600000, 5194600, 606400, 5201000};
  auto g = calculate_default_transform(Crs::epsg(32632), Crs::epsg(32632), 64, 64, b);
  EXPECT_EQ(g.width, 64);
  EXPECT_EQ(g.height, 64);
  EXPECT_NEAR(g.transform.a, 100, 1e-9);
  EXPECT_NEAR(g.transform.e, -100, 1e-9);
  EXPECT_NEAR(g.transform.c, 600000, 1e-6);
  EXPECT_NEAR(g.transform.f, 5201000, 1e-6);
}

TEST(CalculateDefaultTransform, CoversTheTransformedBoundsWithSquarePixels) {
  Bounds b{600000, 5194600, 606400, 5201000};
  const Crs wgs = Crs::epsg(4326);
  auto g = calculate_default_transform(Crs::epsg(32632), wgs, 64, 64, b);
  EXPECT_NEAR(g.transform.a, -g.transform.e, 1e-12);  // GDAL suggests square pixels
  EXPECT_EQ(g.transform.b, 0);
  Bounds want = transform_bounds(b, Crs::epsg(32632), wgs);
  EXPECT_LE(g.transform.c, want.minx + 1e-9);
  EXPECT_GE(g.transform.f, want.maxy - 1e-9);
  EXPECT_GE(g.transform.c + g.transform.a * static_cast<double>(g.width), want.maxx - g.transform.a);
  EXPECT_LE(g.transform.f + g.transform.e * static_cast<double>(g.height), want.miny - g.transform.e);

  // A resolution keeps the upper-left corner; the size grows by the ratio (ceil).
  auto r = calculate_default_transform(Crs::epsg(32632), wgs, 64, 64, b, std::array<double, 2>{0.0005, 0.0004});
  EXPECT_EQ(r.transform.c, g.transform.c);
  EXPECT_EQ(r.transform.f, g.transform.f);
  EXPECT_EQ(r.transform.a, 0.0005);
  EXPECT_EQ(r.transform.e, -0.0004);
  EXPECT_EQ(r.width, static_cast<std::int64_t>(std::ceil(static_cast<double>(g.width) * g.transform.a / 0.0005)));
  EXPECT_EQ(r.height, static_cast<std::int64_t>(std::ceil(static_cast<double>(g.height) * g.transform.e / -0.0004)));

  // A shape keeps the extent.
  auto s = calculate_default_transform(Crs::epsg(32632), wgs, 64, 64, b, std::nullopt, std::array<std::int64_t, 2>{30, 50});
  EXPECT_EQ(s.width, 50);
  EXPECT_EQ(s.height, 30);
  EXPECT_NEAR(s.transform.a * 50, g.transform.a * static_cast<double>(g.width), 1e-12);
  EXPECT_NEAR(s.transform.e * 30, g.transform.e * static_cast<double>(g.height), 1e-12);

  EXPECT_THROW(calculate_default_transform(Crs::epsg(32632), wgs, 64, 64, b, std::array<double, 2>{1, 1},
                                           std::array<std::int64_t, 2>{3, 3}),
               ValueError);
  EXPECT_THROW(calculate_default_transform(Crs::epsg(32632), wgs, 64, 64, b, std::array<double, 2>{-1, 1}), ValueError);
}

TEST(Reproject, SameGridNearestIsTheIdentity) {
  auto da = utm_array(20, 24, 8);
  auto out = reproject(da, Crs::epsg(32632));
  ASSERT_EQ(out.shape(), (Shape{20, 24}));
  expect_same(values_of(out), values_of(da), 0);
  EXPECT_EQ(out.coords().at("x").numeric_value(0), 600050.0);
  EXPECT_EQ(out.coords().at("y").numeric_value(0), 5200950.0);
}

// Every output pixel's source position (centre, plus the kernel) lies in the input chunks its
// chunk's tables name, computed here pixel by pixel with PROJ.
TEST(Reproject, DependencyTablesCoverEveryPixelsSource) {
  const std::int64_t n = 96, chunk = 16;
  auto da = utm_array(n, n, chunk);
  for (const char* target : {"EPSG:4326", "EPSG:32631", "EPSG:3857"}) {
    SCOPED_TRACE(target);
    const Crs dst = Crs::from_user_input(target);
    ReprojectOptions o;
    o.resampling = "bilinear";
    o.chunks = std::array<std::int64_t, 2>{20, 20};
    auto out = reproject(da, dst, o);
    const auto& layer = *out.layer();
    ASSERT_EQ(layer.inputs.size(), 1u);
    const auto& ydep = layer.inputs[0].axes[0];
    const auto& xdep = layer.inputs[0].axes[1];
    ASSERT_EQ(ydep.kind, graph::DepKind::Table);
    ASSERT_EQ(xdep.kind, graph::DepKind::Table);
    const Affine st = transform_of(da), dt = transform_of(out);
    auto tr = geo::coordinate_transform(dst, Crs::epsg(32632));
    const auto& og = out.chunks();
    std::int64_t narrower = 0;
    for (std::int64_t r = 0; r < out.size("y"); ++r)
      for (std::int64_t c = 0; c < out.size("x"); ++c) {
        double x = dt.c + dt.a * (static_cast<double>(c) + 0.5), y = dt.f + dt.e * (static_cast<double>(r) + 0.5);
        ASSERT_TRUE(tr->Transform(1, &x, &y));
        const double sc = (x - st.c) / st.a, sr = (y - st.f) / st.e;
        if (sc < 0 || sr < 0 || sc >= n || sr >= n) continue;  // GDAL leaves it nodata
        const auto cy = og.chunk_of(0, r), cx = og.chunk_of(1, c);
        const auto [ylo, yhi] = ydep.table[static_cast<std::size_t>(cy)];
        const auto [xlo, xhi] = xdep.table[static_cast<std::size_t>(cx)];
        // Bilinear reads the 2 x 2 pixels around the centre-shifted position.
        const auto r0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(sr - 0.5)));
        const auto r1 = std::min<std::int64_t>(n - 1, static_cast<std::int64_t>(std::floor(sr + 0.5)));
        const auto c0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(sc - 0.5)));
        const auto c1 = std::min<std::int64_t>(n - 1, static_cast<std::int64_t>(std::floor(sc + 0.5)));
        ASSERT_GE(r0 / chunk, ylo) << r << "," << c;
        ASSERT_LT(r1 / chunk, yhi) << r << "," << c;
        ASSERT_GE(c0 / chunk, xlo) << r << "," << c;
        ASSERT_LT(c1 / chunk, xhi) << r << "," << c;
      }
    // The tables are footprints, not "everything": some output chunk reads less than all input rows.
    for (const auto& [lo, hi] : ydep.table) narrower += (hi - lo) < n / chunk;
    EXPECT_GT(narrower, 0);
  }
}

TEST(Reproject, ChunkOutsideTheSourceIsConstantAndReadsNothing) {
  auto da = utm_array(32, 32, 8);
  // The same CRS, grid shifted 40 pixels right: the left 24 columns overlap, the rest are outside.
  ReprojectOptions o;
  o.transform = Affine{100, 0, 600000 + 40 * 100.0, 0, -100, 5201000};
  o.shape = std::array<std::int64_t, 2>{32, 64};
  o.chunks = std::array<std::int64_t, 2>{16, 16};
  auto out = reproject(da, Crs::epsg(32632), o);
  ASSERT_EQ(out.shape(), (Shape{32, 64}));
  const auto& layer = *out.layer();
  ASSERT_TRUE(layer.constant);
  // Output chunk columns 0 (source cols 40..56 are outside: the source has 32 columns)... every
  // output column >= 0 maps to source column >= 40, so all 8 chunks read nothing.
  EXPECT_EQ(layer.constant->chunks.size(), 8u);
  auto v = values_of(out);
  for (double x : v) EXPECT_TRUE(std::isnan(x));

  // Shifted 20 pixels left instead: output columns 0..19 are outside, 20..51 hold source 0..31.
  o.transform = Affine{100, 0, 600000 - 20 * 100.0, 0, -100, 5201000};
  out = reproject(da, Crs::epsg(32632), o);
  ASSERT_TRUE(out.layer()->constant);
  EXPECT_EQ(out.layer()->constant->chunks.size(), 2u * 1);  // chunk column 0 in both chunk rows
  auto tg = graph::build_task_graph(graph::fuse_elementwise({out.layer()}), {true});
  std::size_t reads = 0;
  for (const auto& t : tg.tasks) reads += tg.layers[t.layer]->op == "literal";
  EXPECT_EQ(reads, 16u);  // every input chunk is needed once
  v = values_of(out);
  auto src = values_of(da);
  for (std::int64_t r = 0; r < 32; ++r)
    for (std::int64_t c = 0; c < 64; ++c) {
      const double got = v[static_cast<std::size_t>(r * 64 + c)];
      if (c < 20 || c >= 52) {
        EXPECT_TRUE(std::isnan(got)) << r << "," << c;
      } else {
        const double want = src[static_cast<std::size_t>(r * 32 + c - 20)];
        if (std::isnan(want)) EXPECT_TRUE(std::isnan(got));
        else EXPECT_EQ(got, want) << r << "," << c;
      }
    }
}

// Edge chunks (sizes that do not divide the output) and any chunking give the warp of the whole
// array in one piece (exact transformations, the whole image's kernel scale): the same pixels for
// nearest, and up to rounding (window origins shift the coordinates by ~1e-13) otherwise.
TEST(Reproject, ResultDoesNotDependOnChunking) {
  for (const char* method : {"nearest", "bilinear", "cubic", "average"}) {
    SCOPED_TRACE(method);
    ReprojectOptions o;
    o.resampling = method;
    o.error_threshold = 0;
    o.chunks = std::array<std::int64_t, 2>{1000, 1000};
    auto whole = reproject(utm_array(50, 70, 70), Crs::epsg(4326), o);
    ASSERT_EQ(whole.chunks().total_chunks(), 1);
    const auto ref = values_of(whole);
    std::size_t finite = 0;
    for (double x : ref) finite += !std::isnan(x);
    EXPECT_GT(finite, ref.size() / 2);
    for (std::int64_t in_chunk : {7, 16}) {
      o.chunks = std::array<std::int64_t, 2>{9, 13};
      auto chunked = reproject(utm_array(50, 70, in_chunk), Crs::epsg(4326), o);
      EXPECT_GT(chunked.chunks().total_chunks(), 20);
      EXPECT_EQ(chunked.shape(), whole.shape());
      expect_same(values_of(chunked), ref, std::string(method) == "nearest" ? 0 : 1e-9);
    }
  }
}

// (band, y, x) and (y, x, band): each plane is warped as its own band, dims keep their order,
// the band coordinate is kept.
TEST(Reproject, LeadingDimsAreWarpedPlaneByPlane) {
  const std::int64_t ny = 24, nx = 30;
  auto plane = values_of(utm_array(ny, nx, ny));
  std::vector<double> v;
  for (int b = 0; b < 3; ++b)
    for (double x : plane) v.push_back(x * (b + 1));
  auto src = utm_array(ny, nx, 8);
  auto cube = DataArray::from_vector(v, {{"band", 3}, {"y", ny}, {"x", nx}},
                                     {{"band", Coordinate::strings("band", {"red", "green", "nir"})},
                                      {"y", src.coords().at("y")},
                                      {"x", src.coords().at("x")}});
  cube = write_crs(cube.chunk({{"band", 2}, {"y", 8}, {"x", 8}}), Crs::epsg(32632));
  ReprojectOptions o;
  o.resampling = "bilinear";
  o.error_threshold = 0;  // the planes below are chunked otherwise: exact transformations
  auto out = reproject(cube, Crs::epsg(32631), o);
  ASSERT_EQ(out.dims(), (std::vector<std::string>{"band", "y", "x"}));
  EXPECT_EQ(out.coords().at("band").string_values(), (std::vector<std::string>{"red", "green", "nir"}));
  auto all = values_of(out);
  const std::size_t n = static_cast<std::size_t>(out.size("y") * out.size("x"));
  for (int b = 0; b < 3; ++b) {
    auto one = DataArray::from_vector(std::vector<double>(v.begin() + b * ny * nx, v.begin() + (b + 1) * ny * nx),
                                      {{"y", ny}, {"x", nx}}, {{"y", src.coords().at("y")}, {"x", src.coords().at("x")}});
    auto ref = values_of(reproject(write_crs(one, Crs::epsg(32632)), Crs::epsg(32631), o));
    expect_same(std::vector<double>(all.begin() + static_cast<std::ptrdiff_t>(b * n),
                                    all.begin() + static_cast<std::ptrdiff_t>((b + 1) * n)),
                ref, 1e-12);
  }
  auto last = reproject(cube.transpose({"y", "x", "band"}), Crs::epsg(32631), o);
  ASSERT_EQ(last.dims(), (std::vector<std::string>{"y", "x", "band"}));
  expect_same(values_of(last.transpose({"band", "y", "x"})), all, 0);
}

TEST(Reproject, CoordinatesAttributesAndFill) {
  auto da = utm_array(20, 20, 10).assign_attrs({{"units", "K"}});
  auto out = reproject(da, Crs::epsg(4326));
  ASSERT_TRUE(crs_of(out));
  EXPECT_EQ(crs_of(out)->to_epsg(), 4326);
  EXPECT_EQ(out.attrs().at("units"), "K");
  EXPECT_EQ(out.coords().at("x").attrs().at("standard_name"), "longitude");
  EXPECT_EQ(out.coords().at("y").attrs().at("units"), "degrees_north");
  ASSERT_TRUE(nodata_of(out));
  EXPECT_TRUE(std::isnan(*nodata_of(out)));
  const Affine t = transform_of(out);
  EXPECT_NEAR(out.coords().at("x").numeric_value(1) - out.coords().at("x").numeric_value(0), t.a, 1e-15);

  // Integers: rioxarray's per-dtype nodata where nothing covers a pixel, or the one asked for.
  auto u8 = da.fillna(0).astype(DType::UInt8);
  ReprojectOptions o;
  o.transform = Affine{100, 0, 600000 + 10 * 100.0, 0, -100, 5201000};
  auto out8 = reproject(u8, Crs::epsg(32632), o);
  ASSERT_EQ(out8.dtype(), DType::UInt8);
  auto v8 = out8.compute().values<std::uint8_t>();
  EXPECT_EQ(v8[19], 255);  // column 19 maps to source column 29: outside
  EXPECT_EQ(v8[0], u8.compute().values<std::uint8_t>()[10]);
  o.nodata = 7;
  EXPECT_EQ(reproject(u8, Crs::epsg(32632), o).compute().values<std::uint8_t>()[19], 7);
  EXPECT_EQ(*nodata_of(reproject(u8, Crs::epsg(32632), o)), 7);
}

TEST(Reproject, ErrorsNameTheProblem) {
  auto da = utm_array(8, 8, 4);
  ReprojectOptions bad;
  bad.resampling = "bicubic";
  try {
    reproject(da, Crs::epsg(4326), bad);
    FAIL() << "no error";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("bicubic"), std::string::npos) << e.what();
  }
  ReprojectOptions both;
  both.resolution = std::array<double, 2>{1, 1};
  both.shape = std::array<std::int64_t, 2>{2, 2};
  EXPECT_THROW(reproject(da, Crs::epsg(4326), both), ValueError);
  auto no_crs = DataArray::from_vector(std::vector<double>(16, 1.0), {{"y", 4}, {"x", 4}},
                                       {{"y", Coordinate::from_vector("y", std::vector<double>{3, 2, 1, 0})},
                                        {"x", Coordinate::from_vector("x", std::vector<double>{0, 1, 2, 3})}});
  EXPECT_THROW(reproject(no_crs, Crs::epsg(4326)), ValueError);
  EXPECT_THROW(reproject(da.rename("v").isel({{"x", std::int64_t{0}}}), Crs::epsg(4326)), DimensionError);
  EXPECT_THROW(reproject(da > 1.0, Crs::epsg(4326)), TypeError);
}
