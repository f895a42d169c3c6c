// The demo STAC API (stac/api_server) queried over HTTP with net::HttpClient and with cubist's
// StacClient, and the synthetic Sentinel-2 generator whose items it serves.
#include <gtest/gtest.h>
#include <gdal_priv.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include "cubist/error.hpp"
#include "cubist/stac.hpp"
#include "net/http_client.hpp"
#include "raster/synthetic_s2.hpp"
#include "stac/api_server.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using cubist::stac::ApiSearch;
using cubist::stac::StacApiServer;

namespace {

cubist::net::HttpOptions fast() {
  cubist::net::HttpOptions o;
  o.max_retries = 0;
  o.timeout_seconds = 10;
  return o;
}

json box(double x0, double y0, double x1, double y1) {
  return {{"type", "Polygon"}, {"coordinates", {{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}}};
}

// A right triangle inside box(0,0,1,1): its lower-left half.
json triangle(double x0, double y0, double x1, double y1) {
  return {{"type", "Polygon"}, {"coordinates", {{{x0, y0}, {x1, y0}, {x0, y1}, {x0, y0}}}}};
}

json item(const std::string& id, const std::string& collection, const std::string& datetime, const json& geometry,
          int epsg, double cloud, const std::string& platform) {
  double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
  for (const auto& p : geometry["coordinates"][0]) {
    x0 = std::min(x0, p[0].get<double>()), y0 = std::min(y0, p[1].get<double>());
    x1 = std::max(x1, p[0].get<double>()), y1 = std::max(y1, p[1].get<double>());
  }
  return {{"type", "Feature"},
          {"stac_version", "1.0.0"},
          {"id", id},
          {"collection", collection},
          {"geometry", geometry},
          {"bbox", {x0, y0, x1, y1}},
          {"properties",
           {{"datetime", datetime}, {"proj:epsg", epsg}, {"eo:cloud_cover", cloud}, {"platform", platform}}},
          {"assets", {{"red", {{"href", "files/" + id + ".bin"}, {"type", "application/octet-stream"}}}}},
          {"links", json::array()}};
}

// Five items in two collections; `d` is a diamond whose bbox covers (0.6..1, 0.6..1) but whose
// shape does not: only a real intersection test tells them apart.
json fixture_items() {
  json diamond = {{"type", "Polygon"}, {"coordinates", {{{1.5, 0.5}, {2.5, 1.5}, {1.5, 2.5}, {0.5, 1.5}, {1.5, 0.5}}}}};
  return {{"type", "FeatureCollection"},
          {"features",
           {item("a", "s2", "2019-02-01T10:00:00Z", box(0, 0, 1, 1), 32632, 5, "sentinel-2a"),
            item("b", "s2", "2019-02-06T10:00:00.500Z", box(0.5, 0.5, 1.5, 1.5), 32632, 40, "sentinel-2b"),
            item("c", "s2", "2019-02-11T10:00:00+01:00", box(5, 5, 6, 6), 32633, 0, "sentinel-2a"),
            item("d", "s2", "2019-03-01T00:00:00Z", diamond, 32632, 80, "sentinel-2b"),
            item("e", "landsat", "2019-02-06T12:00:00Z", box(0, 0, 1, 1), 32632, 10, "landsat-8")}}};
}

std::set<std::string> ids_of(const json& fc) {
  std::set<std::string> out;
  for (const auto& f : fc.at("features")) out.insert(f.at("id").get<std::string>());
  return out;
}

class StacApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cubist_api_server_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "files");
    for (const std::string id : {"a", "b", "c", "d", "e"}) {
      std::ofstream out(dir_ / "files" / (id + ".bin"), std::ios::binary);
      for (int i = 0; i < 1000; ++i) out.put(static_cast<char>((i * 13 + id[0]) & 0xff));
    }
    server_ = std::make_unique<StacApiServer>(fixture_items(), dir_);
    server_->start();
    url_ = server_->url();
  }
  void TearDown() override {
    server_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  json get(const std::string& path) const { return json::parse(http_.get(url_ + path).body); }
  json post(const json& body) const { return json::parse(http_.post_json(url_ + "/search", body).body); }
  // The error text of a request the server must refuse.
  std::string refused_get(const std::string& path) const {
    try {
      http_.get(url_ + path);
    } catch (const cubist::IOError& e) {
      return e.what();
    }
    ADD_FAILURE() << "GET " << path << " was not refused";
    return "";
  }
  std::string refused_post(const json& body) const {
    try {
      http_.post_json(url_ + "/search", body);
    } catch (const cubist::IOError& e) {
      return e.what();
    }
    ADD_FAILURE() << "POST " << body.dump() << " was not refused";
    return "";
  }

  fs::path dir_;
  std::unique_ptr<StacApiServer> server_;
  std::string url_;
  cubist::net::HttpClient http_{fast()};
};

