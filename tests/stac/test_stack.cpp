// stack(): the output grid and coordinates against hand-computed values, bad input, the lazy
// repr of a ~1 TB cube, and pixels of small GeoTIFFs written here with GDAL (aligned and
// misaligned grids, nodata, scale/offset, a missing file with and without skip_bad_assets).
#include <gtest/gtest.h>

#include <cmath>
#include <fmt/format.h>
#include <cpl_conv.h>
#include <gdal.h>
#include <ogr_srs_api.h>

#include "cubist/datetime.hpp"
#include "cubist/error.hpp"
#include "cubist/stac.hpp"
#include "stac/stack_plan.hpp"
#include "stac_test_util.hpp"

using namespace cubist;
using nlohmann::json;
using stac_test::error_of;
using stac_test::make_item;

namespace {

ItemCollection collection(const std::vector<json>& features) {
  std::vector<Item> items;
  for (const auto& f : features) items.push_back(Item::from_json(f));
  return ItemCollection(std::move(items));
}

// Two items in EPSG:32632: A (200 x 100 px at 10 m from 600000, 5200000), B (100 x 100 px at
// 10 m from 600995, 5199505), B acquired first.
ItemCollection two_items() {
  json a = make_item("A", "2023-05-02T10:00:00Z", 32632, {10, 0, 600000, 0, -10, 5200000}, {100, 200});
  json b = make_item("B", "2023-05-01T10:00:00Z", 32632, {10, 0, 600995, 0, -10, 5199505}, {100, 100});
  b["properties"]["eo:cloud_cover"] = 3;
  b["properties"]["platform"] = "sentinel-2b";
  return collection({a, b});
}

}  // namespace

TEST(StacStack, GridFromUnionOfFootprintsSnapped) {
  const ItemCollection two = two_items();  // the plan points into it
  stac::StackPlan plan = stac::plan_stack(two, {});
  EXPECT_EQ(plan.epsg, 32632);
  EXPECT_EQ(plan.xres, 10);
  EXPECT_EQ(plan.yres, 10);
  // Union x 600000..602000, y 5198505..5200000; miny snaps down to 5198500.
  EXPECT_EQ(plan.bounds.minx, 600000);
  EXPECT_EQ(plan.bounds.miny, 5198500);
  EXPECT_EQ(plan.bounds.maxx, 602000);
  EXPECT_EQ(plan.bounds.maxy, 5200000);
  EXPECT_EQ(plan.width, 200);
  EXPECT_EQ(plan.height, 150);
  EXPECT_EQ(plan.transform.a, 10);
  EXPECT_EQ(plan.transform.c, 600000);
  EXPECT_EQ(plan.transform.e, -10);
  EXPECT_EQ(plan.transform.f, 5200000);
  ASSERT_EQ(plan.items.size(), 2u);
  EXPECT_EQ(plan.items[0]->id, "B");  // sorted by datetime
  EXPECT_EQ(plan.bands, (std::vector<std::string>{"nir", "red"}));  // all data assets, key order
  const auto& cell = plan.read.cell(0, 1);
  EXPECT_EQ(cell.item_id, "B");
  EXPECT_EQ(cell.asset_key, "red");
  EXPECT_EQ(cell.href, "https://example.com/B/red.tif");
  EXPECT_EQ(cell.footprint.minx, 600995);
  EXPECT_EQ(cell.footprint.maxy, 5199505);
  EXPECT_EQ(cell.nodata, 0);
  EXPECT_DOUBLE_EQ(cell.scale, 0.0001);
  EXPECT_DOUBLE_EQ(cell.offset, -0.1);

  StackOptions o;
  o.resolution = 20;
  o.assets = {"red"};
  plan = stac::plan_stack(two, o);
  EXPECT_EQ(plan.width, 100);  // 2000 m / 20
  EXPECT_EQ(plan.height, 75);  // 5198500 is a multiple of 20: 1500 m / 20
  EXPECT_EQ(plan.bands, std::vector<std::string>{"red"});

  o.bounds = Bounds{600013, 5199001, 600101, 5199099};
  plan = stac::plan_stack(two, o);
  EXPECT_EQ(plan.bounds.minx, 600000);
  EXPECT_EQ(plan.bounds.miny, 5199000);
  EXPECT_EQ(plan.bounds.maxx, 600120);
  EXPECT_EQ(plan.bounds.maxy, 5199100);
  EXPECT_EQ(plan.width, 6);
  EXPECT_EQ(plan.height, 5);

  // The finest resolution wins; another CRS reprojects footprints.
  json c = make_item("C", "2023-05-03T10:00:00Z", 32632, {20, 0, 600000, 0, -20, 5200000}, {10, 10});
  json a = make_item("A", "2023-05-02T10:00:00Z", 32632, {10, 0, 600000, 0, -10, 5200000}, {100, 200});
  const ItemCollection ca = collection({c, a});
  plan = stac::plan_stack(ca, {});
  EXPECT_EQ(plan.xres, 10);
  StackOptions to33;
  to33.epsg = 32633;
  to33.resolution = 10;
  plan = stac::plan_stack(ca, to33);
  EXPECT_EQ(plan.epsg, 32633);
  EXPECT_EQ(plan.read.crs_table.size(), 2u);  // output CRS and the assets' 32632
  EXPECT_EQ(plan.read.cell(0, 0).crs_index, 1u);
  EXPECT_LT(plan.bounds.minx, 200000);  // 9.x°E is far west of UTM 33's central meridian
}

