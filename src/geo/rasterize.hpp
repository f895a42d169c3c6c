// Polygons -> pixel mask with GDAL's rasterizer (rasterio.features.geometry_mask's rules:
// a pixel is in when its centre is inside, or with all_touched when the polygon touches it).
#pragma once
#include <cstdint>
#include <vector>

#include "cubist/geo.hpp"

namespace cubist::geo {

// Row-major h x w bytes, 1 inside the geometries; `transform` maps this window's pixel (0, 0).
// The geometries' coordinates must be in the grid's CRS.
std::vector<std::uint8_t> rasterize(const std::vector<Geometry>& geometries, const Affine& transform, std::int64_t width,
                                    std::int64_t height, bool all_touched);

}  // namespace cubist::geo