TEST_F(StacApiServerTest, LandingPageConformanceAndCollections) {
  json landing = get("/");
  EXPECT_EQ(landing["type"], "Catalog");
  auto conforms = landing["conformsTo"].get<std::vector<std::string>>();
  for (const char* c : {"/core", "/item-search", "item-search#query", "/collections"})
    EXPECT_TRUE(std::any_of(conforms.begin(), conforms.end(), [&](const std::string& s) {
      return s.find(c) != std::string::npos;
    })) << c;
  bool get_search = false, post_search = false;
  for (const auto& l : landing["links"])
    if (l["rel"] == "search") (l["method"] == "GET" ? get_search : post_search) = true;
  EXPECT_TRUE(get_search && post_search);
  EXPECT_EQ(get("/conformance")["conformsTo"], landing["conformsTo"]);

  json cs = get("/collections")["collections"];
  ASSERT_EQ(cs.size(), 2u);
  json s2 = get("/collections/s2");
  EXPECT_EQ(s2["id"], "s2");
  EXPECT_EQ(s2["extent"]["spatial"]["bbox"][0], json({0, 0, 6, 6}));
  EXPECT_EQ(s2["extent"]["temporal"]["interval"][0][0], "2019-02-01T10:00:00Z");
  EXPECT_NE(refused_get("/collections/nope").find("404"), std::string::npos);
  EXPECT_EQ(get("/collections/s2/items/b")["id"], "b");
  EXPECT_EQ(ids_of(get("/collections/landsat/items")), std::set<std::string>({"e"}));
}

TEST_F(StacApiServerTest, GetSearchFilters) {
  EXPECT_EQ(ids_of(get("/search?collections=s2&limit=100")), std::set<std::string>({"a", "b", "c", "d"}));
  EXPECT_EQ(ids_of(get("/search?bbox=0.2,0.2,0.3,0.3")), std::set<std::string>({"a", "e"}));
  EXPECT_EQ(ids_of(get("/search?ids=a,c,zzz")), std::set<std::string>({"a", "c"}));
  // "+01:00": c is at 09:00 UTC, so an interval ending 09:30Z includes it and one ending 08:59Z does not.
  EXPECT_EQ(ids_of(get("/search?datetime=2019-02-11T00:00:00Z/2019-02-11T09:30:00Z")), std::set<std::string>({"c"}));
  EXPECT_TRUE(ids_of(get("/search?datetime=2019-02-11T00:00:00Z/2019-02-11T08:59:00Z")).empty());
  json q = {{"proj:epsg", {{"eq", 32633}}}};
  EXPECT_EQ(ids_of(get("/search?query=" + q.dump())), std::set<std::string>({"c"}));
  json intersects = triangle(0.0, 0.0, 0.4, 0.4);
  json r = get("/search?intersects=" + intersects.dump());
  EXPECT_EQ(ids_of(r), std::set<std::string>({"a", "e"}));
  EXPECT_EQ(r["numberMatched"], 2);
  EXPECT_EQ(r["numberReturned"], 2);
}

