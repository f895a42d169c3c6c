// Selection helpers shared by the filter processes and load_stac / load_collection.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cubist/geo.hpp"
#include "openeo/value.hpp"

namespace cubist::openeo {

// Time steps of temporal dimension `dim` in [start, end) (either end open); ValueError when none is left.
DataArray select_time(const DataArray& cube, const std::string& dim, std::optional<std::int64_t> start,
                      std::optional<std::int64_t> end);
// Pixels whose centres lie in the bounds (the cube's CRS).
DataArray select_bounds(const DataArray& cube, const Bounds& b);
Bounds bounds_in_cube_crs(const DataArray& cube, const Bounds& b, const Crs& crs);
std::optional<std::int64_t> time_bound(const Value& v, const std::string& what);
// An openEO bounding box {west, south, east, north, crs}.
std::pair<Bounds, Crs> parse_bbox(const Value& extent);
// Inline GeoJSON, or a string naming a GeoJSON file.
std::vector<Geometry> geometries_of(const Value& v, const std::string& where);

}  // namespace cubist::openeo
