// stack() computed over small GeoTIFFs written here with GDAL, checked pixel by pixel against
// the values written: aligned grids, a coarser grid (warped), a sub-pixel shifted grid
// (warped), nodata, scale/offset, chunks no asset overlaps, and a missing file with and
// without skip_bad_assets, http hrefs served on 127.0.0.1, and clip() over the result.
#include <gtest/gtest.h>

#include <cmath>
#include <cpl_conv.h>
#include <filesystem>
#include <gdal.h>
#include <ogr_srs_api.h>

#include "cubist/error.hpp"
#include "cubist/stac.hpp"
#include "graph/optimize.hpp"
#include "kernels/op_registry.hpp"
#include "net/http_server.hpp"
#include "stac/read_params.hpp"
#include "stac_test_util.hpp"

using namespace cubist;
using nlohmann::json;

namespace {

struct Tiff {
  std::string path;
  std::array<double, 6> transform;  // affine order
  int width, height;
  std::vector<double> values;       // row-major
  GDALDataType type;
  std::optional<double> nodata;
  double value(int row, int col) const { return values[static_cast<std::size_t>(row * width + col)]; }
};

void write_tiff(const Tiff& t, int epsg) {
  GDALAllRegister();
  GDALDriverH drv = GDALGetDriverByName("GTiff");
  GDALDatasetH ds = GDALCreate(drv, t.path.c_str(), t.width, t.height, 1, t.type, nullptr);
  ASSERT_NE(ds, nullptr);
  double gt[6] = {t.transform[2], t.transform[0], t.transform[1], t.transform[5], t.transform[3], t.transform[4]};
  GDALSetGeoTransform(ds, gt);
  OGRSpatialReferenceH srs = OSRNewSpatialReference(nullptr);
  OSRImportFromEPSG(srs, epsg);
  char* wkt = nullptr;
  OSRExportToWkt(srs, &wkt);
  GDALSetProjection(ds, wkt);
  CPLFree(wkt);
  OSRDestroySpatialReference(srs);
  GDALRasterBandH band = GDALGetRasterBand(ds, 1);
  if (t.nodata) GDALSetRasterNoDataValue(band, *t.nodata);
  std::vector<double> v = t.values;
  ASSERT_EQ(GDALRasterIO(band, GF_Write, 0, 0, t.width, t.height, v.data(), t.width, t.height, GDT_Float64, 0, 0), CE_None);
  GDALClose(ds);
}

json item_for(const std::string& id, const std::string& datetime, const std::vector<std::pair<std::string, const Tiff*>>& assets,
              int epsg, std::optional<double> scale = std::nullopt, std::optional<double> offset = std::nullopt) {
  json a = json::object();
  for (const auto& [key, t] : assets) {
    json band = {{"data_type", "uint16"}};
    if (t->nodata) band["nodata"] = *t->nodata;
    if (scale) band["scale"] = *scale;
    if (offset) band["offset"] = *offset;
    a[key] = {{"href", t->path}, {"roles", {"data"}}, {"proj:transform", t->transform},
              {"proj:shape", {t->height, t->width}}, {"raster:bands", {band}}};
  }
  return {{"type", "Feature"}, {"id", id}, {"geometry", nullptr},
          {"properties", {{"datetime", datetime}, {"proj:epsg", epsg}}}, {"assets", a}};
}

class StackRead : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = stac_test::temp_dir("read"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

// A: uint16 12 x 8 px at 10 m from (600000, 5200000), values 100 + 10 * row + col, nodata 0 at (2, 3).
Tiff tiff_a(const std::string& path) {
  Tiff t{path, {10, 0, 600000, 0, -10, 5200000}, 12, 8, {}, GDT_UInt16, 0.0};
  for (int r = 0; r < t.height; ++r)
    for (int c = 0; c < t.width; ++c) t.values.push_back(r == 2 && c == 3 ? 0 : 100 + 10 * r + c);
  return t;
}

}  // namespace

TEST_F(StackRead, AlignedAssetsNodataScaleOffsetAndEmptyChunks) {
  Tiff a = tiff_a(file("a.tif"));
  // B: float32 4 x 4 px at 10 m, aligned with A but shifted 6 columns right and 2 rows down,
  // nodata -1 at (0, 0).
  Tiff b{file("b.tif"), {10, 0, 600060, 0, -10, 5199980}, 4, 4, {}, GDT_Float32, -1.0};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) b.values.push_back(r == 0 && c == 0 ? -1 : 0.5 * (r * 4 + c));
  write_tiff(a, 32632);
  write_tiff(b, 32632);
  ItemCollection items({Item::from_json(item_for("A", "2023-05-01T00:00:00Z", {{"red", &a}}, 32632, 0.0001, -0.1)),
                        Item::from_json(item_for("B", "2023-05-02T00:00:00Z", {{"red", &b}}, 32632))});
  StackOptions o;
  o.assets = {"red"};
  o.chunksize = {1, 1, 3, 5};
  // Wider than the data on the right: x 600000..600200 -> 20 columns; chunks of columns 15..19 touch nothing.
  o.bounds = Bounds{600000, 5199920, 600200, 5200000};
  DataArray da = stack(items, o);
  ASSERT_EQ(da.shape(), (Shape{2, 1, 8, 20}));
  DataArray v = da.compute();
  auto px = v.values<double>();
  auto at = [&](int t, int r, int c) { return px[static_cast<std::size_t>((t * 8 + r) * 20 + c)]; };
  for (int r = 0; r < 8; ++r) {
    for (int c = 0; c < 20; ++c) {
      // Time 0 is A, rescaled: value * 0.0001 - 0.1; nodata and outside -> NaN.
      if (c < 12 && !(r == 2 && c == 3)) EXPECT_DOUBLE_EQ(at(0, r, c), a.value(r, c) * 0.0001 - 0.1) << r << "," << c;
      else EXPECT_TRUE(std::isnan(at(0, r, c))) << r << "," << c;
      // Time 1 is B at columns 6..9, rows 2..5, no raster:bands scale -> values as stored.
      const bool inside = r >= 2 && r < 6 && c >= 6 && c < 10;
      if (inside && !(r == 2 && c == 6)) EXPECT_DOUBLE_EQ(at(1, r, c), b.value(r - 2, c - 6)) << r << "," << c;
      else EXPECT_TRUE(std::isnan(at(1, r, c))) << r << "," << c;
    }
  }

