// StacClient against canned STAC API pages served by net::HttpServer on 127.0.0.1: landing page,
// conformance, collections, GET and POST search with paging (next href; POST body with merge
// true/false), max_items, progress, retries on 503, and errors for non-STAC URLs.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "cubist/error.hpp"
#include "cubist/stac.hpp"
#include "net/http_server.hpp"
#include "stac_test_util.hpp"

using namespace cubist;
using nlohmann::json;
using stac_test::error_of;
using stac_test::make_item;

namespace {

const std::array<double, 6> kT{10, 0, 600000, 0, -10, 5200000};

json feature(int i) {
  return make_item("item-" + std::to_string(i), "2023-05-0" + std::to_string(1 + i % 9) + "T10:00:00Z", 32632, kT, {10, 20});
}

json page(int first, int count, json links = json::array()) {
  json f = json::array();
  for (int i = first; i < first + count; ++i) f.push_back(feature(i));
  return {{"type", "FeatureCollection"}, {"features", f}, {"links", links}};
}

net::ServerResponse ok(const json& j) { return {200, j.dump(), "application/geo+json", {}}; }

json landing(const std::string& base, bool post) {
  json links = {{{"rel", "self"}, {"href", base + "/"}},
                {{"rel", "data"}, {"href", base + "/collections"}},
                {{"rel", "search"}, {"href", base + "/search"}, {"method", "GET"}}};
  if (post) links.push_back({{"rel", "search"}, {"href", base + "/search"}, {"method", "POST"}});
  return {{"type", "Catalog"},
          {"id", "test"},
          {"stac_version", "1.0.0"},
          {"conformsTo", {"https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search",
                          "https://api.stacspec.org/v1.0.0/item-search#query"}},
          {"links", links}};
}

struct Recorder {
  std::mutex m;
  std::vector<net::ServerRequest> requests;
  void add(const net::ServerRequest& r) {
    std::lock_guard l(m);
    requests.push_back(r);
  }
};

std::string first_query(const net::ServerRequest& r, const std::string& key) {
  auto it = r.query.find(key);
  return it == r.query.end() ? "" : it->second;
}

StacClientOptions fast_retries() {
  StacClientOptions o;
  o.backoff_seconds = 0.01;
  o.max_retries = 3;
  o.timeout_seconds = 10;
  return o;
}

}  // namespace

TEST(StacClient, GetSearchFollowsNextHref) {
  net::HttpServer server;
  Recorder rec;
  server.route("GET", "/", [](const net::ServerRequest& r) { return ok(landing(r.base_url, /*post=*/false)); });
  server.route("GET", "/search", [&](const net::ServerRequest& r) {
    rec.add(r);
    const std::string token = first_query(r, "token");
    if (token.empty()) return ok(page(0, 3, {{{"rel", "next"}, {"href", r.base_url + "/search?token=p2&limit=3"}, {"type", "application/geo+json"}}}));
    if (token == "p2") return ok(page(3, 3, {{{"rel", "next"}, {"href", "/search?token=p3"}, {"method", "GET"}}}));
    return ok(page(6, 1));
  });
  server.start();
  auto client = StacClient::open(server.base_url(), fast_retries());
  EXPECT_TRUE(client.conforms_to("item-search"));
  SearchParameters p;
  p.collections = {"sentinel-2-l2a"};
  p.bbox = std::vector<double>{8, 46, 9, 47};
  p.datetime = "2023-05";
  p.query = {{"proj:epsg", {{"eq", 32632}}}};
  p.limit = 3;
  std::vector<std::int64_t> progress;
  ItemCollection items = client.search(p, [&](std::int64_t n) { progress.push_back(n); });
  ASSERT_EQ(items.size(), 7u);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(items[static_cast<std::size_t>(i)].id, "item-" + std::to_string(i));
  EXPECT_EQ(progress, (std::vector<std::int64_t>{3, 6, 7}));
  ASSERT_EQ(rec.requests.size(), 3u);
  const auto& first = rec.requests[0];
  EXPECT_EQ(first.method, "GET");
  EXPECT_EQ(first_query(first, "collections"), "sentinel-2-l2a");
  EXPECT_EQ(first_query(first, "bbox"), "8.0,46.0,9.0,47.0");
  EXPECT_EQ(first_query(first, "datetime"), "2023-05-01T00:00:00Z/2023-05-31T23:59:59Z");
  EXPECT_EQ(json::parse(first_query(first, "query")), p.query);
  EXPECT_EQ(first_query(first, "limit"), "3");
  // Next pages: exactly the link's href, nothing added.
  EXPECT_EQ(rec.requests[1].query.size(), 2u);
  EXPECT_EQ(first_query(rec.requests[1], "token"), "p2");
  EXPECT_EQ(rec.requests[2].query.size(), 1u);
  EXPECT_EQ(first_query(rec.requests[2], "token"), "p3");

  // max_items stops early (and caps limit).
  p.max_items = 4;
  rec.requests.clear();
  ItemCollection few = client.search(p);
  EXPECT_EQ(few.size(), 4u);
  EXPECT_EQ(rec.requests.size(), 2u);
  EXPECT_EQ(first_query(rec.requests[0], "limit"), "3");
}

