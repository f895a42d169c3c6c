// probe() and read_into(): an asset's pixels on a target grid, through GDAL.
#include <fmt/format.h>
#include <gdal_priv.h>
#include <gdalwarper.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "cubist/error.hpp"
#include "raster/dataset_cache.hpp"
#include "raster/raster.hpp"
#include "raster/tile_cache.hpp"

namespace cubist::raster {
namespace {

DType dtype_of_gdal(GDALDataType t, const std::string& href) {
  switch (t) {
    case GDT_Byte: return DType::UInt8;
    case GDT_UInt16: return DType::UInt16;
    case GDT_Int16: return DType::Int16;
    case GDT_UInt32: return DType::UInt32;
    case GDT_Int32: return DType::Int32;
    case GDT_UInt64: return DType::UInt64;
    case GDT_Int64: return DType::Int64;
    case GDT_Float32: return DType::Float32;
    case GDT_Float64: return DType::Float64;
    default: throw IOError(fmt::format("{}: unsupported pixel type {}", href, GDALGetDataTypeName(t)));
  }
}

Grid grid_of(GDALDataset& ds) {
  Grid g;
  const char* wkt = ds.GetProjectionRef();
  g.crs_wkt = wkt ? wkt : "";
  std::array<double, 6> gt{0, 1, 0, 0, 0, 1};
  if (ds.GetGeoTransform(gt.data()) != CE_None) gt = {0, 1, 0, 0, 0, 1};
  g.transform = Affine::from_gdal(gt);
  g.width = ds.GetRasterXSize();
  g.height = ds.GetRasterYSize();
  return g;
}

// An asset's dataset, opened on first use: an asset whose grid the item states (proj:transform,
// proj:shape) often needs no open at all, its tiles coming from the tile cache.
class AssetDataset {
 public:
  explicit AssetDataset(const AssetRead& asset) : asset_(asset) {}
  GDALDataset& operator()() {
    if (!ds_) ds_ = &cached_dataset(asset_.href);
    return *ds_;
  }
  Grid grid() { return asset_.source_grid ? *asset_.source_grid : grid_of((*this)()); }

 private:
  const AssetRead& asset_;
  GDALDataset* ds_ = nullptr;
};

GDALRasterBand& band_of(GDALDataset& ds, int band, const std::string& href) {
  if (band < 1 || band > ds.GetRasterCount())
    throw IOError(fmt::format("{}: band {} out of range (the raster has {} bands)", href, band, ds.GetRasterCount()));
  return *ds.GetRasterBand(band);
}

// The band's nodata value, if it has one.
std::optional<double> band_nodata(GDALRasterBand& band) {
  int has = 0;
  const double nd = band.GetNoDataValue(&has);
  return has ? std::optional<double>(nd) : std::nullopt;
}

// The asset's nodata: the item's (raster:bands) when it states one, else the band's.
std::optional<double> nodata_of(const AssetRead& asset, GDALRasterBand& band) {
  return asset.nodata ? asset.nodata : band_nodata(band);
}

// value * scale + offset as the read applies it: 1 and 0 when rescaling is off or a no-op.
struct Rescale {
  double scale = 1, offset = 0;
};
Rescale rescale_of(const AssetRead& asset) {
  if (!asset.rescale || (asset.scale == 1 && asset.offset == 0)) return {};
  return {asset.scale, asset.offset};
}

// The block size of a band that read_tiles can serve (a GeoTIFF tiled in blocks of 64 px and more).
bool geotiff_tiles(GDALRasterBand& band, int& bx, int& by) {
  band.GetBlockSize(&bx, &by);
  GDALDataset* ds = band.GetDataset();
  return bx >= 64 && by >= 64 && ds && ds->GetDriver() && std::string_view(ds->GetDriver()->GetDescription()) == "GTiff";
}

// Tile (tc, tr) of `band` from the shared tile cache (decoded on a miss), counting the part of it
// the window [src_col, src_col + w) x [src_row, src_row + h) reads as this caller's use.
std::shared_ptr<const Tile> window_tile(GDALRasterBand& band, const std::string& href, const std::string& source,
                                        std::size_t tile_bytes, int bx, int by, std::int64_t tc, std::int64_t tr,
                                        std::int64_t src_col, std::int64_t src_row, std::int64_t w, std::int64_t h) {
  const std::int64_t r0 = std::max(src_row, tr * by), r1 = std::min(src_row + h, (tr + 1) * by);
  const std::int64_t c0 = std::max(src_col, tc * bx), c1 = std::min(src_col + w, (tc + 1) * bx);
  const std::int64_t width = band.GetXSize(), height = band.GetYSize();
  const TileUse use{(r1 - r0) * (c1 - c0), (std::min(height, (tr + 1) * by) - tr * by) * (std::min(width, (tc + 1) * bx) - tc * bx)};
  return cached_tile(TileKey{source, tc, tr}, tile_bytes, [&](std::byte* dst) {
    cached_tile_decoder(href).decode(band, static_cast<int>(tc), static_cast<int>(tr), dst);
  }, use);
}

// Where a source aligned with the target (up to the integer offset col_off, row_off) covers it:
// target columns [x0, x1) and rows [y0, y1); empty when it does not reach the target.
struct Overlap {
  std::int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool empty() const { return x0 >= x1 || y0 >= y1; }
};
Overlap overlap_of(const Grid& source, const Grid& target, std::int64_t col_off, std::int64_t row_off) {
  return {std::max<std::int64_t>(0, -col_off), std::max<std::int64_t>(0, -row_off),
          std::min(target.width, source.width - col_off), std::min(target.height, source.height - row_off)};
}

// PROJ objects per thread, keyed by WKT: parsing a CRS per chunk would cost more than the read.
struct CrsCache {
  std::map<std::string, std::unique_ptr<OGRSpatialReference>> srs;
  std::map<std::pair<std::string, std::string>, bool> same;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<OGRCoordinateTransformation>> transforms;

