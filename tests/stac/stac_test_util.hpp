// Builders of STAC items for the stac tests (earth-search v1 shaped).
#pragma once
#include <array>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>

#include "../test_support/error_of.hpp"

namespace stac_test {

using nlohmann::json;

// A Sentinel-2-like item: assets with per-asset proj:* (as earth-search v1) unless told otherwise.
inline json make_item(const std::string& id, const std::string& datetime, int epsg, std::array<double, 6> transform,
                      std::array<long, 2> shape, const std::vector<std::string>& assets = {"red", "nir"}) {
  json a = json::object();
  for (const auto& key : assets)
    a[key] = {{"href", "https://example.com/" + id + "/" + key + ".tif"},
              {"type", "image/tiff; application=geotiff; profile=cloud-optimized"},
              {"roles", {"data"}},
              {"title", key + " band"},
              {"proj:epsg", epsg},
              {"proj:transform", transform},
              {"proj:shape", shape},
              {"raster:bands", {{{"data_type", "uint16"}, {"nodata", 0}, {"scale", 0.0001}, {"offset", -0.1}}}}};
  return {{"type", "Feature"},
          {"stac_version", "1.0.0"},
          {"id", id},
          {"collection", "sentinel-2-l2a"},
          {"bbox", {8.0, 46.0, 9.0, 47.0}},
          {"geometry", {{"type", "Polygon"}, {"coordinates", {{{8.0, 46.0}, {9.0, 46.0}, {9.0, 47.0}, {8.0, 47.0}, {8.0, 46.0}}}}}},
          {"properties",
           {{"datetime", datetime}, {"platform", "sentinel-2a"}, {"eo:cloud_cover", 12.5}, {"proj:epsg", epsg}}},
          {"links", json::array()},
          {"assets", a}};
}

using cubist::test_support::error_of;

// A fresh empty directory under the system temp dir, removed by the caller if it wants.
inline std::filesystem::path temp_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("cubist_stac_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

}  // namespace stac_test