TEST(StacClient, PostPagingMergesOnlyWhenAsked) {
  net::HttpServer server;
  Recorder rec;
  server.route("GET", "/", [](const net::ServerRequest& r) { return ok(landing(r.base_url, /*post=*/true)); });
  server.route("POST", "/search", [&](const net::ServerRequest& r) {
    rec.add(r);
    json body = json::parse(r.body);
    const std::string token = body.value("token", "");
    if (token.empty())  // merge: the token joins the original body
      return ok(page(0, 2, {{{"rel", "next"}, {"href", r.base_url + "/search"}, {"method", "POST"},
                             {"body", {{"token", "t2"}}}, {"merge", true}}}));
    if (token == "t2")  // no merge: the next body replaces the current one
      return ok(page(2, 2, {{{"rel", "next"}, {"href", r.base_url + "/search"}, {"method", "POST"},
                             {"body", {{"token", "t3"}, {"limit", 2}}}}}));
    if (token == "t3")  // merge false said explicitly, with a different href
      return ok(page(4, 2, {{{"rel", "next"}, {"href", r.base_url + "/search2"}, {"method", "POST"},
                             {"body", {{"token", "t4"}}}, {"merge", false}}}));
    return ok(page(100, 1));
  });
  server.route("POST", "/search2", [&](const net::ServerRequest& r) {
    rec.add(r);
    return ok(page(6, 1));
  });
  server.start();
  auto client = StacClient::open(server.base_url() + "/", fast_retries());
  SearchParameters p;
  p.collections = {"sentinel-2-l2a"};
  p.intersects = json{{"type", "Polygon"}, {"coordinates", {{{8, 46}, {9, 46}, {9, 47}, {8, 46}}}}};
  p.limit = 2;
  ItemCollection items = client.search(p);
  ASSERT_EQ(items.size(), 7u);
  EXPECT_EQ(items[6].id, "item-6");
  ASSERT_EQ(rec.requests.size(), 4u);
  const json b0 = json::parse(rec.requests[0].body);
  EXPECT_EQ(b0, (json{{"collections", {"sentinel-2-l2a"}}, {"intersects", *p.intersects}, {"limit", 2}}));
  json expected1 = b0;
  expected1["token"] = "t2";
  EXPECT_EQ(json::parse(rec.requests[1].body), expected1);
  EXPECT_EQ(json::parse(rec.requests[2].body), (json{{"token", "t3"}, {"limit", 2}}));
  EXPECT_EQ(json::parse(rec.requests[3].body), (json{{"token", "t4"}}));
  EXPECT_EQ(rec.requests[3].path, "/search2");

  // Forcing GET on a POST-capable API.
  p.method = SearchMethod::Get;
  server.route("GET", "/search", [&](const net::ServerRequest& r) {
    rec.add(r);
    return ok(page(0, 1));
  });
  rec.requests.clear();
  EXPECT_EQ(client.search(p).size(), 1u);
  ASSERT_EQ(rec.requests.size(), 1u);
  EXPECT_EQ(rec.requests[0].method, "GET");
  EXPECT_EQ(json::parse(first_query(rec.requests[0], "intersects")), *p.intersects);
}

TEST(StacClient, PostAnswered405FallsBackToGetOnlyWhenTheMethodWasLeftToUs) {
  net::HttpServer server;
  Recorder rec;
  server.route("GET", "/", [](const net::ServerRequest& r) { return ok(landing(r.base_url, /*post=*/true)); });
  server.route("POST", "/search", [&](const net::ServerRequest& r) {
    rec.add(r);
    return net::ServerResponse{405, "Method Not Allowed", "text/plain"};
  });
  server.route("GET", "/search", [&](const net::ServerRequest& r) {
    rec.add(r);
    return ok(page(0, 3));
  });
  server.start();
  auto client = StacClient::open(server.base_url() + "/", fast_retries());
  SearchParameters p;
  p.collections = {"sentinel-2-l2a"};
  p.datetime = "2023-05-01/2023-05-31";
  EXPECT_EQ(client.search(p).size(), 3u);
  ASSERT_EQ(rec.requests.size(), 2u);
  EXPECT_EQ(rec.requests[0].method, "POST");
  EXPECT_EQ(rec.requests[1].method, "GET");
  EXPECT_EQ(first_query(rec.requests[1], "collections"), "sentinel-2-l2a");
  // The GET carries the same search as the refused POST body.
  EXPECT_EQ(first_query(rec.requests[1], "datetime"),
            json::parse(rec.requests[0].body).at("datetime").get<std::string>());

  // A caller who asked for POST gets the server's answer, not a silent change of method.
  p.method = SearchMethod::Post;
  EXPECT_NE(error_of([&] { client.search(p); }).find("HTTP 405 from POST"), std::string::npos);
}

