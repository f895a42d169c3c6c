// GeoJSON polygons: strict parsing with errors that give the file and the JSON path at fault.
#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "cubist/error.hpp"
#include "cubist/geo.hpp"

namespace cubist {
namespace {

[[noreturn]] void fail(const std::string& where, const std::string& path, const std::string& why) {
  throw ValueError(fmt::format("{}: {}: {}", where, path.empty() ? "(root)" : path, why));
}

std::string join(const std::string& path, const std::string& member) { return path.empty() ? member : path + "." + member; }
std::string at(const std::string& path, std::size_t i) { return fmt::format("{}[{}]", path, i); }

const nlohmann::json& member(const nlohmann::json& obj, const char* name, const std::string& where, const std::string& path) {
  auto it = obj.find(name);
  if (it == obj.end()) fail(where, path, fmt::format("missing \"{}\"", name));
  return *it;
}

Position parse_position(const nlohmann::json& j, const std::string& where, const std::string& path) {
  if (!j.is_array() || j.size() < 2) fail(where, path, "a position must be an array of 2 or 3 numbers");
  if (!j[0].is_number() || !j[1].is_number()) fail(where, path, "position coordinates must be numbers");
  Position p{j[0].get<double>(), j[1].get<double>()};
  if (!std::isfinite(p[0]) || !std::isfinite(p[1])) fail(where, path, "position coordinates must be finite");
  return p;
}

Ring parse_ring(const nlohmann::json& j, const std::string& where, const std::string& path) {
  if (!j.is_array()) fail(where, path, "a linear ring must be an array of positions");
  if (j.size() < 4) fail(where, path, fmt::format("ring has {} positions, needs >= 4", j.size()));
  Ring ring;
  ring.reserve(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) ring.push_back(parse_position(j[i], where, at(path, i)));
  if (ring.front() != ring.back()) fail(where, path, "ring is not closed (first and last positions differ)");
  return ring;
}

Polygon parse_polygon(const nlohmann::json& j, const std::string& where, const std::string& path) {
  if (!j.is_array() || j.empty()) fail(where, path, "polygon coordinates must be a non-empty array of rings");
  Polygon poly;
  for (std::size_t i = 0; i < j.size(); ++i) poly.push_back(parse_ring(j[i], where, at(path, i)));
  return poly;
}

Crs legacy_crs(const nlohmann::json& obj, const Crs& inherited, const std::string& where, const std::string& path) {
  auto it = obj.find("crs");
  if (it == obj.end() || it->is_null()) return inherited;
  const std::string p = join(path, "crs");
  // GeoJSON 2008: {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32632"}}
  if (!it->is_object() || it->value("type", "") != "name" || !it->contains("properties") ||
      !(*it)["properties"].is_object() || !(*it)["properties"].contains("name") || !(*it)["properties"]["name"].is_string())
    fail(where, p, "only named CRSs ({\"type\": \"name\", \"properties\": {\"name\": ...}}) are supported");
  const std::string name = (*it)["properties"]["name"].get<std::string>();
  try {
    return Crs::from_user_input(name);
  } catch (const Error& e) {
    fail(where, p, e.what());
  }
}

void parse_any(const nlohmann::json& j, const Crs& crs, const std::string& where, const std::string& path,
               std::vector<Geometry>& out) {
  if (!j.is_object()) fail(where, path, "expected a GeoJSON object");
  const auto& type_j = member(j, "type", where, path);
  if (!type_j.is_string()) fail(where, join(path, "type"), "must be a string");
  const std::string type = type_j.get<std::string>();
  const Crs here = legacy_crs(j, crs, where, path);
  if (type == "FeatureCollection") {
    const auto& features = member(j, "features", where, path);
    const std::string fp = join(path, "features");
    if (!features.is_array()) fail(where, fp, "must be an array of features");
    for (std::size_t i = 0; i < features.size(); ++i) {
      const auto& f = features[i];
      if (!f.is_object() || f.value("type", "") != "Feature") fail(where, at(fp, i), "expected a Feature");
      parse_any(f, here, where, at(fp, i), out);
    }
  } else if (type == "Feature") {
    const auto& geometry = member(j, "geometry", where, path);
    if (geometry.is_null()) return;  // a feature without geometry contributes nothing
    parse_any(geometry, here, where, join(path, "geometry"), out);
  } else if (type == "Polygon" || type == "MultiPolygon") {
    out.push_back(Geometry::from_geojson(j, here, where.empty() ? path : (path.empty() ? where : where + ": " + path)));
  } else {
    fail(where, join(path, "type"), fmt::format("'{}' is not a polygon: expected Polygon, MultiPolygon, Feature or FeatureCollection", type));
  }
}

}  // namespace

Geometry Geometry::from_geojson(const nlohmann::json& g, Crs crs, const std::string& where) {
  // `where` names the geometry object; the paths below are relative to it.
  if (!g.is_object()) throw ValueError(fmt::format("{}: expected a GeoJSON geometry object", where));
  auto type_it = g.find("type");
  if (type_it == g.end() || !type_it->is_string()) throw ValueError(fmt::format("{}: missing \"type\"", where));
  const std::string type = type_it->get<std::string>();
  auto coords_it = g.find("coordinates");
  if (coords_it == g.end()) throw ValueError(fmt::format("{}: missing \"coordinates\"", where));
  // Paths inside the geometry, prefixed with `where` split at its last ": " (file: json path).
  std::string file = where, path;
  if (auto pos = where.rfind(": "); pos != std::string::npos) {
    file = where.substr(0, pos);
    path = where.substr(pos + 2);
  }
  const std::string cp = join(path, "coordinates");
  std::vector<Polygon> polygons;
  if (type == "Polygon") {
    polygons.push_back(parse_polygon(*coords_it, file, cp));
  } else if (type == "MultiPolygon") {
    if (!coords_it->is_array() || coords_it->empty()) fail(file, cp, "must be a non-empty array of polygons");
    for (std::size_t i = 0; i < coords_it->size(); ++i) polygons.push_back(parse_polygon((*coords_it)[i], file, at(cp, i)));
  } else {
    fail(file, join(path, "type"), fmt::format("'{}' is not a Polygon or MultiPolygon", type));
  }
  return Geometry(std::move(polygons), std::move(crs));
}

std::vector<Geometry> parse_geojson(const nlohmann::json& doc, const std::string& where) {
  std::vector<Geometry> out;
  parse_any(doc, Crs::from_user_input("OGC:CRS84"), where, "", out);
  if (out.empty()) throw ValueError(fmt::format("{}: no Polygon or MultiPolygon geometry found", where));
  return out;
}

std::vector<Geometry> read_geojson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError(fmt::format("{}: cannot open GeoJSON file", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw ValueError(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
  return parse_geojson(doc, path);
}

}  // namespace cubist
