#include "raster/dataset_cache.hpp"

#include <fmt/format.h>

#include <list>
#include <memory>
#include <utility>

#include "cubist/error.hpp"
#include "raster/raster.hpp"

namespace cubist::raster {
namespace {

// A stack's chunk reads the same (time, band) assets as its neighbours: with fewer handles than
// assets per chunk row (the medium benchmark has 48), every chunk reopened COGs (header requests)
// and lost their decoded tiles. An open COG costs little memory (no per-handle VSI cache).
constexpr std::size_t kPerThread = 64;

struct Entry {
  std::string href;
  GDALDatasetUniquePtr dataset;
  std::string identity;
  std::unique_ptr<TileDecoder> decoder;  // after `dataset`: destroyed before it
};

std::string identity_of(const std::string& href) {
  VSIStatBufL st;
  if (VSIStatL(gdal_path(href).c_str(), &st) != 0) return href;
  return fmt::format("{}\n{}\n{}", href, static_cast<long long>(st.st_size), static_cast<long long>(st.st_mtime));
}

thread_local std::list<Entry> lru;  // most recently used first

}  // namespace

void close_cached_datasets() { lru.clear(); }

const std::string& cached_dataset_identity(const std::string& href) {
  cached_dataset(href);  // opens it (or moves it to the front)
  return lru.front().identity;
}

TileDecoder& cached_tile_decoder(const std::string& href) {
  cached_dataset(href);
  auto& entry = lru.front();
  if (!entry.decoder) entry.decoder = std::make_unique<TileDecoder>(href, *entry.dataset);
  return *entry.decoder;
}

GDALDataset& cached_dataset(const std::string& href) {
  ensure_gdal();
  for (auto it = lru.begin(); it != lru.end(); ++it)
    if (it->href == href) {
      lru.splice(lru.begin(), lru, it);
      return *lru.front().dataset;
    }
  CPLErrorReset();
  CPLPushErrorHandler(CPLQuietErrorHandler);
  GDALDatasetUniquePtr ds(GDALDataset::Open(gdal_path(href).c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  std::string why = CPLGetLastErrorMsg();
  CPLPopErrorHandler();
  if (!ds) throw IOError(fmt::format("{}: cannot open as a raster{}", href, why.empty() ? "" : ": " + why));
  if (ds->GetRasterCount() < 1) throw IOError(fmt::format("{}: has no raster bands", href));
  lru.push_front({href, std::move(ds), identity_of(href), nullptr});
  if (lru.size() > kPerThread) lru.pop_back();
  return *lru.front().dataset;
}

}  // namespace cubist::raster
