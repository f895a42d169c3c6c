// Search requests: POST bodies, GET query strings, datetime normalisation (pystac-client's),
// the query extension's validation, and the merge of paging bodies.
#include <gtest/gtest.h>

#include "cubist/error.hpp"
#include "cubist/stac.hpp"
#include "stac/datetime_text.hpp"
#include "stac/search_request.hpp"

using namespace cubist;
using nlohmann::json;

TEST(StacSearch, DatetimeNormalisedAsPystacClient) {
  using stac::normalize_datetime;
  // Instants with a time: kept, "Z" added when there is no zone.
  EXPECT_EQ(normalize_datetime("2023-05-01T10:20:30Z"), "2023-05-01T10:20:30Z");
  EXPECT_EQ(normalize_datetime("2023-05-01T10:20:30"), "2023-05-01T10:20:30Z");
  EXPECT_EQ(normalize_datetime("2023-05-01T10:20:30.5+02:00"), "2023-05-01T10:20:30.5+02:00");
  // Dates expand to their whole period (the docstring's examples).
  EXPECT_EQ(normalize_datetime("2017"), "2017-01-01T00:00:00Z/2017-12-31T23:59:59Z");
  EXPECT_EQ(normalize_datetime("2017-06"), "2017-06-01T00:00:00Z/2017-06-30T23:59:59Z");
  EXPECT_EQ(normalize_datetime("2017-06-10"), "2017-06-10T00:00:00Z/2017-06-10T23:59:59Z");
  EXPECT_EQ(normalize_datetime("2017/2018"), "2017-01-01T00:00:00Z/2018-12-31T23:59:59Z");
  EXPECT_EQ(normalize_datetime("2017-06/2017-07"), "2017-06-01T00:00:00Z/2017-07-31T23:59:59Z");
  EXPECT_EQ(normalize_datetime("2017-06-10/2017-06-11"), "2017-06-10T00:00:00Z/2017-06-11T23:59:59Z");
  EXPECT_EQ(normalize_datetime("2024-02"), "2024-02-01T00:00:00Z/2024-02-29T23:59:59Z");  // leap year
  // Open intervals: ".." or empty.
  EXPECT_EQ(normalize_datetime("2023-01-01/.."), "2023-01-01T00:00:00Z/..");
  EXPECT_EQ(normalize_datetime("../2023-06-30"), "../2023-06-30T23:59:59Z");
  EXPECT_EQ(normalize_datetime("/2023-06-30T12:00:00Z"), "../2023-06-30T12:00:00Z");
  EXPECT_EQ(normalize_datetime("2023-01-01T00:00:00Z/"), "2023-01-01T00:00:00Z/..");
  EXPECT_EQ(normalize_datetime("2023-01-01T06:00:00/2023-01-02"), "2023-01-01T06:00:00Z/2023-01-02T23:59:59Z");
  EXPECT_THROW(normalize_datetime("a/b/c"), ValueError);
  EXPECT_THROW(normalize_datetime("../.."), ValueError);
  EXPECT_THROW(normalize_datetime(".."), ValueError);
  EXPECT_THROW(normalize_datetime("2023-13"), ValueError);
  EXPECT_THROW(normalize_datetime("May 2023"), ValueError);
  EXPECT_THROW(normalize_datetime("2023-05-01T25:00:00Z"), ValueError);
}

TEST(StacSearch, PostBody) {
  SearchParameters p;
  p.collections = {"sentinel-2-l2a"};
  p.intersects = json{{"type", "Polygon"}, {"coordinates", {{{8, 46}, {9, 46}, {9, 47}, {8, 46}}}}};
  p.datetime = "2019-02-01/2019-03-28";
  p.query = {{"proj:epsg", {{"eq", 32632}}}, {"eo:cloud_cover", {{"lt", 20}}}};
  p.max_items = 50;
  json body = stac::search_body(p);
  EXPECT_EQ(body, (json{{"collections", {"sentinel-2-l2a"}},
                        {"intersects", *p.intersects},
                        {"datetime", "2019-02-01T00:00:00Z/2019-03-28T23:59:59Z"},
                        {"query", p.query},
                        {"limit", 50}}));  // limit capped by max_items, as pystac-client
  SearchParameters q;
  q.bbox = std::vector<double>{8.5, 46.25, 9, 47};
  q.ids = {"a", "b"};
  q.limit = std::nullopt;
  EXPECT_EQ(stac::search_body(q), (json{{"bbox", {8.5, 46.25, 9, 47}}, {"ids", {"a", "b"}}}));
}