TEST(StacStack, CoordsAndAttrs) {
  StackOptions o;
  o.assets = {"red", "nir"};
  o.chunksize = {1, 2, 64, -1};
  DataArray da = stack(two_items(), o);
  EXPECT_EQ(da.dims(), (std::vector<std::string>{"time", "band", "y", "x"}));
  EXPECT_EQ(da.shape(), (Shape{2, 2, 150, 200}));
  EXPECT_EQ(da.dtype(), DType::Float64);
  EXPECT_EQ(da.chunks().max_chunk_shape(), (Shape{1, 2, 64, 200}));
  EXPECT_EQ(da.chunks().total_chunks(), 2 * 3);
  const auto& c = da.coords();
  EXPECT_EQ(c.at("time").values().values<std::int64_t>()[0], datetime_ns("2023-05-01T10:00:00"));
  EXPECT_EQ(c.at("time").values().values<std::int64_t>()[1], datetime_ns("2023-05-02T10:00:00"));
  EXPECT_EQ(c.at("band").string_values(), (std::vector<std::string>{"red", "nir"}));
  const auto x = c.at("x").values().values<double>();
  const auto y = c.at("y").values().values<double>();
  EXPECT_EQ(x[0], 600005);
  EXPECT_EQ(x[199], 601995);
  EXPECT_EQ(y[0], 5199995);
  EXPECT_EQ(y[149], 5198505);
  EXPECT_EQ(c.at("id").string_values(), (std::vector<std::string>{"B", "A"}));
  EXPECT_EQ(c.at("platform").string_values(), (std::vector<std::string>{"sentinel-2b", "sentinel-2a"}));
  EXPECT_EQ(c.at("eo:cloud_cover").dtype(), DType::Float64);
  EXPECT_EQ(c.at("eo:cloud_cover").values().values<double>()[0], 3);
  EXPECT_EQ(c.at("eo:cloud_cover").values().values<double>()[1], 12.5);
  EXPECT_EQ(c.at("proj:epsg").dtype(), DType::Int64);
  EXPECT_EQ(c.at("proj:epsg").dims(), std::vector<std::string>{"time"});
  EXPECT_EQ(c.at("epsg").dims().size(), 0u);
  EXPECT_EQ(c.at("epsg").values().values<std::int64_t>()[0], 32632);
  EXPECT_FALSE(c.contains("datetime"));
  ASSERT_TRUE(c.contains("spatial_ref"));
  auto crs = crs_of(da);
  ASSERT_TRUE(crs);
  EXPECT_EQ(crs->to_epsg(), 32632);
  const Affine t = transform_of(da);
  EXPECT_EQ(t.c, 600000);
  EXPECT_EQ(t.f, 5200000);
  EXPECT_EQ(da.attrs()["crs"], "epsg:32632");
  EXPECT_EQ(da.attrs()["resolution"], 10.0);
  EXPECT_EQ(da.attrs()["transform"], (json{10.0, 0.0, 600000.0, 0.0, -10.0, 5200000.0, 0.0, 0.0, 1.0}));
}

