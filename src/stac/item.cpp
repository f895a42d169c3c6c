// STAC Items and Assets: parsing with validation (every error names the item id and the field),
// projection info with the asset -> item fallback, raster:bands, href resolution.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>

#include "cubist/error.hpp"
#include "cubist/stac.hpp"
#include "stac/datetime_text.hpp"
#include "stac/href.hpp"

namespace cubist {
namespace {

using nlohmann::json;

struct Where {
  std::string item;
  [[noreturn]] void fail(const std::string& field, const std::string& why) const {
    throw ValueError(fmt::format("STAC item '{}': field '{}' {}", item, field, why));
  }
};

std::optional<std::string> optional_string(const json& obj, const char* key, const Where& w, const std::string& prefix) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) w.fail(prefix + key, fmt::format("must be a string, got {}", it->dump()));
  return it->get<std::string>();
}

std::optional<double> optional_number(const json& obj, const char* key, const Where& w, const std::string& prefix) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (it->is_number()) return it->get<double>();
  // The raster extension allows the non-finite nodata values as strings.
  if (it->is_string()) {
    const auto s = it->get<std::string>();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
  }
  w.fail(prefix + key, fmt::format("must be a number, got {}", it->dump()));
}

std::vector<double> numbers(const json& v, const Where& w, const std::string& field) {
  if (!v.is_array()) w.fail(field, fmt::format("must be an array of numbers, got {}", v.dump()));
  std::vector<double> out;
  for (const auto& x : v) {
    if (!x.is_number()) w.fail(field, fmt::format("must be an array of numbers, got {}", v.dump()));
    out.push_back(x.get<double>());
  }
  return out;
}

// The projection extension's fields found directly in `obj` (asset or item properties).
ProjectionInfo parse_projection(const json& obj, const Where& w, const std::string& prefix) {
  ProjectionInfo p;
  if (auto it = obj.find("proj:epsg"); it != obj.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() <= 0 || it->get<std::int64_t>() > 999999)
      w.fail(prefix + "proj:epsg", fmt::format("must be a positive integer EPSG code, got {}", it->dump()));
    p.epsg = it->get<int>();
  }
  if (auto code = optional_string(obj, "proj:code", w, prefix)) {
    p.code = code;
    std::string upper = *code;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    if (upper.rfind("EPSG:", 0) == 0) {
      const std::string digits = code->substr(5);
      if (digits.empty() || digits.size() > 6 || !std::all_of(digits.begin(), digits.end(), ::isdigit))
        w.fail(prefix + "proj:code", fmt::format("'{}' is not of the form EPSG:<code>", *code));
      const int epsg = std::stoi(digits);
      if (p.epsg && *p.epsg != epsg)
        w.fail(prefix + "proj:code", fmt::format("'{}' contradicts proj:epsg {}", *code, *p.epsg));
      p.epsg = epsg;
    }
  }
  p.wkt2 = optional_string(obj, "proj:wkt2", w, prefix);
  if (auto it = obj.find("proj:transform"); it != obj.end() && !it->is_null()) {
    auto t = numbers(*it, w, prefix + "proj:transform");
    if (t.size() == 9 && (t[6] != 0 || t[7] != 0 || t[8] != 1))
      w.fail(prefix + "proj:transform", "must end with 0, 0, 1 when it has 9 numbers");
    if (t.size() != 6 && t.size() != 9)
      w.fail(prefix + "proj:transform", fmt::format("must have 6 or 9 numbers, got {}", t.size()));
    if (!std::all_of(t.begin(), t.end(), [](double x) { return std::isfinite(x); }) || t[0] * t[4] - t[1] * t[3] == 0)
      w.fail(prefix + "proj:transform", fmt::format("{} is not an invertible affine transform", it->dump()));
    p.transform = std::array<double, 6>{t[0], t[1], t[2], t[3], t[4], t[5]};
  }
  if (auto it = obj.find("proj:shape"); it != obj.end() && !it->is_null()) {
    if (!it->is_array() || it->size() != 2 || !(*it)[0].is_number_integer() || !(*it)[1].is_number_integer() ||
        (*it)[0].get<std::int64_t>() <= 0 || (*it)[1].get<std::int64_t>() <= 0)
      w.fail(prefix + "proj:shape", fmt::format("must be [rows, cols] of positive integers, got {}", it->dump()));
    p.shape = std::array<std::int64_t, 2>{(*it)[0].get<std::int64_t>(), (*it)[1].get<std::int64_t>()};
  }
  if (auto it = obj.find("proj:bbox"); it != obj.end() && !it->is_null()) {
    auto b = numbers(*it, w, prefix + "proj:bbox");
    if (b.size() != 4 && b.size() != 6) w.fail(prefix + "proj:bbox", fmt::format("must have 4 or 6 numbers, got {}", b.size()));
    p.bbox = b.size() == 4 ? std::array<double, 4>{b[0], b[1], b[2], b[3]} : std::array<double, 4>{b[0], b[1], b[3], b[4]};
  }
  return p;
}

// Each field from the asset, else from the item. A CRS is taken as a whole (epsg/code/wkt2) so an
// asset's own WKT is never mixed with the item's EPSG code.
ProjectionInfo with_fallback(ProjectionInfo a, const ProjectionInfo& item) {
  if (!a.epsg && !a.code && !a.wkt2) {
    a.epsg = item.epsg;
    a.code = item.code;
    a.wkt2 = item.wkt2;
  }
  if (!a.transform) a.transform = item.transform;
  if (!a.shape) a.shape = item.shape;
  if (!a.bbox) a.bbox = item.bbox;
  return a;
}

