// Shared GDAL/OSR helpers of the geo layer (internal).
#pragma once
#include <ogr_spatialref.h>

#include <memory>
#include <string>

#include "cubist/geo.hpp"

namespace cubist::geo {

// A spatial reference for `crs` with x/east first (GIS order), fresh per call: OSR objects are
// not shared across threads.
OGRSpatialReference spatial_reference(const Crs& crs);

struct TransformDeleter {
  void operator()(OGRCoordinateTransformation* t) const { OGRCoordinateTransformation::DestroyCT(t); }
};
using TransformPtr = std::unique_ptr<OGRCoordinateTransformation, TransformDeleter>;
// Throws ValueError naming both CRSs when PROJ has no transformation between them.
TransformPtr coordinate_transform(const Crs& from, const Crs& to);

}  // namespace cubist::geo