TEST(StacStack, ReprOfATerabyteCubeReadsNothing) {
  // 500 scenes x 2 bands of 10980 x 10980 float64 (964.5 GB = 898.24 GiB) at hrefs that do not exist: only a graph.
  std::vector<json> features;
  for (int i = 0; i < 500; ++i) {
    json f = make_item(fmt::format("S2_{:03}", i), fmt::format("2023-{:02}-{:02}T10:00:00Z", 1 + i / 28 % 12, 1 + i % 28),
                       32632, {10, 0, 600000, 0, -10, 5200020}, {10980, 10980});
    for (auto* k : {"red", "nir"}) f["assets"][k]["href"] = "/nonexistent/cubist/" + std::to_string(i) + k + ".tif";
    features.push_back(f);
  }
  StackOptions o;
  o.assets = {"red", "nir"};
  o.chunksize = {1, 2, 1024, 1024};
  DataArray da = stack(collection(features), o);
  EXPECT_EQ(da.shape(), (Shape{500, 2, 10980, 10980}));
  EXPECT_EQ(da.nbytes(), 500ull * 2 * 10980 * 10980 * 8);
  const std::string r = da.repr();
  EXPECT_NE(r.find("<cubist.DataArray 'stackstac' (time: 500, band: 2, y: 10980, x: 10980)>"), std::string::npos) << r;
  EXPECT_NE(r.find("cubist.array<stack, shape=(500, 2, 10980, 10980), dtype=float64, chunksize=(1, 2, 1024, 1024), "
                   "chunks=60500"), std::string::npos) << r;
  EXPECT_NE(r.find("size=898.24 GiB"), std::string::npos) << r;
}

TEST(StacStack, BadInputIsOneClearLine) {
  const std::array<double, 6> t{10, 0, 600000, 0, -10, 5200000};
  EXPECT_EQ(error_of<ValueError>([] { stack(ItemCollection{}, {}); }),
            "stack: the ItemCollection has no items (did the search find nothing?)");
  json noproj = make_item("NP", "2023-05-01T00:00:00Z", 32632, t, {10, 10});
  noproj["properties"].erase("proj:epsg");
  noproj["assets"]["red"].erase("proj:epsg");
  StackOptions red;
  red.assets = {"red"};
  EXPECT_EQ(error_of<ValueError>([&] { stack(collection({noproj}), red); }),
            "stack: STAC item 'NP' asset 'red' has no projection info (missing proj:epsg/proj:code at asset and item level)");
  json a = make_item("A", "2023-05-01T00:00:00Z", 32632, t, {10, 10});
  json b = make_item("B", "2023-05-02T00:00:00Z", 32632, t, {10, 10}, {"nir"});
  EXPECT_EQ(error_of<KeyError>([&] { stack(collection({a, b}), red); }), "STAC item 'B' has no asset 'red' (it has: nir)");
  json c = make_item("C", "2023-05-02T00:00:00Z", 32633, t, {10, 10});
  EXPECT_EQ(error_of<ValueError>([&] { stack(collection({a, c}), red); }),
            "stack: the items are in different CRSs: EPSG:32632 (A) vs EPSG:32633 (C); pass StackOptions::epsg to pick the "
            "output CRS");
  StackOptions ints = red;
  ints.dtype = DType::UInt16;
  EXPECT_NE(error_of<ValueError>([&] { stack(collection({a}), ints); }).find("fill_value nan cannot be stored as uint16"),
            std::string::npos);
  ints.fill_value = 0;  // representable now, but raster:bands scale 0.0001 is not
  EXPECT_EQ(error_of<ValueError>([&] { stack(collection({a}), ints); }),
            "stack: STAC item 'A' asset 'red' has raster:bands scale 0.0001 / offset -0.1, which uint16 cannot hold; pass a "
            "float dtype or rescale = false");
  ints.rescale = false;
  EXPECT_EQ(stack(collection({a}), ints).dtype(), DType::UInt16);
  StackOptions chunks = red;
  chunks.chunksize = {1, 1, 0, 5};
  EXPECT_THROW(stack(collection({a}), chunks), ValueError);
  chunks.chunksize = {1, 1, 5};
  EXPECT_THROW(stack(collection({a}), chunks), ValueError);
  StackOptions empty = red;
  empty.bounds = Bounds{5, 5, 5, 10};
  EXPECT_NE(error_of<ValueError>([&] { stack(collection({a}), empty); }).find("are empty"), std::string::npos);
}

