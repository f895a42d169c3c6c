// save_result's netCDF output: a CF-conventions netCDF-4 file through GDAL's multidimensional API.
#pragma once
#include <string>

#include "cubist/data_array.hpp"

namespace cubist::openeo {

// The cube as the variable "data" with the cube's dims, a coordinate variable per indexed
// dimension (datetimes as "<unit> since 1970-01-01", so xarray decodes them), other numeric,
// datetime or string coordinates listed in `coordinates`, and the CRS as rioxarray's
// "spatial_ref" grid mapping. Float32 stays float32, everything else becomes float64; NaN is
// the _FillValue. The data is written chunk by chunk as it is computed (memory stays bounded by
// the chunks in flight). IOError when GDAL fails.
void write_netcdf(const DataArray& cube, const std::string& path, const ComputeOptions& compute = {});

}  // namespace cubist::openeo
