// Op "stac_read": one (time, band, y, x) chunk of a stack() cube. For every (time, band) cell of
// the chunk, the asset is read (windowed, or warped when its grid differs) onto the chunk's
// window of the output grid, only when its footprint overlaps that window; anything else is the
// fill value without I/O. With skip_bad_assets an unreadable asset warns once and is filled;
// otherwise the task fails naming the item, asset and href (the scheduler adds layer and chunk).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <mutex>
#include <set>
#include <vector>

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

// The chunk's times and bands (an axis indexed away holds one) and its window of the output grid.
struct ChunkWindow {
  std::int64_t t0 = 0, nt = 1, b0 = 0, nb = 1;
  raster::Grid grid;
  Bounds bounds;
};

ChunkWindow chunk_window(const ReadParams& rp, const kernels::TaskContext& ctx) {
  ChunkWindow cw;
  const Shape shape = ctx.shape();
  std::size_t axis = 0;
  if (rp.time_axis) cw.t0 = ctx.out_offset[axis], cw.nt = shape[axis++];
  if (rp.band_axis) cw.b0 = ctx.out_offset[axis], cw.nb = shape[axis++];
  const std::int64_t y0 = rp.row_offset + ctx.out_offset[axis], x0 = rp.col_offset + ctx.out_offset[axis + 1];
  const std::int64_t ny = shape[axis], nx = shape[axis + 1];
  const Affine& T = rp.output.transform;
  cw.grid.crs_wkt = rp.output.crs_wkt;
  cw.grid.transform = Affine{T.a, T.b, T.c + T.a * static_cast<double>(x0) + T.b * static_cast<double>(y0),
                             T.d, T.e, T.f + T.d * static_cast<double>(x0) + T.e * static_cast<double>(y0)};
  cw.grid.width = nx;
  cw.grid.height = ny;
  cw.bounds = read_window_bounds(rp, ctx.out_offset[axis], ctx.out_offset[axis + 1], ny, nx);
  return cw;
}

raster::AssetRead asset_read(const Prepared& P, const ReadCell& c) {
  const ReadParams& rp = P.params;
  raster::AssetRead read;
  read.href = c.href;
  read.source_grid = raster::Grid{rp.crs_table[c.crs_index], c.transform, c.width, c.height};
  read.nodata = c.nodata;
  read.scale = c.scale;
  read.offset = c.offset;
  read.rescale = rp.rescale;
  read.resampling = P.resampling;
  return read;
}

IOError read_error(const ReadCell& c, const std::exception& e) {
  return IOError(fmt::format("stac_read: item '{}' asset '{}' ({}): {}", c.item_id, c.asset_key, c.href, e.what()));
}

bool known_bad(const Prepared& P, const ReadCell& c) {
  if (!P.params.skip_bad_assets) return false;
  std::lock_guard lock(P.bad_mutex);
  return P.bad_hrefs.count(c.href) > 0;
}

// One (time, band) cell onto `window` into `plane` (a contiguous 2-d chunk), the fill value where
// the asset does not reach or (skip_bad_assets) cannot be read.
void read_plane(const Prepared& P, const ReadCell& c, const raster::Grid& window, const Bounds& window_bounds,
                Chunk& plane) {
  const ReadParams& rp = P.params;
  bool written = false;
  if (cell_reaches(c, window_bounds) && !known_bad(P, c)) {
    try {
      written = raster::read_into(asset_read(P, c), window, rp.fill_value, plane);
    } catch (const std::exception& e) {
      if (!rp.skip_bad_assets) throw read_error(c, e);
      std::lock_guard lock(P.bad_mutex);
      if (P.bad_hrefs.insert(c.href).second)
        std::fprintf(stderr, "cubist: warning: skipping unreadable asset '%s' of item '%s' (%s): %s\n",
                     c.asset_key.c_str(), c.item_id.c_str(), c.href.c_str(), e.what());
      written = false;
    }
  }
  if (!written) fill_plane(plane, rp.fill_value);
}

Chunk run(const kernels::TaskContext& ctx) {
  const auto& P = ctx.params<Prepared>();
  const ReadParams& rp = P.params;
  Chunk out = Chunk::allocate(rp.dtype, ctx.shape());
  const ChunkWindow cw = chunk_window(rp, ctx);
  const std::int64_t ny = cw.grid.height, nx = cw.grid.width;
  const std::size_t plane_bytes = static_cast<std::size_t>(ny * nx) * itemsize(rp.dtype);
  auto* base = static_cast<std::byte*>(out.mutable_raw());
  for (std::int64_t t = 0; t < cw.nt; ++t) {
    for (std::int64_t b = 0; b < cw.nb; ++b) {
      Chunk plane = Chunk::wrap(rp.dtype, {ny, nx}, {}, base + static_cast<std::size_t>(t * cw.nb + b) * plane_bytes);
      read_plane(P, rp.cell(cw.t0 + t, cw.b0 + b), cw.grid, cw.bounds, plane);
    }
  }
  return out;
}

