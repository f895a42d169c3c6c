// clip(): rioxarray's rio.clip as a lazy graph. The mask of the polygons over the array's grid is
// computed once here, at pixel resolution over the polygons' bounds only, to find the crop window
// (rasterio's get_data_window) and the chunks it leaves entirely empty; the chunks themselves are
// masked lazily by the "geometry_mask" op.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "cubist/error.hpp"
#include "cubist/geo.hpp"
#include "geo/rasterize.hpp"
#include "graph/layer.hpp"

namespace cubist {
namespace {

struct Window {
  std::int64_t row0 = 0, col0 = 0, rows = 0, cols = 0;
};

// Pixel rows/cols of the grid that the bounds can touch (a pixel of margin), within the array.
Window window_of(const Bounds& b, const Affine& t, std::int64_t height, std::int64_t width) {
  double c0 = (b.minx - t.c) / t.a, c1 = (b.maxx - t.c) / t.a;
  double r0 = (b.miny - t.f) / t.e, r1 = (b.maxy - t.f) / t.e;
  if (c0 > c1) std::swap(c0, c1);
  if (r0 > r1) std::swap(r0, r1);
  auto clamp = [](double v, std::int64_t hi) {
    return std::clamp<std::int64_t>(static_cast<std::int64_t>(v), 0, hi);
  };
  Window w;
  w.col0 = clamp(std::floor(c0) - 1, width);
  w.row0 = clamp(std::floor(r0) - 1, height);
  w.cols = clamp(std::ceil(c1) + 1, width) - w.col0;
  w.rows = clamp(std::ceil(r1) + 1, height) - w.row0;
  return w;
}

[[noreturn]] void no_data_in_bounds(const DataArray& da) {
  throw ValueError(fmt::format("clip: no data found in bounds: the geometries do not cover any pixel of {}",
                               da.name().empty() ? "the array" : "'" + da.name() + "'"));
}

}  // namespace

DataArray clip(const DataArray& da, const std::vector<Geometry>& geometries, const ClipOptions& options) {
  if (geometries.empty()) throw ValueError("clip: no geometries given");
  auto crs = crs_of(da);
  if (!crs) throw ValueError("clip: the array has no CRS (set one with write_crs)");
  if (!da.has_dim("y") || !da.has_dim("x")) throw DimensionError("clip: the array needs 'y' and 'x' dimensions");
  const Affine t = transform_of(da);
  const std::int64_t height = da.size("y"), width = da.size("x");

  // Geometries in the array's CRS, vertices transformed as rasterio.warp.transform_geom does.
  std::vector<Geometry> geoms;
  for (const auto& g : geometries) {
    Geometry src = g;
    if (g.crs().empty()) {
      if (!options.crs) throw ValueError("clip: a geometry has no CRS and ClipOptions::crs is not set");
      src = Geometry(g.polygons(), *options.crs);
    }
    geoms.push_back(src.to_crs(*crs));
  }
  Bounds b = geoms[0].bounds();
  for (const auto& g : geoms) {
    Bounds gb = g.bounds();
    b = {std::min(b.minx, gb.minx), std::min(b.miny, gb.miny), std::max(b.maxx, gb.maxx), std::max(b.maxy, gb.maxy)};
  }

  // The mask over the pixels the bounds can touch, then the tight window of pixels that are in.
  Window w = window_of(b, t, height, width);
  if (w.rows <= 0 || w.cols <= 0) no_data_in_bounds(da);
  Affine wt{t.a, t.b, t.c + t.a * static_cast<double>(w.col0), t.d, t.e, t.f + t.e * static_cast<double>(w.row0)};
  auto mask = geo::rasterize(geoms, wt, w.cols, w.rows, options.all_touched);
  std::int64_t r0 = w.rows, r1 = -1, c0 = w.cols, c1 = -1;
  for (std::int64_t r = 0; r < w.rows; ++r)
    for (std::int64_t c = 0; c < w.cols; ++c)
      if (mask[static_cast<std::size_t>(r * w.cols + c)]) {
        r0 = std::min(r0, r);
        r1 = std::max(r1, r);
        c0 = std::min(c0, c);
        c1 = std::max(c1, c);
      }
  if (r1 < 0) no_data_in_bounds(da);

  // Crop (a lazy isel: chunks outside the window are never read), in full-array pixels.
  Window crop = options.drop ? Window{w.row0 + r0, w.col0 + c0, r1 - r0 + 1, c1 - c0 + 1} : Window{0, 0, height, width};
  DataArray cropped = options.drop ? da.isel({{"y", Slice{crop.row0, crop.row0 + crop.rows, 1}},
                                              {"x", Slice{crop.col0, crop.col0 + crop.cols, 1}}})
                                   : da;

  double fill = std::nan("");
  if (auto nd = nodata_of(da)) fill = *nd;
  else if (!is_float(da.dtype()))
    throw ValueError(fmt::format("clip: the {} array has no nodata value for the pixels outside (use set_nodata)",
                                 dtype_name(da.dtype())));

  // The lazy mask over the cropped grid, chunked as the data along y and x.
  const ChunkGrid& grid = cropped.chunks();
  const std::size_t ya = cropped.axis("y"), xa = cropped.axis("x");
  graph::LayerSpec spec;
  spec.label = "geometry_mask";
  spec.op = "geometry_mask";
  spec.kind = graph::LayerKind::Source;
  nlohmann::json gj = nlohmann::json::array();
  for (const auto& g : geoms) gj.push_back(g.to_geojson());
  Affine ct{t.a, t.b, t.c + t.a * static_cast<double>(crop.col0), t.d, t.e, t.f + t.e * static_cast<double>(crop.row0)};
  spec.params = {{"geometries", gj}, {"transform", {ct.a, ct.b, ct.c, ct.d, ct.e, ct.f}}, {"all_touched", options.all_touched}};
  spec.grid = ChunkGrid({grid.chunks(ya), grid.chunks(xa)});
  spec.dtype = DType::Bool;
  Coords mcoords;
  mcoords.set("y", cropped.coords().at("y"));
  mcoords.set("x", cropped.coords().at("x"));
  DataArray mask_da = DataArray::from_layer(graph::make_layer(std::move(spec)), {"y", "x"}, mcoords);

  DataArray out = cropped.where(mask_da, fill);
  if (out.dims() != cropped.dims()) out = out.transpose(cropped.dims());
  if (out.dtype() != da.dtype()) out = out.astype(da.dtype());

  // Chunks whose pixels are all outside the polygons hold only the fill value: never read them.
  const std::int64_t ny = grid.num_chunks(ya), nx = grid.num_chunks(xa);
  std::vector<char> empty(static_cast<std::size_t>(ny * nx), 1);
  for (std::int64_t cy = 0; cy < ny; ++cy)
    for (std::int64_t cx = 0; cx < nx; ++cx) {
      // This chunk's rows/cols in the rasterised window's pixels (outside it the mask is 0).
      std::int64_t ry0 = crop.row0 + grid.offset(ya, cy) - w.row0, ry1 = crop.row0 + grid.offset(ya, cy + 1) - w.row0;
      std::int64_t rx0 = crop.col0 + grid.offset(xa, cx) - w.col0, rx1 = crop.col0 + grid.offset(xa, cx + 1) - w.col0;
      ry0 = std::max<std::int64_t>(ry0, 0), rx0 = std::max<std::int64_t>(rx0, 0);
      ry1 = std::min(ry1, w.rows), rx1 = std::min(rx1, w.cols);
      bool any = false;
      for (std::int64_t r = ry0; r < ry1 && !any; ++r)
        for (std::int64_t c = rx0; c < rx1 && !any; ++c) any = mask[static_cast<std::size_t>(r * w.cols + c)] != 0;
      empty[static_cast<std::size_t>(cy * nx + cx)] = !any;
    }
  graph::ConstantChunks constant;
  constant.value = fill;
  const ChunkGrid& og = out.chunks();
  for (std::int64_t lin = 0; lin < og.total_chunks(); ++lin) {
    auto idx = og.unravel(lin);
    if (empty[static_cast<std::size_t>(idx[ya] * nx + idx[xa])]) constant.chunks.push_back(lin);
  }
  if (!constant.chunks.empty())
    out = DataArray::from_layer(graph::with_constant_chunks(*out.layer(), std::move(constant)), out.dims(), out.coords(),
                                out.attrs(), out.name());
  return write_crs(out.assign_attrs(da.attrs()), *crs);
}

}  // namespace cubist
