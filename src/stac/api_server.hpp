// A STAC API shaped like earth-search v1, served by cubist itself on 127.0.0.1 over an
// ItemCollection held in memory: what the demo, the tests and the benchmarks search, so the whole
// seed workflow (STAC search -> COG range reads) runs over real HTTP without any network.
//
//   GET  /                         landing page (conformsTo, links to search and collections)
//   GET  /conformance              conformance classes (core, item-search, query, collections, ...)
//   GET  /collections              every collection the items name, with extents
//   GET  /collections/{id}         one collection
//   GET  /collections/{id}/items   OGC API Features items (limit, bbox, datetime, paging)
//   GET  /collections/{id}/items/{item}
//   GET  /search  POST /search     item search: intersects | bbox, datetime (instants, closed and
//                                  open intervals), collections, ids, query (eq neq lt lte gt gte
//                                  in), limit; `next` links (GET: a token in the href; POST: the
//                                  token in a body with merge=true, as the STAC API spec says)
//   GET  /<assets prefix>/...      the asset files, with HTTP Range support
//
// Asset hrefs that are relative paths are rewritten to this server's URL under the assets prefix;
// absolute URLs are left alone. Bad requests get HTTP 400 with {"code", "description"}.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "net/http_server.hpp"

namespace cubist::stac {

struct StacApiOptions {
  std::string id = "cubist-demo";
  std::string title = "cubist demo STAC API (earth-search v1 shape)";
  std::string assets_prefix = "/sentinel-cogs";  // URL prefix of the files under data_dir
  int default_limit = 10;                         // page size when a search gives none
  int max_limit = 10000;
};

// The parts of a search, parsed and validated (what GET query strings and POST bodies both become).
struct ApiSearch {
  std::vector<std::string> collections, ids;
  std::optional<std::vector<double>> bbox;         // minx miny maxx maxy (CRS84)
  std::optional<nlohmann::json> intersects;        // GeoJSON geometry (CRS84)
  std::optional<std::string> datetime;
  nlohmann::json query = nlohmann::json::object();  // {"prop": {"op": value}}
  int limit = 0;                                    // 0: the server's default
  std::int64_t offset = 0;                          // from the paging token
};

class StacApiServer {
 public:
  // `items`: a GeoJSON FeatureCollection of STAC Items; relative asset hrefs are paths under
  // `data_dir`. Throws ValueError naming the item whose id, datetime or geometry is unusable.
  StacApiServer(const nlohmann::json& items, std::filesystem::path data_dir, StacApiOptions options = {});
  ~StacApiServer();
  StacApiServer(const StacApiServer&) = delete;
  StacApiServer& operator=(const StacApiServer&) = delete;

  int start(int port = 0);  // listens on 127.0.0.1; returns the port
  void stop();
  std::string url() const;  // the landing page, http://127.0.0.1:PORT
  net::ServerStats stats() const;
  std::size_t size() const;  // items served

  // The ids matching `search` in the order /search returns them (all pages), for tests.
  std::vector<std::string> matching_ids(const ApiSearch& search) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cubist::stac
