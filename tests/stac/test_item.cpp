// STAC Items: parsing, every projection fallback, datetimes, hrefs, validation errors, and
// ItemCollection save/load round trips.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "cubist/datetime.hpp"
#include "cubist/error.hpp"
#include "cubist/stac.hpp"
#include "stac/datetime_text.hpp"
#include "stac/href.hpp"
#include "stac_test_util.hpp"

using namespace cubist;
using nlohmann::json;
using stac_test::error_of;
using stac_test::make_item;

namespace {

const std::array<double, 6> kT{10, 0, 600000, 0, -10, 5200000};

}  // namespace

TEST(StacItem, ParsesEarthSearchShape) {
  Item it = Item::from_json(make_item("S2A_1", "2023-05-01T10:20:30.5Z", 32632, kT, {1098, 1099}));
  EXPECT_EQ(it.id, "S2A_1");
  EXPECT_EQ(it.collection, "sentinel-2-l2a");
  EXPECT_EQ(it.datetime, datetime_ns("2023-05-01T10:20:30.5"));
  ASSERT_TRUE(it.bbox);
  EXPECT_EQ(it.bbox->size(), 4u);
  ASSERT_EQ(it.assets.size(), 2u);
  const Asset& red = it.asset("red");
  EXPECT_EQ(red.href, "https://example.com/S2A_1/red.tif");
  EXPECT_TRUE(red.has_role("data"));
  EXPECT_EQ(red.title, "red band");
  EXPECT_EQ(red.proj.epsg, 32632);
  ASSERT_TRUE(red.proj.transform);
  EXPECT_EQ((*red.proj.transform)[2], 600000);
  EXPECT_EQ((*red.proj.shape)[0], 1098);
  EXPECT_EQ((*red.proj.shape)[1], 1099);
  ASSERT_EQ(red.raster_bands.size(), 1u);
  EXPECT_EQ(red.raster_bands[0].nodata, 0);
  EXPECT_DOUBLE_EQ(*red.raster_bands[0].scale, 0.0001);
  EXPECT_DOUBLE_EQ(*red.raster_bands[0].offset, -0.1);
  EXPECT_EQ(red.raster_bands[0].data_type, "uint16");
  EXPECT_EQ(it.raw, make_item("S2A_1", "2023-05-01T10:20:30.5Z", 32632, kT, {1098, 1099}));
}

TEST(StacItem, ProjectionFallsBackFromAssetToItem) {
  json f = make_item("i", "2023-05-01T00:00:00Z", 32632, kT, {10, 20});
  // Item level: code, transform, shape. Asset "red" overrides only the shape; "nir" nothing.
  f["properties"].erase("proj:epsg");
  f["properties"]["proj:code"] = "EPSG:32633";
  f["properties"]["proj:transform"] = {20, 0, 500000, 0, -20, 5100000, 0, 0, 1};
  f["properties"]["proj:shape"] = {5, 6};
  for (auto* key : {"red", "nir"}) {
    f["assets"][key].erase("proj:epsg");
    f["assets"][key].erase("proj:transform");
    f["assets"][key].erase("proj:shape");
  }
  f["assets"]["red"]["proj:shape"] = {7, 8};
  Item it = Item::from_json(f);
  EXPECT_EQ(it.proj.epsg, 32633);
  EXPECT_EQ(it.proj.code, "EPSG:32633");
  const auto& red = it.asset("red").proj;
  const auto& nir = it.asset("nir").proj;
  EXPECT_EQ(red.epsg, 32633);
  EXPECT_EQ((*red.shape)[0], 7);
  EXPECT_EQ((*red.shape)[1], 8);
  EXPECT_EQ((*nir.shape)[0], 5);
  ASSERT_TRUE(red.transform);
  EXPECT_EQ((*red.transform)[0], 20);  // 9 numbers accepted, first 6 kept
  EXPECT_EQ((*red.transform)[5], 5100000);
  EXPECT_TRUE(nir.has_grid() && nir.has_crs());

  // Asset-level proj:code wins over the item's proj:epsg; a WKT-only asset keeps its own CRS.
  json g = make_item("j", "2023-05-01T00:00:00Z", 32632, kT, {10, 20});
  g["assets"]["red"].erase("proj:epsg");
  g["assets"]["red"]["proj:code"] = "EPSG:32631";
  g["assets"]["nir"].erase("proj:epsg");
  g["assets"]["nir"]["proj:wkt2"] = "PROJCRS[\"x\"]";
  Item jt = Item::from_json(g);
  EXPECT_EQ(jt.asset("red").proj.epsg, 32631);
  EXPECT_FALSE(jt.asset("nir").proj.epsg);
  EXPECT_EQ(jt.asset("nir").proj.wkt2, "PROJCRS[\"x\"]");

  // Nothing anywhere: no grid.
  json h = make_item("k", "2023-05-01T00:00:00Z", 32632, kT, {10, 20});
  h["properties"].erase("proj:epsg");
  h["assets"]["red"].erase("proj:epsg");
  h["assets"]["red"].erase("proj:transform");
  EXPECT_FALSE(Item::from_json(h).asset("red").proj.has_crs());
  EXPECT_FALSE(Item::from_json(h).asset("red").proj.has_grid());
}