TEST(StacClient, RetriesOn503) {
  net::HttpServer server;
  std::atomic<int> calls{0};
  server.route("GET", "/", [&](const net::ServerRequest& r) {
    if (calls++ < 2) return net::ServerResponse{503, "busy", "text/plain", {}};
    return ok(landing(r.base_url, false));
  });
  std::atomic<int> search_calls{0};
  server.route("GET", "/search", [&](const net::ServerRequest&) {
    if (search_calls++ == 0) return net::ServerResponse{503, "busy", "text/plain", {}};
    return ok(page(0, 2));
  });
  server.start();
  auto client = StacClient::open(server.base_url(), fast_retries());
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(client.search({}).size(), 2u);
  EXPECT_EQ(search_calls.load(), 2);

  // Always 503: the error names the URL once retries are exhausted.
  net::HttpServer down;
  down.route("GET", "/", [](const net::ServerRequest&) { return net::ServerResponse{503, "busy", "text/plain", {}}; });
  down.start();
  const std::string e = error_of<IOError>([&] { StacClient::open(down.base_url(), fast_retries()); });
  EXPECT_NE(e.find("503"), std::string::npos);
  EXPECT_NE(e.find(down.base_url()), std::string::npos);
}

TEST(StacClient, NonStacResponsesAreOneClearError) {
  net::HttpServer server;
  server.route("GET", "/html", [](const net::ServerRequest&) {
    return net::ServerResponse{200, "<html><body>hello</body></html>", "text/html", {}};
  });
  server.route("GET", "/plainjson", [](const net::ServerRequest&) { return ok(json{{"hello", "world"}}); });
  server.route("GET", "/api", [](const net::ServerRequest& r) {
    json l = landing(r.base_url + "/api", false);
    return ok(l);
  });
  server.route("GET", "/api/search", [](const net::ServerRequest&) { return ok(json{{"type", "FeatureCollection"}}); });
  server.route("GET", "/noconf", [](const net::ServerRequest& r) {
    json l = landing(r.base_url + "/noconf", false);
    l.erase("conformsTo");
    l["links"].push_back({{"rel", "conformance"}, {"href", r.base_url + "/noconf/conformance"}});
    return ok(l);
  });
  server.route("GET", "/noconf/conformance", [](const net::ServerRequest&) {
    return ok(json{{"conformsTo", {"https://api.stacspec.org/v1.0.0/item-search"}}});
  });
  server.start();
  const std::string base = server.base_url();
  auto o = fast_retries();
  std::string e = error_of<IOError>([&] { StacClient::open(base + "/html", o); });
  EXPECT_EQ(e, "GET " + base + "/html is not a STAC API: the response is not a JSON object (content-type text/html), "
               "expected a STAC API landing page");
  e = error_of<IOError>([&] { StacClient::open(base + "/plainjson", o); });
  EXPECT_NE(e.find("GET " + base + "/plainjson is not a STAC API landing page"), std::string::npos);
  e = error_of<IOError>([&] { StacClient::open(base + "/missing", o); });
  EXPECT_NE(e.find("404"), std::string::npos);
  EXPECT_NE(e.find(base + "/missing"), std::string::npos);
  auto api = StacClient::open(base + "/api", o);
  e = error_of<IOError>([&] { api.search({}); });
  EXPECT_NE(e.find("GET " + base + "/api/search?limit=100 did not return a STAC ItemCollection"), std::string::npos);
  auto noconf = StacClient::open(base + "/noconf", o);
  EXPECT_EQ(noconf.conformance(), std::vector<std::string>{"https://api.stacspec.org/v1.0.0/item-search"});
  EXPECT_THROW(StacClient::open("ftp://example.com", o), ValueError);
  // Nothing listens on port 1 of the loopback: unreachable.
  auto quick = o;
  quick.max_retries = 0;
  EXPECT_THROW(StacClient::open("http://127.0.0.1:1", quick), IOError);
}

TEST(StacClient, PagingThatNeverEndsIsAnError) {
  net::HttpServer server;
  server.route("GET", "/", [](const net::ServerRequest& r) { return ok(landing(r.base_url, false)); });
  server.route("GET", "/search", [](const net::ServerRequest& r) {
    return ok(page(0, 1, {{{"rel", "next"}, {"href", r.base_url + "/search?limit=100"}}}));
  });
  server.start();
  auto client = StacClient::open(server.base_url(), fast_retries());
  EXPECT_NE(error_of<IOError>([&] { client.search({}); }).find("repeats the current request"), std::string::npos);
}

TEST(StacClient, Collections) {
  net::HttpServer server;
  server.route("GET", "/", [](const net::ServerRequest& r) { return ok(landing(r.base_url, false)); });
  server.route("GET", "/collections", [](const net::ServerRequest& r) {
    if (first_query(r, "page") == "2") return ok(json{{"collections", {{{"id", "b"}}}}, {"links", json::array()}});
    return ok(json{{"collections", {{{"id", "a"}}}}, {"links", {{{"rel", "next"}, {"href", "collections?page=2"}}}}});
  });
  server.start();
  auto client = StacClient::open(server.base_url(), fast_retries());
  json cols = client.collections();
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_EQ(cols[0]["id"], "a");
  EXPECT_EQ(cols[1]["id"], "b");
}
