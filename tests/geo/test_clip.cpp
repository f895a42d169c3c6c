// rasterize vs hand-computed masks, write_crs attributes, clip semantics and its culled reads.
#include <gtest/gtest.h>

#include <cmath>

#include "cubist/cubist.hpp"
#include "cubist/geo.hpp"
#include "geo/rasterize.hpp"
#include "graph/optimize.hpp"
#include "graph/task_graph.hpp"

using namespace cubist;

namespace {

Geometry triangle() {
  // In pixel units of a 4 x 4 grid with identity transform (y down): a right triangle with the
  // right angle at the origin and legs of 3.2 pixels (no pixel centre or corner on its edges).
  return Geometry({{{{0, 0}, {3.2, 0}, {0, 3.2}, {0, 0}}}}, Crs());
}

// An 8 x 8 float64 array on a 10 m UTM grid: x centres 500005.., y centres 5000075 down.
DataArray utm_array(std::int64_t chunk) {
  std::vector<double> v(64);
  for (std::size_t i = 0; i < 64; ++i) v[i] = static_cast<double>(i);
  std::vector<double> xs, ys;
  for (int i = 0; i < 8; ++i) {
    xs.push_back(500005.0 + 10 * i);
    ys.push_back(5000075.0 - 10 * i);
  }
  auto da = DataArray::from_vector(v, {{"y", 8}, {"x", 8}},
                                   {{"y", Coordinate::from_vector("y", ys)}, {"x", Coordinate::from_vector("x", xs)}});
  return write_crs(da.chunk({{"y", chunk}, {"x", chunk}}), Crs::epsg(32632));
}

}  // namespace

TEST(Rasterize, PixelCentresAndAllTouched) {
  // Centres (c + 0.5, r + 0.5) inside x + y < 3.2: c + r <= 2. (rasterio's geometry_mask agrees.)
  auto m = geo::rasterize({triangle()}, Affine{1, 0, 0, 0, 1, 0}, 4, 4, false);
  std::vector<std::uint8_t> centre = {1, 1, 1, 0,  //
                                      1, 1, 0, 0,  //
                                      1, 0, 0, 0,  //
                                      0, 0, 0, 0};
  EXPECT_EQ(m, centre);
  // Every pixel the triangle touches: those whose top-left corner has c + r < 3.2, i.e. c + r <= 3.
  auto t = geo::rasterize({triangle()}, Affine{1, 0, 0, 0, 1, 0}, 4, 4, true);
  std::vector<std::uint8_t> touched = {1, 1, 1, 1,  //
                                       1, 1, 1, 0,  //
                                       1, 1, 0, 0,  //
                                       1, 0, 0, 0};
  EXPECT_EQ(t, touched);
}

TEST(Rio, WriteCrsAsRioxarray) {
  auto da = utm_array(4);
  ASSERT_TRUE(da.coords().contains("spatial_ref"));
  const auto& sr = da.coords().at("spatial_ref");
  EXPECT_EQ(sr.dtype(), DType::Int64);
  EXPECT_TRUE(sr.dims().empty());
  EXPECT_EQ(da.attrs()["grid_mapping"], "spatial_ref");
  // rioxarray: " ".join(str(v) for v in transform.to_gdal())
  EXPECT_EQ(sr.attrs()["GeoTransform"], "500000.0 10.0 0.0 5000080.0 0.0 -10.0");
  EXPECT_EQ(sr.attrs()["spatial_ref"], sr.attrs()["crs_wkt"]);
  EXPECT_EQ(crs_of(da)->to_epsg(), 32632);
  Affine t = transform_of(da);
  EXPECT_EQ(t.a, 10);
  EXPECT_EQ(t.e, -10);
  EXPECT_EQ(t.c, 500000);
  EXPECT_EQ(t.f, 5000080);
  EXPECT_FALSE(crs_of(DataArray::from_vector(std::vector<double>{1}, {{"x", 1}})));
  auto nd = set_nodata(da, std::nan(""));
  EXPECT_TRUE(std::isnan(*nodata_of(nd)));
  EXPECT_THROW(set_nodata(da.astype(DType::UInt16), std::nan("")), ValueError);
}

TEST(Clip, CropsMasksAndSkipsEmptyChunks) {
  auto da = utm_array(2);
  // A polygon over pixel columns 1..4 and rows 1..2 (centres inside), in UTM.
  Geometry box({{{{500010.0, 5000060.0}, {500050.0, 5000060.0}, {500050.0, 5000080.0}, {500010.0, 5000080.0},
                  {500010.0, 5000060.0}}}},
               Crs::epsg(32632));
  auto c = clip(da, {box});
  ASSERT_EQ(c.shape(), (Shape{2, 4}));  // rows 0-1 (y centres 5000075, 5000065), cols 1-4
  EXPECT_EQ(c.coords().at("x").numeric_value(0), 500015.0);
  EXPECT_EQ(c.coords().at("y").numeric_value(0), 5000075.0);
  auto v = c.compute().values<double>();
  std::vector<double> want = {1, 2, 3, 4, 9, 10, 11, 12};
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(v[i], want[i]);
  EXPECT_EQ(crs_of(c)->to_epsg(), 32632);
  EXPECT_EQ(c.coords().at("spatial_ref").attrs()["GeoTransform"], "500010.0 10.0 0.0 5000080.0 0.0 -10.0");
}