TEST(StacItem, StartDatetimeWhenDatetimeIsNull) {
  json f = make_item("i", "2023-05-01T00:00:00Z", 32632, kT, {10, 20});
  f["properties"]["datetime"] = nullptr;
  f["properties"]["start_datetime"] = "2023-04-30T22:00:00+02:00";
  f["properties"]["end_datetime"] = "2023-05-02T00:00:00Z";
  EXPECT_EQ(Item::from_json(f).datetime, datetime_ns("2023-04-30T20:00:00"));
  f["properties"].erase("start_datetime");
  EXPECT_NE(error_of<ValueError>([&] { Item::from_json(f); }).find("STAC item 'i': field 'properties.datetime' is null"),
            std::string::npos);
}

TEST(StacItem, Rfc3339) {
  EXPECT_EQ(stac::parse_rfc3339("2023-05-01T10:00:00Z"), datetime_ns("2023-05-01T10:00:00"));
  EXPECT_EQ(stac::parse_rfc3339("2023-05-01t10:00:00z"), datetime_ns("2023-05-01T10:00:00"));
  EXPECT_EQ(stac::parse_rfc3339("2023-05-01T10:00:00-01:30"), datetime_ns("2023-05-01T11:30:00"));
  EXPECT_EQ(stac::parse_rfc3339("2023-05-01T10:00:00.123456789123Z"), datetime_ns("2023-05-01T10:00:00.123456789"));
  EXPECT_THROW(stac::parse_rfc3339("2023-13-01T10:00:00Z"), ValueError);
  EXPECT_THROW(stac::parse_rfc3339("yesterday"), ValueError);
  EXPECT_THROW(stac::parse_rfc3339("9999-01-01T00:00:00Z"), ValueError);  // beyond datetime64[ns]
  EXPECT_THROW(stac::parse_rfc3339("1000-01-01T00:00:00Z"), ValueError);
}

TEST(StacItem, NonFiniteNodataStrings) {
  json f = make_item("i", "2023-05-01T00:00:00Z", 32632, kT, {10, 20});
  f["assets"]["red"]["raster:bands"][0]["nodata"] = "nan";
  f["assets"]["nir"]["raster:bands"][0]["nodata"] = "-inf";
  Item it = Item::from_json(f);
  EXPECT_TRUE(std::isnan(*it.asset("red").raster_bands[0].nodata));
  EXPECT_EQ(*it.asset("nir").raster_bands[0].nodata, -HUGE_VAL);
}

