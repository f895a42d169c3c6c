// The demo STAC API: see api_server.hpp for the routes and their semantics.
#include "stac/api_server.hpp"

#include <gdal.h>
#include <ogr_geometry.h>

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <map>
#include <mutex>
#include <optional>

#include "cubist/datetime.hpp"
#include "cubist/error.hpp"

namespace cubist::stac {

using nlohmann::json;

namespace {

constexpr const char* kGeoJson = "application/geo+json";

const std::vector<std::string> kConformance = {
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#query",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#query",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
};

// ------------------------------------------------------------------ RFC 3339 times
// ns since the epoch of an RFC 3339 instant ("2019-02-01T10:20:29.024Z", "+01:00" offsets); a
// date alone means its whole day (start, or end when `end` is set), as STAC APIs accept it.
std::int64_t parse_instant(const std::string& text, bool end, const std::string& where) {
  std::string t = text;
  std::int64_t offset_ns = 0;
  if (!t.empty() && (t.back() == 'Z' || t.back() == 'z')) {
    t.pop_back();
  } else if (t.size() > 6 && t.find('T') != std::string::npos && (t[t.size() - 6] == '+' || t[t.size() - 6] == '-') &&
             t[t.size() - 3] == ':') {
    const int sign = t[t.size() - 6] == '+' ? 1 : -1;
    try {
      const int h = std::stoi(t.substr(t.size() - 5, 2)), m = std::stoi(t.substr(t.size() - 2, 2));
      offset_ns = sign * (h * 3600LL + m * 60LL) * 1000000000LL;
    } catch (const std::exception&) {
      throw ValueError(fmt::format("{}: '{}' is not an RFC 3339 datetime", where, text));
    }
    t.resize(t.size() - 6);
  }
  if (t.empty() || t.size() < 10) throw ValueError(fmt::format("{}: '{}' is not an RFC 3339 datetime", where, text));
  try {
    ParsedTime p = parse_datetime(t);
    return (end && p.resolution <= TimeResolution::Day ? p.period_end_ns() : p.ns) - offset_ns;
  } catch (const Error&) {
    throw ValueError(fmt::format("{}: '{}' is not an RFC 3339 datetime", where, text));
  }
}

struct TimeRange {
  std::int64_t lo = std::numeric_limits<std::int64_t>::min(), hi = std::numeric_limits<std::int64_t>::max();
};

// "instant", "start/end", "../end", "start/..", "/end", "start/".
TimeRange parse_datetime_filter(const std::string& text) {
  const std::string where = "datetime";
  auto slash = text.find('/');
  if (slash == std::string::npos) {
    TimeRange r{parse_instant(text, false, where), parse_instant(text, true, where)};
    return r;
  }
  std::string a = text.substr(0, slash), b = text.substr(slash + 1);
  auto open = [](const std::string& s) { return s.empty() || s == ".."; };
  if (open(a) && open(b)) throw ValueError(fmt::format("datetime: '{}' is open at both ends", text));
  TimeRange r;
  if (!open(a)) r.lo = parse_instant(a, false, where);
  if (!open(b)) r.hi = parse_instant(b, true, where);
  if (r.lo > r.hi) throw ValueError(fmt::format("datetime: '{}' ends before it starts", text));
  return r;
}

// ------------------------------------------------------------------ geometry (OGR)
struct OgrDelete {
  void operator()(OGRGeometry* g) const { OGRGeometryFactory::destroyGeometry(g); }
};
using OgrGeometry = std::unique_ptr<OGRGeometry, OgrDelete>;

OgrGeometry geometry_from_geojson(const json& g, const std::string& where) {
  if (!g.is_object() || !g.contains("type"))
    throw ValueError(fmt::format("{}: not a GeoJSON geometry object", where));
  OGRGeometry* out = OGRGeometryFactory::createFromGeoJson(g.dump().c_str());
  if (!out) throw ValueError(fmt::format("{}: not a valid GeoJSON geometry", where));
  return OgrGeometry(out);
}

OgrGeometry geometry_from_bbox(const std::vector<double>& b) {
  // 6 numbers: minx miny minz maxx maxy maxz.
  const bool three_d = b.size() == 6;
  const double minx = b[0], miny = b[1], maxx = b[three_d ? 3 : 2], maxy = b[three_d ? 4 : 3];
  auto ring = std::make_unique<OGRLinearRing>();
  ring->addPoint(minx, miny);
  ring->addPoint(maxx, miny);
  ring->addPoint(maxx, maxy);
  ring->addPoint(minx, maxy);
  ring->addPoint(minx, miny);
  auto poly = new OGRPolygon();
  poly->addRingDirectly(ring.release());
  return OgrGeometry(poly);
}

// ------------------------------------------------------------------ query extension
bool compare(const json& value, const std::string& op, const json& operand) {
  if (op == "in") {
    for (const auto& o : operand)
      if (compare(value, "eq", o)) return true;
    return false;
  }
  const bool numbers = value.is_number() && operand.is_number();
  const bool strings = value.is_string() && operand.is_string();
  if (op == "eq") return numbers ? value.get<double>() == operand.get<double>() : value == operand;
  if (op == "neq") return !compare(value, "eq", operand);
  if (op == "startsWith" || op == "endsWith" || op == "contains") {
    if (!strings) return false;
    const auto& v = value.get_ref<const std::string&>();
    const auto& o = operand.get_ref<const std::string&>();
    if (op == "contains") return v.find(o) != std::string::npos;
    if (op == "startsWith") return v.rfind(o, 0) == 0;
    return v.size() >= o.size() && v.compare(v.size() - o.size(), o.size(), o) == 0;
  }
  int c;
  if (numbers) {
    const double a = value.get<double>(), b = operand.get<double>();
    c = a < b ? -1 : (a > b ? 1 : 0);
  } else if (strings) {
    c = value.get_ref<const std::string&>().compare(operand.get_ref<const std::string&>());
  } else {
    return false;  // no order between different types
  }
  if (op == "lt") return c < 0;
  if (op == "lte") return c <= 0;
  if (op == "gt") return c > 0;
  return c >= 0;  // gte (ops were validated)
}

void validate_query(const json& q) {
  static const std::vector<std::string> ops = {"eq", "neq", "lt", "lte", "gt", "gte", "in", "startsWith", "endsWith",
                                               "contains"};
  if (!q.is_object()) throw ValueError("query: must be an object {\"property\": {\"op\": value}}");
  for (const auto& [prop, cond] : q.items()) {
    if (!cond.is_object()) throw ValueError(fmt::format("query.{}: must be an object of operators", prop));
    for (const auto& [op, operand] : cond.items()) {
      if (std::find(ops.begin(), ops.end(), op) == ops.end())
        throw ValueError(fmt::format("query.{}: unknown operator '{}' (expected eq neq lt lte gt gte in)", prop, op));
      if (op == "in" && !operand.is_array()) throw ValueError(fmt::format("query.{}.in: must be an array", prop));
    }
  }
}

// ------------------------------------------------------------------ URLs
std::string url_encode(const std::string& s, bool keep_slash) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

bool is_absolute_url(const std::string& s) { return s.find("://") != std::string::npos; }

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

json error_body(const std::string& code, const std::string& description) {
  return {{"code", code}, {"description", description}};
}

net::ServerResponse json_response(const json& body, int status = 200, const char* type = "application/json") {
  net::ServerResponse r;
  r.status = status;
  r.body = body.dump();
  r.content_type = type;
  return r;
}

}  // namespace

// ------------------------------------------------------------------ the server
struct StacApiServer::Impl {
  struct Entry {
    json item;
    std::string id, collection;
    TimeRange time;
    OgrGeometry geometry;  // null when the item has none
  };
  std::vector<Entry> entries;  // in the order searches return them
  std::filesystem::path data_dir;
  StacApiOptions options;
  net::HttpServer http;

