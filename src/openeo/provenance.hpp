// What load_stac / load_collection built each cube from, so resample_spatial can read the assets
// again on another grid (stack() warps each asset once; resampling an already-stacked cube would
// warp twice). Keyed by the cube's graph layer key; filled for cubes straight from a load process.
#pragma once
#include <optional>
#include <string>
#include <utility>

#include "cubist/geo.hpp"
#include "cubist/stac.hpp"

namespace cubist::openeo {

struct LoadProvenance {
  ItemCollection items;
  StackOptions options;
  std::optional<std::pair<Bounds, Crs>> bbox;  // the spatial extent the cube was cropped to
};

void remember_load(const DataArray& cube, LoadProvenance provenance);
const LoadProvenance* load_provenance(const DataArray& cube);

// Adds the items' eo:bands metadata (`common_name`, `center_wavelength`) as band coordinates, as
// stackstac does; every cube built from items gets it (filter_bands selects on it).
DataArray with_band_metadata(const DataArray& cube, const ItemCollection& items);

}  // namespace cubist::openeo
