// Generated arrays, as dask.array / numpy creation functions (lazy: chunks are made on demand).
#pragma once
#include <cstdint>

#include "cubist/data_array.hpp"

namespace cubist {

// `chunks` names a chunk size per dimension; dimensions left out get "auto" chunks.
DataArray full(const DimSizes& dims, double value, DType dtype, const DimSizes& chunks = {});
DataArray zeros(const DimSizes& dims, DType dtype, const DimSizes& chunks = {});
DataArray ones(const DimSizes& dims, DType dtype, const DimSizes& chunks = {});
// Uniform [0, 1) values that depend only on the seed (not on chunking or threads).
DataArray random(const DimSizes& dims, DType dtype, const DimSizes& chunks, std::uint64_t seed);
// start, start + step, ... below stop, along one dimension.
DataArray arange(const std::string& dim, double start, double stop, double step, DType dtype, std::int64_t chunk = 0);

template <class T> DataArray full(const DimSizes& dims, T value, const DimSizes& chunks = {}) {
  return full(dims, static_cast<double>(value), dtype_of<T>(), chunks);
}
template <class T> DataArray zeros(const DimSizes& dims, const DimSizes& chunks = {}) {
  return zeros(dims, dtype_of<T>(), chunks);
}
template <class T> DataArray ones(const DimSizes& dims, const DimSizes& chunks = {}) {
  return ones(dims, dtype_of<T>(), chunks);
}
template <class T> DataArray random(const DimSizes& dims, const DimSizes& chunks, std::uint64_t seed) {
  return random(dims, dtype_of<T>(), chunks, seed);
}
template <class T> DataArray arange(const std::string& dim, double start, double stop, double step = 1, std::int64_t chunk = 0) {
  return arange(dim, start, stop, step, dtype_of<T>(), chunk);
}

// Evenly spaced datetime64[ns] labels: date_range("2020-01-01", 50, "1D") (units: D, h, min, s).
Coordinate date_range(const std::string& dim, const std::string& start, std::int64_t periods, const std::string& freq);

}  // namespace cubist
