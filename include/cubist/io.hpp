// Zarr I/O for labelled arrays: open_zarr (lazy, xarray.open_zarr) and to_zarr (Dataset.to_zarr).
//
// open_zarr parses the store's metadata once and returns a lazy Dataset whose data variables read
// their chunks only when computed (one "zarr_read" task per Zarr chunk); coordinates are small and
// read eagerly. to_zarr writes every chunk of every variable in one parallel run ("zarr_write"
// sink tasks), then the metadata last, so a failed write never looks like a complete store.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cubist/data_array.hpp"
#include "cubist/dataset.hpp"

namespace cubist {

struct ZarrOpenOptions {
  // nullopt: use consolidated metadata when present; true: require it; false: ignore it.
  std::optional<bool> consolidated;
  // Variables whose dtype cubist cannot represent raise instead of being skipped with a warning.
  bool strict = false;
  bool mask_and_scale = true;  // _FillValue/missing_value -> NaN, scale_factor/add_offset (xarray)
  bool decode_times = true;    // CF "<unit> since <date>" -> datetime64[ns]
  // Warnings about skipped variables go to stderr unless false.
  bool warn = true;
  // Variables not to open at all (xarray's drop_variables), e.g. ones that would fail to decode.
  std::vector<std::string> drop_variables;
  // Dask chunks of the data variables (xarray's `chunks=`); default: the Zarr chunks, one task
  // per stored chunk. Other chunkings are a rechunk over that read.
  std::optional<ChunkSpec> chunks;
};

// A lazy Dataset over the Zarr group at `path_or_url` (v2 or v3, consolidated when present).
Dataset open_zarr(const std::string& path_or_url, const ZarrOpenOptions& options = {});

// Encoding of one variable in the store (xarray's `encoding={name: {...}}`); unset fields take
// xarray's defaults (blosc lz4 in v2, NaN fill for floats, the variable's own chunks).
struct ZarrVariableEncoding {
  std::optional<DimSizes> chunks;      // Zarr chunk size per dimension (others keep the data's)
  std::optional<nlohmann::json> compressor;  // v2: numcodecs config, or null for none
  std::optional<nlohmann::json> codecs;      // v3: the full codec list
  std::optional<DType> dtype;          // stored dtype (floats cast to ints store NaN as fill_value)
  std::optional<nlohmann::json> fill_value;  // number, "NaN", or null
  std::optional<std::string> units;    // datetime64 variables: "days since 2000-01-01"...
  // CF packing as xarray: stored = round((x - add_offset) / scale_factor) in `dtype` (NaN ->
  // fill_value); both become attributes, so readers (open_zarr, xarray) unpack them.
  std::optional<double> scale_factor, add_offset;
};

struct ToZarrOptions {
  std::string mode = "w-";               // "w" overwrite, "w-" fail if it exists, "a" append/add
  std::optional<std::string> append_dim;  // mode "a": grow existing variables along this dim
  // Mode "a": write into part of existing variables (xarray's region=), e.g. {{"time", {10, 20}}};
  // dims not named are written whole. Metadata is unchanged; chunks partly covered are merged.
  std::map<std::string, Slice> region;
  int zarr_format = 2;
  bool consolidated = true;
  std::map<std::string, ZarrVariableEncoding> encoding;
  ComputeOptions compute;
};

// Writes the dataset (data variables and coordinates) as a Zarr group at `path`.
void to_zarr(const Dataset& ds, const std::string& path, const ToZarrOptions& options = {});
// A DataArray is written as a one-variable dataset named after it ("__xarray_dataarray_variable__"
// when unnamed, as xarray does).
void to_zarr(const DataArray& array, const std::string& path, const ToZarrOptions& options = {});

}  // namespace cubist
