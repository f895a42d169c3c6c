// resample_cube_spatial's warp, shared with merge_cubes (which aligns cube2 onto cube1's grid
// with it when their CRS or pixel grids differ, as the definition of merge_cubes asks).
#pragma once
#include <string>

#include "cubist/data_array.hpp"

namespace cubist::openeo {

// `cube` warped onto the target's CRS and x/y grid (rioxarray's reproject_match) with an openEO
// resampling method ("near", "bilinear", ...); ValueError naming the target when it has no grid.
DataArray resample_onto(const DataArray& cube, const DataArray& target, const std::string& method);

}  // namespace cubist::openeo
