// save_result's GTiff output (a Cloud Optimized GeoTIFF through GDAL).
#pragma once
#include <string>

#include "cubist/data_array.hpp"

namespace cubist::openeo {

// A (y, x) or (bands, y, x) cube -> one GeoTIFF band per label, NaN nodata, the cube's CRS and
// transform. ValueError for other shapes, IOError when GDAL fails.
void write_gtiff(const DataArray& cube, const std::string& path, const ComputeOptions& compute = {});

}  // namespace cubist::openeo
