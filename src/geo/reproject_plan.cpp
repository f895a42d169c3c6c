// Footprints of output chunks in source pixels, and the dependency tables built from them.
#include "geo/reproject_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "cubist/error.hpp"

namespace cubist::geo {
namespace {

Affine inverse(const Affine& t) {
  const double det = t.a * t.e - t.b * t.d;
  if (det == 0 || !std::isfinite(det)) throw ValueError("reproject: the source transform is not invertible");
  return {t.e / det, -t.b / det, (t.b * t.f - t.e * t.c) / det, -t.d / det, t.a / det, (t.d * t.c - t.a * t.f) / det};
}

}  // namespace

FootprintMapper::FootprintMapper(const Crs& src, const Affine& src_transform, const Crs& dst, const Affine& dst_transform)
    : src_inverse_(inverse(src_transform)), dst_(dst_transform) {
  if (!src.equals(dst)) transform_ = coordinate_transform(dst, src);
}

std::optional<SourceExtent> FootprintMapper::source_extent(std::int64_t row0, std::int64_t row1, std::int64_t col0,
                                                           std::int64_t col1) const {
  // Destination pixel-edge positions: the whole outline, one point per pixel edge.
  std::vector<double> px, py;
  auto add = [&](double c, double r) {
    px.push_back(dst_.a * c + dst_.b * r + dst_.c);
    py.push_back(dst_.d * c + dst_.e * r + dst_.f);
  };
  for (std::int64_t c = col0; c <= col1; ++c) {
    add(static_cast<double>(c), static_cast<double>(row0));
    add(static_cast<double>(c), static_cast<double>(row1));
  }
  for (std::int64_t r = row0 + 1; r < row1; ++r) {
    add(static_cast<double>(col0), static_cast<double>(r));
    add(static_cast<double>(col1), static_cast<double>(r));
  }
  auto transform = [&](std::vector<int>& ok) {
    ok.assign(px.size(), 1);
    if (!transform_) return;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    transform_->Transform(static_cast<int>(px.size()), px.data(), py.data(), nullptr, ok.data());
    CPLPopErrorHandler();
  };
  std::vector<int> ok;
  const std::size_t outline = px.size();
  transform(ok);
  if (std::count(ok.begin(), ok.end(), 0) > 0) {
    // Part of the outline has no transformation: the valid region's border then runs inside the
    // chunk, so sample its interior too (a 17 x 17 lattice) rather than trust the outline alone.
    px.resize(outline);
    py.resize(outline);
    for (int i = 0; i <= 16; ++i)
      for (int j = 0; j <= 16; ++j)
        add(static_cast<double>(col0) + static_cast<double>(col1 - col0) * j / 16.0,
            static_cast<double>(row0) + static_cast<double>(row1 - row0) * i / 16.0);
    transform(ok);
  }
  SourceExtent e{std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
                 -std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  bool any = false;
  const Affine& s = src_inverse_;
  for (std::size_t i = 0; i < px.size(); ++i) {
    if (!ok[i] || !std::isfinite(px[i]) || !std::isfinite(py[i])) continue;
    const double c = s.a * px[i] + s.b * py[i] + s.c, r = s.d * px[i] + s.e * py[i] + s.f;
    e = {std::min(e.col_min, c), std::min(e.row_min, r), std::max(e.col_max, c), std::max(e.row_max, r)};
    any = true;
  }
  if (!any) return std::nullopt;
  return e;
}

std::int64_t kernel_margin(const std::string& resampling, double scale) {
  static const std::pair<const char*, double> radii[] = {
      // nearest and the area methods read the footprint itself: a pixel of rounding around it
      {"nearest", 1}, {"bilinear", 1}, {"cubic", 2}, {"cubic_spline", 2}, {"lanczos", 3}, {"average", 1},
      {"mode", 1}, {"min", 1}, {"max", 1}, {"med", 1}, {"q1", 1}, {"q3", 1}, {"sum", 1}, {"rms", 1}};
  for (const auto& [name, r] : radii) {
    if (resampling != name) continue;
    double radius = r;
    // GDAL stretches interpolation kernels over 1/scale source pixels when downsampling.
    if (scale > 0 && scale < 1) radius /= scale;
    return static_cast<std::int64_t>(std::ceil(radius)) + 1;
  }
  throw ValueError(fmt::format("reproject: unknown resampling '{}' (nearest, bilinear, cubic, cubic_spline, lanczos, "
                               "average, mode, min, max, med, q1, q3, sum, rms)",
                               resampling));
}

ReprojectPlan plan_reprojection(const FootprintMapper& mapper, const std::vector<std::int64_t>& in_y,
                                const std::vector<std::int64_t>& in_x, const std::vector<std::int64_t>& out_y,
                                const std::vector<std::int64_t>& out_x, const std::string& resampling) {
  const ChunkGrid in({in_y, in_x}), out({out_y, out_x});
  const std::int64_t height = in.shape()[0], width = in.shape()[1];
  const std::int64_t ny = out.num_chunks(0), nx = out.num_chunks(1);

  // Each output chunk's extent in source pixels, clamped to the source; nullopt: it reads nothing.
  std::vector<std::optional<SourceExtent>> extents(static_cast<std::size_t>(ny * nx));
  SourceExtent all{std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  for (std::int64_t cy = 0; cy < ny; ++cy)
    for (std::int64_t cx = 0; cx < nx; ++cx) {
      auto e = mapper.source_extent(out.offset(0, cy), out.offset(0, cy + 1), out.offset(1, cx), out.offset(1, cx + 1));
      if (!e || e->col_max <= 0 || e->row_max <= 0 || e->col_min >= static_cast<double>(width) ||
          e->row_min >= static_cast<double>(height))
        continue;
      e->col_min = std::max(e->col_min, 0.0);
      e->row_min = std::max(e->row_min, 0.0);
      e->col_max = std::min(e->col_max, static_cast<double>(width));
      e->row_max = std::min(e->row_max, static_cast<double>(height));
      all = {std::min(all.col_min, e->col_min), std::min(all.row_min, e->row_min), std::max(all.col_max, e->col_max),
             std::max(all.row_max, e->row_max)};
      extents[static_cast<std::size_t>(cy * nx + cx)] = e;
    }

  ReprojectPlan plan;
  plan.y_table.assign(static_cast<std::size_t>(ny), {0, 0});
  plan.x_table.assign(static_cast<std::size_t>(nx), {0, 0});
  if (all.col_max > all.col_min && all.row_max > all.row_min) {
    // As GDAL computes it for one warp of the whole output: destination over source window size.
    plan.x_scale = static_cast<double>(out.shape()[1]) / (std::ceil(all.col_max) - std::floor(all.col_min));
    plan.y_scale = static_cast<double>(out.shape()[0]) / (std::ceil(all.row_max) - std::floor(all.row_min));
  }
  const std::int64_t mx = kernel_margin(resampling, plan.x_scale), my = kernel_margin(resampling, plan.y_scale);
  auto widen = [](std::pair<std::int64_t, std::int64_t>& range, std::int64_t lo, std::int64_t hi) {
    if (range.first >= range.second) range = {lo, hi};
    else range = {std::min(range.first, lo), std::max(range.second, hi)};
  };
  for (std::int64_t cy = 0; cy < ny; ++cy)
    for (std::int64_t cx = 0; cx < nx; ++cx) {
      const auto& e = extents[static_cast<std::size_t>(cy * nx + cx)];
      if (!e) {
        plan.empty_chunks.push_back(cy * nx + cx);
        continue;
      }
      const std::int64_t r0 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(e->row_min)) - my, 0, height - 1);
      const std::int64_t r1 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(e->row_max)) + my, 1, height);
      const std::int64_t c0 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(e->col_min)) - mx, 0, width - 1);
      const std::int64_t c1 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(e->col_max)) + mx, 1, width);
      widen(plan.y_table[static_cast<std::size_t>(cy)], in.chunk_of(0, r0), in.chunk_of(0, r1 - 1) + 1);
      widen(plan.x_table[static_cast<std::size_t>(cx)], in.chunk_of(1, c0), in.chunk_of(1, c1 - 1) + 1);
    }
  return plan;
}

}  // namespace cubist::geo