TEST(StacItem, RelativeHrefs) {
  json f = make_item("i", "2023-05-01T00:00:00Z", 32632, kT, {10, 20});
  f["assets"]["red"]["href"] = "./data/red.tif";
  f["assets"]["nir"]["href"] = "../other/nir.tif";
  // Against the self link...
  f["links"] = {{{"rel", "self"}, {"href", "http://127.0.0.1:8000/collections/s2/items/i"}}};
  Item a = Item::from_json(f);
  EXPECT_EQ(a.asset("red").href, "http://127.0.0.1:8000/collections/s2/items/data/red.tif");
  EXPECT_EQ(a.asset("nir").href, "http://127.0.0.1:8000/collections/s2/other/nir.tif");
  EXPECT_EQ(a.raw["assets"]["red"]["href"], "./data/red.tif");  // the published JSON is kept as is
  // ...else against the file the item came from.
  f["links"] = json::array();
  Item b = Item::from_json(f, "/srv/stac/items.geojson");
  EXPECT_EQ(b.asset("red").href, "/srv/stac/data/red.tif");
  EXPECT_EQ(b.asset("nir").href, "/srv/other/nir.tif");
  EXPECT_EQ(stac::resolve_href("file:///tmp/x.tif", "/a/b"), "/tmp/x.tif");
  EXPECT_EQ(stac::resolve_href("/abs/x.tif", "/data/items.json"), "/abs/x.tif");
  EXPECT_EQ(stac::resolve_href("/abs/x.tif?a=1", "https://h:8080/a/b"), "https://h:8080/abs/x.tif?a=1");
  EXPECT_EQ(stac::resolve_href("//cdn/x.tif", "https://h/a/b"), "https://cdn/x.tif");
  EXPECT_EQ(stac::resolve_href("x.tif", "https://h"), "https://h/x.tif");
  EXPECT_EQ(stac::resolve_href("x.tif", "https://h/a/b?page=2"), "https://h/a/x.tif");
}

TEST(StacItem, ValidationErrorsNameItemAndField) {
  auto err = [](json f) { return error_of<ValueError>([&] { Item::from_json(f); }); };
  json base = make_item("S2B_9", "2023-05-01T00:00:00Z", 32632, kT, {10, 20});
  json f = base;
  f["assets"]["red"]["proj:transform"] = {1, 2, 3};
  EXPECT_EQ(err(f), "STAC item 'S2B_9': field 'assets.red.proj:transform' must have 6 or 9 numbers, got 3");
  f = base;
  f["assets"]["nir"]["proj:shape"] = {10, -1};
  EXPECT_NE(err(f).find("'assets.nir.proj:shape' must be [rows, cols]"), std::string::npos);
  f = base;
  f["assets"]["red"].erase("href");
  EXPECT_EQ(err(f), "STAC item 'S2B_9': field 'assets.red.href' must be a non-empty string");
  f = base;
  f["properties"]["datetime"] = "not a date";
  EXPECT_NE(err(f).find("field 'properties.datetime' cannot parse 'not a date'"), std::string::npos);
  f = base;
  f["assets"]["red"]["proj:code"] = "EPSG:32633";
  EXPECT_NE(err(f).find("'assets.red.proj:code' 'EPSG:32633' contradicts proj:epsg 32632"), std::string::npos);
  f = base;
  f["assets"]["red"]["raster:bands"][0]["scale"] = "big";
  EXPECT_NE(err(f).find("'assets.red.raster:bands[0].scale' must be a number"), std::string::npos);
  f = base;
  f["type"] = "Collection";
  EXPECT_NE(err(f).find("field 'type' must be \"Feature\""), std::string::npos);
  f = base;
  f.erase("id");
  EXPECT_EQ(err(f), "STAC item: field 'id' must be a non-empty string, got nothing");
  f = base;
  f["bbox"] = {1, 2, 3};
  EXPECT_NE(err(f).find("field 'bbox' must have 4 or 6 numbers"), std::string::npos);
  f = base;
  f["properties"] = "x";
  EXPECT_NE(err(f).find("field 'properties' must be an object"), std::string::npos);

  Item ok = Item::from_json(base);
  EXPECT_EQ(error_of<KeyError>([&] { ok.asset("blue"); }), "STAC item 'S2B_9' has no asset 'blue' (it has: nir, red)");
}

