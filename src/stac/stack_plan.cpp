#include "stac/stack_plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <map>
#include <set>

#include "cubist/error.hpp"

namespace cubist::stac {
namespace {

const char* resampling_name(Resampling r) {
  switch (r) {
    case Resampling::Nearest: return "nearest";
    case Resampling::Bilinear: return "bilinear";
    case Resampling::Cubic: return "cubic";
    case Resampling::CubicSpline: return "cubicspline";
    case Resampling::Lanczos: return "lanczos";
    case Resampling::Average: return "average";
    case Resampling::Mode: return "mode";
    case Resampling::Min: return "min";
    case Resampling::Max: return "max";
    case Resampling::Median: return "med";
  }
  return "nearest";
}

// Up to a few names, then a count: error lines stay one readable line.
std::string some_names(const std::vector<std::string>& names) {
  const std::size_t shown = std::min<std::size_t>(names.size(), 3);
  std::string s = fmt::format("{}", fmt::join(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(shown), ", "));
  if (names.size() > shown) s += fmt::format(" and {} more", names.size() - shown);
  return s;
}

// An asset's footprint in its own CRS: the four corners of its pixel grid (rotation allowed).
Bounds grid_bounds(const Affine& t, std::int64_t width, std::int64_t height) {
  const double w = static_cast<double>(width), h = static_cast<double>(height);
  const double xs[4] = {t.c, t.c + t.a * w, t.c + t.b * h, t.c + t.a * w + t.b * h};
  const double ys[4] = {t.f, t.f + t.d * w, t.f + t.e * h, t.f + t.d * w + t.e * h};
  return {*std::min_element(xs, xs + 4), *std::min_element(ys, ys + 4), *std::max_element(xs, xs + 4),
          *std::max_element(ys, ys + 4)};
}

// Asset keys stackstac would take when none are named: data (or role-less) assets with a grid.
std::vector<std::string> default_assets(const std::vector<const Item*>& items) {
  std::set<std::string> keys;
  for (const Item* it : items)
    for (const auto& a : it->assets)
      if ((a.roles.empty() || a.has_role("data")) && a.proj.has_grid() && a.proj.has_crs()) keys.insert(a.key);
  if (keys.empty()) {
    std::vector<std::string> ids;
    for (const Item* it : items) ids.push_back(it->id);
    throw ValueError(fmt::format("stack: no asset of items {} has a data role and projection info (proj:transform, "
                                 "proj:shape and proj:epsg or proj:code); name the assets in StackOptions::assets",
                                 some_names(ids)));
  }
  return {keys.begin(), keys.end()};
}

}  // namespace

Bounds snap_bounds(const Bounds& b, double xres, double yres) {
  return {std::floor(b.minx / xres) * xres, std::floor(b.miny / yres) * yres, std::ceil(b.maxx / xres) * xres,
          std::ceil(b.maxy / yres) * yres};
}

StackPlan plan_stack(const ItemCollection& collection, const StackOptions& o) {
  if (collection.empty()) throw ValueError("stack: the ItemCollection has no items (did the search find nothing?)");
  if (o.chunksize.size() != 4)
    throw ValueError(fmt::format("stack: chunksize needs 4 entries (time, band, y, x), got {}", o.chunksize.size()));
  for (auto c : o.chunksize)
    if (c == 0 || c < -1) throw ValueError(fmt::format("stack: chunksize entries must be positive or -1, got {}", c));
  if (o.dtype == DType::DateTime64 || o.dtype == DType::Bool)
    throw TypeError(fmt::format("stack: dtype {} cannot hold pixel values", dtype_name(o.dtype)));
  if (!is_float(o.dtype) && !std::isfinite(o.fill_value))
    throw ValueError(fmt::format("stack: fill_value {} cannot be stored as {}; pass a finite fill_value (e.g. 0)",
                                 o.fill_value, dtype_name(o.dtype)));
  if (o.resolution && !(*o.resolution > 0 && std::isfinite(*o.resolution)))
    throw ValueError(fmt::format("stack: resolution must be a positive number, got {}", *o.resolution));

  StackPlan plan;
  for (const Item& it : collection) plan.items.push_back(&it);
  std::stable_sort(plan.items.begin(), plan.items.end(), [](const Item* a, const Item* b) { return a->datetime < b->datetime; });
  plan.bands = o.assets.empty() ? default_assets(plan.items) : o.assets;
  {
    std::set<std::string> seen;
    for (const auto& b : plan.bands)
      if (!seen.insert(b).second) throw ValueError(fmt::format("stack: asset '{}' is named twice in StackOptions::assets", b));
  }

  // Every (item, band) asset: present, with a grid and a CRS.
  struct Found { const Item* item; const Asset* asset; };
  std::vector<Found> cells;
  std::vector<std::string> missing_projection;
  for (const Item* it : plan.items) {
    for (const auto& key : plan.bands) {
      const Asset* a = it->find_asset(key);
      if (!a) {
        if (!o.skip_bad_assets) {
          it->asset(key);  // throws KeyError naming the asset, the item and what it has
        }
        std::fprintf(stderr, "cubist: warning: stack: item '%s' has no asset '%s'; filling it with %g\n", it->id.c_str(),
                     key.c_str(), o.fill_value);
      } else if (!a->proj.has_grid() || !a->proj.has_crs()) {
        std::string what;
        if (!a->proj.transform) what += " proj:transform";
        if (!a->proj.shape) what += " proj:shape";
        if (!a->proj.has_crs()) what += " proj:epsg/proj:code";
        throw ValueError(fmt::format("stack: STAC item '{}' asset '{}' has no projection info (missing{} at asset and item "
                                     "level)", it->id, key, what));
      }
      cells.push_back({it, a});
    }
  }

  // The output CRS: given, or the one EPSG code all assets share.
  if (o.epsg) {
    plan.epsg = *o.epsg;
  } else {
    std::map<int, std::vector<std::string>> by_epsg;
    std::vector<std::string> no_epsg;
    for (const auto& c : cells) {
      if (!c.asset) continue;
      if (c.asset->proj.epsg) {
        auto& ids = by_epsg[*c.asset->proj.epsg];
        if (ids.empty() || ids.back() != c.item->id) ids.push_back(c.item->id);
      } else if (no_epsg.empty() || no_epsg.back() != c.item->id) {
        no_epsg.push_back(c.item->id);
      }
    }
    if (!no_epsg.empty())
      throw ValueError(fmt::format("stack: items {} have a CRS without an EPSG code; pass StackOptions::epsg", some_names(no_epsg)));
    if (by_epsg.size() > 1) {
      std::vector<std::string> parts;
      for (const auto& [code, ids] : by_epsg) parts.push_back(fmt::format("EPSG:{} ({})", code, some_names(ids)));
      throw ValueError(fmt::format("stack: the items are in different CRSs: {}; pass StackOptions::epsg to pick the output "
                                   "CRS", fmt::join(parts, " vs ")));
    }
    if (by_epsg.empty()) throw ValueError("stack: no asset to stack (every requested asset is missing)");
    plan.epsg = by_epsg.begin()->first;
  }
  try {
    plan.crs = Crs::epsg(plan.epsg);
  } catch (const Error& e) {
    throw ValueError(fmt::format("stack: EPSG:{} is not a CRS PROJ knows: {}", plan.epsg, e.what()));
  }

  // CRS table: the output CRS first, then each distinct asset CRS.
  ReadParams& rp = plan.read;
  rp.crs_table.push_back(plan.crs.wkt());
  std::map<std::string, std::pair<std::size_t, Crs>> crs_of;  // by EPSG code or WKT
  auto asset_crs = [&](const Asset& a) -> std::pair<std::size_t, Crs>& {
    const std::string key = a.proj.epsg ? fmt::format("EPSG:{}", *a.proj.epsg) : *a.proj.wkt2;
    auto it = crs_of.find(key);
    if (it != crs_of.end()) return it->second;
    Crs crs = a.proj.epsg ? Crs::epsg(*a.proj.epsg) : Crs::from_user_input(*a.proj.wkt2);
    std::size_t index = 0;
    if (!(a.proj.epsg && *a.proj.epsg == plan.epsg)) {
      index = rp.crs_table.size();
      rp.crs_table.push_back(crs.wkt());
    }
    return crs_of.emplace(key, std::make_pair(index, std::move(crs))).first->second;
  };

  // Footprints in the output CRS, and the finest resolution among assets already in it.
  std::vector<Bounds> footprints(cells.size());
  double finest_x = HUGE_VAL, finest_y = HUGE_VAL;
  bool any_footprint = false;
  Bounds all{HUGE_VAL, HUGE_VAL, -HUGE_VAL, -HUGE_VAL};
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const Asset* a = cells[i].asset;
    if (!a) continue;
    const Affine t{(*a->proj.transform)[0], (*a->proj.transform)[1], (*a->proj.transform)[2],
                   (*a->proj.transform)[3], (*a->proj.transform)[4], (*a->proj.transform)[5]};
    const Bounds own = grid_bounds(t, (*a->proj.shape)[1], (*a->proj.shape)[0]);
    std::pair<std::size_t, Crs>* crs_entry = nullptr;
    try {
      crs_entry = &asset_crs(*a);
    } catch (const Error& e) {
      throw ValueError(fmt::format("stack: STAC item '{}' asset '{}': unusable CRS: {}", cells[i].item->id, a->key, e.what()));
    }
    auto& [index, crs] = *crs_entry;
    if (index == 0) {
      footprints[i] = own;
      if (t.b == 0 && t.d == 0) {
        finest_x = std::min(finest_x, std::abs(t.a));
        finest_y = std::min(finest_y, std::abs(t.e));
      }
    } else {
      try {
        footprints[i] = transform_bounds(own, crs, plan.crs);
      } catch (const Error& e) {
        throw ValueError(fmt::format("stack: STAC item '{}' asset '{}': its footprint cannot be transformed to EPSG:{}: {}",
                                     cells[i].item->id, a->key, plan.epsg, e.what()));
      }
    }
    any_footprint = true;
    all = {std::min(all.minx, footprints[i].minx), std::min(all.miny, footprints[i].miny),
           std::max(all.maxx, footprints[i].maxx), std::max(all.maxy, footprints[i].maxy)};
  }
  if (!any_footprint) throw ValueError("stack: no asset to stack (every requested asset is missing)");