  OGRSpatialReference& get(const std::string& wkt) {
    auto& p = srs[wkt];
    if (!p) {
      p = std::make_unique<OGRSpatialReference>();
      p->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
      if (p->importFromWkt(wkt.c_str()) != OGRERR_NONE) {
        srs.erase(wkt);
        throw ValueError(fmt::format("invalid CRS WKT: {}", wkt.substr(0, 80)));
      }
    }
    return *p;
  }
  bool is_same(const std::string& a, const std::string& b) {
    if (a == b) return true;
    auto key = std::make_pair(a, b);
    auto it = same.find(key);
    if (it != same.end()) return it->second;
    bool s = get(a).IsSame(&get(b));
    same[key] = s;
    return s;
  }
  OGRCoordinateTransformation& transform(const std::string& from, const std::string& to) {
    auto& t = transforms[{from, to}];
    if (!t) {
      t.reset(OGRCreateCoordinateTransformation(&get(from), &get(to)));
      if (!t) throw ValueError("no coordinate transformation between the asset's CRS and the target CRS");
    }
    return *t;
  }
};

CrsCache& crs_cache() {
  thread_local CrsCache cache;
  return cache;
}

Bounds bounds_of(const Grid& g) {
  const Affine& t = g.transform;
  double xs[4] = {t.c, t.c + t.a * static_cast<double>(g.width), t.c + t.b * static_cast<double>(g.height),
                  t.c + t.a * static_cast<double>(g.width) + t.b * static_cast<double>(g.height)};
  double ys[4] = {t.f, t.f + t.d * static_cast<double>(g.width), t.f + t.e * static_cast<double>(g.height),
                  t.f + t.d * static_cast<double>(g.width) + t.e * static_cast<double>(g.height)};
  return {*std::min_element(xs, xs + 4), *std::min_element(ys, ys + 4), *std::max_element(xs, xs + 4),
          *std::max_element(ys, ys + 4)};
}

bool overlaps(const Bounds& a, const Bounds& b) {
  return a.minx < b.maxx && b.minx < a.maxx && a.miny < b.maxy && b.miny < a.maxy;
}

GDALResampleAlg gdal_resampling(Resampling r) {
  switch (r) {
    case Resampling::Nearest: return GRA_NearestNeighbour;
    case Resampling::Bilinear: return GRA_Bilinear;
    case Resampling::Cubic: return GRA_Cubic;
    case Resampling::CubicSpline: return GRA_CubicSpline;
    case Resampling::Lanczos: return GRA_Lanczos;
    case Resampling::Average: return GRA_Average;
    case Resampling::Mode: return GRA_Mode;
    case Resampling::Min: return GRA_Min;
    case Resampling::Max: return GRA_Max;
    case Resampling::Med: return GRA_Med;
    case Resampling::Q1: return GRA_Q1;
    case Resampling::Q3: return GRA_Q3;
  }
  return GRA_NearestNeighbour;
}

// Converts raw values (float64, NaN = not covered) to the chunk's dtype: nodata -> fill, rescale.
void store(const std::vector<double>& raw, std::int64_t width, std::int64_t x0, std::int64_t y0, std::int64_t w,
           std::int64_t h, const AssetRead& asset, std::optional<double> nodata, double fill, std::int64_t out_width,
           Chunk& out) {
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto dst = out.mutable_values<T>();
    const T fill_t = static_cast<T>(fill);
    for (std::int64_t r = 0; r < h; ++r) {
      const double* src = raw.data() + r * width;
      T* row = dst.data() + (y0 + r) * out_width + x0;
      for (std::int64_t c = 0; c < w; ++c) {
        double v = src[c];
        if (std::isnan(v) || (nodata && v == *nodata)) {
          row[c] = fill_t;
        } else {
          if (asset.rescale) v = v * asset.scale + asset.offset;
          row[c] = static_cast<T>(v);
        }
      }
    }
  });
}