TEST(StacItemCollection, SaveLoadRoundTripIsExact) {
  json fc = {{"type", "FeatureCollection"},
             {"features", {make_item("a", "2023-05-01T10:00:00Z", 32632, kT, {10, 20}),
                           make_item("b", "2023-05-02T10:00:00.25Z", 32633, kT, {10, 20})}},
             {"links", {{{"rel", "next"}, {"href", "http://x/search?page=2"}}}},
             {"numberMatched", 2}};
  fc["features"][1]["properties"]["eo:cloud_cover"] = 0.1 + 0.2;  // a double that needs 17 digits
  fc["features"][1]["assets"]["red"]["proj:transform"] = {10.000000000000002, 0, 600000.1, 0, -10, 5200000, 0, 0, 1};
  ItemCollection ic = ItemCollection::from_json(fc);
  ASSERT_EQ(ic.size(), 2u);
  auto dir = stac_test::temp_dir("roundtrip");
  const std::string p1 = (dir / "items.geojson").string(), p2 = (dir / "again.geojson").string();
  ic.save(p1);
  ItemCollection back = ItemCollection::load(p1);
  EXPECT_EQ(back.to_json(), fc);
  EXPECT_EQ(back[1].properties["eo:cloud_cover"].get<double>(), 0.1 + 0.2);
  EXPECT_EQ((*back[1].asset("red").proj.transform)[0], 10.000000000000002);
  back.save(p2);
  auto slurp = [](const std::string& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  EXPECT_EQ(slurp(p1), slurp(p2));
  for (std::size_t i = 0; i < ic.size(); ++i) {
    EXPECT_EQ(back[i].id, ic[i].id);
    EXPECT_EQ(back[i].datetime, ic[i].datetime);
    EXPECT_EQ(back[i].raw, ic[i].raw);
  }
  std::filesystem::remove_all(dir);
}

TEST(StacItemCollection, LoadResolvesRelativeHrefsAgainstTheFile) {
  auto dir = stac_test::temp_dir("relative");
  json f = make_item("a", "2023-05-01T10:00:00Z", 32632, kT, {10, 20});
  f["assets"]["red"]["href"] = "scenes/a_red.tif";
  ItemCollection({Item::from_json(f)}).save((dir / "items.json").string());
  ItemCollection back = ItemCollection::load((dir / "items.json").string());
  EXPECT_EQ(back[0].asset("red").href, (dir / "scenes/a_red.tif").string());
  std::filesystem::remove_all(dir);
}

TEST(StacItemCollection, LoadErrorsNameTheFile) {
  auto dir = stac_test::temp_dir("bad");
  const std::string p = (dir / "bad.json").string();
  EXPECT_NE(error_of<IOError>([&] { ItemCollection::load((dir / "nope.json").string()); }).find("nope.json"), std::string::npos);
  std::ofstream(p) << "{not json";
  EXPECT_NE(error_of<ValueError>([&] { ItemCollection::load(p); }).find("bad.json' is not valid JSON"), std::string::npos);
  std::ofstream(p, std::ios::trunc) << R"({"type": "FeatureCollection", "features": [{"type": "Feature", "id": "z"}]})";
  const std::string e = error_of<ValueError>([&] { ItemCollection::load(p); });
  EXPECT_NE(e.find("STAC item 'z': field 'geometry' is missing"), std::string::npos);
  EXPECT_NE(e.find("bad.json"), std::string::npos);
  std::filesystem::remove_all(dir);
}