std::vector<RasterBand> parse_raster_bands(const json& asset, const Where& w, const std::string& prefix) {
  std::vector<RasterBand> out;
  auto it = asset.find("raster:bands");
  if (it == asset.end() || it->is_null()) return out;
  if (!it->is_array()) w.fail(prefix + "raster:bands", "must be an array");
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& b = (*it)[i];
    const std::string p = fmt::format("{}raster:bands[{}].", prefix, i);
    if (!b.is_object()) w.fail(p.substr(0, p.size() - 1), "must be an object");
    RasterBand rb;
    rb.data_type = optional_string(b, "data_type", w, p);
    rb.nodata = optional_number(b, "nodata", w, p);
    rb.scale = optional_number(b, "scale", w, p);
    rb.offset = optional_number(b, "offset", w, p);
    out.push_back(rb);
  }
  return out;
}

std::string self_link(const json& feature) {
  auto it = feature.find("links");
  if (it == feature.end() || !it->is_array()) return "";
  for (const auto& l : *it)
    if (l.is_object() && l.value("rel", "") == "self" && l.contains("href") && l["href"].is_string())
      return l["href"].get<std::string>();
  return "";
}

}  // namespace

bool Asset::has_role(const std::string& role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

Item Item::from_json(const json& f, const std::string& base) {
  if (!f.is_object()) throw ValueError(fmt::format("STAC item: expected a GeoJSON Feature object, got {}", f.type_name()));
  Item item;
  Where w;
  if (!f.contains("id") || !f["id"].is_string() || f["id"].get<std::string>().empty())
    throw ValueError(fmt::format("STAC item: field 'id' must be a non-empty string, got {}",
                                 f.contains("id") ? f["id"].dump() : "nothing"));
  item.id = f["id"].get<std::string>();
  w.item = item.id;
  if (f.value("type", json()) != "Feature") w.fail("type", fmt::format("must be \"Feature\", got {}", f.value("type", json()).dump()));
  item.collection = optional_string(f, "collection", w, "");

  if (!f.contains("geometry")) w.fail("geometry", "is missing (use null for none)");
  item.geometry = f["geometry"];
  if (!item.geometry.is_null() && !(item.geometry.is_object() && item.geometry.contains("type") && item.geometry["type"].is_string()))
    w.fail("geometry", "must be a GeoJSON geometry object or null");
  if (auto it = f.find("bbox"); it != f.end() && !it->is_null()) {
    auto b = numbers(*it, w, "bbox");
    if (b.size() != 4 && b.size() != 6) w.fail("bbox", fmt::format("must have 4 or 6 numbers, got {}", b.size()));
    item.bbox = b;
  }

  if (!f.contains("properties") || !f["properties"].is_object()) w.fail("properties", "must be an object");
  item.properties = f["properties"];
  const json& props = item.properties;
  auto dt = optional_string(props, "datetime", w, "properties.");
  const char* dt_field = "properties.datetime";
  if (!dt) {
    dt = optional_string(props, "start_datetime", w, "properties.");
    dt_field = "properties.start_datetime";
    if (!dt) w.fail("properties.datetime", "is null and there is no properties.start_datetime");
  }
  try {
    item.datetime = stac::parse_rfc3339(*dt);
  } catch (const ValueError& e) {
    w.fail(dt_field, e.what());
  }
  item.proj = parse_projection(props, w, "properties.");

  const std::string self = self_link(f);
  const std::string href_base = self.empty() ? base : stac::resolve_href(self, base);
  if (!f.contains("assets") || !f["assets"].is_object()) w.fail("assets", "must be an object");
  for (const auto& [key, a] : f["assets"].items()) {
    const std::string prefix = "assets." + key + ".";
    if (!a.is_object()) w.fail("assets." + key, "must be an object");
    Asset asset;
    asset.key = key;
    auto href = optional_string(a, "href", w, prefix);
    if (!href || href->empty()) w.fail(prefix + "href", "must be a non-empty string");
    asset.href = stac::resolve_href(*href, href_base);
    asset.type = optional_string(a, "type", w, prefix);
    asset.title = optional_string(a, "title", w, prefix);
    if (auto r = a.find("roles"); r != a.end() && !r->is_null()) {
      if (!r->is_array()) w.fail(prefix + "roles", "must be an array of strings");
      for (const auto& role : *r) {
        if (!role.is_string()) w.fail(prefix + "roles", "must be an array of strings");
        asset.roles.push_back(role.get<std::string>());
      }
    }
    asset.proj = with_fallback(parse_projection(a, w, prefix), item.proj);
    asset.raster_bands = parse_raster_bands(a, w, prefix);
    asset.raw = a;
    item.assets.push_back(std::move(asset));
  }
  item.raw = f;
  return item;
}

const Asset* Item::find_asset(const std::string& key) const {
  for (const auto& a : assets)
    if (a.key == key) return &a;
  return nullptr;
}

const Asset& Item::asset(const std::string& key) const {
  if (const Asset* a = find_asset(key)) return *a;
  std::vector<std::string> keys;
  for (const auto& a : assets) keys.push_back(a.key);
  throw KeyError(fmt::format("STAC item '{}' has no asset '{}' (it has: {})", id, key, fmt::join(keys, ", ")));
}

}  // namespace cubist