// Reads a window of the band in its own data type into `buffer` (GDAL then copies decoded tiles
// without converting them). Throws IOError naming the asset.
template <class S>
void read_native(GDALRasterBand& band, const AssetRead& asset, std::int64_t src_col, std::int64_t src_row, std::int64_t w,
                 std::int64_t h, GDALDataType type, std::vector<S>& buffer) {
  buffer.resize(static_cast<std::size_t>(w * h));
  CPLErrorReset();
  CPLPushErrorHandler(CPLQuietErrorHandler);
  CPLErr err = band.RasterIO(GF_Read, static_cast<int>(src_col), static_cast<int>(src_row), static_cast<int>(w),
                             static_cast<int>(h), buffer.data(), static_cast<int>(w), static_cast<int>(h), type, 0, 0,
                             nullptr);
  std::string why = CPLGetLastErrorMsg();
  CPLPopErrorHandler();
  if (err != CE_None) throw IOError(fmt::format("{}: read failed: {}", asset.href, why));
}

// The window [src_col, src_col + w) x [src_row, src_row + h) of a tiled GeoTIFF, tile by tile through
// the decoded-tile cache shared by the threads: `row(src, dst_row, dst_col, n)` gets each tile's
// part of each window row. Tiles are decoded straight into the cache (tiff_tile_decoder.hpp: DEFLATE
// COGs without libtiff, the rest with ReadBlock; never through GDAL's block cache). False (nothing
// read) for other layouts: strips, small blocks, other drivers.
template <class S, class Row>
bool read_tiles(GDALRasterBand& band, const AssetRead& asset, std::int64_t src_col, std::int64_t src_row, std::int64_t w,
                std::int64_t h, Row row) {
  int bx = 0, by = 0;
  if (!geotiff_tiles(band, bx, by)) return false;
  const std::string source = fmt::format("{}\nband {}", cached_dataset_identity(asset.href), band.GetBand());
  const std::size_t tile_bytes = static_cast<std::size_t>(bx) * static_cast<std::size_t>(by) * sizeof(S);
  for (std::int64_t tr = src_row / by; tr * by < src_row + h; ++tr) {
    for (std::int64_t tc = src_col / bx; tc * bx < src_col + w; ++tc) {
      const std::int64_t r0 = std::max(src_row, tr * by), r1 = std::min(src_row + h, (tr + 1) * by);
      const std::int64_t c0 = std::max(src_col, tc * bx), c1 = std::min(src_col + w, (tc + 1) * bx);
      auto tile = window_tile(band, asset.href, source, tile_bytes, bx, by, tc, tr, src_col, src_row, w, h);
      const S* pixels = reinterpret_cast<const S*>(tile->data());
      for (std::int64_t r = r0; r < r1; ++r)
        row(pixels + (r - tr * by) * bx + (c0 - tc * bx), r - src_row, c0 - src_col, c1 - c0);
    }
  }
  return true;
}