TEST_F(StacApiServerTest, DatetimeInstantsAndIntervals) {
  auto ids = [&](const std::string& dt) {
    ApiSearch s;
    s.datetime = dt;
    s.collections = {"s2"};
    auto v = server_->matching_ids(s);
    return std::set<std::string>(v.begin(), v.end());
  };
  EXPECT_EQ(ids("2019-02-06T10:00:00.500Z"), std::set<std::string>({"b"}));
  EXPECT_TRUE(ids("2019-02-06T10:00:00Z").empty());
  EXPECT_EQ(ids("2019-02-06"), std::set<std::string>({"b"}));  // a date: the whole day
  EXPECT_EQ(ids("2019-02-01T00:00:00Z/2019-02-06T23:59:59Z"), std::set<std::string>({"a", "b"}));
  EXPECT_EQ(ids("../2019-02-06T10:00:00.500Z"), std::set<std::string>({"a", "b"}));
  EXPECT_EQ(ids("/2019-02-01T10:00:00Z"), std::set<std::string>({"a"}));
  EXPECT_EQ(ids("2019-02-11T09:00:00Z/.."), std::set<std::string>({"c", "d"}));
  EXPECT_EQ(ids("2019-03-01T00:00:00Z/"), std::set<std::string>({"d"}));
  for (const std::string bad : {"../..", "yesterday", "2019-02-10/2019-02-01", "2019-13-01T00:00:00Z"}) {
    ApiSearch s;
    s.datetime = bad;
    EXPECT_THROW(server_->matching_ids(s), cubist::ValueError) << bad;
  }
}

TEST_F(StacApiServerTest, QueryOperators) {
  auto ids = [&](const json& q) {
    ApiSearch s;
    s.query = q;
    auto v = server_->matching_ids(s);
    return std::set<std::string>(v.begin(), v.end());
  };
  EXPECT_EQ(ids({{"eo:cloud_cover", {{"lt", 10}}}}), std::set<std::string>({"a", "c"}));
  EXPECT_EQ(ids({{"eo:cloud_cover", {{"lte", 10}}}}), std::set<std::string>({"a", "c", "e"}));
  EXPECT_EQ(ids({{"eo:cloud_cover", {{"gt", 40}}}}), std::set<std::string>({"d"}));
  EXPECT_EQ(ids({{"eo:cloud_cover", {{"gte", 40}}}}), std::set<std::string>({"b", "d"}));
  EXPECT_EQ(ids({{"eo:cloud_cover", {{"gte", 5}, {"lt", 40}}}}), std::set<std::string>({"a", "e"}));
  EXPECT_EQ(ids({{"platform", {{"neq", "sentinel-2a"}}}}), std::set<std::string>({"b", "d", "e"}));
  EXPECT_EQ(ids({{"platform", {{"in", {"sentinel-2b", "landsat-8"}}}}}), std::set<std::string>({"b", "d", "e"}));
  EXPECT_EQ(ids({{"proj:epsg", {{"eq", 32632.0}}}}), std::set<std::string>({"a", "b", "d", "e"}));
  EXPECT_TRUE(ids({{"no:such", {{"eq", 1}}}}).empty());
  ApiSearch bad;
  bad.query = {{"eo:cloud_cover", {{"like", 3}}}};
  EXPECT_THROW(server_->matching_ids(bad), cubist::ValueError);
}

TEST_F(StacApiServerTest, IntersectsUsesTheShapeNotItsBoundingBox) {
  // (0.55..0.65) lies in the diamond's bbox but outside the diamond, and inside b's box.
  json probe = box(0.55, 0.55, 0.65, 0.65);
  EXPECT_EQ(ids_of(post({{"intersects", probe}})), std::set<std::string>({"a", "b", "e"}));
  EXPECT_EQ(ids_of(post({{"intersects", box(1.4, 1.4, 1.6, 1.6)}})), std::set<std::string>({"b", "d"}));
  json multi = {{"type", "MultiPolygon"},
                {"coordinates", {box(5.5, 5.5, 5.6, 5.6)["coordinates"], box(2.4, 1.4, 2.45, 1.45)["coordinates"]}}};
  EXPECT_EQ(ids_of(post({{"intersects", multi}})), std::set<std::string>({"c", "d"}));
}

