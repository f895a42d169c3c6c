// Deterministic Sentinel-2 L2A-like scenes around a catchment, for the demo, tests and benchmarks.
//
// Two UTM 32N tiles (north "32TPT" and south "32TPS", overlapping a little as real MGRS tiles do)
// over the catchment, red (B04) and nir (B08) Cloud-Optimized GeoTIFFs per scene as earth-search
// v1 serves them (uint16, nodata 0, stored = (reflectance + 0.1) / 0.0001, deflate, internal tiles,
// overviews), a few dozen dates with same-day acquisitions from both tiles, cloud-like nodata
// holes, and land cover (water, vegetation, urban, snow) so NDVI varies in space and time.
// Beside them: a few scenes outside the default date range and a few in EPSG:32633, so searches
// by datetime and by `proj:epsg` have something to filter out.
//
// The matching STAC Items (earth-search v1 shape) are returned with asset hrefs relative to the
// output directory; a STAC API server rewrites them to its own URL.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace cubist::raster {

struct SyntheticS2Options {
  std::filesystem::path out_dir;
  std::filesystem::path catchment;  // GeoJSON polygon (CRS84) the tiles are placed around
  std::int64_t size = 1024;         // pixels per tile side, 10 m each
  int block = 512;                  // COG internal tile size
  int dates = 12;                   // acquisition dates inside 2019-02-01/2019-03-28 (every 5 days)
  std::uint64_t seed = 2019;
  unsigned threads = 0;             // 0: one per core
  // Called after each scene is written (done, total); from the generating threads, serialised.
  std::function<void(std::size_t done, std::size_t total)> progress;
};

// "small" (1024 px: the demo runs in seconds), "medium" (4096 px, the benchmark) or
// "full" (10980 px, real Sentinel-2 tiles). Throws cubist::ValueError for other names.
SyntheticS2Options synthetic_s2_preset(std::string_view name);

struct SyntheticS2Data {
  nlohmann::json items;    // GeoJSON FeatureCollection of STAC Items, hrefs relative to out_dir
  std::size_t files = 0;   // COG files
  std::uint64_t bytes = 0;  // their total size on disk
  bool reused = false;      // true when an identical earlier generation was found in out_dir
};

// Writes the scenes into out_dir (or reuses them when out_dir holds a complete generation with the
// same parameters: the manifest "synthetic_s2.json" is written last). Throws cubist::IOError naming
// the file that cannot be written or the catchment that cannot be read.
SyntheticS2Data generate_synthetic_s2(const SyntheticS2Options& options);

// Name of the manifest inside out_dir; it holds the parameters and the items.
inline constexpr std::string_view kSyntheticS2Manifest = "synthetic_s2.json";

}  // namespace cubist::raster
