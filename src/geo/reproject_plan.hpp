// Planning of a reprojection at graph-build time (internal): which source pixels each output chunk
// needs, found by transforming the chunk's outline (every pixel edge along its border) into source
// pixel space, and the per-axis Table dependencies and constant chunks that follow from it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cubist/chunk_grid.hpp"
#include "cubist/geo.hpp"
#include "geo/osr.hpp"

namespace cubist::geo {

// A [lo, hi) range of source pixels along y and x.
struct PixelRange {
  std::int64_t row0 = 0, row1 = 0, col0 = 0, col1 = 0;
  bool empty() const { return row0 >= row1 || col0 >= col1; }
};

// Source pixels (fractional, unclamped) that destination pixels [row0, row1) x [col0, col1) cover:
// nullopt when no point of the outline has a transformation (e.g. outside the projection's domain).
struct SourceExtent {
  double col_min, row_min, col_max, row_max;
};

class FootprintMapper {
 public:
  FootprintMapper(const Crs& src, const Affine& src_transform, const Crs& dst, const Affine& dst_transform);
  std::optional<SourceExtent> source_extent(std::int64_t row0, std::int64_t row1, std::int64_t col0,
                                            std::int64_t col1) const;

 private:
  Affine src_inverse_, dst_;
  mutable TransformPtr transform_;  // null when both CRSs are the same
};

// Pixels of the resampling kernel around a source point, in source pixels, for a warp that maps
// `scale` destination pixels onto one source pixel (GDAL widens kernels by 1/scale when downsampling).
std::int64_t kernel_margin(const std::string& resampling, double scale);

struct ReprojectPlan {
  // Per output chunk along y (x): the input chunks [lo, hi) along y (x) it reads.
  std::vector<std::pair<std::int64_t, std::int64_t>> y_table, x_table;
  // Linear (y, x) indices (cy * nx + cx) of output chunks no source pixel reaches.
  std::vector<std::int64_t> empty_chunks;
  // Destination pixels per source pixel over the whole output (GDAL's XSCALE / YSCALE), so every
  // chunk resamples with the kernel size the whole-image warp would use.
  double x_scale = 1, y_scale = 1;
};

// `in_y` / `in_x`: the input's chunk sizes along y and x; `out_y` / `out_x`: the output's.
ReprojectPlan plan_reprojection(const FootprintMapper& mapper, const std::vector<std::int64_t>& in_y,
                                const std::vector<std::int64_t>& in_x, const std::vector<std::int64_t>& out_y,
                                const std::vector<std::int64_t>& out_x, const std::string& resampling);

}  // namespace cubist::geo
