// GDAL configuration for COG reads (what rasterio/stackstac users set for cloud-native reads).
#include <cpl_conv.h>
#include <gdal.h>

#include <cstdlib>
#include <mutex>

#include "raster/raster.hpp"

namespace cubist::raster {

void ensure_gdal() {
  static std::once_flag once;
  std::call_once(once, [] {
    GDALAllRegister();
    // Only where the user chose nothing: an environment variable or a config option wins.
    const std::pair<const char*, const char*> defaults[] = {
        {"GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR"},  // no directory listing per COG
        {"GDAL_HTTP_MERGE_CONSECUTIVE_RANGES", "YES"},
        {"GDAL_HTTP_MULTIPLEX", "YES"},
        {"GDAL_HTTP_MAX_RETRY", "5"},
        {"GDAL_HTTP_RETRY_DELAY", "0.5"},
        {"CPL_VSIL_CURL_ALLOWED_EXTENSIONS", ".tif,.tiff,.TIF,.TIFF"},
        // Memory (peak RSS of a stack is mostly these caches otherwise). No VSI_CACHE: /vsicurl/ keeps
        // its own region cache, and a per-handle cache on top of it (4 MB for each of the datasets
        // every thread keeps open) only copied the bytes once more. /vsicurl/'s cache is shared by all
        // threads and sized to hold the tiles two neighbouring chunks share when chunk and tile grids
        // do not align (each tile is then fetched once); the block cache (default 5% of RAM) holds
        // decoded tiles, which a chunk reads once.
        {"CPL_VSIL_CURL_CACHE_SIZE", "67108864"},
        {"GDAL_CACHEMAX", "64"},  // MB
    };
    for (const auto& [key, value] : defaults)
      if (!std::getenv(key) && !CPLGetConfigOption(key, nullptr)) CPLSetConfigOption(key, value);
  });
}

std::string gdal_path(const std::string& href) {
  auto starts = [&](const char* p) { return href.rfind(p, 0) == 0; };
  if (starts("http://") || starts("https://")) return "/vsicurl/" + href;
  if (starts("file://")) return href.substr(7);
  if (starts("s3://")) return "/vsis3/" + href.substr(5);
  return href;
}

}  // namespace cubist::raster