  void load(const json& items);
  void add_routes();

  // --- request parsing
  ApiSearch parse_get(const net::ServerRequest& r) const;
  ApiSearch parse_post(const json& body) const;
  void validate(ApiSearch& s) const;
  std::vector<const Entry*> match(const ApiSearch& s) const;

  // --- responses
  json item_out(const Entry& e, const std::string& base) const;
  json collection_out(const std::string& id, const std::string& base) const;
  json landing(const std::string& base) const;
  net::ServerResponse search(const ApiSearch& s, const net::ServerRequest& r, bool post) const;
};

void StacApiServer::Impl::load(const json& items) {
  if (!items.is_object() || !items.contains("features") || !items["features"].is_array())
    throw ValueError("StacApiServer: items must be a GeoJSON FeatureCollection with a features array");
  for (const auto& f : items["features"]) {
    Entry e;
    if (!f.is_object() || !f.contains("id") || !f["id"].is_string())
      throw ValueError("StacApiServer: a feature has no string id");
    e.id = f["id"].get<std::string>();
    const std::string where = "item " + e.id;
    const json props = f.value("properties", json::object());
    if (!props.is_object()) throw ValueError(where + ": properties is not an object");
    if (props.contains("datetime") && props["datetime"].is_string()) {
      e.time.lo = e.time.hi = parse_instant(props["datetime"].get<std::string>(), false, where + ": properties.datetime");
    } else if (props.contains("start_datetime") && props.contains("end_datetime")) {
      e.time.lo = parse_instant(props["start_datetime"].get<std::string>(), false, where + ": start_datetime");
      e.time.hi = parse_instant(props["end_datetime"].get<std::string>(), true, where + ": end_datetime");
    } else {
      throw ValueError(where + ": no properties.datetime (nor start_datetime/end_datetime)");
    }
    e.collection = f.value("collection", std::string());
    if (f.contains("geometry") && !f["geometry"].is_null())
      e.geometry = geometry_from_geojson(f["geometry"], where + ": geometry");
    e.item = f;
    entries.push_back(std::move(e));
  }
  // earth-search's default order: newest first, ties by id so pages are stable.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.time.lo != b.time.lo ? a.time.lo > b.time.lo : a.id < b.id;
  });
}

