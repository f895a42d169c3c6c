// load_stac over static STAC documents (an ItemCollection file and a Catalog with item links)
// whose assets are small GeoTIFFs written here with GDAL; load_collection's configuration error.
#include <cpl_conv.h>
#include <gdal.h>
#include <gtest/gtest.h>
#include <ogr_srs_api.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "../stac/stac_test_util.hpp"
#include "helpers.hpp"

namespace cubist::openeo::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kRows = 4, kCols = 5;

// Pixel (r, c) of item i, band b (0 red, 1 nir).
double pixel(int i, int b, int r, int c) { return 100.0 * i + 1000.0 * b + 5 * r + c + 1; }

void write_tif(const fs::path& path, int item, int band) {
  GDALAllRegister();
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path.c_str(), kCols, kRows, 1, GDT_Float64, nullptr);
  ASSERT_NE(ds, nullptr);
  double gt[6] = {500000, 10, 0, 5200000, 0, -10};
  GDALSetGeoTransform(ds, gt);
  OGRSpatialReferenceH srs = OSRNewSpatialReference(nullptr);
  OSRImportFromEPSG(srs, 32632);
  char* wkt = nullptr;
  OSRExportToWkt(srs, &wkt);
  GDALSetProjection(ds, wkt);
  CPLFree(wkt);
  OSRDestroySpatialReference(srs);
  std::vector<double> v;
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < kCols; ++c) v.push_back(pixel(item, band, r, c));
  ASSERT_EQ(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Write, 0, 0, kCols, kRows, v.data(), kCols, kRows, GDT_Float64, 0, 0), CE_None);
  GDALClose(ds);
}

struct StaticCatalog {
  fs::path dir, item_collection, catalog;
};

// Items 0, 1, 2 on 2023-05-01, 2023-05-10, 2023-06-01 with cloud cover 5, 30, 10.
const StaticCatalog& catalog() {
  static StaticCatalog c = [] {
    StaticCatalog s;
    s.dir = stac_test::temp_dir("openeo_load");
    const char* dates[] = {"2023-05-01T10:00:00Z", "2023-05-10T10:00:00Z", "2023-06-01T10:00:00Z"};
    const double clouds[] = {5, 30, 10};
    json features = json::array();
    json links = json::array();
    for (int i = 0; i < 3; ++i) {
      const std::string id = "item" + std::to_string(i);
      json item = stac_test::make_item(id, dates[i], 32632, {10, 0, 500000, 0, -10, 5200000}, {kRows, kCols});
      item["bbox"] = {8.9, 46.9, 9.1, 47.0};
      item["properties"]["eo:cloud_cover"] = clouds[i];
      for (int b = 0; b < 2; ++b) {
        const std::string key = b ? "nir" : "red";
        write_tif(s.dir / (id + "_" + key + ".tif"), i, b);
        item["assets"][key]["href"] = id + "_" + key + ".tif";
        item["assets"][key]["raster:bands"] = {{{"data_type", "float64"}}};
      }
      // Band metadata: red's on its asset, nir's in the item's properties (both are STAC's ways).
      item["assets"]["red"]["eo:bands"] = {{{"name", "B04"}, {"common_name", "red"}, {"center_wavelength", 0.665}}};
      item["properties"]["eo:bands"] = {{{"name", "nir"}, {"common_name", "nir"}, {"center_wavelength", 0.842}}};
      std::ofstream(s.dir / (id + ".json")) << item.dump();
      features.push_back(item);
      links.push_back({{"rel", "item"}, {"href", "./" + id + ".json"}});
    }
    s.item_collection = s.dir / "items.json";
    std::ofstream(s.item_collection) << json{{"type", "FeatureCollection"}, {"features", features}}.dump();
    s.catalog = s.dir / "catalog.json";
    std::ofstream(s.catalog) << json{{"type", "Catalog"}, {"stac_version", "1.0.0"}, {"id", "c"}, {"description", "test"},
                                     {"links", links}}.dump();
    return s;
  }();
  return c;
}

DataArray load(json args) {
  Value v = eval(single("load_stac", args));
  EXPECT_EQ(v.kind, Value::Kind::Cube);
  return v.cube;
}

TEST(OpenEoLoad, LoadStacFromAnItemCollectionFile) {
  DataArray cube = load({{"url", catalog().item_collection.string()}, {"bands", {"red", "nir"}}});
  EXPECT_EQ(cube.coords().at("band").string_values(), (std::vector<std::string>{"red", "nir"}));
  // Without bands: every data asset, in key order (stackstac's default).
  EXPECT_EQ(load({{"url", catalog().item_collection.string()}}).coords().at("band").string_values(),
            (std::vector<std::string>{"nir", "red"}));
  EXPECT_EQ(cube.dims(), (std::vector<std::string>{"time", "band", "y", "x"}));
  EXPECT_EQ(cube.shape(), (Shape{3, 2, kRows, kCols}));
  const auto v = values(cube);
  std::size_t k = 0;
  for (int i = 0; i < 3; ++i)
    for (int b = 0; b < 2; ++b)
      for (int r = 0; r < kRows; ++r)
        for (int c = 0; c < kCols; ++c) ASSERT_DOUBLE_EQ(v[k++], pixel(i, b, r, c)) << i << b << r << c;
}

