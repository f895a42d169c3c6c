// save_result as GTiff: the cube computed into a GDAL in-memory dataset, then copied by GDAL's
// COG driver (a tiled, DEFLATE-compressed Cloud Optimized GeoTIFF with overviews).
#include "openeo/gtiff.hpp"

#include <cpl_string.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gdal.h>

#include <cmath>
#include <limits>

#include "cubist/error.hpp"
#include "cubist/geo.hpp"
#include "openeo/cube.hpp"

namespace cubist::openeo {

void write_gtiff(const DataArray& cube, const std::string& path, const ComputeOptions& compute) {
  const auto& dims = cube.dims();
  if (dims.size() < 2 || dims.size() > 3 || dims[dims.size() - 2] != "y" || dims.back() != "x")
    throw ValueError(fmt::format("GTiff holds (y, x) or (bands, y, x) cubes; this one is ({}): reduce or filter the "
                                 "other dimensions first, or save as ZARR",
                                 fmt::join(dims, ", ")));
  const bool f32 = cube.dtype() == DType::Float32;
  const DataArray data = (f32 ? cube : cube.astype(DType::Float64)).compute(compute);
  const int nx = static_cast<int>(cube.size("x")), ny = static_cast<int>(cube.size("y"));
  const int nb = dims.size() == 3 ? static_cast<int>(cube.size(dims[0])) : 1;
  const GDALDataType type = f32 ? GDT_Float32 : GDT_Float64;

  GDALAllRegister();
  GDALDriverH mem = GDALGetDriverByName("MEM");
  GDALDriverH cog = GDALGetDriverByName("COG");
  if (!mem || !cog) throw IOError("GDAL lacks the MEM or COG driver needed to write GTiff");
  GDALDatasetH ds = GDALCreate(mem, "", nx, ny, nb, type, nullptr);
  if (!ds) throw IOError(fmt::format("{}: GDAL could not create the in-memory dataset", path));
  const Affine t = transform_of(cube);
  auto gt = t.to_gdal();
  GDALSetGeoTransform(ds, gt.data());
  if (auto crs = crs_of(cube)) GDALSetProjection(ds, crs->wkt1_gdal().c_str());
  const std::vector<std::string> labels = nb > 1 || dims.size() == 3 ? labels_of(cube, dims[0]) : std::vector<std::string>{};
  const Chunk& chunk = data.memory_chunk();
  const std::size_t plane = static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny);
  bool ok = true;
  for (int b = 0; b < nb && ok; ++b) {
    GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
    GDALSetRasterNoDataValue(band, std::numeric_limits<double>::quiet_NaN());
    if (!labels.empty()) GDALSetDescription(band, labels[static_cast<std::size_t>(b)].c_str());
    void* src = f32 ? static_cast<void*>(const_cast<float*>(chunk.values<float>().data() + plane * static_cast<std::size_t>(b)))
                    : static_cast<void*>(const_cast<double*>(chunk.values<double>().data() + plane * static_cast<std::size_t>(b)));
    ok = GDALRasterIO(band, GF_Write, 0, 0, nx, ny, src, nx, ny, type, 0, 0) == CE_None;
  }
  char** options = CSLSetNameValue(nullptr, "COMPRESS", "DEFLATE");
  GDALDatasetH out = ok ? GDALCreateCopy(cog, path.c_str(), ds, FALSE, options, nullptr, nullptr) : nullptr;
  CSLDestroy(options);
  GDALClose(ds);
  if (!out) throw IOError(fmt::format("{}: GDAL could not write the GTiff: {}", path, CPLGetLastErrorMsg()));
  GDALClose(out);
}

}  // namespace cubist::openeo
