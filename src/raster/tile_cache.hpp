// Decoded COG tiles shared by every thread, bounded by bytes: tiles whose every pixel has already
// been read are dropped first, then the least recently used.
// A stack's chunk rows do not line up with the tile rows of every asset (two UTM tiles stacked
// into one grid: the second one's tile rows straddle chunk rows), so two chunks need the same
// tile. GDAL's block cache lives in each dataset handle and every thread has its own handles, so a
// tile needed by chunks that ran on different threads was inflated twice; here it is decoded once.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace cubist::raster {

struct TileKey {
  std::string source;  // href, band and the file's identity (size, modification time)
  std::int64_t col = 0, row = 0;
  bool operator==(const TileKey&) const = default;
};

// Decoded pixels, left uninitialised before `decode` fills them (zeroing 2 MiB per tile only to
// overwrite it cost as much as a memcpy of the tile).
struct Tile {
  explicit Tile(std::size_t n) : bytes(std::make_unique_for_overwrite<std::byte[]>(n)), size(n) {}
  std::unique_ptr<std::byte[]> bytes;
  std::size_t size;
  std::byte* data() const { return bytes.get(); }
  std::byte operator[](std::size_t i) const { return bytes[i]; }
};

// How much of a tile one caller reads: `pixels` of the tile's `tile_pixels` (the part inside the
// raster). A chunked computation reads each pixel once, so a tile whose pixels have all been read
// is done with, while a tile read in part (it straddles chunk windows) is still wanted by the
// neighbouring window, however long that one runs after: it must outlive the finished tiles,
// which an LRU alone does not ensure (medium NDVI demo: 359 decodes for 312 tiles at 32 MiB, 332 at
// 128 MiB; later, with the depth-first order: 348 at 32 MiB, 320 at 64 MiB (the default: ~5 % less
// CPU for ~45 MiB more peak RSS, session 8), 312 at 96 MiB). Unknown use (tile_pixels 0) never
// counts as done.
struct TileUse {
  std::int64_t pixels = 0, tile_pixels = 0;
};

// The decoded tile for `key`: from the cache, or made by `decode` (which fills `bytes` bytes) and
// kept. Threads asking for a tile being decoded wait for it instead of decoding it again. An
// exception from `decode` reaches every waiting caller, and the tile is not kept. Tiles whose
// uses (summed over callers) cover them are evicted before any other, least recently used first.
std::shared_ptr<const Tile> cached_tile(const TileKey& key, std::size_t bytes, const std::function<void(std::byte*)>& decode,
                                        TileUse use = {});

struct TileCacheStats {
  std::int64_t decoded = 0, hits = 0;
  std::size_t bytes = 0;  // held now
};
TileCacheStats tile_cache_stats();

// The capacity CUBIST_TILE_CACHE_MB asks for, in bytes (64 MiB when it is not set). Throws ValueError
// naming the variable and its value unless it is a whole number of MiB from 0 to the machine's memory.
// The cache reads it when first used, so a bad value fails the first tiled read.
std::size_t tile_cache_capacity_from_env();

// Capacity in bytes (default 64 MiB, or CUBIST_TILE_CACHE_MB); 0 disables keeping tiles.
void set_tile_cache_capacity(std::size_t bytes);
void clear_tile_cache();

}  // namespace cubist::raster