TEST_F(StacApiServerTest, PagingGetFollowsTokenLinks) {
  std::vector<std::string> seen;
  std::string next = "/search?collections=s2&limit=3";
  int pages = 0;
  while (!next.empty()) {
    json page = get(next);
    ++pages;
    EXPECT_EQ(page["numberMatched"], 4);
    for (const auto& f : page["features"]) seen.push_back(f["id"]);
    next.clear();
    for (const auto& l : page["links"])
      if (l["rel"] == "next") {
        EXPECT_EQ(l["method"], "GET");
        next = l["href"].get<std::string>().substr(url_.size());
      }
  }
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(seen, (std::vector<std::string>{"d", "c", "b", "a"}));  // newest first
}

TEST_F(StacApiServerTest, PagingPostMergesTheNextBody) {
  json body = {{"collections", {"s2"}}, {"limit", 1}, {"query", {{"proj:epsg", {{"eq", 32632}}}}}};
  std::vector<std::string> seen;
  for (int pages = 0; pages < 10; ++pages) {
    json page = post(body);
    for (const auto& f : page["features"]) seen.push_back(f["id"]);
    const json* next = nullptr;
    for (const auto& l : page["links"])
      if (l["rel"] == "next") next = &l;
    if (!next) break;
    EXPECT_EQ((*next)["method"], "POST");
    EXPECT_EQ((*next)["merge"], true);
    EXPECT_EQ((*next)["href"], url_ + "/search");
    body.update((*next)["body"]);  // merge = true: the rest of the search stays
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"d", "b", "a"}));
}

TEST_F(StacApiServerTest, BadRequestsAre400sNamingTheField) {
  auto expect_400 = [](const std::string& msg, const std::string& field) {
    EXPECT_NE(msg.find("400"), std::string::npos) << msg;
    EXPECT_NE(msg.find(field), std::string::npos) << msg;
  };
  expect_400(refused_get("/search?bbox=0,0,1"), "bbox");
  expect_400(refused_get("/search?bbox=0,zero,1,1"), "bbox");
  expect_400(refused_get("/search?datetime=soon"), "datetime");
  expect_400(refused_get("/search?limit=0"), "limit");
  expect_400(refused_get("/search?limit=20000"), "limit");
  expect_400(refused_get("/search?intersects={nope"), "intersects");
  expect_400(refused_get("/search?token=next:-4"), "token");
  expect_400(refused_post({{"bbox", {0, 0, 1, 1}}, {"intersects", box(0, 0, 1, 1)}}), "bbox and intersects");
  expect_400(refused_post({{"intersects", {{"type", "Polygon"}, {"coordinates", "x"}}}}), "intersects");
  expect_400(refused_post({{"query", {{"eo:cloud_cover", {{"approx", 1}}}}}}), "approx");
  expect_400(refused_post({{"collections", "s2"}}), "collections");
  expect_400(refused_post(json::array()), "search body");
}

TEST_F(StacApiServerTest, AssetsAreServedWithRangesAtRewrittenHrefs) {
  json page = get("/search?ids=b");
  const std::string href = page["features"][0]["assets"]["red"]["href"];
  EXPECT_EQ(href, url_ + "/sentinel-cogs/files/b.bin");
  const auto before = server_->stats();
  std::string bytes = http_.get_range(href, 100, 16);
  ASSERT_EQ(bytes.size(), 16u);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(static_cast<unsigned char>(bytes[i]), ((100 + i) * 13 + 'b') & 0xff);
  const auto after = server_->stats();
  EXPECT_EQ(after.range_requests, before.range_requests + 1);
  EXPECT_GE(after.bytes_sent, before.bytes_sent + 16);
  // Paths never escape the data directory.
  EXPECT_NE(refused_get("/sentinel-cogs/../../etc/passwd").find("40"), std::string::npos);
}