TEST(StacStack, MissingAssetIsFilledWhenSkipping) {
  const std::array<double, 6> t{10, 0, 600000, 0, -10, 5200000};
  json a = make_item("A", "2023-05-01T00:00:00Z", 32632, t, {10, 10});
  json b = make_item("B", "2023-05-02T00:00:00Z", 32632, t, {10, 10}, {"nir"});
  StackOptions o;
  o.assets = {"red", "nir"};
  o.skip_bad_assets = true;
  testing::internal::CaptureStderr();
  const ItemCollection ab = collection({a, b});
  stac::StackPlan plan = stac::plan_stack(ab, o);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("item 'B' has no asset 'red'"), std::string::npos) << err;
  EXPECT_EQ(plan.read.cell(1, 0).href, "");
  EXPECT_EQ(plan.read.cell(1, 1).href, "https://example.com/B/nir.tif");
  // The params survive their JSON round trip (what a remote worker would receive).
  const stac::ReadParams back = stac::ReadParams::from_json(plan.read.to_json());
  EXPECT_EQ(back.to_json(), plan.read.to_json());
  EXPECT_EQ(back.cell(1, 0).href, "");
  EXPECT_TRUE(std::isnan(back.fill_value));
}

TEST(StacStack, WktOnlyCrsNeedsAnEpsg) {
  json a = make_item("W", "2023-05-01T00:00:00Z", 32632, {10, 0, 600000, 0, -10, 5200000}, {10, 10});
  a["properties"].erase("proj:epsg");
  for (auto* k : {"red", "nir"}) {
    a["assets"][k].erase("proj:epsg");
    a["assets"][k]["proj:wkt2"] = Crs::epsg(32632).wkt();
  }
  EXPECT_EQ(error_of<ValueError>([&] { stac::plan_stack(collection({a}), {}); }),
            "stack: items W have a CRS without an EPSG code; pass StackOptions::epsg");
  StackOptions o;
  o.epsg = 32632;
  o.resolution = 10;
  const ItemCollection only_a = collection({a});
  stac::StackPlan plan = stac::plan_stack(only_a, o);
  EXPECT_NEAR(plan.bounds.minx, 600000, 1e-6);
  EXPECT_NEAR(plan.bounds.maxy, 5200000, 1e-6);
  EXPECT_EQ(plan.width, 10);
  a["assets"]["red"]["proj:wkt2"] = "NOT A CRS";
  o.assets = {"red"};
  EXPECT_NE(error_of<ValueError>([&] { stac::plan_stack(collection({a}), o); }).find("STAC item 'W' asset 'red': unusable CRS"),
            std::string::npos);
}

TEST(StacStack, ChunksNoFootprintReachesAreConstant) {
  // Grid 150 x 200 px; chunks of 40 rows x 90 columns. B (time 0) covers rows 49.5..149.5 and
  // columns 99.5..199.5: it misses the first chunk row and the first chunk column. A (time 1)
  // covers rows 0..100: it misses the last chunk row.
  StackOptions o;
  o.chunksize = {1, 2, 40, 90};
  DataArray da = stack(two_items(), o);
  ASSERT_EQ(da.shape(), (Shape{2, 2, 150, 200}));
  ASSERT_TRUE(da.layer()->constant);
  EXPECT_EQ(da.layer()->constant->chunks, (std::vector<std::int64_t>{0, 1, 2, 3, 6, 9, 21, 22, 23}));
  EXPECT_TRUE(std::isnan(da.layer()->constant->value));
  o.fill_value = -5;
  o.dtype = DType::Int16;
  o.rescale = false;
  EXPECT_EQ(stack(two_items(), o).layer()->constant->value, -5.0);
}
