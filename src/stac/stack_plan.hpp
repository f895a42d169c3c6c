// stack()'s planning, separate from building the DataArray so tests can check it directly:
// which asset fills each (time, band) cell, and the output grid (stackstac's prepare_items).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cubist/geo.hpp"
#include "cubist/stac.hpp"
#include "stac/read_params.hpp"

namespace cubist::stac {

struct StackPlan {
  int epsg = 0;
  Crs crs;
  double xres = 0, yres = 0;            // positive pixel sizes
  Bounds bounds;                        // of the output grid (snapped)
  std::int64_t width = 0, height = 0;
  Affine transform;                     // north-up: (xres, 0, minx, 0, -yres, maxy)
  std::vector<const Item*> items;       // sorted by datetime (stable); point into the ItemCollection
  std::vector<std::string> bands;       // asset keys, in band order
  ReadParams read;                      // the stac_read parameters
};

// Validates the items and options and computes everything stack() needs, without any I/O.
// Errors are one line naming the item, asset or option at fault. The plan points into `items`,
// which must outlive it.
StackPlan plan_stack(const ItemCollection& items, const StackOptions& options);

// The bounds, in the output CRS, of the pixels [row, row + rows) x [col, col + cols) of a read's
// output (`row`, `col` relative to the read's own window, as the op's chunk offsets are).
Bounds read_window_bounds(const ReadParams& rp, std::int64_t row, std::int64_t col, std::int64_t rows, std::int64_t cols);

// Whether stac_read reads cell `c` for a window: it has an asset whose footprint overlaps the window.
// Anything else is the fill value without I/O.
bool cell_reaches(const ReadCell& c, const Bounds& window);

// The chunks of `grid` (the read's output grid) that no cell reaches: stack() marks them constant
// (fill value), so nothing downstream computes them (graph/constant_fold.hpp).
std::vector<std::int64_t> unreached_chunks(const ReadParams& rp, const ChunkGrid& grid);

// stackstac's snapped_bounds: outward to multiples of the resolution.
Bounds snap_bounds(const Bounds& b, double xres, double yres);

}  // namespace cubist::stac
