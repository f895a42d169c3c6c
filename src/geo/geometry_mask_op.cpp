// Op "geometry_mask": a bool chunk, true where the chunk's pixels are inside the geometries.
// params: {"geometries": [GeoJSON, ...] in the grid's CRS, "transform": [a, b, c, d, e, f] of the
// whole grid (pixel (0, 0)), "all_touched": bool, optional "offset": [row, col] of the layer's
// pixel (0, 0) in that grid (set by window push-down)}. A Source op over a 2-d (y, x) grid.
#include <fmt/format.h>

#include <algorithm>

#include "cubist/error.hpp"
#include "geo/rasterize.hpp"
#include "kernels/op_registry.hpp"

namespace cubist::geo {
namespace {

struct Prepared {
  std::vector<Geometry> geometries;
  Affine transform;
  bool all_touched = false;
  std::int64_t row_offset = 0, col_offset = 0;  // of this layer's pixel (0, 0) in the transform's grid
};

std::shared_ptr<const void> prepare(const nlohmann::json& params, const kernels::OpSignature& sig) {
  if (sig.out_dtype != DType::Bool || sig.out_shape.size() != 2)
    throw ValueError("geometry_mask: the output must be a 2-d bool array");
  auto p = std::make_shared<Prepared>();
  const auto& gs = params.at("geometries");
  if (!gs.is_array()) throw ValueError("geometry_mask: geometries must be an array of GeoJSON geometries");
  for (std::size_t i = 0; i < gs.size(); ++i)
    p->geometries.push_back(Geometry::from_geojson(gs[i], Crs(), fmt::format("geometry_mask: geometries[{}]", i)));
  const auto& t = params.at("transform");
  if (!t.is_array() || t.size() != 6) throw ValueError("geometry_mask: transform must be 6 numbers [a, b, c, d, e, f]");
  p->transform = {t[0].get<double>(), t[1].get<double>(), t[2].get<double>(),
                  t[3].get<double>(), t[4].get<double>(), t[5].get<double>()};
  p->all_touched = params.value("all_touched", false);
  if (params.contains("offset")) {
    const auto& o = params.at("offset");
    if (!o.is_array() || o.size() != 2 || !o[0].is_number_integer() || !o[1].is_number_integer() || o[0].get<std::int64_t>() < 0 ||
        o[1].get<std::int64_t>() < 0)
      throw ValueError("geometry_mask: offset must be two non-negative integers [row, col]");
    p->row_offset = o[0].get<std::int64_t>();
    p->col_offset = o[1].get<std::int64_t>();
  }
  return p;
}

Chunk run(const kernels::TaskContext& ctx) {
  const auto& p = ctx.params<Prepared>();
  const double row0 = static_cast<double>(p.row_offset + ctx.out_offset[0]);
  const double col0 = static_cast<double>(p.col_offset + ctx.out_offset[1]);
  const Affine& t = p.transform;
  Affine window{t.a, t.b, t.c + t.a * col0 + t.b * row0, t.d, t.e, t.f + t.d * col0 + t.e * row0};
  auto mask = rasterize(p.geometries, window, ctx.out_shape[1], ctx.out_shape[0], p.all_touched);
  Chunk out = Chunk::allocate(DType::Bool, ctx.shape());
  auto v = out.mutable_values<bool>();
  std::transform(mask.begin(), mask.end(), v.begin(), [](std::uint8_t m) { return m != 0; });
  return out;
}

// Window push-down: the same geometries and transform, the window's start added to "offset" (integer
// pixels, so every chunk's transform is computed exactly as without the window).
std::optional<nlohmann::json> window(const nlohmann::json& params, const Shape& shape,
                                     const std::vector<graph::AxisWindow>& w) {
  if (w.size() != 2 || shape.size() != 2 || w[0].drop || w[1].drop) return std::nullopt;
  nlohmann::json out = params;
  const auto off = params.value("offset", std::vector<std::int64_t>{0, 0});
  if (off.size() != 2) return std::nullopt;
  out["offset"] = {off[0] + w[0].start, off[1] + w[1].start};
  return out;
}

const kernels::OpRegistration kRegister{kernels::OpDef{"geometry_mask", prepare, run, false, window}};

}  // namespace
}  // namespace cubist::geo
