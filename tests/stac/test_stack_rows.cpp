// stac_read's rows (OpDef::rows) inside the NDVI program (graph::inline_sources): tiled DEFLATE
// GeoTIFFs read row by row from the tile cache, an untiled one (whole-cell fallback), cells no
// footprint reaches, nodata, scale/offset, windows straddling tiles and chunks, and the clip: values
// bit for bit those of the graph computed as built, NaNs included.
#include <gtest/gtest.h>

#include <cmath>
#include <cpl_string.h>
#include <cstring>
#include <filesystem>
#include <gdal.h>
#include <ogr_srs_api.h>

#include "array/execution.hpp"
#include "cubist/cubist.hpp"
#include "cubist/stac.hpp"
#include "kernels/op_registry.hpp"
#include "stac_test_util.hpp"

using namespace cubist;
using nlohmann::json;

namespace {

// A uint16 raster at 10 m in EPSG:32632 whose top-left corner is (x, y); tiled 64 x 64 with DEFLATE
// when `tiled`, else one strip per row. Values vary per pixel, 0 (nodata) on a sparse pattern.
void write_raster(const std::string& path, double x, double y, int width, int height, int seed, bool tiled) {
  GDALAllRegister();
  char** options = nullptr;
  if (tiled) {
    options = CSLSetNameValue(options, "TILED", "YES");
    options = CSLSetNameValue(options, "BLOCKXSIZE", "64");
    options = CSLSetNameValue(options, "BLOCKYSIZE", "64");
    options = CSLSetNameValue(options, "COMPRESS", "DEFLATE");
    options = CSLSetNameValue(options, "PREDICTOR", "2");
  }
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path.c_str(), width, height, 1, GDT_UInt16, options);
  CSLDestroy(options);
  ASSERT_NE(ds, nullptr);
  double gt[6] = {x, 10, 0, y, 0, -10};
  GDALSetGeoTransform(ds, gt);
  OGRSpatialReferenceH srs = OSRNewSpatialReference(nullptr);
  OSRImportFromEPSG(srs, 32632);
  char* wkt = nullptr;
  OSRExportToWkt(srs, &wkt);
  GDALSetProjection(ds, wkt);
  CPLFree(wkt);
  OSRDestroySpatialReference(srs);
  GDALRasterBandH band = GDALGetRasterBand(ds, 1);
  GDALSetRasterNoDataValue(band, 0);
  std::vector<std::uint16_t> v(static_cast<std::size_t>(width * height));
  for (int r = 0; r < height; ++r)
    for (int c = 0; c < width; ++c)
      v[static_cast<std::size_t>(r * width + c)] =
          (r * 7 + c * 3 + seed) % 23 == 0 ? 0 : static_cast<std::uint16_t>(500 + (r * 131 + c * 17 + seed * 977) % 6000);
  ASSERT_EQ(GDALRasterIO(band, GF_Write, 0, 0, width, height, v.data(), width, height, GDT_UInt16, 0, 0), CE_None);
  GDALClose(ds);
}

json item(const std::string& id, const std::string& datetime, const std::string& red, const std::string& nir, double x,
          double y, int width, int height) {
  json band = {{"data_type", "uint16"}, {"nodata", 0}, {"scale", 0.0001}, {"offset", -0.1}};
  json a = json::object();
  for (const auto& [key, path] : {std::pair{"red", red}, std::pair{"nir", nir}})
    a[key] = {{"href", path}, {"roles", {"data"}}, {"proj:transform", {10, 0, x, 0, -10, y}},
              {"proj:shape", {height, width}}, {"raster:bands", {band}}};
  return {{"type", "Feature"}, {"id", id}, {"geometry", nullptr},
          {"properties", {{"datetime", datetime}, {"proj:epsg", 32632}}}, {"assets", a}};
}

class StackRows : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = stac_test::temp_dir("rows"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

}  // namespace