// dst[i] = src[i] == nodata ? fill : src[i] * scale + offset. Everything by value and the select
// without a branch, so the compiler vectorises it (with the parameters read through references
// and a branch per pixel it stayed scalar: ~4 % of the NDVI demo's CPU).
template <bool HasNodata, class S, class T>
void convert_row(const S* __restrict src, T* __restrict dst, std::int64_t n, double nodata, T fill, double scale,
                 double offset) {
  for (std::int64_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(src[i]);
    const T value = static_cast<T>(v * scale + offset);
    if constexpr (HasNodata) dst[i] = v == nodata ? fill : value;
    else dst[i] = value;
  }
}

// The common case of COGs (integer pixels, float output): decode in the source type (tiles from the
// shared cache, or a window into a per-thread buffer), then one pass converts, maps nodata to the
// fill value and applies scale/offset, writing each output pixel once (half the memory traffic of
// decoding as float and fixing up in place).
// Values are those of the other paths: static_cast<T>(double(v) * scale + offset). False otherwise.
bool read_integer_source(GDALRasterBand& band, const AssetRead& asset, std::int64_t src_col, std::int64_t src_row,
                         std::int64_t w, std::int64_t h, std::int64_t x0, std::int64_t y0, std::int64_t out_width,
                         std::optional<double> nodata, double fill, Chunk& out) {
  if (out.dtype() != DType::Float64 && out.dtype() != DType::Float32) return false;
  auto run = [&](auto src_tag, GDALDataType type) {
    using S = typename decltype(src_tag)::type;
    const bool has_nd = nodata.has_value();
    const double nd = has_nd ? *nodata : 0;
    const auto [scale, offset] = rescale_of(asset);
    auto convert = [&](auto out_tag) {
      using T = typename decltype(out_tag)::type;
      const T fill_t = static_cast<T>(fill);
      T* base = out.mutable_values<T>().data() + y0 * out_width + x0;
      // One window row's run of n pixels from `src` to (r, c) of the window.
      auto row = [&](const S* src, std::int64_t r, std::int64_t c, std::int64_t n) {
        T* dst = base + r * out_width + c;
        if (has_nd) convert_row<true>(src, dst, n, nd, fill_t, scale, offset);
        else convert_row<false>(src, dst, n, nd, fill_t, scale, offset);
      };
      if (read_tiles<S>(band, asset, src_col, src_row, w, h, row)) return;
      thread_local std::vector<S> buffer;
      read_native(band, asset, src_col, src_row, w, h, type, buffer);
      for (std::int64_t r = 0; r < h; ++r) row(buffer.data() + r * w, r, 0, w);
    };
    if (out.dtype() == DType::Float64) convert(TypeTag<double>{});
    else convert(TypeTag<float>{});
  };
  switch (band.GetRasterDataType()) {
    case GDT_Byte: run(TypeTag<std::uint8_t>{}, GDT_Byte); return true;
    case GDT_UInt16: run(TypeTag<std::uint16_t>{}, GDT_UInt16); return true;
    case GDT_Int16: run(TypeTag<std::int16_t>{}, GDT_Int16); return true;
    case GDT_UInt32: run(TypeTag<std::uint32_t>{}, GDT_UInt32); return true;
    case GDT_Int32: run(TypeTag<std::int32_t>{}, GDT_Int32); return true;
    default: return false;
  }
}