ApiSearch StacApiServer::Impl::parse_get(const net::ServerRequest& r) const {
  ApiSearch s;
  auto one = [&](const char* key) -> std::optional<std::string> {
    auto it = r.query.find(key);
    if (it == r.query.end()) return std::nullopt;
    return it->second;
  };
  if (auto v = one("collections")) s.collections = split_commas(*v);
  if (auto v = one("ids")) s.ids = split_commas(*v);
  if (auto v = one("bbox")) {
    std::vector<double> b;
    for (const auto& p : split_commas(*v)) {
      try {
        std::size_t used = 0;
        b.push_back(std::stod(p, &used));
        if (used != p.size()) throw std::invalid_argument(p);
      } catch (const std::exception&) {
        throw ValueError(fmt::format("bbox: '{}' is not a number", p));
      }
    }
    s.bbox = b;
  }
  if (auto v = one("intersects")) {
    json g = json::parse(*v, nullptr, false);
    if (g.is_discarded()) throw ValueError("intersects: not valid JSON");
    s.intersects = g;
  }
  if (auto v = one("datetime")) s.datetime = *v;
  if (auto v = one("query")) {
    json q = json::parse(*v, nullptr, false);
    if (q.is_discarded()) throw ValueError("query: not valid JSON");
    s.query = q;
  }
  if (auto v = one("limit")) {
    try {
      std::size_t used = 0;
      s.limit = std::stoi(*v, &used);
      if (used != v->size()) throw std::invalid_argument(*v);
    } catch (const std::exception&) {
      throw ValueError(fmt::format("limit: '{}' is not an integer", *v));
    }
    if (s.limit < 1) throw ValueError(fmt::format("limit: {} is not in [1, {}]", *v, options.max_limit));
  }
  if (auto v = one("token")) {
    json t = *v;
    json body = {{"token", t}};
    s.offset = parse_post(body).offset;
  }
  validate(s);
  return s;
}

ApiSearch StacApiServer::Impl::parse_post(const json& body) const {
  if (!body.is_object()) throw ValueError("search body: must be a JSON object");
  ApiSearch s;
  auto strings = [&](const char* key) {
    std::vector<std::string> out;
    if (!body.contains(key) || body[key].is_null()) return out;
    if (!body[key].is_array()) throw ValueError(fmt::format("{}: must be an array of strings", key));
    for (const auto& v : body[key]) {
      if (!v.is_string()) throw ValueError(fmt::format("{}: must be an array of strings", key));
      out.push_back(v.get<std::string>());
    }
    return out;
  };
  s.collections = strings("collections");
  s.ids = strings("ids");
  if (body.contains("bbox") && !body["bbox"].is_null()) {
    const json& b = body["bbox"];
    if (!b.is_array()) throw ValueError("bbox: must be an array of 4 or 6 numbers");
    std::vector<double> v;
    for (const auto& x : b) {
      if (!x.is_number()) throw ValueError("bbox: must be an array of 4 or 6 numbers");
      v.push_back(x.get<double>());
    }
    s.bbox = v;
  }
  if (body.contains("intersects") && !body["intersects"].is_null()) s.intersects = body["intersects"];
  if (body.contains("datetime") && !body["datetime"].is_null()) {
    if (!body["datetime"].is_string()) throw ValueError("datetime: must be a string");
    s.datetime = body["datetime"].get<std::string>();
  }
  if (body.contains("query") && !body["query"].is_null()) s.query = body["query"];
  if (body.contains("limit") && !body["limit"].is_null()) {
    if (!body["limit"].is_number_integer() || body["limit"].get<std::int64_t>() < 1)
      throw ValueError(fmt::format("limit: {} is not a positive integer", body["limit"].dump()));
    s.limit = static_cast<int>(std::min<std::int64_t>(body["limit"].get<std::int64_t>(), options.max_limit + 1LL));
  }
  if (body.contains("token") && !body["token"].is_null()) {
    // Tokens are "next:<offset>": opaque to clients, simple to check here.
    const json& t = body["token"];
    std::string text = t.is_string() ? t.get<std::string>() : "";
    try {
      if (text.rfind("next:", 0) != 0) throw std::invalid_argument(text);
      std::size_t used = 0;
      s.offset = std::stoll(text.substr(5), &used);
      if (used != text.size() - 5 || s.offset < 0) throw std::invalid_argument(text);
    } catch (const std::exception&) {
      throw ValueError(fmt::format("token: '{}' is not a token this API issued", t.dump()));
    }
  }
  validate(s);
  return s;
}

