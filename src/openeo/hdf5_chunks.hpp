// The data variable of a netCDF-4 file written chunk by chunk with the compression done on the
// worker threads. libnetcdf (under GDAL) compresses inside its write call, which GDAL's netCDF
// driver only allows one thread at a time, so DEFLATE ran on one core (70 % of a netCDF save's
// CPU). A netCDF-4 variable is an HDF5 dataset, and HDF5's H5Dwrite_chunk stores chunks the
// caller has already filtered: each worker shuffles and deflates its chunk exactly as the
// dataset's filter pipeline would (HDF5's shuffle, then zlib's compress2 at the dataset's level),
// and only the write of the compressed bytes is serialised.
#pragma once
#include <memory>
#include <string>

#include "openeo/chunk_sink.hpp"

namespace cubist::openeo {

// Opens `path` (a netCDF-4 file whose variable `variable` is defined but not yet written) with
// HDF5 for the chunk writes. Chunks that are not exactly one HDF5 chunk (an irregular cube grid),
// and datasets with another filter pipeline than [shuffle,] deflate, are written through HDF5's
// own pipeline instead (serialised). IOError naming the file when HDF5 fails.
std::unique_ptr<ChunkWriter> open_hdf5_chunk_writer(const std::string& path, const std::string& variable);

}  // namespace cubist::openeo