// The common case (float output that holds every source value exactly): GDAL decodes straight into
// the chunk, then one pass applies nodata and scale/offset in place. Returns false otherwise.
bool read_in_place(GDALRasterBand& band, const AssetRead& asset, std::int64_t src_col, std::int64_t src_row, std::int64_t w,
                   std::int64_t h, std::int64_t x0, std::int64_t y0, std::int64_t out_width, std::optional<double> nodata,
                   double fill, Chunk& out) {
  const GDALDataType src = band.GetRasterDataType();
  const bool exact32 = src == GDT_Byte || src == GDT_UInt16 || src == GDT_Int16 || src == GDT_Float32;
  const bool exact64 = exact32 || src == GDT_UInt32 || src == GDT_Int32 || src == GDT_Float64;
  auto run = [&](auto tag, GDALDataType buf_type) {
    using T = typename decltype(tag)::type;
    T* base = out.mutable_values<T>().data() + y0 * out_width + x0;
    CPLErrorReset();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErr err = band.RasterIO(GF_Read, static_cast<int>(src_col), static_cast<int>(src_row), static_cast<int>(w),
                               static_cast<int>(h), base, static_cast<int>(w), static_cast<int>(h), buf_type, sizeof(T),
                               static_cast<GSpacing>(sizeof(T)) * out_width, nullptr);
    std::string why = CPLGetLastErrorMsg();
    CPLPopErrorHandler();
    if (err != CE_None) throw IOError(fmt::format("{}: read failed: {}", asset.href, why));
    const T fill_t = static_cast<T>(fill);
    const bool has_nd = nodata.has_value();
    const T nd = has_nd ? static_cast<T>(*nodata) : T(0);
    const bool rescale = asset.rescale && (asset.scale != 1 || asset.offset != 0);
    for (std::int64_t r = 0; r < h; ++r) {
      T* row = base + r * out_width;
      for (std::int64_t c = 0; c < w; ++c) {
        T v = row[c];
        if (std::isnan(v) || (has_nd && v == nd)) row[c] = fill_t;
        else if (rescale) row[c] = static_cast<T>(static_cast<double>(v) * asset.scale + asset.offset);
      }
    }
  };
  // The nodata value must itself be exact in the buffer type, or comparisons would be wrong.
  if (out.dtype() == DType::Float64 && exact64) {
    run(TypeTag<double>{}, GDT_Float64);
    return true;
  }
  if (out.dtype() == DType::Float32 && exact32 && (!nodata || static_cast<double>(static_cast<float>(*nodata)) == *nodata)) {
    run(TypeTag<float>{}, GDT_Float32);
    return true;
  }
  return false;
}

// Fills what lies outside the window [x0, x1) x [y0, y1) of the 2-d chunk: the read writes the rest.
void fill_outside(Chunk& out, std::int64_t x0, std::int64_t x1, std::int64_t y0, std::int64_t y1, double fill) {
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T f = static_cast<T>(fill);
    T* v = out.mutable_values<T>().data();
    const std::int64_t width = out.shape()[1], height = out.shape()[0];
    std::fill(v, v + y0 * width, f);
    for (std::int64_t r = y0; r < y1; ++r) {
      std::fill(v + r * width, v + r * width + x0, f);
      std::fill(v + r * width + x1, v + (r + 1) * width, f);
    }
    std::fill(v + y1 * width, v + height * width, f);
  });
}

// A window that no pixel of the asset reaches: every row is the fill value (read_into returns
// false there and the caller fills).
template <class T> class FillRows final : public AssetRows {
 public:
  FillRows(std::int64_t width, T fill) : width_(width), fill_(fill) {}
  void read(std::int64_t, std::int64_t count, void* dst) override {
    T* out = static_cast<T*>(dst);
    std::fill(out, out + count * width_, fill_);
  }

 private:
  std::int64_t width_;
  T fill_;
};

// read_into's aligned integer-tiled path (fill_outside + read_integer_source over read_tiles), row
// by row: the tiles of the current tile row are held, each requested once per window with the
// window's use of it, as read_tiles does.
// Where a tiled window lies, in the asset and in the target, and how its pixels convert.
struct TiledWindow {
  AssetRead asset;
  std::string source;  // TileKey::source
  int bx = 0, by = 0;
  std::int64_t src_col = 0, src_row = 0, w = 0, h = 0;  // the window in the asset
  std::int64_t x0 = 0, y0 = 0, width = 0;               // where it lies in the target
  std::optional<double> nodata;
  double fill = 0, scale = 1, offset = 0;
};

