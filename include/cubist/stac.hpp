// STAC: search a STAC API (pystac-client's job) and stack the found items into a lazy
// (time, band, y, x) cube of their pixels (stackstac's job).
//
//   #include <cubist/cubist.hpp>
//   namespace cb = cubist;
//
//   auto client = cb::StacClient::open("https://earth-search.aws.element84.com/v1");
//   cb::SearchParameters search;
//   search.collections = {"sentinel-2-l2a"};
//   search.intersects = catchment_geojson;          // or search.set_intersects(cb::Geometry)
//   search.datetime = "2023-05-01/2023-08-31";      // instants, "2023-01-01/..", "../2023-06-30"
//   search.query = {{"proj:epsg", {{"eq", 32632}}}};  // query extension: eq neq lt lte gt gte in
//   cb::ItemCollection items = client.search(search, [](std::int64_t n) { std::cerr << n << " items\r"; });
//   items.save("items.geojson");                    // and cb::ItemCollection::load("items.geojson")
//
//   cb::StackOptions o;
//   o.assets = {"red", "nir"};
//   o.chunksize = {1, 2, 1024, 1024};               // time, band, y, x (-1: whole extent)
//   cb::DataArray cube = cb::stack(items, o);        // lazy: nothing is read yet
//   std::cout << cube << '\n';                      // shows the lazy size (TBs are fine)
//   auto red = cube.sel({{"band", "red"}});
//
// Items follow earth-search v1: per-asset proj:transform / proj:shape / proj:epsg or proj:code
// (asset level, falling back to the item's properties) and raster:bands (nodata, scale, offset).
// Hrefs may be http(s) URLs or file paths; relative hrefs resolve against the item's self link
// or the file the ItemCollection was loaded from.
//
// stack() follows stackstac: the output grid's CRS is the items' common EPSG (or `epsg`), its
// resolution the assets' finest (or `resolution`), its bounds the union of the asset footprints
// snapped to the resolution (or `bounds`), north-up. Coordinates: time (datetime64, items sorted
// by date), band (asset keys), x / y (pixel centres), per-item coordinates along time (id and
// every scalar property), `epsg` and the CRS as a `spatial_ref` coordinate (rioxarray's layout).
// Each chunk reads only the assets whose footprint overlaps it, warping when the asset's grid
// differs from the output grid; nodata becomes `fill_value`; scale/offset apply when `rescale`.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cubist/data_array.hpp"
#include "cubist/geo.hpp"

namespace cubist {

// Projection of an asset as the STAC projection extension publishes it. On an Asset each field
// is already resolved: the asset's own value, else the item's.
struct ProjectionInfo {
  std::optional<int> epsg;                        // proj:epsg, or proj:code "EPSG:<n>"
  std::optional<std::string> code;                // proj:code as given (e.g. "EPSG:32632")
  std::optional<std::string> wkt2;                // proj:wkt2
  std::optional<std::array<double, 6>> transform;  // proj:transform, affine order a b c d e f
  std::optional<std::array<std::int64_t, 2>> shape;  // proj:shape [rows, cols]
  std::optional<std::array<double, 4>> bbox;       // proj:bbox in the asset's CRS
  bool has_grid() const { return transform.has_value() && shape.has_value(); }
  bool has_crs() const { return epsg.has_value() || wkt2.has_value(); }
};

// One entry of raster:bands.
struct RasterBand {
  std::optional<std::string> data_type;
  std::optional<double> nodata;  // "nan", "inf", "-inf" are accepted as in the extension
  std::optional<double> scale, offset;
};

struct Asset {
  std::string key;                 // the name in the item's assets object ("red", "nir")
  std::string href;                // resolved: absolute URL or file path
  std::optional<std::string> type;  // media type
  std::vector<std::string> roles;
  std::optional<std::string> title;
  ProjectionInfo proj;             // asset level, each field falling back to the item's
  std::vector<RasterBand> raster_bands;
  nlohmann::json raw;              // the asset object as published (href unresolved)

  bool has_role(const std::string& role) const;
};

struct Item {
  std::string id;
  std::optional<std::string> collection;
  std::int64_t datetime = 0;       // ns since epoch: `datetime`, or `start_datetime` when null
  std::optional<std::vector<double>> bbox;  // 4 or 6 numbers
  nlohmann::json geometry;         // GeoJSON geometry or null
  nlohmann::json properties;
  std::vector<Asset> assets;       // in key order
  ProjectionInfo proj;             // item-level projection properties
  nlohmann::json raw;              // the feature as published