TEST(Clip, ChunksOutsideThePolygonAreNeverRead) {
  auto da = utm_array(2);  // 4 x 4 chunks of 2 x 2
  // An L-shaped polygon (in CRS84 to exercise reprojection): covers the top-left and bottom-right
  // chunks of the crop window and leaves others empty.
  Geometry l_shape({{{{500000.0, 5000080.0}, {500080.0, 5000080.0}, {500080.0, 5000000.0}, {500060.0, 5000000.0},
                      {500060.0, 5000060.0}, {500000.0, 5000060.0}, {500000.0, 5000080.0}}}},
                   Crs::epsg(32632));
  auto wgs = l_shape.to_crs(Crs::from_user_input("OGC:CRS84"));
  auto c = clip(da, {wgs});
  ASSERT_EQ(c.shape(), (Shape{8, 8}));
  auto layer = c.layer();
  ASSERT_TRUE(layer->constant);
  // Chunk rows 1..3 x chunk cols 0..2 are outside: 9 constant chunks.
  EXPECT_EQ(layer->constant->chunks.size(), 9u);
  auto tg = graph::build_task_graph(graph::fuse_elementwise({layer}), {true});
  std::size_t reads = 0, masks = 0;
  for (const auto& t : tg.tasks) {
    reads += tg.layers[t.layer]->op == "literal";  // the in-memory data's chunks
    masks += tg.layers[t.layer]->op == "geometry_mask";
  }
  EXPECT_EQ(reads, 7u);  // only the 7 chunks that meet the polygon are read
  EXPECT_EQ(masks, 7u);
  auto v = c.compute().values<double>();
  for (int r = 0; r < 8; ++r)
    for (int col = 0; col < 8; ++col) {
      bool in = r < 2 || col >= 6;
      double x = v[static_cast<std::size_t>(r * 8 + col)];
      if (in) {
        EXPECT_EQ(x, r * 8 + col);
      } else {
        EXPECT_TRUE(std::isnan(x)) << r << "," << col;
      }
    }
}

TEST(Clip, Errors) {
  auto da = utm_array(4);
  Geometry far({{{{0.0, 0.0}, {1.0, 0.0}, {1.0, 1.0}, {0.0, 0.0}}}}, Crs::epsg(32632));
  try {
    clip(da, {far});
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("no data found in bounds"), std::string::npos);
  }
  auto no_crs = DataArray::from_vector(std::vector<double>(4, 1.0), {{"y", 2}, {"x", 2}});
  EXPECT_THROW(clip(no_crs, {far}), ValueError);
  EXPECT_THROW(clip(da, {Geometry(far.polygons(), Crs())}), ValueError);  // no CRS anywhere
  ClipOptions o;
  o.crs = Crs::epsg(32632);
  EXPECT_THROW(clip(da, {Geometry(far.polygons(), Crs())}, o), ValueError);  // still misses
  EXPECT_THROW(clip(da, {}), ValueError);
}

TEST(Clip, IntegerDataUsesNodataAndKeepsDtype) {
  auto da = set_nodata(utm_array(4).astype(DType::UInt16), 65535);
  // An L over pixels (row, col) (0, 1), (1, 1), (1, 2); (0, 2) is outside.
  Geometry box({{{{500010.0, 5000080.0}, {500020.0, 5000080.0}, {500020.0, 5000070.0}, {500030.0, 5000070.0},
                  {500030.0, 5000060.0}, {500010.0, 5000060.0}, {500010.0, 5000080.0}}}},
               Crs::epsg(32632));
  auto c = clip(da, {box});
  EXPECT_EQ(c.dtype(), DType::UInt16);
  EXPECT_EQ(c.attrs()["_FillValue"], 65535);
  ASSERT_EQ(c.shape(), (Shape{2, 2}));
  auto v = c.compute().values<std::uint16_t>();
  EXPECT_EQ(v[0], 1);
  EXPECT_EQ(v[1], 65535);
  EXPECT_EQ(v[2], 9);
  EXPECT_EQ(v[3], 10);
  EXPECT_THROW(clip(utm_array(4).astype(DType::UInt16), {box}), ValueError);  // no nodata to fill with
}

TEST(Clip, DropFalseKeepsTheGrid) {
  auto da = utm_array(4);
  Geometry box({{{{500010.0, 5000060.0}, {500050.0, 5000060.0}, {500050.0, 5000080.0}, {500010.0, 5000080.0},
                  {500010.0, 5000060.0}}}},
               Crs::epsg(32632));
  ClipOptions o;
  o.drop = false;
  auto c = clip(da, {box}, o);
  ASSERT_EQ(c.shape(), (Shape{8, 8}));
  ASSERT_TRUE(c.layer()->constant);
  EXPECT_EQ(c.layer()->constant->chunks, (std::vector<std::int64_t>{2, 3}));  // the bottom row of 4 x 4 chunks
  auto v = c.compute().values<double>();
  EXPECT_EQ(v[1], 1);
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_TRUE(std::isnan(v[63]));
}