TEST_F(StacApiServerTest, StacClientSearchesItGetAndPost) {
  auto client = cubist::StacClient::open(url_);
  EXPECT_TRUE(client.conforms_to("item-search"));
  EXPECT_TRUE(client.conforms_to("query"));
  for (auto method : {cubist::SearchMethod::Get, cubist::SearchMethod::Post}) {
    cubist::SearchParameters p;
    p.collections = {"s2"};
    p.intersects = box(0.55, 0.55, 1.45, 1.45);
    p.datetime = "2019-02-01/2019-03-28";
    p.query = {{"proj:epsg", {{"eq", 32632}}}};
    p.limit = 1;  // forces paging
    p.method = method;
    cubist::ItemCollection items = client.search(p);
    std::set<std::string> ids;
    for (const auto& it : items) ids.insert(it.id);
    EXPECT_EQ(ids, std::set<std::string>({"a", "b", "d"}));
    for (const auto& it : items) EXPECT_EQ(it.asset("red").href, url_ + "/sentinel-cogs/files/" + it.id + ".bin");
  }
}

TEST(StacApiServerItems, RefusesItemsWithoutDatetimeOrId) {
  json fc = {{"type", "FeatureCollection"}, {"features", {{{"type", "Feature"}, {"properties", json::object()}}}}};
  EXPECT_THROW(StacApiServer(fc, "."), cubist::ValueError);
  fc["features"][0]["id"] = "x";
  EXPECT_THROW(StacApiServer(fc, "."), cubist::ValueError);
  fc["features"][0]["properties"]["datetime"] = "not a time";
  EXPECT_THROW(StacApiServer(fc, "."), cubist::ValueError);
  EXPECT_THROW(StacApiServer(json::array(), "."), cubist::ValueError);
}

// ------------------------------------------------------------------ the synthetic generator

class SyntheticS2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cubist_synthetic_s2_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    // A small polygon in the Alps (UTM 32N), like the seed's catchment.
    std::ofstream(dir_ / "catchment.geojson")
        << json{{"type", "FeatureCollection"},
                {"features", {{{"type", "Feature"}, {"properties", json::object()},
                               {"geometry", box(11.05, 46.70, 11.15, 46.78)}}}}}
               .dump();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  cubist::raster::SyntheticS2Options options(const std::string& sub) const {
    cubist::raster::SyntheticS2Options o;
    o.out_dir = dir_ / sub;
    o.catchment = dir_ / "catchment.geojson";
    o.size = 256;
    o.block = 128;
    o.dates = 3;
    o.threads = 2;
    return o;
  }
  static std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  fs::path dir_;
};

