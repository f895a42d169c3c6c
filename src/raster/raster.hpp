// GDAL raster reads for the engine (the part of stackstac / rasterio that touches pixels):
// probing assets, windowed reads when grids align, warped reads otherwise. Internal to cubist.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "cubist/chunk.hpp"
#include "cubist/geo.hpp"

namespace cubist::raster {

// Registers GDAL drivers once and sets the options COG-over-HTTP readers use (only those the
// user has not set in the environment or GDAL config).
void ensure_gdal();

// GDAL's name for an href: http(s) -> /vsicurl/..., file:// -> the path, paths unchanged.
std::string gdal_path(const std::string& href);

// A georeferenced pixel grid: pixel (col, row) covers transform * [col, col+1) x [row, row+1).
struct Grid {
  std::string crs_wkt;
  Affine transform;
  std::int64_t width = 0, height = 0;
};

struct RasterInfo {
  Grid grid;
  int band_count = 0;
  DType dtype = DType::Float64;
  std::optional<double> nodata;  // of the first band
  int block_x = 0, block_y = 0;
  int overview_count = 0;
};

// Opens the raster (header only) and describes it; throws IOError naming the href.
RasterInfo probe(const std::string& href);

enum class Resampling { Nearest, Bilinear, Cubic, CubicSpline, Lanczos, Average, Mode, Min, Max, Med, Q1, Q3 };
Resampling resampling_from_string(const std::string& name);  // "nearest", "bilinear", ...

struct AssetRead {
  std::string href;
  int band = 1;
  std::optional<Grid> source_grid;  // from STAC proj:* when known (then the file is not probed to plan)
  std::optional<double> nodata;     // overrides the file's nodata
  double scale = 1, offset = 0;
  bool rescale = true;  // apply scale/offset
  Resampling resampling = Resampling::Nearest;
};

// Fills the 2-d chunk `out` (height x width of `target`; float32/float64 or any numeric dtype)
// with the asset's pixels on `target`: a windowed read when the grids align up to an integer
// offset, a warped read otherwise. Nodata and uncovered pixels become `fill_value`.
// Returns false without writing when the asset does not overlap the target.
// Throws IOError naming the href (unreadable, not a raster, band out of range).
bool read_into(const AssetRead& asset, const Grid& target, double fill_value, Chunk& out);

// read_into's values for `target`, one run of rows at a time, for a consumer that uses each row
// at once (an elementwise program reading a stack: no window-sized buffer written and read back).
class AssetRows {
 public:
  virtual ~AssetRows() = default;
  // Writes rows [first, first + count) of `target` (width values each, contiguous) into dst.
  // Calls come in increasing order of rows. Throws IOError naming the href.
  virtual void read(std::int64_t first, std::int64_t count, void* dst) = 0;
};

// Rows of `asset` on `target` in `dtype`, or null when read_into has to read the whole window at
// once (only the common case streams: grids aligned up to an integer offset, an integer-typed
// tiled GeoTIFF, a float32/float64 output). Tiles come from the shared tile cache as read_into's.
std::unique_ptr<AssetRows> open_rows(const AssetRead& asset, const Grid& target, double fill_value, DType dtype);

// Closes the idle kept-alive connections of the HTTP client that reads COG tile bytes: an HTTP
// server in this process (`cubist demo`) otherwise waits for them, up to its keep-alive timeout,
// when it stops.
void close_idle_tile_connections();

// Frees what this thread holds for reads: its open datasets, its PROJ objects and GDAL's
// thread-local state. For threads that end (GDAL never frees them for threads it did not start).
void release_thread_resources();

// True when the two grids share CRS and pixel size and `target`'s origin is an integer pixel offset
// of `source`'s; sets col_off/row_off (target origin in source pixels).
bool aligned(const Grid& source, const Grid& target, std::int64_t& col_off, std::int64_t& row_off);

}  // namespace cubist::raster
