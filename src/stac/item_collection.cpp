// ItemCollection: a GeoJSON FeatureCollection of STAC items, saved and loaded exactly.
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "cubist/error.hpp"
#include "cubist/stac.hpp"

namespace cubist {

using nlohmann::json;

ItemCollection::ItemCollection(std::vector<Item> items, json extra) : items_(std::move(items)), extra_(std::move(extra)) {
  if (!extra_.is_object()) extra_ = json::object();
  extra_.erase("features");
  extra_.erase("type");
}

ItemCollection ItemCollection::from_json(const json& fc, const std::string& base) {
  if (!fc.is_object() || fc.value("type", json()) != "FeatureCollection")
    throw ValueError("STAC ItemCollection: expected a GeoJSON object with \"type\": \"FeatureCollection\"");
  if (!fc.contains("features") || !fc["features"].is_array())
    throw ValueError("STAC ItemCollection: field 'features' must be an array");
  std::vector<Item> items;
  items.reserve(fc["features"].size());
  for (const auto& f : fc["features"]) items.push_back(Item::from_json(f, base));
  json extra = json::object();  // every other member (links, numberMatched, context...), kept for save()
  for (const auto& [k, v] : fc.items())
    if (k != "features" && k != "type") extra[k] = v;
  return ItemCollection(std::move(items), std::move(extra));
}

json ItemCollection::to_json() const {
  json out = extra_;
  out["type"] = "FeatureCollection";
  json features = json::array();
  for (const auto& i : items_) features.push_back(i.raw);
  out["features"] = std::move(features);
  return out;
}

void ItemCollection::save(const std::string& path) const {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw IOError(fmt::format("cannot write ItemCollection to '{}'", path));
  f << to_json().dump(2) << '\n';
  f.close();
  if (!f) throw IOError(fmt::format("writing ItemCollection to '{}' failed", path));
}

ItemCollection ItemCollection::load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IOError(fmt::format("cannot open ItemCollection file '{}'", path));
  std::stringstream ss;
  ss << f.rdbuf();
  json j = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw ValueError(fmt::format("ItemCollection file '{}' is not valid JSON", path));
  try {
    // Relative asset hrefs resolve against the file, wherever the process runs later.
    return from_json(j, std::filesystem::absolute(path).string());
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("{} (in '{}')", e.what(), path));
  }
}

}  // namespace cubist
