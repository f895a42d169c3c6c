// The temporal extent of a data cube, as openEO's load_collection / load_stac / filter_temporal
// set it: [start, end) with the end excluded, either end possibly open (unknown). openEO's
// aggregate_temporal_period returns every period of this extent, also those without data.
//
// It travels with the cube as an attribute of the temporal coordinate (`openeo:extent`,
// [start_ns | null, end_ns | null]): coordinates are kept by selections and elementwise
// operations, so the extent follows the cube through apply, ndvi, masks and filters without each
// process having to pass it on. save_result drops it (without_extent).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "cubist/data_array.hpp"

namespace cubist::openeo {

struct TemporalExtent {
  std::optional<std::int64_t> start, end;  // ns since 1970; end excluded
};

// The extent recorded on the cube's `dim` coordinate (both ends open when none is).
TemporalExtent temporal_extent(const DataArray& cube, const std::string& dim);
// The cube with `extent` intersected with the one it already records.
DataArray restrict_temporal_extent(const DataArray& cube, const std::string& dim, const TemporalExtent& extent);
// The cube without the recorded extent (what save_result writes).
DataArray without_extent(const DataArray& cube);

}  // namespace cubist::openeo
