// Tiles of tiled GeoTIFFs (COGs) decoded without libtiff in the common case: DEFLATE, predictor
// none / horizontal / floating point, one sample per stored pixel (one band, or bands in separate
// planes), little-endian. GDAL says where the tile lies (the GTiff driver's BLOCK_OFFSET_x_y /
// BLOCK_SIZE_x_y items of the "TIFF" metadata domain), its bytes are read with one range GET of
// the engine's HTTP client straight into the tile buffer for http(s) COGs (see direct_http_url),
// else through GDAL's virtual file layer (local files, /vsis3/ etc., and /vsicurl/ whenever GDAL
// configuration changes how it would fetch), inflated by libdeflate (which libtiff calls too) and the predictor is undone here: libtiff's
// horizontal predictor loop makes each sample wait for the store of the one before (~10 % of the
// NDVI demo's CPU), here the running sum stays in registers.
// Anything else, and any tile this path cannot decode exactly (sparse, short, corrupt), goes to
// GDALRasterBand::ReadBlock, whose answer (nodata for a sparse tile, an error for a corrupt one) is
// then the answer: the result is always ReadBlock's, bit for bit.
#pragma once
#include <gdal_priv.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cubist::raster {

// How a band's tiles are stored, when this decoder can undo it.
struct DirectTileFormat {
  int sample_bytes = 0;   // 1, 2, 4 or 8
  int predictor = 1;      // 1 none, 2 horizontal differencing, 3 floating point
  int block_x = 0, block_y = 0;
  std::size_t tile_bytes() const {
    return static_cast<std::size_t>(block_x) * static_cast<std::size_t>(block_y) * static_cast<std::size_t>(sample_bytes);
  }
};

// The format of `band`'s tiles, or nullopt when only GDAL can decode them (not GTiff, not DEFLATE,
// pixel-interleaved bands, odd bit depths, complex pixels, big-endian files (`little_endian_file`
// false), ...).
std::optional<DirectTileFormat> direct_tile_format(GDALRasterBand& band, bool little_endian_file);

// Undoes TIFF's predictor in place on a decoded tile (rows of block_x samples), as libtiff does.
void undo_predictor(const DirectTileFormat& format, std::byte* tile);

// Decodes the tiles of one open GeoTIFF for one thread (a GDAL dataset is used by one thread at a
// time; the raw-byte file handle here likewise).
class TileDecoder {
 public:
  TileDecoder(std::string href, GDALDataset& dataset);
  ~TileDecoder();
  TileDecoder(const TileDecoder&) = delete;
  TileDecoder& operator=(const TileDecoder&) = delete;

  // Fills `dst` (block_x * block_y pixels of the band's type) with tile (col, row) of `band`:
  // directly when possible, else with ReadBlock. Throws IOError naming href, band and tile.
  // CUBIST_TILE_DECODER=gdal sends every tile to ReadBlock (to compare; read once).
  void decode(GDALRasterBand& band, int col, int row, std::byte* dst);

  // Only the direct path: false (dst unspecified) when the tile must go through ReadBlock.
  bool decode_direct(GDALRasterBand& band, int col, int row, std::byte* dst);

 private:
  const std::optional<DirectTileFormat>& format_of(GDALRasterBand& band);
  // Through GDAL's file layer (the path GDAL opened).
  bool read_raw(std::uint64_t offset, std::size_t size, std::vector<std::byte>& raw);
  // A tile's bytes: by one range GET when direct_http_url allows, else read_raw.
  bool read_tile_bytes(std::uint64_t offset, std::size_t size, std::vector<std::byte>& raw);

  std::string href_;
  GDALDataset& dataset_;
  std::optional<std::optional<std::string>> http_url_;  // decided on first read: none / URL to GET
  void* file_ = nullptr;  // VSILFILE*, opened on first use
  bool file_failed_ = false;
  std::optional<bool> little_endian_;
  std::vector<std::optional<std::optional<DirectTileFormat>>> formats_;  // per band: unknown / none / format
};

// False when CUBIST_TILE_DECODER=gdal; throws ValueError naming it for a value other than direct/gdal.
bool direct_decoding_enabled();

// Decodes through ReadBlock only (what TileDecoder falls back on). Throws IOError naming href, band
// and tile.
void read_block(GDALRasterBand& band, const std::string& href, int col, int row, std::byte* dst);

// The http(s) URL whose ranges TileDecoder may GET itself for the GDAL path `gdal_path`
// ("/vsicurl/http..."), or nullopt when only GDAL's /vsicurl/ may read it: other paths, and
// whenever a GDAL option that changes the request (headers, credentials, proxy, cookies, TLS,
// URL signing, ...; list in the .cpp) is set for the path (config option, environment or
// path-specific option; read in the calling thread).
std::optional<std::string> direct_http_url(const std::string& gdal_path);

// Tiles decoded since the process started, by path; http_reads: tiles whose bytes came by one range
// GET each (direct_http_url) rather than through GDAL's file layer (the requests the HTTP server
// counts include these).
struct TileDecodeStats {
  std::int64_t direct = 0, gdal = 0, http_reads = 0;
};
TileDecodeStats tile_decode_stats();

}  // namespace cubist::raster