void StacApiServer::Impl::validate(ApiSearch& s) const {
  if (s.bbox && s.intersects) throw ValueError("bbox and intersects: only one of them may be given");
  if (s.bbox) {
    const auto& b = *s.bbox;
    if (b.size() != 4 && b.size() != 6) throw ValueError(fmt::format("bbox: has {} numbers, expected 4 or 6", b.size()));
    const bool three_d = b.size() == 6;
    if (b[1] > b[three_d ? 4 : 3]) throw ValueError("bbox: miny is greater than maxy");
  }
  if (s.intersects) geometry_from_geojson(*s.intersects, "intersects");
  if (s.datetime) parse_datetime_filter(*s.datetime);
  validate_query(s.query);
  if (s.limit > options.max_limit)
    throw ValueError(fmt::format("limit: {} is not in [1, {}]", s.limit, options.max_limit));
}

std::vector<const StacApiServer::Impl::Entry*> StacApiServer::Impl::match(const ApiSearch& s) const {
  OgrGeometry area;
  if (s.intersects) area = geometry_from_geojson(*s.intersects, "intersects");
  if (s.bbox) area = geometry_from_bbox(*s.bbox);
  std::optional<TimeRange> when;
  if (s.datetime) when = parse_datetime_filter(*s.datetime);
  auto listed = [](const std::vector<std::string>& list, const std::string& v) {
    return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
  };
  std::vector<const Entry*> out;
  for (const Entry& e : entries) {
    if (!listed(s.collections, e.collection) || !listed(s.ids, e.id)) continue;
    if (when && (e.time.hi < when->lo || e.time.lo > when->hi)) continue;
    if (area && (!e.geometry || !area->Intersects(e.geometry.get()))) continue;
    bool ok = true;
    const json& props = e.item["properties"];
    for (const auto& [prop, cond] : s.query.items()) {
      auto it = props.find(prop);
      for (const auto& [op, operand] : cond.items())
        ok = ok && it != props.end() && compare(*it, op, operand);
    }
    if (ok) out.push_back(&e);
  }
  return out;
}

json StacApiServer::Impl::item_out(const Entry& e, const std::string& base) const {
  json item = e.item;
  const std::string coll = base + "/collections/" + url_encode(e.collection, false);
  item["links"] = json::array({
      {{"rel", "self"}, {"type", kGeoJson}, {"href", coll + "/items/" + url_encode(e.id, false)}},
      {{"rel", "parent"}, {"type", "application/json"}, {"href", coll}},
      {{"rel", "collection"}, {"type", "application/json"}, {"href", coll}},
      {{"rel", "root"}, {"type", "application/json"}, {"href", base + "/"}},
  });
  if (item.contains("assets") && item["assets"].is_object())
    for (auto& [key, asset] : item["assets"].items())
      if (asset.is_object() && asset.contains("href") && asset["href"].is_string()) {
        const std::string href = asset["href"].get<std::string>();
        if (!is_absolute_url(href)) asset["href"] = base + options.assets_prefix + "/" + url_encode(href, true);
      }
  return item;
}