TEST(StacSearch, GetQueryString) {
  json body = {{"bbox", {8.5, 46.25, 9.0, 47.0}},
               {"collections", {"s2", "l8"}},
               {"datetime", "2023-01-01T00:00:00Z/.."},
               {"limit", 10},
               {"query", {{"proj:epsg", {{"eq", 32632}}}}}};
  EXPECT_EQ(stac::search_query_string(body),
            "bbox=8.5%2C46.25%2C9.0%2C47.0&collections=s2%2Cl8&datetime=2023-01-01T00%3A00%3A00Z%2F..&limit=10&"
            "query=%7B%22proj%3Aepsg%22%3A%7B%22eq%22%3A32632%7D%7D");
  EXPECT_EQ(stac::append_query("http://h/search", "a=1"), "http://h/search?a=1");
  EXPECT_EQ(stac::append_query("http://h/search?x=2", "a=1"), "http://h/search?x=2&a=1");
  EXPECT_EQ(stac::percent_encode("a b/é"), "a%20b%2F%C3%A9");
}

TEST(StacSearch, QueryExtensionValidation) {
  stac::validate_query({{"proj:epsg", {{"in", {32632, 32633}}}}, {"eo:cloud_cover", {{"gte", 0}, {"lte", 50}}}});
  for (const auto* op : {"eq", "neq", "lt", "lte", "gt", "gte"}) stac::validate_query({{"p", {{op, 1}}}});
  auto msg = [](json q) {
    try {
      stac::validate_query(q);
    } catch (const ValueError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_NE(msg({{"proj:epsg", {{"equals", 1}}}}).find("search query 'proj:epsg': unknown operator 'equals'"), std::string::npos);
  EXPECT_NE(msg({{"proj:epsg", {{"in", 1}}}}).find("'in' needs an array"), std::string::npos);
  EXPECT_NE(msg({{"proj:epsg", 32632}}).find("search query 'proj:epsg' must be an object"), std::string::npos);
  EXPECT_NE(msg({{"p", {{"lt", {1, 2}}}}}).find("'lt' needs a single value"), std::string::npos);
}

TEST(StacSearch, BadParameters) {
  SearchParameters p;
  p.limit = 0;
  EXPECT_THROW(stac::search_body(p), ValueError);
  p = {};
  p.bbox = std::vector<double>{1, 2, 3};
  EXPECT_THROW(stac::search_body(p), ValueError);
  p = {};
  p.bbox = std::vector<double>{1, 5, 3, 2};
  EXPECT_THROW(stac::search_body(p), ValueError);
  p = {};
  p.intersects = json{{"type", "Feature"}};
  EXPECT_THROW(stac::search_body(p), ValueError);
  p = {};
  p.max_items = 0;
  EXPECT_THROW(stac::search_body(p), ValueError);
}

TEST(StacSearch, SetIntersectsConvertsToCrs84) {
  // A square in UTM 32N around (500000, 5100000): its GeoJSON must come out in lon/lat near 9°E 46°N.
  Polygon square{{{499000, 5099000}, {501000, 5099000}, {501000, 5101000}, {499000, 5101000}, {499000, 5099000}}};
  SearchParameters p;
  p.set_intersects(Geometry({square}, Crs::epsg(32632)));
  ASSERT_TRUE(p.intersects);
  EXPECT_EQ((*p.intersects)["type"], "Polygon");
  const auto& c = (*p.intersects)["coordinates"][0][0];
  EXPECT_NEAR(c[0].get<double>(), 8.987, 0.01);
  EXPECT_NEAR(c[1].get<double>(), 46.04, 0.01);
}

TEST(StacSearch, MergeBodies) {
  json base = {{"collections", {"s2"}}, {"limit", 10}, {"query", {{"a", {{"eq", 1}}}}}};
  json merged = stac::merge_bodies(base, {{"token", "next:abc"}, {"query", {{"b", {{"eq", 2}}}}}});
  EXPECT_EQ(merged, (json{{"collections", {"s2"}},
                          {"limit", 10},
                          {"token", "next:abc"},
                          {"query", {{"a", {{"eq", 1}}}, {"b", {{"eq", 2}}}}}}));
}