template <class S, class T> class TiledRows final : public AssetRows {
 public:
  explicit TiledRows(TiledWindow s) : s_(std::move(s)), fill_(static_cast<T>(s_.fill)) {}

  void read(std::int64_t first, std::int64_t count, void* dst) override {
    T* out = static_cast<T*>(dst);
    const std::int64_t x1 = s_.x0 + s_.w;
    for (std::int64_t r = first; r < first + count; ++r, out += s_.width) {
      if (r < s_.y0 || r >= s_.y0 + s_.h) {
        std::fill(out, out + s_.width, fill_);
        continue;
      }
      std::fill(out, out + s_.x0, fill_);
      std::fill(out + x1, out + s_.width, fill_);
      const std::int64_t sr = s_.src_row + (r - s_.y0);
      const std::int64_t tr = sr / s_.by;
      if (tr != tile_row_) load_tile_row(tr);
      const std::int64_t tc0 = s_.src_col / s_.bx;
      for (std::size_t j = 0; j < tiles_.size(); ++j) {
        const std::int64_t tc = tc0 + static_cast<std::int64_t>(j);
        const std::int64_t c0 = std::max(s_.src_col, tc * s_.bx), c1 = std::min(s_.src_col + s_.w, (tc + 1) * s_.bx);
        const S* src = reinterpret_cast<const S*>(tiles_[j]->data()) + (sr - tr * s_.by) * s_.bx + (c0 - tc * s_.bx);
        T* d = out + s_.x0 + (c0 - s_.src_col);
        if (s_.nodata) convert_row<true>(src, d, c1 - c0, *s_.nodata, fill_, s_.scale, s_.offset);
        else convert_row<false>(src, d, c1 - c0, 0.0, fill_, s_.scale, s_.offset);
      }
    }
  }

 private:
  void load_tile_row(std::int64_t tr) {
    tiles_.clear();  // the previous tile row's handles go before the next row's tiles are decoded
    tile_row_ = tr;
    GDALRasterBand& band = band_of(cached_dataset(s_.asset.href), s_.asset.band, s_.asset.href);
    const std::size_t tile_bytes = static_cast<std::size_t>(s_.bx) * static_cast<std::size_t>(s_.by) * sizeof(S);
    for (std::int64_t tc = s_.src_col / s_.bx; tc * s_.bx < s_.src_col + s_.w; ++tc)
      tiles_.push_back(window_tile(band, s_.asset.href, s_.source, tile_bytes, s_.bx, s_.by, tc, tr, s_.src_col, s_.src_row,
                                   s_.w, s_.h));
  }

  TiledWindow s_;
  T fill_;
  std::int64_t tile_row_ = -1;
  std::vector<std::shared_ptr<const Tile>> tiles_;  // of tile row tile_row_, from the window's first tile column
};

}  // namespace

std::unique_ptr<AssetRows> open_rows(const AssetRead& asset, const Grid& target, double fill_value, DType dtype) {
  if (dtype != DType::Float64 && dtype != DType::Float32) return nullptr;
  AssetDataset dataset(asset);
  const Grid source = dataset.grid();
  std::int64_t col_off = 0, row_off = 0;
  if (!aligned(source, target, col_off, row_off)) return nullptr;
  auto with_out_type = [&](auto make) -> std::unique_ptr<AssetRows> {
    if (dtype == DType::Float64) return make(TypeTag<double>{});
    return make(TypeTag<float>{});
  };
  const Overlap o = overlap_of(source, target, col_off, row_off);
  if (o.empty())
    return with_out_type([&](auto tag) -> std::unique_ptr<AssetRows> {
      using T = typename decltype(tag)::type;
      return std::make_unique<FillRows<T>>(target.width, static_cast<T>(fill_value));
    });
  GDALRasterBand& band = band_of(dataset(), asset.band, asset.href);
  TiledWindow setup;
  if (!geotiff_tiles(band, setup.bx, setup.by)) return nullptr;
  setup.asset = asset;
  setup.source = fmt::format("{}\nband {}", cached_dataset_identity(asset.href), band.GetBand());
  setup.src_col = col_off + o.x0;
  setup.src_row = row_off + o.y0;
  setup.w = o.x1 - o.x0;
  setup.h = o.y1 - o.y0;
  setup.x0 = o.x0;
  setup.y0 = o.y0;
  setup.width = target.width;
  setup.nodata = nodata_of(asset, band);
  setup.fill = fill_value;
  const auto [scale, offset] = rescale_of(asset);
  setup.scale = scale;
  setup.offset = offset;
  auto make = [&](auto src_tag) {
    return with_out_type([&](auto tag) -> std::unique_ptr<AssetRows> {
      using S = typename decltype(src_tag)::type;
      using T = typename decltype(tag)::type;
      return std::make_unique<TiledRows<S, T>>(setup);
    });
  };
  switch (band.GetRasterDataType()) {
    case GDT_Byte: return make(TypeTag<std::uint8_t>{});
    case GDT_UInt16: return make(TypeTag<std::uint16_t>{});
    case GDT_Int16: return make(TypeTag<std::int16_t>{});
    case GDT_UInt32: return make(TypeTag<std::uint32_t>{});
    case GDT_Int32: return make(TypeTag<std::int32_t>{});
    default: return nullptr;
  }
}