json StacApiServer::Impl::collection_out(const std::string& id, const std::string& base) const {
  double minx = 180, miny = 90, maxx = -180, maxy = -90;
  std::int64_t t0 = std::numeric_limits<std::int64_t>::max(), t1 = std::numeric_limits<std::int64_t>::min();
  for (const Entry& e : entries) {
    if (e.collection != id) continue;
    t0 = std::min(t0, e.time.lo);
    t1 = std::max(t1, e.time.hi);
    if (e.geometry) {
      OGREnvelope env;
      e.geometry->getEnvelope(&env);
      minx = std::min(minx, env.MinX), miny = std::min(miny, env.MinY);
      maxx = std::max(maxx, env.MaxX), maxy = std::max(maxy, env.MaxY);
    }
  }
  auto iso = [](std::int64_t ns) { return format_datetime(ns) + "Z"; };
  const std::string self = base + "/collections/" + url_encode(id, false);
  return {
      {"type", "Collection"},
      {"stac_version", "1.0.0"},
      {"id", id},
      {"title", id},
      {"description", "Synthetic " + id + " items served by cubist"},
      {"license", "proprietary"},
      {"extent",
       {{"spatial", {{"bbox", json::array({json::array({minx, miny, maxx, maxy})})}}},
        {"temporal", {{"interval", json::array({json::array({iso(t0), iso(t1)})})}}}}},
      {"links", json::array({{{"rel", "self"}, {"type", "application/json"}, {"href", self}},
                             {{"rel", "root"}, {"type", "application/json"}, {"href", base + "/"}},
                             {{"rel", "parent"}, {"type", "application/json"}, {"href", base + "/"}},
                             {{"rel", "items"}, {"type", kGeoJson}, {"href", self + "/items"}}})},
  };
}

json StacApiServer::Impl::landing(const std::string& base) const {
  json links = json::array({
      {{"rel", "self"}, {"type", "application/json"}, {"href", base + "/"}},
      {{"rel", "root"}, {"type", "application/json"}, {"href", base + "/"}},
      {{"rel", "conformance"}, {"type", "application/json"}, {"href", base + "/conformance"}},
      {{"rel", "data"}, {"type", "application/json"}, {"href", base + "/collections"}},
      {{"rel", "search"}, {"type", kGeoJson}, {"method", "GET"}, {"href", base + "/search"}},
      {{"rel", "search"}, {"type", kGeoJson}, {"method", "POST"}, {"href", base + "/search"}},
  });
  std::vector<std::string> ids;
  for (const Entry& e : entries)
    if (std::find(ids.begin(), ids.end(), e.collection) == ids.end()) ids.push_back(e.collection);
  for (const auto& id : ids)
    links.push_back({{"rel", "child"}, {"type", "application/json"}, {"href", base + "/collections/" + url_encode(id, false)}});
  return {{"type", "Catalog"},        {"id", options.id},         {"title", options.title},
          {"description", options.title}, {"stac_version", "1.0.0"}, {"conformsTo", kConformance},
          {"links", links}};
}

net::ServerResponse StacApiServer::Impl::search(const ApiSearch& s, const net::ServerRequest& r, bool post) const {
  const auto found = match(s);
  const auto limit = static_cast<std::int64_t>(s.limit > 0 ? s.limit : options.default_limit);
  const auto total = static_cast<std::int64_t>(found.size());
  const std::int64_t first = std::min(s.offset, total), last = std::min(first + limit, total);
  json features = json::array();
  for (std::int64_t i = first; i < last; ++i) features.push_back(item_out(*found[static_cast<std::size_t>(i)], r.base_url));
  const std::string self = r.base_url + r.path;
  json links = json::array({{{"rel", "root"}, {"type", "application/json"}, {"href", r.base_url + "/"}}});
  if (last < total) {
    const std::string token = fmt::format("next:{}", last);
    if (post) {
      links.push_back({{"rel", "next"},
                       {"type", kGeoJson},
                       {"method", "POST"},
                       {"href", self},
                       {"body", {{"token", token}}},
                       {"merge", true}});
    } else {
      std::string q;
      for (const auto& [k, v] : r.query)
        if (k != "token") q += (q.empty() ? "" : "&") + url_encode(k, false) + "=" + url_encode(v, false);
      q += (q.empty() ? "" : "&") + std::string("token=") + url_encode(token, false);
      links.push_back({{"rel", "next"}, {"type", kGeoJson}, {"method", "GET"}, {"href", self + "?" + q}});
    }
  }
  const auto returned = static_cast<std::int64_t>(features.size());
  json out = {{"type", "FeatureCollection"},
              {"stac_version", "1.0.0"},
              {"numberMatched", total},
              {"numberReturned", returned},
              {"context", {{"limit", limit}, {"matched", total}, {"returned", returned}}},
              {"features", std::move(features)},
              {"links", std::move(links)}};
  return json_response(out, 200, kGeoJson);
}