  if (o.resolution) {
    plan.xres = plan.yres = *o.resolution;
  } else if (finest_x < HUGE_VAL) {
    plan.xres = finest_x;
    plan.yres = finest_y;
  } else {
    throw ValueError(fmt::format("stack: cannot infer the resolution: no north-up asset is in EPSG:{}; pass "
                                 "StackOptions::resolution", plan.epsg));
  }
  Bounds b = o.bounds ? *o.bounds : all;
  if (!(b.minx < b.maxx && b.miny < b.maxy))
    throw ValueError(fmt::format("stack: bounds ({}, {}, {}, {}) are empty (need minx < maxx and miny < maxy)", b.minx, b.miny,
                                 b.maxx, b.maxy));
  plan.bounds = snap_bounds(b, plan.xres, plan.yres);
  // A hair of tolerance so (maxx - minx) / res = 1024.0000000001 stays 1024 pixels.
  plan.width = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil((plan.bounds.maxx - plan.bounds.minx) / plan.xres - 1e-9)));
  plan.height = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil((plan.bounds.maxy - plan.bounds.miny) / plan.yres - 1e-9)));
  plan.transform = Affine{plan.xres, 0, plan.bounds.minx, 0, -plan.yres, plan.bounds.maxy};

  rp.output = raster::Grid{plan.crs.wkt(), plan.transform, plan.width, plan.height};
  rp.times = static_cast<std::int64_t>(plan.items.size());
  rp.bands = static_cast<std::int64_t>(plan.bands.size());
  rp.fill_value = o.fill_value;
  rp.dtype = o.dtype;
  rp.rescale = o.rescale;
  rp.resampling = resampling_name(o.resampling);
  rp.skip_bad_assets = o.skip_bad_assets;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    ReadCell c;
    c.item_id = cells[i].item->id;
    c.asset_key = plan.bands[i % plan.bands.size()];
    if (const Asset* a = cells[i].asset) {
      c.href = a->href;
      c.crs_index = asset_crs(*a).first;
      const auto& t = *a->proj.transform;
      c.transform = Affine{t[0], t[1], t[2], t[3], t[4], t[5]};
      c.height = (*a->proj.shape)[0];
      c.width = (*a->proj.shape)[1];
      c.footprint = footprints[i];
      // stackstac reads one band per asset: the first raster:bands entry describes it.
      if (!a->raster_bands.empty()) {
        const RasterBand& rb = a->raster_bands[0];
        c.nodata = rb.nodata;
        c.scale = rb.scale.value_or(1.0);
        c.offset = rb.offset.value_or(0.0);
      }
    }
    if (!is_float(o.dtype) && o.rescale && (c.scale != 1 || c.offset != 0))
      throw ValueError(fmt::format("stack: STAC item '{}' asset '{}' has raster:bands scale {} / offset {}, which {} cannot "
                                   "hold; pass a float dtype or rescale = false", c.item_id, c.asset_key, c.scale, c.offset,
                                   dtype_name(o.dtype)));
    rp.cells.push_back(std::move(c));
  }
  return plan;
}

