// load_stac and load_collection: STAC items (from a STAC API search, or a static ItemCollection /
// Catalog / Collection file or URL) stacked into a lazy (time, band, y, x) cube with stack(),
// then cut to the requested extents.
//
// `properties` callbacks are evaluated on each item's property value (the same evaluator, with
// scalars); simple ones (`lte(value, 20)`) are also sent to the API as query-extension filters.
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <cmath>
#include <set>

#include "cubist/datetime.hpp"
#include "cubist/error.hpp"
#include "cubist/geo.hpp"
#include "cubist/stac.hpp"
#include "net/http_client.hpp"
#include "openeo/cube.hpp"
#include "openeo/evaluator.hpp"
#include "openeo/filters.hpp"
#include "openeo/provenance.hpp"
#include "openeo/temporal_extent.hpp"
#include "openeo/registry.hpp"
#include "stac/href.hpp"

namespace cubist::openeo {

// The eo:bands metadata of each band (asset), as stackstac exposes it: `common_name` and
// `center_wavelength` (micrometres) coordinates along the band dimension, which filter_bands
// selects on. An asset's own eo:bands entry wins; else the item's eo:bands entry of that name.
DataArray with_band_metadata(const DataArray& cube, const ItemCollection& items) {
  if (!cube.has_dim("band")) return cube;
  const auto bands = labels_of(cube, "band");
  std::vector<std::string> common(bands.size());
  std::vector<double> wavelength(bands.size(), std::numeric_limits<double>::quiet_NaN());
  bool any_common = false, any_wavelength = false;
  for (std::size_t b = 0; b < bands.size(); ++b) {
    for (const auto& item : items) {
      nlohmann::json entry;
      if (const Asset* asset = item.find_asset(bands[b]); asset && asset->raw.is_object()) {
        const auto eo = asset->raw.find("eo:bands");
        if (eo != asset->raw.end() && eo->is_array() && !eo->empty() && eo->front().is_object()) entry = eo->front();
      }
      if (entry.is_null() && item.properties.is_object()) {
        const auto eo = item.properties.find("eo:bands");
        if (eo != item.properties.end() && eo->is_array())
          for (const auto& e : *eo)
            if (e.is_object() && e.value("name", nlohmann::json()) == bands[b]) entry = e;
      }
      if (!entry.is_object()) continue;
      if (const auto c = entry.find("common_name"); c != entry.end() && c->is_string() && common[b].empty()) {
        common[b] = c->get<std::string>();
        any_common = true;
      }
      if (const auto w = entry.find("center_wavelength"); w != entry.end() && w->is_number() && std::isnan(wavelength[b])) {
        wavelength[b] = w->get<double>();
        any_wavelength = true;
      }
      if (!common[b].empty() && !std::isnan(wavelength[b])) break;
    }
  }
  DataArray out = cube;
  if (any_common) out = out.assign_coords("common_name", Coordinate::strings("band", common));
  if (any_wavelength) out = out.assign_coords("center_wavelength", Coordinate::from_vector("band", wavelength));
  return out;
}

namespace {

bool is_url(const std::string& s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }

nlohmann::json fetch_json(const std::string& where) {
  std::string text;
  if (is_url(where)) {
    text = net::HttpClient().get(where).body;
  } else {
    std::ifstream in(where);
    if (!in) throw IOError(fmt::format("{}: cannot open", where));
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(fmt::format("{}: not valid JSON: {}", where, e.what()));
  }
}

// Items of a static STAC document: a FeatureCollection, an Item, or a Catalog/Collection whose
// `item` and `child` links are followed.
void collect_static(const std::string& where, std::vector<Item>& items, std::set<std::string>& seen, int depth) {
  if (!seen.insert(where).second) return;
  if (depth > 16) throw ValueError(fmt::format("{}: catalog links nest deeper than 16 levels", where));
  const nlohmann::json doc = fetch_json(where);
  const std::string type = doc.value("type", "");
  if (type == "FeatureCollection") {
    for (const auto& it : ItemCollection::from_json(doc, where)) items.push_back(it);
    return;
  }
  if (type == "Feature") {
    items.push_back(Item::from_json(doc, where));
    return;
  }
  if (type != "Catalog" && type != "Collection")
    throw ValueError(fmt::format("{}: not a STAC ItemCollection, Item, Catalog or Collection (type '{}')", where, type));
  for (const auto& link : doc.value("links", nlohmann::json::array())) {
    const std::string rel = link.value("rel", "");
    if ((rel == "item" || rel == "child") && link.contains("href") && link["href"].is_string())
      collect_static(stac::resolve_href(link["href"].get<std::string>(), where), items, seen, depth + 1);
  }
}

// A query-extension filter for `lte(value, 20)`-like callbacks; nullopt for anything else.
std::optional<nlohmann::json> as_query(const ProcessGraph& g) {
  if (g.nodes.size() != 1) return std::nullopt;
  const Node& n = g.nodes.front();
  static const std::set<std::string> ops = {"eq", "neq", "lt", "lte", "gt", "gte"};
  if (!ops.count(n.process_id) || n.arguments.size() != 2) return std::nullopt;
  const ArgValue* x = n.argument("x");
  const ArgValue* y = n.argument("y");
  if (!x || !y || x->kind != ArgValue::Kind::FromParameter || x->ref != "value" || y->kind != ArgValue::Kind::Literal)
    return std::nullopt;
  return nlohmann::json{{n.process_id, y->literal}};
}

struct Extents {
  std::optional<Bounds> bbox_4326;  // for the search and the item filter
  std::optional<Bounds> bbox;       // for cropping the cube, in `bbox_crs`
  Crs bbox_crs;
  std::optional<nlohmann::json> intersects;
  std::optional<std::int64_t> start, end;
};

Extents parse_extents(Args& a) {
  Extents e;
  const Value& s = a.get("spatial_extent");
  try {
    if (s.kind == Value::Kind::Object && s.member("west")) {
      auto [b, crs] = parse_bbox(s);
      e.bbox = b;
      e.bbox_crs = crs;
      e.bbox_4326 = crs.equals(Crs::epsg(4326)) ? b : transform_bounds(b, crs, Crs::epsg(4326));
    } else if (s.kind == Value::Kind::Object || s.kind == Value::Kind::String) {
      auto geoms = geometries_of(s, "spatial_extent");
      Bounds b = geoms.front().bounds();
      for (const auto& g : geoms) {
        Bounds gb = g.bounds();
        b = {std::min(b.minx, gb.minx), std::min(b.miny, gb.miny), std::max(b.maxx, gb.maxx), std::max(b.maxy, gb.maxy)};
      }
      e.bbox = b;
      e.bbox_crs = Crs::epsg(4326);
      e.bbox_4326 = b;
      if (geoms.size() == 1) e.intersects = geoms.front().to_geojson();
    } else if (!s.is_null()) {
      a.fail("spatial_extent", fmt::format("expected a bounding box or GeoJSON, got {}", s.describe()));
    }
  } catch (const NodeError&) {
    throw;
  } catch (const Error& err) {
    a.fail("spatial_extent", err.what());
  }
  const Value& t = a.get("temporal_extent");
  if (!t.is_null()) {
    if (t.kind != Value::Kind::List || t.items.size() != 2) a.fail("temporal_extent", "expected [start, end]");
    try {
      e.start = time_bound(t.items[0], "start");
      e.end = time_bound(t.items[1], "end");
    } catch (const Error& err) {
      a.fail("temporal_extent", err.what());
    }
  }
  return e;
}

std::string datetime_text(const Extents& e) {
  return fmt::format("{}/{}", e.start ? format_datetime(*e.start) : "..", e.end ? format_datetime(*e.end) : "..");
}

bool item_bbox_overlaps(const Item& item, const Bounds& b) {
  if (!item.bbox || item.bbox->size() < 4) return true;
  const auto& v = *item.bbox;
  const std::size_t half = v.size() / 2;
  return v[0] <= b.maxx && v[half] >= b.minx && v[1] <= b.maxy && v[half + 1] >= b.miny;
}


Value load(Args& a, const std::string& url, const std::vector<std::string>& collections_hint) {
  const Extents ext = parse_extents(a);
  std::vector<std::pair<std::string, std::shared_ptr<const ProcessGraph>>> filters;
  nlohmann::json query = nlohmann::json::object();
  for (const auto& [name, v] : a.get("properties").members) {
    if (v.kind != Value::Kind::Callback)
      a.fail("properties", fmt::format("property '{}': expected a process graph, got {}", name, v.describe()));
    filters.emplace_back(name, v.callback);
    if (auto q = as_query(*v.callback)) query[name] = *q;
  }

  std::vector<Item> found;
  const auto collections_pos = url.find("/collections/");
  try {
    if (is_url(url) && collections_pos != std::string::npos) {
      std::string collection = url.substr(collections_pos + 13);
      if (auto slash = collection.find('/'); slash != std::string::npos) collection.resize(slash);
      auto client = StacClient::open(url.substr(0, collections_pos));
      SearchParameters p;
      p.collections = {collection};
      if (ext.intersects) p.intersects = *ext.intersects;
      else if (ext.bbox_4326) p.bbox = std::vector<double>{ext.bbox_4326->minx, ext.bbox_4326->miny, ext.bbox_4326->maxx, ext.bbox_4326->maxy};
      if (ext.start || ext.end) p.datetime = datetime_text(ext);
      if (!query.empty() && client.conforms_to("query")) p.query = query;
      for (const auto& it : client.search(p)) found.push_back(it);
    } else {
      std::set<std::string> seen;
      collect_static(url, found, seen, 0);
    }
  } catch (const NodeError&) {
    throw;
  } catch (const Error& e) {
    a.fail(collections_hint.empty() ? "url" : "id", e.what());
  }

  // The same filters locally: static collections have no server to apply them, and the API may
  // not support the query extension. Temporal ends are [start, end) as openEO defines them.
  std::vector<Item> kept;
  Evaluator evaluator(a.context());
  for (const auto& item : found) {
    if (ext.start && item.datetime < *ext.start) continue;
    if (ext.end && item.datetime >= *ext.end) continue;
    if (ext.bbox_4326 && !item_bbox_overlaps(item, *ext.bbox_4326)) continue;
    bool ok = true;
    for (const auto& [name, graph] : filters) {
      Scope scope;
      scope.values["value"] = Value::from_json(item.properties.value(name, nlohmann::json()));
      const Value r = evaluator.evaluate(*graph, scope);
      ok = ok && r.kind == Value::Kind::Boolean && r.scalar.get<bool>();
    }
    if (ok) kept.push_back(item);
  }
  if (kept.empty()) a.fail(collections_hint.empty() ? "url" : "id", fmt::format("no STAC item at {} matches the extents and properties", url));

  StackOptions so;
  so.chunksize = {1, -1, 1024, 1024};
  for (const auto& b : a.get("bands").items) {
    if (b.kind != Value::Kind::String) a.fail("bands", fmt::format("expected band (asset) names, found {}", b.describe()));
    so.assets.push_back(b.scalar.get<std::string>());
  }
  DataArray cube;
  try {
    ItemCollection items(std::move(kept));
    cube = with_band_metadata(stack(items, so), items);
    if (ext.bbox) cube = select_bounds(cube, bounds_in_cube_crs(cube, *ext.bbox, ext.bbox_crs));
    cube = restrict_temporal_extent(cube, time_dimension(cube), {ext.start, ext.end});
    LoadProvenance provenance{std::move(items), so, std::nullopt};
    if (ext.bbox) provenance.bbox = std::make_pair(*ext.bbox, ext.bbox_crs);
    remember_load(cube, std::move(provenance));
  } catch (const NodeError&) {
    throw;
  } catch (const Error& e) {
    a.fail(collections_hint.empty() ? "url" : "id", e.what());
  }
  return Value::of_cube(cube);
}

std::vector<Parameter> extent_parameters() {
  return {{"spatial_extent", "A bounding box (crs default 4326) or GeoJSON polygons (CRS84); null for everything.",
           {schema::bbox(), schema::geojson(), {{"type", "string"}, {"description", "A GeoJSON file (cubist extension)."}}, {{"type", "null"}}},
           true, nullptr},
          {"temporal_extent", "[start, end): the end is excluded; null for all times.",
           {schema::temporal_interval(), {{"type", "null"}}}, true, nullptr},
          {"bands", "Band (asset) names; null for every data asset.", {{"type", {"array", "null"}}, {"items", {{"type", "string"}}}}, true, nullptr},
          {"properties", "Item property filters: a process graph per property, receiving `value`.",
           {{"type", "object"}, {"additionalProperties", schema::callback({"value"})}}, true, nlohmann::json::object()}};
}

ProcessDef load_stac_def() {
  ProcessDef d;
  d.id = "load_stac";
  d.summary = "Loads data from STAC";
  d.categories = {"cubes", "import"};
  d.parameters = {{"url", "A STAC API collection URL (…/collections/<id>) or a static ItemCollection, Item, Catalog or Collection (file or URL).",
                   {{"type", "string"}, {"format", "uri"}}, false, nullptr}};
  for (auto& p : extent_parameters()) d.parameters.push_back(std::move(p));
  d.returns = {{"description", "A lazy data cube (time, band, y, x) of the items' assets."}, {"schema", schema::cube()}};
  d.impl = [](Args& a) { return load(a, a.string("url"), {}); };
  return d;
}

ProcessDef load_collection_def() {
  ProcessDef d;
  d.id = "load_collection";
  d.summary = "Load a collection (from the configured STAC API: --stac-url or CUBIST_STAC_URL)";
  d.categories = {"cubes", "import"};
  d.parameters = {{"id", "The collection id in the STAC API.", schema::string(), false, nullptr}};
  for (auto& p : extent_parameters()) d.parameters.push_back(std::move(p));
  d.returns = {{"description", "A lazy data cube (time, band, y, x) of the items' assets."}, {"schema", schema::cube()}};
  d.impl = [](Args& a) {
    std::string base = a.context().stac_url;
    if (base.empty())
      if (const char* env = std::getenv("CUBIST_STAC_URL")) base = env;
    if (base.empty()) a.fail("id", "no STAC API configured: pass --stac-url or set CUBIST_STAC_URL");
    while (!base.empty() && base.back() == '/') base.pop_back();
    const std::string id = a.string("id");
    return load(a, base + "/collections/" + id, {id});
  };
  return d;
}

const ProcessRegistration load_stac_reg{load_stac_def()};
const ProcessRegistration load_collection_reg{load_collection_def()};

}  // namespace
}  // namespace cubist::openeo