  // rescale off, float32 output, fill 0.
  o.rescale = false;
  o.dtype = DType::Float32;
  o.fill_value = -9;
  DataArray raw = stack(items, o).compute();
  auto rv = raw.values<float>();
  EXPECT_EQ(rv[0], 100.f);
  EXPECT_EQ(rv[2 * 20 + 3], -9.f);    // nodata -> fill
  EXPECT_EQ(rv[7 * 20 + 11], 181.f);  // last pixel of A: 100 + 10 * 7 + 11
  EXPECT_EQ(rv[19], -9.f);            // no asset there
}

TEST_F(StackRead, MisalignedGridsAreWarped) {
  Tiff a = tiff_a(file("a.tif"));
  // C: 20 m pixels (coarser), 4 x 3 px from (600000, 5200000): each covers 2 x 2 output pixels.
  Tiff c{file("c.tif"), {20, 0, 600000, 0, -20, 5200000}, 4, 3, {}, GDT_Int16, std::nullopt};
  for (int i = 0; i < 12; ++i) c.values.push_back(-50 + 7 * i);
  // D: 10 m pixels shifted by 3 m east and 4 m north: output centre x = 600005 + 10 i falls in D's column
  // floor((600005 + 10 i - 600003) / 10) = i, centre y = 5199995 - 10 j in row floor((5200004 - y) / 10) = j:
  // no centre lies on a pixel edge, so nearest resampling has one answer.
  Tiff d{file("d.tif"), {10, 0, 600003, 0, -10, 5200004}, 6, 5, {}, GDT_UInt16, std::nullopt};
  for (int i = 0; i < 30; ++i) d.values.push_back(1000 + i);
  write_tiff(a, 32632);
  write_tiff(c, 32632);
  write_tiff(d, 32632);
  ItemCollection items({Item::from_json(item_for("A", "2023-05-01T00:00:00Z", {{"b", &a}}, 32632)),
                        Item::from_json(item_for("C", "2023-05-02T00:00:00Z", {{"b", &c}}, 32632)),
                        Item::from_json(item_for("D", "2023-05-03T00:00:00Z", {{"b", &d}}, 32632))});
  StackOptions o;
  o.assets = {"b"};
  o.chunksize = {2, 1, 4, 4};
  o.bounds = Bounds{600000, 5199920, 600120, 5200000};
  DataArray v = stack(items, o).compute();
  ASSERT_EQ(v.shape(), (Shape{3, 1, 8, 12}));
  auto px = v.values<double>();
  auto at = [&](int t, int r, int col) { return px[static_cast<std::size_t>((t * 8 + r) * 12 + col)]; };
  for (int r = 0; r < 8; ++r)
    for (int col = 0; col < 12; ++col) {
      if (r < 6 && col < 8) EXPECT_EQ(at(1, r, col), c.value(r / 2, col / 2)) << r << "," << col;
      else EXPECT_TRUE(std::isnan(at(1, r, col))) << r << "," << col;
      if (r < 5 && col < 6) EXPECT_EQ(at(2, r, col), d.value(r, col)) << r << "," << col;
      else EXPECT_TRUE(std::isnan(at(2, r, col))) << r << "," << col;
    }
}