void release_thread_resources() {
  close_cached_datasets();
  crs_cache() = CrsCache();
  CPLCleanupTLS();
}

RasterInfo probe(const std::string& href) {
  GDALDataset& ds = cached_dataset(href);
  RasterInfo info;
  info.grid = grid_of(ds);
  info.band_count = ds.GetRasterCount();
  GDALRasterBand& b = band_of(ds, 1, href);
  info.dtype = dtype_of_gdal(b.GetRasterDataType(), href);
  info.nodata = band_nodata(b);
  b.GetBlockSize(&info.block_x, &info.block_y);
  info.overview_count = b.GetOverviewCount();
  return info;
}

Resampling resampling_from_string(const std::string& name) {
  static const std::pair<const char*, Resampling> names[] = {
      {"nearest", Resampling::Nearest}, {"bilinear", Resampling::Bilinear}, {"cubic", Resampling::Cubic},
      {"cubic_spline", Resampling::CubicSpline}, {"lanczos", Resampling::Lanczos}, {"average", Resampling::Average},
      {"mode", Resampling::Mode}, {"min", Resampling::Min}, {"max", Resampling::Max}, {"med", Resampling::Med},
      {"q1", Resampling::Q1}, {"q3", Resampling::Q3}};
  for (const auto& [n, r] : names)
    if (name == n) return r;
  throw ValueError(fmt::format("unknown resampling '{}' (nearest, bilinear, cubic, cubic_spline, lanczos, average, "
                               "mode, min, max, med, q1, q3)",
                               name));
}

bool aligned(const Grid& source, const Grid& target, std::int64_t& col_off, std::int64_t& row_off) {
  const Affine &s = source.transform, &t = target.transform;
  auto close = [](double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(std::abs(a), std::abs(b)); };
  if (s.b != 0 || s.d != 0 || t.b != 0 || t.d != 0 || !close(s.a, t.a) || !close(s.e, t.e)) return false;
  double cx = (t.c - s.c) / s.a, ry = (t.f - s.f) / s.e;
  if (std::abs(cx - std::round(cx)) > 1e-6 || std::abs(ry - std::round(ry)) > 1e-6) return false;
  if (!source.crs_wkt.empty() && !target.crs_wkt.empty() && !crs_cache().is_same(source.crs_wkt, target.crs_wkt))
    return false;
  col_off = static_cast<std::int64_t>(std::llround(cx));
  row_off = static_cast<std::int64_t>(std::llround(ry));
  return true;
}