void StacApiServer::Impl::add_routes() {
  // Bad input from clients is a 400 naming the field; anything else stays a 500.
  auto guarded = [](auto f) {
    return [f](const net::ServerRequest& r) -> net::ServerResponse {
      try {
        return f(r);
      } catch (const ValueError& e) {
        return json_response(error_body("BadRequest", e.what()), 400);
      } catch (const KeyError& e) {
        return json_response(error_body("NotFound", e.what()), 404);
      }
    };
  };
  http.route("GET", "/", guarded([this](const net::ServerRequest& r) { return json_response(landing(r.base_url)); }));
  http.route("GET", "/conformance",
             guarded([](const net::ServerRequest&) { return json_response({{"conformsTo", kConformance}}); }));
  http.route("GET", "/collections", guarded([this](const net::ServerRequest& r) {
               json cs = json::array();
               std::vector<std::string> seen;
               for (const Entry& e : entries)
                 if (std::find(seen.begin(), seen.end(), e.collection) == seen.end()) {
                   seen.push_back(e.collection);
                   cs.push_back(collection_out(e.collection, r.base_url));
                 }
               return json_response({{"collections", cs},
                                     {"links", json::array({{{"rel", "root"}, {"href", r.base_url + "/"}},
                                                            {{"rel", "self"}, {"href", r.base_url + "/collections"}}})}});
             }));
  auto known = [this](const std::string& id) {
    for (const Entry& e : entries)
      if (e.collection == id) return;
    throw KeyError(fmt::format("collection '{}' not found", id));
  };
  http.route("GET", "/collections/([^/]+)", guarded([this, known](const net::ServerRequest& r) {
               known(r.matches.at(1));
               return json_response(collection_out(r.matches.at(1), r.base_url));
             }));
  http.route("GET", "/collections/([^/]+)/items", guarded([this, known](const net::ServerRequest& r) {
               known(r.matches.at(1));
               ApiSearch s = parse_get(r);
               s.collections = {r.matches.at(1)};
               return search(s, r, false);
             }));
  http.route("GET", "/collections/([^/]+)/items/([^/]+)", guarded([this, known](const net::ServerRequest& r) {
               known(r.matches.at(1));
               for (const Entry& e : entries)
                 if (e.collection == r.matches.at(1) && e.id == r.matches.at(2))
                   return json_response(item_out(e, r.base_url), 200, kGeoJson);
               throw KeyError(fmt::format("item '{}' not found in collection '{}'", r.matches.at(2), r.matches.at(1)));
             }));
  http.route("GET", "/search",
             guarded([this](const net::ServerRequest& r) { return search(parse_get(r), r, false); }));
  http.route("POST", "/search", guarded([this](const net::ServerRequest& r) {
               json body = r.body.empty() ? json::object() : json::parse(r.body, nullptr, false);
               if (body.is_discarded()) throw ValueError("search body: not valid JSON");
               return search(parse_post(body), r, true);
             }));
  http.mount_directory(options.assets_prefix, data_dir.string());
}

StacApiServer::StacApiServer(const json& items, std::filesystem::path data_dir, StacApiOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->data_dir = std::move(data_dir);
  impl_->options = std::move(options);
  if (impl_->options.assets_prefix.empty() || impl_->options.assets_prefix[0] != '/')
    throw ValueError("StacApiServer: assets_prefix must start with '/'");
  impl_->load(items);
  impl_->add_routes();
}

StacApiServer::~StacApiServer() { stop(); }

int StacApiServer::start(int port) { return impl_->http.start("127.0.0.1", port); }
void StacApiServer::stop() { impl_->http.stop(); }
std::string StacApiServer::url() const { return impl_->http.base_url(); }
net::ServerStats StacApiServer::stats() const { return impl_->http.stats(); }
std::size_t StacApiServer::size() const { return impl_->entries.size(); }

std::vector<std::string> StacApiServer::matching_ids(const ApiSearch& search) const {
  ApiSearch s = search;
  impl_->validate(s);
  std::vector<std::string> out;
  for (const auto* e : impl_->match(s)) out.push_back(e->id);
  return out;
}

}  // namespace cubist::stac