TEST_F(StackRead, MissingFileFailsOrIsSkippedWithOneWarning) {
  Tiff a = tiff_a(file("a.tif"));
  write_tiff(a, 32632);
  Tiff gone = a;
  gone.path = file("gone.tif");
  ItemCollection items({Item::from_json(item_for("A", "2023-05-01T00:00:00Z", {{"red", &a}}, 32632)),
                        Item::from_json(item_for("GONE", "2023-05-02T00:00:00Z", {{"red", &gone}}, 32632))});
  StackOptions o;
  o.assets = {"red"};
  o.chunksize = {1, 1, 4, 4};
  try {
    stack(items, o).compute();
    FAIL() << "reading a missing file must fail";
  } catch (const TaskError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("item 'GONE' asset 'red' (" + gone.path + ")"), std::string::npos) << m;
    EXPECT_EQ(e.op(), "stac_read");
  }
  o.skip_bad_assets = true;
  testing::internal::CaptureStderr();
  DataArray v = stack(items, o).compute();
  const std::string err = testing::internal::GetCapturedStderr();
  // One warning although the file is needed by 6 chunks.
  const std::string warning = "cubist: warning: skipping unreadable asset 'red' of item 'GONE' (" + gone.path + ")";
  ASSERT_NE(err.find(warning), std::string::npos) << err;
  EXPECT_EQ(err.find(warning, err.find(warning) + 1), std::string::npos) << err;
  auto px = v.values<double>();
  for (int i = 0; i < 96; ++i) {
    const double written = a.values[static_cast<std::size_t>(i)];
    if (written == 0) EXPECT_TRUE(std::isnan(px[static_cast<std::size_t>(i)]));
    else EXPECT_EQ(px[static_cast<std::size_t>(i)], written);
    EXPECT_TRUE(std::isnan(px[static_cast<std::size_t>(96 + i)]));
  }
}

TEST_F(StackRead, HttpHrefsReadThroughRangeRequests) {
  Tiff a = tiff_a(file("a.tif"));
  write_tiff(a, 32632);
  net::HttpServer server;
  server.mount_directory("/data", dir_.string());
  server.start();
  Tiff remote = a;
  remote.path = server.base_url() + "/data/a.tif";
  ItemCollection items({Item::from_json(item_for("A", "2023-05-01T00:00:00Z", {{"red", &remote}}, 32632))});
  StackOptions o;
  o.assets = {"red"};
  o.chunksize = {1, 1, 4, 4};
  DataArray v = stack(items, o).compute();
  ASSERT_EQ(v.shape(), (Shape{1, 1, 8, 12}));
  auto px = v.values<double>();
  for (std::size_t i = 0; i < 96; ++i) {
    if (a.values[i] == 0) EXPECT_TRUE(std::isnan(px[i]));
    else EXPECT_EQ(px[i], a.values[i]) << i;
  }
  EXPECT_GT(server.stats().requests, 0u);
}