Bounds read_window_bounds(const ReadParams& rp, std::int64_t row, std::int64_t col, std::int64_t rows, std::int64_t cols) {
  const Affine& T = rp.output.transform;
  const auto y0 = static_cast<double>(rp.row_offset + row), x0 = static_cast<double>(rp.col_offset + col);
  return grid_bounds(Affine{T.a, T.b, T.c + T.a * x0 + T.b * y0, T.d, T.e, T.f + T.d * x0 + T.e * y0}, cols, rows);
}

bool cell_reaches(const ReadCell& c, const Bounds& w) {
  return !c.href.empty() && c.footprint.minx < w.maxx && w.minx < c.footprint.maxx && c.footprint.miny < w.maxy &&
         w.miny < c.footprint.maxy;
}

std::vector<std::int64_t> unreached_chunks(const ReadParams& rp, const ChunkGrid& grid) {
  std::vector<std::int64_t> out;
  const std::size_t ya = static_cast<std::size_t>(rp.time_axis) + static_cast<std::size_t>(rp.band_axis);
  for (std::int64_t lin = 0; lin < grid.total_chunks(); ++lin) {
    const auto idx = grid.unravel(lin);
    std::size_t axis = 0;
    std::int64_t t0 = 0, nt = 1, b0 = 0, nb = 1;
    if (rp.time_axis) t0 = grid.offset(axis, idx[axis]), nt = grid.chunks(axis)[static_cast<std::size_t>(idx[axis])], ++axis;
    if (rp.band_axis) b0 = grid.offset(axis, idx[axis]), nb = grid.chunks(axis)[static_cast<std::size_t>(idx[axis])];
    const Bounds w = read_window_bounds(rp, grid.offset(ya, idx[ya]), grid.offset(ya + 1, idx[ya + 1]),
                                        grid.chunks(ya)[static_cast<std::size_t>(idx[ya])],
                                        grid.chunks(ya + 1)[static_cast<std::size_t>(idx[ya + 1])]);
    bool reached = false;
    for (std::int64_t t = t0; t < t0 + nt && !reached; ++t)
      for (std::int64_t b = b0; b < b0 + nb && !reached; ++b) reached = cell_reaches(rp.cell(t, b), w);
    if (!reached) out.push_back(lin);
  }
  return out;
}

}  // namespace cubist::stac