  // Parses and validates a STAC Item (GeoJSON Feature). Relative asset hrefs resolve against the
  // item's self link, else against `base` (a URL or a file path). Throws ValueError naming the
  // item id and the field.
  static Item from_json(const nlohmann::json& feature, const std::string& base = "");
  const Asset* find_asset(const std::string& key) const;
  const Asset& asset(const std::string& key) const;  // KeyError naming the asset and the item
};

// A set of items (a GeoJSON FeatureCollection), as pystac's ItemCollection.
class ItemCollection {
 public:
  ItemCollection() = default;
  explicit ItemCollection(std::vector<Item> items, nlohmann::json extra = nlohmann::json::object());

  static ItemCollection from_json(const nlohmann::json& feature_collection, const std::string& base = "");
  nlohmann::json to_json() const;
  // Writes the FeatureCollection; load() reads it back exactly (same features, same members).
  void save(const std::string& path) const;
  static ItemCollection load(const std::string& path);  // IOError / ValueError naming the file

  const std::vector<Item>& items() const { return items_; }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const Item& operator[](std::size_t i) const { return items_[i]; }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<Item> items_;
  nlohmann::json extra_ = nlohmann::json::object();  // other members of the FeatureCollection
};

// ---------------------------------------------------------------------------------------------
// STAC API client

enum class SearchMethod { Auto, Get, Post };

struct SearchParameters {
  std::optional<nlohmann::json> intersects;   // a GeoJSON geometry in CRS84
  std::optional<std::vector<double>> bbox;    // 4 or 6 numbers, CRS84
  std::vector<std::string> collections;
  std::vector<std::string> ids;
  // An instant or an interval "start/end" with ".." (or empty) for an open end; dates expand to
  // whole periods ("2023" -> the whole year) as pystac-client does.
  std::optional<std::string> datetime;
  // Query extension: {"property": {"op": value}} with op in eq neq lt lte gt gte in (also
  // startsWith endsWith contains).
  nlohmann::json query = nlohmann::json::object();
  std::optional<int> limit = 100;             // page size asked of the server (1..10000)
  std::optional<std::int64_t> max_items;      // stop after this many items
  SearchMethod method = SearchMethod::Auto;   // Auto: POST when the API offers it, else GET

  // intersects = the geometry converted to CRS84 (lon/lat).
  void set_intersects(const Geometry& geometry);
};

struct StacClientOptions {
  int max_retries = 4;           // retries on 429/5xx, connection failures and timeouts
  double backoff_seconds = 0.25;  // first retry delay, doubling
  double timeout_seconds = 60;
  std::vector<std::pair<std::string, std::string>> headers;  // sent with every request
};

// Called after each page with the number of items gathered so far.
using SearchProgress = std::function<void(std::int64_t items)>;

class StacClient {
 public:
  // Reads the landing page (and /conformance when the landing page lists no conformsTo).
  // Throws IOError naming the URL when it cannot be fetched or is not a STAC API.
  static StacClient open(const std::string& url, const StacClientOptions& options = {});

  const std::string& url() const;
  const nlohmann::json& landing_page() const;
  const std::vector<std::string>& conformance() const;
  // True when a conformance URI contains `fragment` (e.g. "item-search", "query").
  bool conforms_to(const std::string& fragment) const;
  nlohmann::json collections() const;  // the `collections` array of /collections, every page
  ItemCollection search(const SearchParameters& params, const SearchProgress& progress = {}) const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// stack

enum class Resampling { Nearest, Bilinear, Cubic, CubicSpline, Lanczos, Average, Mode, Min, Max, Median };

struct StackOptions {
  // Assets to stack, in band order. Empty: every asset with a data role (or no roles) and
  // projection info, in key order.
  std::vector<std::string> assets;
  std::vector<std::int64_t> chunksize = {1, 1, 1024, 1024};  // time, band, y, x; -1 = whole
  std::optional<double> resolution;  // output pixel size in CRS units; default: the finest asset
  std::optional<int> epsg;           // output CRS; default: the items' common EPSG
  std::optional<Bounds> bounds;      // output bounds in the output CRS; default: union of assets
  DType dtype = DType::Float64;
  double fill_value = std::numeric_limits<double>::quiet_NaN();
  bool rescale = true;               // apply raster:bands scale and offset
  Resampling resampling = Resampling::Nearest;
  bool skip_bad_assets = false;      // unreadable or missing asset: warn once and fill
};

// A lazy (time, band, y, x) DataArray over the items' assets (stackstac.stack).
DataArray stack(const ItemCollection& items, const StackOptions& options = {});

}  // namespace cubist