TEST_F(StackRead, ClipWorksOnTheStack) {
  Tiff a = tiff_a(file("a.tif"));
  write_tiff(a, 32632);
  ItemCollection items({Item::from_json(item_for("A", "2023-05-01T00:00:00Z", {{"red", &a}}, 32632))});
  StackOptions o;
  o.assets = {"red"};
  o.chunksize = {1, 1, 4, 4};
  DataArray da = stack(items, o);
  // A square over columns 2..5 and rows 1..4 (pixel centres inside it), in the stack's CRS.
  Polygon square{{{600020, 5199960}, {600060, 5199960}, {600060, 5199990}, {600020, 5199990}, {600020, 5199960}}};
  ClipOptions co;
  co.crs = Crs::epsg(32632);
  DataArray clipped = clip(da, {Geometry({square}, Crs::epsg(32632))}, co).compute();
  ASSERT_EQ(clipped.shape(), (Shape{1, 1, 3, 4}));
  auto px = clipped.values<double>();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) {
      const double written = a.value(r + 1, c + 2);
      const double got = px[static_cast<std::size_t>(r * 4 + c)];
      if (written == 0) EXPECT_TRUE(std::isnan(got));
      else EXPECT_EQ(got, written) << r << "," << c;
    }
}

// Window push-down: a selection of the stack (a band indexed away, y/x windows not on chunk
// boundaries) becomes a windowed stac_read with no gather, and reads the same values, including
// warped assets.
TEST_F(StackRead, SelectionsArePushedIntoTheReadWithIdenticalValues) {
  Tiff a = tiff_a(file("a.tif"));
  Tiff c{file("c.tif"), {20, 0, 600000, 0, -20, 5200000}, 4, 3, {}, GDT_Int16, std::nullopt};
  for (int i = 0; i < 12; ++i) c.values.push_back(-50 + 7 * i);
  write_tiff(a, 32632);
  write_tiff(c, 32632);
  ItemCollection items({Item::from_json(item_for("A", "2023-05-01T00:00:00Z", {{"red", &a}, {"nir", &c}}, 32632, 0.0001, -0.1)),
                        Item::from_json(item_for("C", "2023-05-02T00:00:00Z", {{"red", &c}, {"nir", &a}}, 32632))});
  StackOptions o;
  o.assets = {"red", "nir"};
  o.chunksize = {1, 2, 3, 5};
  o.bounds = Bounds{600000, 5199920, 600120, 5200000};
  DataArray da = stack(items, o);
  DataArray sel = da.isel({{"band", std::int64_t{1}}, {"y", Slice{1, 7, 1}}, {"x", Slice{3, 11, 1}}});
  DataArray ndvi = sel - da.isel({{"band", std::int64_t{0}}, {"y", Slice{1, 7, 1}}, {"x", Slice{3, 11, 1}}});

  auto layers = graph::push_down_windows({ndvi.layer()}, kernels::window_source);
  std::size_t gathers = 0, reads = 0;
  for (const auto* l : graph::topological_layers(layers)) gathers += l->op == "gather", reads += l->op == "stac_read";
  EXPECT_EQ(gathers, 0u);
  EXPECT_EQ(reads, 2u);

  ComputeOptions plain;
  plain.optimize = false;
  for (const DataArray& x : {sel, ndvi}) {
    auto w = x.compute().values<double>();
    auto ref = x.compute(plain).values<double>();
    ASSERT_EQ(w.size(), ref.size());
    ASSERT_EQ(w.size(), 2u * 6u * 8u);
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (std::isnan(ref[i])) EXPECT_TRUE(std::isnan(w[i])) << i;
      else EXPECT_EQ(w[i], ref[i]) << i;
    }
  }

  // The params of a window: cells of the kept band, offsets added; windows compose; y and x stay.
  const auto& rp_json = da.layer()->params;
  auto rp = stac::ReadParams::from_json(rp_json);
  auto w1 = rp.window({{0, 2, false}, {1, 1, true}, {1, 6, false}, {3, 8, false}});
  ASSERT_TRUE(w1);
  EXPECT_EQ(w1->output_shape(), (Shape{2, 6, 8}));
  EXPECT_EQ(w1->cell(1, 0).href, rp.cell(1, 1).href);
  auto w2 = w1->window({{1, 1, false}, {2, 3, false}, {4, 4, false}});
  ASSERT_TRUE(w2);
  EXPECT_EQ(w2->row_offset, 3);
  EXPECT_EQ(w2->col_offset, 7);
  EXPECT_EQ(w2->cell(0, 0).item_id, "C");
  EXPECT_EQ(stac::ReadParams::from_json(w2->to_json()).to_json(), w2->to_json());
  EXPECT_FALSE(rp.window({{0, 2, false}, {0, 2, false}, {0, 1, true}, {0, 12, false}}));  // y cannot be dropped
  EXPECT_FALSE(rp.window({{0, 2, false}, {0, 2, false}, {5, 4, false}, {0, 12, false}}));  // past the end
}