TEST(OpenEoLoad, LoadStacFromACatalogFollowsItemLinks) {
  DataArray cube = load({{"url", catalog().catalog.string()}, {"bands", {"nir"}}});
  EXPECT_EQ(cube.shape(), (Shape{3, 1, kRows, kCols}));
  EXPECT_DOUBLE_EQ(values(cube)[0], pixel(0, 1, 0, 0));
}

TEST(OpenEoLoad, BandMetadataFromEoBandsFeedsFilterBands) {
  DataArray cube = load({{"url", catalog().item_collection.string()}, {"bands", {"red", "nir"}}});
  EXPECT_EQ(cube.coords().at("common_name").string_values(), (std::vector<std::string>{"red", "nir"}));
  const Coordinate& wl = cube.coords().at("center_wavelength");
  EXPECT_DOUBLE_EQ(wl.numeric_value(0), 0.665);
  EXPECT_DOUBLE_EQ(wl.numeric_value(1), 0.842);
  json g = {{"l", {{"process_id", "load_stac"}, {"arguments", {{"url", catalog().item_collection.string()}}}}},
            {"f", {{"process_id", "filter_bands"},
                   {"arguments", {{"data", {{"from_node", "l"}}}, {"wavelengths", {{0.8, 0.9}}}}},
                   {"result", true}}}};
  DataArray nir = eval({{"process_graph", g}}).cube;
  EXPECT_EQ(nir.coords().at("band").string_values(), (std::vector<std::string>{"nir"}));
  EXPECT_DOUBLE_EQ(values(nir)[0], pixel(0, 1, 0, 0));
}

