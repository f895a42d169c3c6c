#include "stac/search_request.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

#include "cubist/error.hpp"
#include "stac/datetime_text.hpp"

namespace cubist::stac {

using nlohmann::json;

void validate_query(const json& query) {
  static const char* const kOps[] = {"eq", "neq", "lt", "lte", "gt", "gte", "in", "startsWith", "endsWith", "contains"};
  if (!query.is_object()) throw ValueError(fmt::format("search query must be an object, got {}", query.dump()));
  for (const auto& [prop, cond] : query.items()) {
    if (!cond.is_object() || cond.empty())
      throw ValueError(fmt::format("search query '{}' must be an object of operators like {{\"eq\": 32632}}, got {}", prop,
                                   cond.dump()));
    for (const auto& [op, value] : cond.items()) {
      if (std::find(std::begin(kOps), std::end(kOps), op) == std::end(kOps))
        throw ValueError(fmt::format("search query '{}': unknown operator '{}' (use eq neq lt lte gt gte in startsWith "
                                     "endsWith contains)", prop, op));
      if (op == "in" && !value.is_array())
        throw ValueError(fmt::format("search query '{}': 'in' needs an array of values, got {}", prop, value.dump()));
      if (op != "in" && (value.is_array() || value.is_object()))
        throw ValueError(fmt::format("search query '{}': '{}' needs a single value, got {}", prop, op, value.dump()));
    }
  }
}

json search_body(const SearchParameters& p) {
  json body = json::object();
  std::optional<std::int64_t> limit = p.limit;
  if (p.max_items) {
    if (*p.max_items < 1) throw ValueError(fmt::format("search max_items must be at least 1, got {}", *p.max_items));
    if (limit) limit = std::min<std::int64_t>(*limit, *p.max_items);
  }
  if (limit) {
    if (*limit < 1 || *limit > 10000) throw ValueError(fmt::format("search limit must be within 1..10000, got {}", *limit));
    body["limit"] = *limit;
  }
  if (p.bbox) {
    const auto& b = *p.bbox;
    if (b.size() != 4 && b.size() != 6) throw ValueError(fmt::format("search bbox must have 4 or 6 numbers, got {}", b.size()));
    const std::size_t half = b.size() / 2;
    for (std::size_t i = 0; i < half; ++i)
      if (!(b[i] <= b[i + half]) && i != 0)  // x may cross the antimeridian (minx > maxx); others may not
        throw ValueError(fmt::format("search bbox [{}]: min {} is greater than max {}", fmt::join(b, ", "), b[i], b[i + half]));
    body["bbox"] = b;
  }
  if (p.datetime) body["datetime"] = normalize_datetime(*p.datetime);
  if (!p.ids.empty()) body["ids"] = p.ids;
  if (!p.collections.empty()) body["collections"] = p.collections;
  if (p.intersects) {
    const json& g = *p.intersects;
    if (!g.is_object() || !g.contains("type") || !g["type"].is_string())
      throw ValueError("search intersects must be a GeoJSON geometry object with a \"type\"");
    const auto type = g["type"].get<std::string>();
    if (type == "Feature" || type == "FeatureCollection")
      throw ValueError(fmt::format("search intersects must be a GeoJSON geometry, got a {} (pass its geometry)", type));
    if (type != "GeometryCollection" && !g.contains("coordinates"))
      throw ValueError(fmt::format("search intersects: {} has no 'coordinates'", type));
    body["intersects"] = g;
  }
  if (p.bbox && p.intersects) throw ValueError("search: give either bbox or intersects, not both");
  if (!p.query.is_null() && !(p.query.is_object() && p.query.empty())) {
    validate_query(p.query);
    body["query"] = p.query;
  }
  return body;
}

std::string percent_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string search_query_string(const json& body) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : body.items()) {
    std::string text;
    if ((k == "bbox" || k == "ids" || k == "collections") && v.is_array()) {
      std::vector<std::string> items;
      for (const auto& x : v) items.push_back(x.is_string() ? x.get<std::string>() : x.dump());
      text = fmt::format("{}", fmt::join(items, ","));
    } else if (v.is_string()) {
      text = v.get<std::string>();
    } else {
      text = v.dump();
    }
    parts.push_back(percent_encode(k) + "=" + percent_encode(text));
  }
  return fmt::format("{}", fmt::join(parts, "&"));
}

std::string append_query(const std::string& url, const std::string& query) {
  if (query.empty()) return url;
  return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
}

json merge_bodies(const json& base, const json& patch) {
  if (!base.is_object() || !patch.is_object()) return patch;
  json out = base;
  for (const auto& [k, v] : patch.items()) {
    if (out.contains(k) && out[k].is_object() && v.is_object()) out[k] = merge_bodies(out[k], v);
    else out[k] = v;
  }
  return out;
}

}  // namespace cubist::stac

namespace cubist {

void SearchParameters::set_intersects(const Geometry& geometry) {
  // STAC API geometries are GeoJSON: CRS84 (lon, lat). A geometry without a CRS is taken as CRS84.
  const Crs crs84 = Crs::from_user_input("OGC:CRS84");
  intersects = geometry.crs().empty() ? geometry.to_geojson() : geometry.to_crs(crs84).to_geojson();
}

}  // namespace cubist