bool read_into(const AssetRead& asset, const Grid& target, double fill_value, Chunk& out) {
  if (out.shape() != Shape{target.height, target.width})
    throw ValueError(fmt::format("read_into {}: chunk shape {} is not the target's {} x {}", asset.href,
                                 shape_to_string(out.shape()), target.height, target.width));
  if (!is_numeric(out.dtype()) || out.dtype() == DType::Bool)
    throw TypeError(fmt::format("read_into {}: cannot read into a {} chunk", asset.href, dtype_name(out.dtype())));
  AssetDataset dataset(asset);
  const Grid source = dataset.grid();

  std::int64_t col_off = 0, row_off = 0;
  if (aligned(source, target, col_off, row_off)) {
    // Same grid up to an integer offset: one windowed read of the overlapping part.
    const Overlap o = overlap_of(source, target, col_off, row_off);
    if (o.empty()) return false;
    const auto [x0, y0, x1, y1] = o;
    GDALRasterBand& band = band_of(dataset(), asset.band, asset.href);
    const std::optional<double> nodata = nodata_of(asset, band);
    const std::int64_t w = x1 - x0, h = y1 - y0;
    if (w != target.width || h != target.height) fill_outside(out, x0, x1, y0, y1, fill_value);
    if (read_integer_source(band, asset, col_off + x0, row_off + y0, w, h, x0, y0, target.width, nodata, fill_value, out))
      return true;
    if (read_in_place(band, asset, col_off + x0, row_off + y0, w, h, x0, y0, target.width, nodata, fill_value, out))
      return true;
    thread_local std::vector<double> raw;
    raw.resize(static_cast<std::size_t>(w * h));
    CPLErrorReset();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErr err = band.RasterIO(GF_Read, static_cast<int>(col_off + x0), static_cast<int>(row_off + y0), static_cast<int>(w),
                               static_cast<int>(h), raw.data(), static_cast<int>(w), static_cast<int>(h), GDT_Float64, 0, 0,
                               nullptr);
    std::string why = CPLGetLastErrorMsg();
    CPLPopErrorHandler();
    if (err != CE_None) throw IOError(fmt::format("{}: read failed: {}", asset.href, why));
    store(raw, w, x0, y0, w, h, asset, nodata, fill_value, target.width, out);
    return true;
  }

  // Different grid: skip when the footprints do not meet, else warp just this window.
  Bounds tb = bounds_of(target), sb = bounds_of(source);
  if (!source.crs_wkt.empty() && !target.crs_wkt.empty() && !crs_cache().is_same(source.crs_wkt, target.crs_wkt)) {
    auto& t = crs_cache().transform(target.crs_wkt, source.crs_wkt);
    Bounds in_src;
    if (!t.TransformBounds(tb.minx, tb.miny, tb.maxx, tb.maxy, &in_src.minx, &in_src.miny, &in_src.maxx, &in_src.maxy, 21))
      return false;
    tb = in_src;
  }
  if (!overlaps(tb, sb)) return false;
  GDALDataset& src = dataset();
  GDALRasterBand& band = band_of(src, asset.band, asset.href);
  const std::optional<double> nodata = nodata_of(asset, band);
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDatasetUniquePtr dst(mem->Create("", static_cast<int>(target.width), static_cast<int>(target.height), 1, GDT_Float64,
                                       nullptr));
  auto gt = target.transform.to_gdal();
  dst->SetGeoTransform(gt.data());
  const std::string dst_wkt = target.crs_wkt.empty() ? source.crs_wkt : target.crs_wkt;
  const std::string src_wkt = src.GetProjectionRef() ? src.GetProjectionRef() : "";
  dst->SetProjection(dst_wkt.c_str());
  dst->GetRasterBand(1)->Fill(std::nan(""));

  GDALWarpOptions* wo = GDALCreateWarpOptions();
  wo->eResampleAlg = gdal_resampling(asset.resampling);
  wo->eWorkingDataType = GDT_Float64;
  wo->nBandCount = 1;
  wo->panSrcBands = static_cast<int*>(CPLMalloc(sizeof(int)));
  wo->panSrcBands[0] = asset.band;
  wo->panDstBands = static_cast<int*>(CPLMalloc(sizeof(int)));
  wo->panDstBands[0] = 1;
  if (nodata) {
    wo->padfSrcNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double)));
    wo->padfSrcNoDataReal[0] = *nodata;
  }
  wo->padfDstNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double)));
  wo->padfDstNoDataReal[0] = std::nan("");
  wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "INIT_DEST", "NO_DATA");
  CPLErrorReset();
  CPLPushErrorHandler(CPLQuietErrorHandler);
  CPLErr err = GDALReprojectImage(GDALDataset::ToHandle(&src), src_wkt.c_str(), GDALDataset::ToHandle(dst.get()),
                                  dst_wkt.c_str(), wo->eResampleAlg, 0, 0.125, nullptr, nullptr, wo);
  std::string why = CPLGetLastErrorMsg();
  CPLPopErrorHandler();
  GDALDestroyWarpOptions(wo);
  if (err != CE_None) throw IOError(fmt::format("{}: warped read failed: {}", asset.href, why));
  thread_local std::vector<double> raw;
  raw.resize(static_cast<std::size_t>(target.width * target.height));
  if (dst->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, static_cast<int>(target.width), static_cast<int>(target.height),
                                      raw.data(), static_cast<int>(target.width), static_cast<int>(target.height),
                                      GDT_Float64, 0, 0, nullptr) != CE_None)
    throw IOError(fmt::format("{}: warped read failed", asset.href));
  store(raw, target.width, 0, 0, target.width, target.height, asset, nodata, fill_value, target.width, out);
  return true;
}

}  // namespace cubist::raster