TEST(OpenEoLoad, ExtentsAndPropertyFilters) {
  // [start, end): the item of 2023-06-01T10:00 is excluded by an end at that instant.
  DataArray may = load({{"url", catalog().item_collection.string()}, {"temporal_extent", {"2023-05-01", "2023-06-01T10:00:00Z"}}});
  EXPECT_EQ(may.size("time"), 2);
  const json lte20 = {{"process_graph", {{"c", {{"process_id", "lte"}, {"arguments", {{"x", {{"from_parameter", "value"}}}, {"y", 20}}}, {"result", true}}}}}};
  DataArray clear = load({{"url", catalog().item_collection.string()}, {"bands", {"red", "nir"}}, {"properties", {{"eo:cloud_cover", lte20}}}});
  EXPECT_EQ(clear.size("time"), 2);
  EXPECT_DOUBLE_EQ(values(clear.isel({{"time", 1}}))[0], pixel(2, 0, 0, 0));
  // A bounding box in the data's CRS crops to the pixel centres inside it.
  DataArray box = load({{"url", catalog().item_collection.string()}, {"bands", {"red", "nir"}},
                        {"spatial_extent", {{"west", 500011}, {"east", 500031}, {"south", 5199981}, {"north", 5199999}, {"crs", 32632}}}});
  EXPECT_EQ(box.shape(), (Shape{3, 2, 2, 2}));
  EXPECT_DOUBLE_EQ(values(box)[0], pixel(0, 0, 0, 1));
  // Nothing left after filtering: an error naming the argument.
  try {
    load({{"url", catalog().item_collection.string()}, {"temporal_extent", {"2020-01-01", "2020-02-01"}}});
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("argument 'url'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load({{"url", (catalog().dir / "missing.json").string()}}), ValueError);
}

TEST(OpenEoLoad, TemporalExtentGivesEveryPeriodToAggregateTemporalPeriod) {
  // Items on 2023-05-01, 2023-05-10 and 2023-06-01; the extent [2023-04-01, 2023-08-01) has four
  // months: April and July without data, also after resample_spatial stacked the items again.
  const json reducer = {{"process_graph", {{"m", {{"process_id", "max"}, {"arguments", {{"data", {{"from_parameter", "data"}}}}}, {"result", true}}}}}};
  json g = {{"l", {{"process_id", "load_stac"},
                   {"arguments", {{"url", catalog().item_collection.string()}, {"bands", {"red"}}, {"temporal_extent", {"2023-04-01", "2023-08-01"}}}}}},
            {"p", {{"process_id", "aggregate_temporal_period"}, {"arguments", {{"data", {{"from_node", "l"}}}, {"period", "month"}, {"reducer", reducer}}}, {"result", true}}}};
  for (bool resampled : {false, true}) {
    if (resampled) {
      g["r"] = {{"process_id", "resample_spatial"}, {"arguments", {{"data", {{"from_node", "l"}}}, {"resolution", 20}}}};
      g["p"]["arguments"]["data"] = {{"from_node", "r"}};
    }
    const DataArray months = eval({{"process_graph", g}}).cube;
    EXPECT_EQ(months.coords().at("period").string_values(), (std::vector<std::string>{"2023-04", "2023-05", "2023-06", "2023-07"}));
    const auto v = values(months);
    const std::size_t plane = v.size() / 4;
    EXPECT_TRUE(std::isnan(v[0]));
    if (!resampled) {
      EXPECT_DOUBLE_EQ(v[plane], pixel(1, 0, 0, 0));  // May: the later item is larger
    }
    EXPECT_FALSE(std::isnan(v[2 * plane]));
    EXPECT_TRUE(std::isnan(v[3 * plane]));
  }
}

TEST(OpenEoLoad, LoadCollectionNeedsAConfiguredStacApi) {
  ::unsetenv("CUBIST_STAC_URL");
  try {
    eval(single("load_collection", {{"id", "sentinel-2-l2a"}}));
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("argument 'id'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--stac-url"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cubist::openeo::testing

namespace cubist::openeo::testing {
namespace {

TEST(OpenEoLoad, ResampleSpatialRestacksALoadedCube) {
  json g = {{"l", {{"process_id", "load_stac"}, {"arguments", {{"url", catalog().item_collection.string()}, {"bands", {"red"}}}}}},
            {"r", {{"process_id", "resample_spatial"}, {"arguments", {{"data", {{"from_node", "l"}}}, {"resolution", 20}, {"method", "average"}}}, {"result", true}}}};
  DataArray coarse = eval(g).cube;
  // 50 m x 40 m of 10 m pixels on a 20 m grid snapped to it: 3 columns, 2 rows.
  EXPECT_EQ(coarse.shape(), (Shape{3, 1, 2, 3}));
  const Coordinate& x = coarse.coords().at("x");
  EXPECT_DOUBLE_EQ(x.numeric_value(1) - x.numeric_value(0), 20);
  // The average of the 2 x 2 block at the origin.
  const double mean = (pixel(0, 0, 0, 0) + pixel(0, 0, 0, 1) + pixel(0, 0, 1, 0) + pixel(0, 0, 1, 1)) / 4;
  EXPECT_DOUBLE_EQ(values(coarse)[0], mean);
  // Reprojected: the CRS changes, the data stays.
  g["r"]["arguments"] = {{"data", {{"from_node", "l"}}}, {"projection", "EPSG:32633"}};
  DataArray utm33 = eval(g).cube;
  ASSERT_TRUE(crs_of(utm33).has_value());
  EXPECT_EQ(crs_of(utm33)->to_epsg(), 32633);
  // A cube that is no longer the loaded one is warped by reproject() (tests/openeo/test_resample.cpp).
  g["a"] = {{"process_id", "apply"}, {"arguments", {{"data", {{"from_node", "l"}}}, {"process", {{"process_graph", {{"m", {{"process_id", "multiply"}, {"arguments", {{"x", {{"from_parameter", "x"}}}, {"y", 2}}}, {"result", true}}}}}}}}}};
  g["r"]["arguments"] = {{"data", {{"from_node", "a"}}}, {"resolution", 20}, {"method", "average"}};
  DataArray doubled = eval(g).cube;
  EXPECT_EQ(doubled.shape(), (Shape{3, 1, 2, 3}));
  EXPECT_DOUBLE_EQ(values(doubled)[0], 2 * mean);
}

TEST(OpenEoLoad, ResampledLoadKeepsBandMetadataForFilterBands) {
  json g = {{"l", {{"process_id", "load_stac"}, {"arguments", {{"url", catalog().item_collection.string()}, {"bands", {"red", "nir"}}}}}},
            {"r", {{"process_id", "resample_spatial"}, {"arguments", {{"data", {{"from_node", "l"}}}, {"resolution", 20}}}}},
            {"f", {{"process_id", "filter_bands"}, {"arguments", {{"data", {{"from_node", "r"}}}, {"wavelengths", {{0.8, 0.9}}}}}, {"result", true}}}};
  DataArray nir = eval(g).cube;
  EXPECT_EQ(nir.coords().at("band").string_values(), (std::vector<std::string>{"nir"}));
  EXPECT_EQ(nir.coords().at("common_name").string_values(), (std::vector<std::string>{"nir"}));
  EXPECT_EQ(nir.shape(), (Shape{3, 1, 2, 3}));
}

}  // namespace
}  // namespace cubist::openeo::testing
