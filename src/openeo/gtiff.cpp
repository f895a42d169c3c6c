// save_result as GTiff: the cube's chunks are written as they are computed into a tiled,
// uncompressed GeoTIFF next to the output (GDAL RasterIO per chunk and band: a copy, so the
// serialised writes are cheap), then GDAL's COG driver copies that into a DEFLATE-compressed
// Cloud Optimized GeoTIFF with overviews, reading it block by block and compressing on the run's
// threads. Memory stays bounded by the chunks in flight; the scratch file is removed.
#include "openeo/gtiff.hpp"

#include <cpl_string.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gdal.h>

#include <algorithm>
#include <cmath>
#include <thread>
#include <filesystem>
#include <limits>

#include "cubist/error.hpp"
#include "cubist/geo.hpp"
#include "openeo/chunk_sink.hpp"
#include "openeo/cube.hpp"

namespace cubist::openeo {
namespace {

class GtiffChunks : public ChunkWriter {
 public:
  GtiffChunks(GDALDatasetH ds, GDALDataType type, std::string path) : ds_(ds), type_(type), path_(std::move(path)) {}

  // Chunks are (y, x) or (band, y, x): one RasterIO window per band.
  void write(const Chunk& chunk, std::span<const std::int64_t> offset) override {
    const auto& s = chunk.shape();
    const bool banded = s.size() == 3;
    const int nb = banded ? static_cast<int>(s[0]) : 1;
    const int ny = static_cast<int>(s[s.size() - 2]), nx = static_cast<int>(s.back());
    const int b0 = banded ? static_cast<int>(offset[0]) : 0;
    const int y0 = static_cast<int>(offset[offset.size() - 2]), x0 = static_cast<int>(offset.back());
    const std::size_t plane = static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny) * itemsize(chunk.dtype());
    for (int b = 0; b < nb; ++b) {
      void* src = static_cast<std::byte*>(chunk.mutable_raw()) + plane * static_cast<std::size_t>(b);
      if (GDALRasterIO(GDALGetRasterBand(ds_, b0 + b + 1), GF_Write, x0, y0, nx, ny, src, nx, ny, type_, 0, 0) != CE_None)
        throw IOError(fmt::format("{}: GDAL could not write band {} at ({}, {}): {}", path_, b0 + b + 1, y0, x0, CPLGetLastErrorMsg()));
    }
  }

 private:
  GDALDatasetH ds_;
  GDALDataType type_;
  std::string path_;
};

struct Scratch {  // the tiled GeoTIFF, closed and deleted whatever happens
  GDALDatasetH ds = nullptr;
  std::string path;
  ~Scratch() {
    if (ds) GDALClose(ds);
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

}  // namespace

void write_gtiff(const DataArray& cube, const std::string& path, const ComputeOptions& compute) {
  const auto& dims = cube.dims();
  if (dims.size() < 2 || dims.size() > 3 || dims[dims.size() - 2] != "y" || dims.back() != "x")
    throw ValueError(fmt::format("GTiff holds (y, x) or (bands, y, x) cubes; this one is ({}): reduce or filter the "
                                 "other dimensions first, or save as ZARR",
                                 fmt::join(dims, ", ")));
  const bool f32 = cube.dtype() == DType::Float32;
  const DataArray data = f32 ? cube : cube.astype(DType::Float64);
  const int nx = static_cast<int>(cube.size("x")), ny = static_cast<int>(cube.size("y"));
  const int nb = dims.size() == 3 ? static_cast<int>(cube.size(dims[0])) : 1;
  const GDALDataType type = f32 ? GDT_Float32 : GDT_Float64;

  GDALAllRegister();
  GDALDriverH gtiff = GDALGetDriverByName("GTiff");
  GDALDriverH cog = GDALGetDriverByName("COG");
  if (!gtiff || !cog) throw IOError("GDAL lacks the GTiff or COG driver needed to write GTiff");
  Scratch scratch;
  scratch.path = path + ".tiles.tif";
  char** create = CSLSetNameValue(nullptr, "TILED", "YES");
  create = CSLSetNameValue(create, "BIGTIFF", "IF_SAFER");
  scratch.ds = GDALCreate(gtiff, scratch.path.c_str(), nx, ny, nb, type, create);
  CSLDestroy(create);
  if (!scratch.ds) throw IOError(fmt::format("{}: GDAL could not create the scratch GeoTIFF: {}", scratch.path, CPLGetLastErrorMsg()));
  const Affine t = transform_of(cube);
  auto gt = t.to_gdal();
  GDALSetGeoTransform(scratch.ds, gt.data());
  if (auto crs = crs_of(cube)) GDALSetProjection(scratch.ds, crs->wkt1_gdal().c_str());
  const std::vector<std::string> labels = dims.size() == 3 ? labels_of(cube, dims[0]) : std::vector<std::string>{};
  for (int b = 0; b < nb; ++b) {
    GDALRasterBandH band = GDALGetRasterBand(scratch.ds, b + 1);
    GDALSetRasterNoDataValue(band, std::numeric_limits<double>::quiet_NaN());
    if (!labels.empty()) GDALSetDescription(band, labels[static_cast<std::size_t>(b)].c_str());
  }
  GtiffChunks writer(scratch.ds, type, path);
  write_chunks(data, writer, compute);
  CPLErrorReset();
  GDALFlushCache(scratch.ds);
  if (CPLGetLastErrorType() >= CE_Failure)
    throw IOError(fmt::format("{}: GDAL could not flush the scratch GeoTIFF: {}", scratch.path, CPLGetLastErrorMsg()));

  // The COG driver compresses the tiles (and overviews) on compute.num_threads threads: DEFLATE
  // on one core was most of the write's time.
  const unsigned threads = compute.num_threads > 0 ? compute.num_threads : std::max(1u, std::thread::hardware_concurrency());
  char** options = CSLSetNameValue(nullptr, "COMPRESS", "DEFLATE");
  options = CSLSetNameValue(options, "NUM_THREADS", std::to_string(threads).c_str());
  options = CSLSetNameValue(options, "BIGTIFF", "IF_SAFER");
  GDALDatasetH out = GDALCreateCopy(cog, path.c_str(), scratch.ds, FALSE, options, nullptr, nullptr);
  CSLDestroy(options);
  if (!out) throw IOError(fmt::format("{}: GDAL could not write the GTiff: {}", path, CPLGetLastErrorMsg()));
  GDALClose(out);
}

}  // namespace cubist::openeo