TEST_F(StackRows, NdviClipReadsTheBandsRowByRowWithIdenticalValues) {
  // A: 200 x 150 tiled at (600000, 5200000); B: 170 x 130 tiled, shifted 37 columns right and 23
  // rows down (its tile rows straddle A's and the chunks'); C: nir untiled (read whole), red tiled.
  write_raster(file("a_red.tif"), 600000, 5200000, 200, 150, 1, true);
  write_raster(file("a_nir.tif"), 600000, 5200000, 200, 150, 2, true);
  write_raster(file("b_red.tif"), 600370, 5199770, 170, 130, 3, true);
  write_raster(file("b_nir.tif"), 600370, 5199770, 170, 130, 4, true);
  write_raster(file("c_red.tif"), 600370, 5199770, 170, 130, 5, true);
  write_raster(file("c_nir.tif"), 600370, 5199770, 170, 130, 6, false);
  ItemCollection items(
      {Item::from_json(item("A", "2023-05-01T10:00:00Z", file("a_red.tif"), file("a_nir.tif"), 600000, 5200000, 200, 150)),
       Item::from_json(item("B", "2023-05-01T10:05:00Z", file("b_red.tif"), file("b_nir.tif"), 600370, 5199770, 170, 130)),
       Item::from_json(item("C", "2023-05-03T10:00:00Z", file("c_red.tif"), file("c_nir.tif"), 600370, 5199770, 170, 130))});
  StackOptions o;
  o.assets = {"red", "nir"};
  o.chunksize = {1, 2, 50, 70};
  o.bounds = Bounds{600000, 5198000, 602500, 5200000};  // past the data on the right and below: cells no asset reaches
  DataArray cube = stack(items, o);
  DataArray red = cube.sel({{"band", "red"}}), nir = cube.sel({{"band", "nir"}});
  DataArray ndvi = write_crs((nir - red) / (nir + red), Crs::epsg(32632));
  // A polygon that crops the grid off chunk boundaries and masks a corner.
  Polygon area{{{600105, 5199995}, {602205, 5199995}, {602205, 5198305}, {600805, 5198305}, {600105, 5199205},
                {600105, 5199995}}};
  ClipOptions co;
  co.crs = Crs::epsg(32632);
  DataArray clipped = clip(ndvi, {Geometry({area}, Crs::epsg(32632))}, co);
  DataArray daily = clipped.groupby(floor_time(clipped.coords().at("time"), "D")).max();

  // The reads went into the NDVI program: no stac_read layer is left, and it has constant chunks
  // (cells no footprint reaches) carried over.
  auto layers = optimize_layers({clipped.layer()});
  std::size_t reads = 0, inlined = 0;
  for (const auto* l : graph::topological_layers(layers)) {
    reads += l->op == "stac_read";
    if (l->params.contains("sources")) {
      inlined += l->params["sources"].size();
      ASSERT_TRUE(l->constant);
      EXPECT_FALSE(l->constant->chunks.empty());
    }
  }
  EXPECT_EQ(reads, 0u);
  EXPECT_EQ(inlined, 2u);

  ComputeOptions plain;
  plain.optimize = false;
  for (const DataArray& x : {clipped, daily}) {
    auto got = x.compute().values<double>();
    auto ref = x.compute(plain).values<double>();
    ASSERT_EQ(got.size(), ref.size());
    std::size_t nans = 0, values = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      nans += std::isnan(ref[i]);
      values += !std::isnan(ref[i]);
      ASSERT_EQ(std::memcmp(&got[i], &ref[i], sizeof(double)), 0) << "element " << i << ": " << got[i] << " vs " << ref[i];
    }
    EXPECT_GT(nans, 0u);
    EXPECT_GT(values, 1000u);
  }
}

TEST_F(StackRows, AnUnreadableAssetFailsNamingTheItemOrIsSkipped) {
  write_raster(file("a_red.tif"), 600000, 5200000, 200, 150, 1, true);
  ItemCollection items({Item::from_json(
      item("A", "2023-05-01T10:00:00Z", file("a_red.tif"), file("missing.tif"), 600000, 5200000, 200, 150))});
  StackOptions o;
  o.assets = {"red", "nir"};
  o.chunksize = {1, 2, 64, 64};
  DataArray cube = stack(items, o);
  DataArray ndvi = cube.sel({{"band", "nir"}}) - cube.sel({{"band", "red"}});
  const std::string why = stac_test::error_of([&] { ndvi.compute(); });
  EXPECT_NE(why.find("item 'A' asset 'nir'"), std::string::npos) << why;
  EXPECT_NE(why.find("missing.tif"), std::string::npos) << why;

  o.skip_bad_assets = true;
  DataArray skipped = stack(items, o);
  DataArray diff = skipped.sel({{"band", "nir"}}) - skipped.sel({{"band", "red"}});
  testing::internal::CaptureStderr();
  auto v = diff.compute().values<double>();
  testing::internal::GetCapturedStderr();
  for (double x : v) EXPECT_TRUE(std::isnan(x));  // the missing nir is NaN, and so is every difference
}
