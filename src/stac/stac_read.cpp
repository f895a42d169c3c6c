// Op "stac_read": one (time, band, y, x) chunk of a stack() cube. For every (time, band) cell of
// the chunk, the asset is read (windowed, or warped when its grid differs) onto the chunk's
// window of the output grid, only when its footprint overlaps that window; anything else is the
// fill value without I/O. With skip_bad_assets an unreadable asset warns once and is filled;
// otherwise the task fails naming the item, asset and href (the scheduler adds layer and chunk).
#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <mutex>
#include <set>

#include "cubist/error.hpp"
#include "kernels/op_registry.hpp"
#include "raster/raster.hpp"
#include "stac/read_params.hpp"
#include "stac/stack_plan.hpp"

namespace cubist::stac {
namespace {

struct Prepared {
  ReadParams params;
  raster::Resampling resampling = raster::Resampling::Nearest;
  // Hrefs found unreadable (skip_bad_assets): warned about once, never opened again.
  mutable std::mutex bad_mutex;
  mutable std::set<std::string> bad_hrefs;
};

std::shared_ptr<const void> prepare(const nlohmann::json& j, const kernels::OpSignature& sig) {
  raster::ensure_gdal();
  auto p = std::make_shared<Prepared>();
  p->params = ReadParams::from_json(j);
  p->resampling = raster::resampling_from_string(p->params.resampling);
  const auto& rp = p->params;
  const Shape expected = rp.output_shape();
  if (sig.out_shape != expected)
    throw ValueError(fmt::format("stac_read: the layer's shape {} differs from its parameters' {}",
                                 shape_to_string(sig.out_shape), shape_to_string(expected)));
  if (sig.out_dtype != rp.dtype)
    throw TypeError(fmt::format("stac_read: the layer's dtype {} differs from its parameters' {}", dtype_name(sig.out_dtype),
                                dtype_name(rp.dtype)));
  return p;
}

// Fills a plane (a contiguous 2-d chunk) with the fill value in its dtype.
void fill_plane(Chunk& plane, double value) {
  visit_dtype(plane.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto v = plane.mutable_values<T>();
    std::fill(v.begin(), v.end(), static_cast<T>(value));
  });
}

Chunk run(const kernels::TaskContext& ctx) {
  const auto& P = ctx.params<Prepared>();
  const ReadParams& rp = P.params;
  const Shape shape = ctx.shape();
  Chunk out = Chunk::allocate(rp.dtype, shape);
  // The chunk's times and bands (an axis indexed away holds one), then its (y, x) window.
  std::size_t axis = 0;
  std::int64_t t0 = 0, nt = 1, b0 = 0, nb = 1;
  if (rp.time_axis) t0 = ctx.out_offset[axis], nt = shape[axis++];
  if (rp.band_axis) b0 = ctx.out_offset[axis], nb = shape[axis++];
  const std::int64_t y0 = rp.row_offset + ctx.out_offset[axis], x0 = rp.col_offset + ctx.out_offset[axis + 1];
  const std::int64_t ny = shape[axis], nx = shape[axis + 1];

  // The chunk's window of the output grid.
  const Affine& T = rp.output.transform;
  raster::Grid window;
  window.crs_wkt = rp.output.crs_wkt;
  window.transform = Affine{T.a, T.b, T.c + T.a * static_cast<double>(x0) + T.b * static_cast<double>(y0),
                            T.d, T.e, T.f + T.d * static_cast<double>(x0) + T.e * static_cast<double>(y0)};
  window.width = nx;
  window.height = ny;
  const Bounds window_bounds = read_window_bounds(rp, ctx.out_offset[axis], ctx.out_offset[axis + 1], ny, nx);

  const std::size_t plane_bytes = static_cast<std::size_t>(ny * nx) * itemsize(rp.dtype);
  auto* base = static_cast<std::byte*>(out.mutable_raw());
  for (std::int64_t t = 0; t < nt; ++t) {
    for (std::int64_t b = 0; b < nb; ++b) {
      std::byte* plane_ptr = base + static_cast<std::size_t>(t * nb + b) * plane_bytes;
      Chunk plane = Chunk::wrap(rp.dtype, {ny, nx}, {}, plane_ptr);
      const ReadCell& c = rp.cell(t0 + t, b0 + b);
      bool written = false;
      if (cell_reaches(c, window_bounds)) {
        bool known_bad = false;
        if (rp.skip_bad_assets) {
          std::lock_guard lock(P.bad_mutex);
          known_bad = P.bad_hrefs.count(c.href) > 0;
        }
        if (!known_bad) {
          raster::AssetRead read;
          read.href = c.href;
          read.source_grid = raster::Grid{rp.crs_table[c.crs_index], c.transform, c.width, c.height};
          read.nodata = c.nodata;
          read.scale = c.scale;
          read.offset = c.offset;
          read.rescale = rp.rescale;
          read.resampling = P.resampling;
          try {
            written = raster::read_into(read, window, rp.fill_value, plane);
          } catch (const std::exception& e) {
            if (!rp.skip_bad_assets)
              throw IOError(fmt::format("stac_read: item '{}' asset '{}' ({}): {}", c.item_id, c.asset_key, c.href, e.what()));
            std::lock_guard lock(P.bad_mutex);
            if (P.bad_hrefs.insert(c.href).second)
              std::fprintf(stderr, "cubist: warning: skipping unreadable asset '%s' of item '%s' (%s): %s\n",
                           c.asset_key.c_str(), c.item_id.c_str(), c.href.c_str(), e.what());
            written = false;
          }
        }
      }
      if (!written) fill_plane(plane, rp.fill_value);
    }
  }
  return out;
}

// Window push-down: the read produces just the window (cells of the kept times/bands, pixel offsets
// moved), so a clip's crop or a band selection costs no copy and reads no pixel outside it.
std::optional<nlohmann::json> window(const nlohmann::json& params, const Shape&, const std::vector<graph::AxisWindow>& w) {
  auto p = ReadParams::from_json(params).window(w);
  if (!p) return std::nullopt;
  return p->to_json();
}

const kernels::OpRegistration kRegister{kernels::OpDef{"stac_read", prepare, run, false, window}};

}  // namespace
}  // namespace cubist::stac