// OpDef::rows: the chunk's rows, cell by cell (a cell: ny rows). A cell whose footprint misses the
// window is the fill value; one whose asset streams (raster::open_rows) converts each row from the
// decoded tiles as it is asked for; any other (warped, untiled, skip_bad_assets) is read whole into
// a per-thread plane as run() reads it, and its rows copied from there.
class StacRows final : public kernels::RowReader {
 public:
  StacRows(const Prepared& P, const kernels::TaskContext& ctx) : P_(P), cw_(chunk_window(P.params, ctx)) {}
  ~StacRows() override {
    if (plane_) idle_planes().push_back(std::move(plane_));
  }
  StacRows(const StacRows&) = delete;
  StacRows& operator=(const StacRows&) = delete;

  void read(std::int64_t first, std::int64_t count, void* dst) override {
    const std::int64_t ny = cw_.grid.height;
    const std::size_t row_bytes = static_cast<std::size_t>(cw_.grid.width) * itemsize(P_.params.dtype);
    auto* out = static_cast<std::byte*>(dst);
    while (count > 0) {
      const std::int64_t cell = first / ny, row = first % ny, n = std::min(count, ny - row);
      if (cell != open_cell_) open(cell);
      if (filled_) {
        Chunk rows = Chunk::wrap(P_.params.dtype, {n, cw_.grid.width}, {}, out);
        fill_plane(rows, P_.params.fill_value);
      } else if (rows_) {
        try {
          rows_->read(row, n, out);
        } catch (const std::exception& e) {
          throw read_error(*cell_, e);
        }
      } else {
        std::memcpy(out, plane_->data() + static_cast<std::size_t>(row) * row_bytes, static_cast<std::size_t>(n) * row_bytes);
      }
      out += static_cast<std::size_t>(n) * row_bytes;
      first += n;
      count -= n;
    }
  }

 private:
  void open(std::int64_t cell) {
    const ReadParams& rp = P_.params;
    open_cell_ = cell;
    cell_ = &rp.cell(cw_.t0 + cell / cw_.nb, cw_.b0 + cell % cw_.nb);
    rows_.reset();
    filled_ = false;
    if (!rp.skip_bad_assets) {
      filled_ = !cell_reaches(*cell_, cw_.bounds);
      if (filled_) return;
      try {
        rows_ = raster::open_rows(asset_read(P_, *cell_), cw_.grid, rp.fill_value, rp.dtype);
      } catch (const std::exception& e) {
        throw read_error(*cell_, e);
      }
      if (rows_) return;
    }
    if (!plane_) plane_ = take_plane();
    plane_->resize(static_cast<std::size_t>(cw_.grid.height * cw_.grid.width) * itemsize(rp.dtype));
    Chunk wrapped = Chunk::wrap(rp.dtype, {cw_.grid.height, cw_.grid.width}, {}, plane_->data());
    read_plane(P_, *cell_, cw_.grid, cw_.bounds, wrapped);
  }

  // Whole-cell buffers of this thread, reused by the next reader (no fresh pages per cell); each
  // reader holds its own, since one program may read several Sources at once.
  using Plane = std::unique_ptr<std::vector<std::byte>>;
  static std::vector<Plane>& idle_planes() {
    thread_local std::vector<Plane> idle;
    return idle;
  }
  static Plane take_plane() {
    auto& idle = idle_planes();
    if (idle.empty()) return std::make_unique<std::vector<std::byte>>();
    Plane p = std::move(idle.back());
    idle.pop_back();
    return p;
  }

  const Prepared& P_;
  ChunkWindow cw_;
  std::int64_t open_cell_ = -1;
  const ReadCell* cell_ = nullptr;
  bool filled_ = false;                     // the cell does not reach the window
  std::unique_ptr<raster::AssetRows> rows_;  // else its streamed rows,
  Plane plane_;                              // else the whole cell, read as run() reads it
};

std::unique_ptr<kernels::RowReader> rows(const kernels::TaskContext& ctx) {
  return std::make_unique<StacRows>(ctx.params<Prepared>(), ctx);
}

// Window push-down: the read produces just the window (cells of the kept times/bands, pixel offsets
// moved), so a clip's crop or a band selection costs no copy and reads no pixel outside it.
std::optional<nlohmann::json> window(const nlohmann::json& params, const Shape&, const std::vector<graph::AxisWindow>& w) {
  auto p = ReadParams::from_json(params).window(w);
  if (!p) return std::nullopt;
  return p->to_json();
}

const kernels::OpRegistration kRegister{kernels::OpDef{.name = "stac_read", .prepare = prepare, .run = run, .window = window, .rows = rows}};

}  // namespace
}  // namespace cubist::stac