TEST_F(SyntheticS2Test, WritesCogsAndEarthSearchItemsDeterministically) {
  auto first = cubist::raster::generate_synthetic_s2(options("one"));
  EXPECT_FALSE(first.reused);
  const auto& features = first.items["features"];
  // 2 tiles x 3 dates, 2 tiles x 2 dates outside the range, 2 scenes in EPSG:32633.
  ASSERT_EQ(features.size(), 12u);
  EXPECT_EQ(first.files, 24u);
  int in_32633 = 0, same_day_pairs = 0;
  std::set<std::string> days;
  for (const auto& f : features) {
    auto item = cubist::Item::from_json(f, (dir_ / "one").string() + "/");
    EXPECT_EQ(item.collection, "sentinel-2-l2a");
    const auto& red = item.asset("red");
    EXPECT_EQ(red.raw["type"], "image/tiff; application=geotiff; profile=cloud-optimized");
    ASSERT_EQ(red.raster_bands.size(), 1u);
    EXPECT_EQ(red.raster_bands[0].scale, 0.0001);
    EXPECT_EQ(red.raster_bands[0].offset, -0.1);
    EXPECT_EQ(red.raster_bands[0].nodata, 0);
    EXPECT_EQ(red.raster_bands[0].data_type, "uint16");
    EXPECT_EQ(red.proj.shape, (std::array<std::int64_t, 2>{256, 256}));
    in_32633 += item.proj.epsg == 32633;
    if (!days.insert(f["properties"]["datetime"].get<std::string>().substr(0, 10)).second) ++same_day_pairs;
  }
  EXPECT_EQ(in_32633, 2);
  EXPECT_GE(same_day_pairs, 5);

  // The COG: uint16, nodata 0, scale/offset, the STAC grid, internal tiles and an overview.
  const std::string rel = features[0]["assets"]["nir"]["href"];
  GDALAllRegister();
  std::unique_ptr<GDALDataset> ds(GDALDataset::Open((dir_ / "one" / rel).c_str(), GDAL_OF_RASTER));
  ASSERT_TRUE(ds);
  GDALRasterBand* b = ds->GetRasterBand(1);
  EXPECT_EQ(b->GetRasterDataType(), GDT_UInt16);
  int has = 0;
  EXPECT_EQ(b->GetNoDataValue(&has), 0);
  EXPECT_TRUE(has);
  EXPECT_DOUBLE_EQ(b->GetScale(), 0.0001);
  EXPECT_DOUBLE_EQ(b->GetOffset(), -0.1);
  int bx = 0, by = 0;
  b->GetBlockSize(&bx, &by);
  EXPECT_EQ(bx, 128);
  EXPECT_EQ(by, 128);
  EXPECT_GE(b->GetOverviewCount(), 1);
  EXPECT_STREQ(ds->GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE"), "COG");
  double gt[6];
  ds->GetGeoTransform(gt);
  const auto& t = features[0]["assets"]["nir"]["proj:transform"];
  EXPECT_EQ(gt[0], t[2].get<double>());
  EXPECT_EQ(gt[3], t[5].get<double>());
  // Plausible reflectances: valid pixels decode to [0, 1), clouds are nodata holes.
  std::vector<std::uint16_t> px(256 * 256);
  ASSERT_EQ(b->RasterIO(GF_Read, 0, 0, 256, 256, px.data(), 256, 256, GDT_UInt16, 0, 0, nullptr), CE_None);
  for (auto v : px)
    if (v) {
      EXPECT_LT(v * 0.0001 - 0.1, 1.0);
    }

  // Same parameters, another directory: identical bytes. Same directory: reused.
  auto second = cubist::raster::generate_synthetic_s2(options("two"));
  EXPECT_EQ(second.items, first.items);
  for (const auto& f : features)
    for (const char* a : {"red", "nir"}) {
      const std::string r = f["assets"][a]["href"];
      EXPECT_EQ(slurp(dir_ / "one" / r), slurp(dir_ / "two" / r)) << r;
    }
  auto again = cubist::raster::generate_synthetic_s2(options("one"));
  EXPECT_TRUE(again.reused);
  EXPECT_EQ(again.items, first.items);
  // Other parameters: regenerated.
  auto o = options("one");
  o.seed = 7;
  EXPECT_FALSE(cubist::raster::generate_synthetic_s2(o).reused);
}

TEST_F(SyntheticS2Test, BadInputsNameWhatIsWrong) {
  auto o = options("bad");
  o.catchment = dir_ / "missing.geojson";
  try {
    cubist::raster::generate_synthetic_s2(o);
    FAIL();
  } catch (const cubist::IOError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.geojson"), std::string::npos);
  }
  EXPECT_THROW(cubist::raster::synthetic_s2_preset("huge"), cubist::ValueError);
  o = options("bad");
  o.block = 200;
  EXPECT_THROW(cubist::raster::generate_synthetic_s2(o), cubist::ValueError);
}

TEST_F(SyntheticS2Test, ServedItemsSearchLikeTheSeedWorkflow) {
  auto data = cubist::raster::generate_synthetic_s2(options("serve"));
  StacApiServer server(data.items, dir_ / "serve");
  server.start();
  auto client = cubist::StacClient::open(server.url());
  cubist::SearchParameters p;
  p.collections = {"sentinel-2-l2a"};
  p.intersects = box(11.05, 46.70, 11.15, 46.78);
  p.datetime = "2019-02-01/2019-03-28";
  p.query = {{"proj:epsg", {{"eq", 32632}}}};
  auto items = client.search(p);
  EXPECT_EQ(items.size(), 6u);  // 2 tiles x 3 dates; not the 32633 scenes nor those outside the range
  cubist::net::HttpClient http(fast());
  const std::string href = items[0].asset("red").href;
  const std::string head = http.get_range(href, 0, 4);
  EXPECT_TRUE(head == std::string("II*\0", 4) || head == std::string("II+\0", 4)) << "not a TIFF: " << href;
}

}  // namespace
