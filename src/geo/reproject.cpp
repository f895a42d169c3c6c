// reproject(): rioxarray's rio.reproject as a lazy graph. The output grid is computed here as
// rasterio's calculate_default_transform does (GDAL's suggested warp output); which input chunks
// each output chunk needs is planned once from the chunks' footprints (reproject_plan.cpp); the
// "reproject" op (reproject_op.cpp) warps one output chunk from just those.
#include <fmt/format.h>
#include <gdal_priv.h>
#include <gdalwarper.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <set>

#include "cubist/error.hpp"
#include "cubist/geo.hpp"
#include "geo/osr.hpp"
#include "geo/reproject_plan.hpp"
#include "graph/layer.hpp"
#include "raster/raster.hpp"

namespace cubist {
namespace {

struct DatasetCloser {
  void operator()(GDALDataset* ds) const { GDALClose(GDALDataset::ToHandle(ds)); }
};

// rioxarray's nodata for a dtype when the array has none (raster_array._NODATA_DTYPE_MAP), except
// NaN for floats: cubist's no-data for floats (rioxarray 0.13 uses the dtype's maximum).
double default_nodata(DType t) {
  switch (t) {
    case DType::Float32:
    case DType::Float64: return std::nan("");
    case DType::UInt8: return 255;
    case DType::UInt16: return 65535;
    case DType::Int16: return -32768;
    case DType::UInt32: return 4294967293.0;
    case DType::Int32: return -2147483647;
    default:
      throw ValueError(fmt::format("reproject: no default nodata for {} data; set ReprojectOptions::nodata",
                                   dtype_name(t)));
  }
}

nlohmann::json nodata_json(std::optional<double> v) {
  if (!v) return nullptr;
  if (std::isnan(*v)) return "nan";
  return *v;
}

// write_coordinate_system's attributes of the x and y coordinates.
std::pair<Attrs, Attrs> axis_attrs(const Crs& crs, Attrs x, Attrs y) {
  x["axis"] = "X";
  y["axis"] = "Y";
  if (crs.is_geographic()) {
    x["long_name"] = "longitude", x["standard_name"] = "longitude", x["units"] = "degrees_east";
    y["long_name"] = "latitude", y["standard_name"] = "latitude", y["units"] = "degrees_north";
    return {x, y};
  }
  x["long_name"] = "x coordinate of projection", x["standard_name"] = "projection_x_coordinate";
  y["long_name"] = "y coordinate of projection", y["standard_name"] = "projection_y_coordinate";
  OGRSpatialReference srs = geo::spatial_reference(crs);
  if (srs.IsProjected()) {
    const double factor = srs.GetLinearUnits();
    const std::string units = factor == 1 ? "metre" : fmt::format("{} metre", factor);
    x["units"] = units;
    y["units"] = units;
  }
  return {x, y};
}

}  // namespace

GridSpec calculate_default_transform(const Crs& src, const Crs& dst, std::int64_t width, std::int64_t height,
                                     const Bounds& bounds, std::optional<std::array<double, 2>> resolution,
                                     std::optional<std::array<std::int64_t, 2>> shape) {
  if (src.empty() || dst.empty()) throw ValueError("calculate_default_transform: both CRSs are needed");
  if (width <= 0 || height <= 0 || width > INT_MAX || height > INT_MAX)
    throw ValueError(fmt::format("calculate_default_transform: invalid source size {} x {}", width, height));
  if (resolution && shape) throw ValueError("calculate_default_transform: resolution cannot be used with a shape");
  if (resolution && !((*resolution)[0] > 0 && (*resolution)[1] > 0 && std::isfinite((*resolution)[0]) &&
                      std::isfinite((*resolution)[1])))
    throw ValueError(fmt::format("calculate_default_transform: resolution must be positive, not ({}, {})",
                                 (*resolution)[0], (*resolution)[1]));
  if (shape && ((*shape)[0] <= 0 || (*shape)[1] <= 0))
    throw ValueError(fmt::format("calculate_default_transform: invalid shape ({}, {})", (*shape)[0], (*shape)[1]));
  raster::ensure_gdal();
  // rasterio: a raster of the source size over `bounds` (from_bounds), GDALSuggestedWarpOutput2.
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  std::unique_ptr<GDALDataset, DatasetCloser> ds(
      mem->Create("", static_cast<int>(width), static_cast<int>(height), 0, GDT_Byte, nullptr));
  if (!ds) throw IOError("calculate_default_transform: cannot create a GDAL MEM dataset");
  double gt[6] = {bounds.minx, (bounds.maxx - bounds.minx) / static_cast<double>(width), 0,
                  bounds.maxy, 0, (bounds.miny - bounds.maxy) / static_cast<double>(height)};
  ds->SetGeoTransform(gt);
  ds->SetProjection(src.wkt().c_str());
  char** options = CSLSetNameValue(nullptr, "DST_SRS", dst.wkt().c_str());
  CPLErrorReset();
  CPLPushErrorHandler(CPLQuietErrorHandler);
  void* transformer = GDALCreateGenImgProjTransformer2(GDALDataset::ToHandle(ds.get()), nullptr, options);
  CSLDestroy(options);
  double out[6] = {0, 1, 0, 0, 0, 1}, extent[4] = {0, 0, 0, 0};
  int px = 0, lines = 0;
  CPLErr err = transformer ? GDALSuggestedWarpOutput2(GDALDataset::ToHandle(ds.get()), GDALGenImgProjTransform, transformer,
                                                      out, &px, &lines, extent, 0)
                           : CE_Failure;
  std::string why = CPLGetLastErrorMsg();
  CPLPopErrorHandler();
  if (transformer) GDALDestroyGenImgProjTransformer(transformer);
  if (err != CE_None)
    throw ValueError(fmt::format("calculate_default_transform: no output grid from {} to {}: {}", src.to_string(),
                                 dst.to_string(), why.empty() ? "the bounds do not transform" : why));
  GridSpec g{Affine::from_gdal({out[0], out[1], out[2], out[3], out[4], out[5]}), px, lines};
  if (resolution) {
    // Keep the upper-left corner, scale the size by estimated / requested resolution (ceil).
    const double xres = (*resolution)[0], yres = -(*resolution)[1];
    const double xratio = g.transform.a / xres, yratio = g.transform.e / yres;
    g.transform.a = xres;
    g.transform.e = yres;
    g.width = static_cast<std::int64_t>(std::ceil(static_cast<double>(g.width) * xratio));
    g.height = static_cast<std::int64_t>(std::ceil(static_cast<double>(g.height) * yratio));
  }
  if (shape) {
    const double xratio = static_cast<double>(g.width) / static_cast<double>((*shape)[1]);
    const double yratio = static_cast<double>(g.height) / static_cast<double>((*shape)[0]);
    g.width = (*shape)[1];
    g.height = (*shape)[0];
    g.transform.a *= xratio;
    g.transform.e *= yratio;
  }
  return g;
}

DataArray reproject(const DataArray& da, const Crs& dst_crs, const ReprojectOptions& options) {
  if (dst_crs.empty()) throw ValueError("reproject: no target CRS given");
  if (!da.has_dim("y") || !da.has_dim("x")) throw DimensionError("reproject: the array needs 'y' and 'x' dimensions");
  const auto src_crs = crs_of(da);
  if (!src_crs) throw ValueError("reproject: the array has no CRS (set one with write_crs)");
  if (options.resolution && (options.shape || options.transform))
    throw ValueError("reproject: resolution cannot be used with shape or transform");
  const DType dtype = da.dtype();
  if (!is_float(dtype) && !is_integer(dtype)) throw TypeError(fmt::format("reproject: cannot warp {} data", dtype_name(dtype)));
  if (dtype == DType::Int8) throw TypeError("reproject: GDAL 3.6 cannot warp int8 data (cast it first)");
  const std::int64_t margin_check = geo::kernel_margin(options.resampling, 1);  // validates the name
  (void)margin_check;
  if (!(options.error_threshold >= 0)) throw ValueError("reproject: error_threshold must be >= 0");

  // The input as (other dims..., y, x): GDAL warps each (y, x) plane as a band.
  std::vector<std::string> order;
  for (const auto& d : da.dims())
    if (d != "y" && d != "x") order.push_back(d);
  order.push_back("y");
  order.push_back("x");
  const DataArray src = da.dims() == order ? da : da.transpose(order);
  const std::size_t rank = order.size(), ya = rank - 2, xa = rank - 1;
  const std::int64_t height = src.size("y"), width = src.size("x");
  const Affine src_transform = transform_of(src);

  // The output grid, as rioxarray: an explicit transform (with shape, or the input's), else
  // calculate_default_transform over the input's bounds.
  GridSpec grid;
  if (options.transform) {
    grid.transform = *options.transform;
    grid.height = options.shape ? (*options.shape)[0] : height;
    grid.width = options.shape ? (*options.shape)[1] : width;
  } else {
    const double x0 = src_transform.c, x1 = src_transform.c + src_transform.a * static_cast<double>(width);
    const double y0 = src_transform.f, y1 = src_transform.f + src_transform.e * static_cast<double>(height);
    Bounds b{std::min(x0, x1), std::min(y0, y1), std::max(x0, x1), std::max(y0, y1)};
    grid = calculate_default_transform(*src_crs, dst_crs, width, height, b, options.resolution, options.shape);
  }
  if (grid.width <= 0 || grid.height <= 0)
    throw ValueError(fmt::format("reproject: empty output grid ({} x {})", grid.height, grid.width));
  const Affine& t = grid.transform;
  if (t.b != 0 || t.d != 0) throw ValueError("reproject: rotated output transforms are not supported");

  const double fill = options.nodata ? *options.nodata : nodata_of(da) ? *nodata_of(da) : default_nodata(dtype);
  if (!is_float(dtype) && !std::isfinite(fill))
    throw ValueError(fmt::format("reproject: a {} array cannot be filled with {}", dtype_name(dtype), fill));

  // Output chunks: the input's along the other dims, its largest chunk along y and x (or as asked).
  const ChunkGrid& in_grid = src.chunks();
  const Shape max_chunk = in_grid.max_chunk_shape();
  const std::int64_t cy = options.chunks ? (*options.chunks)[0] : max_chunk[ya];
  const std::int64_t cx = options.chunks ? (*options.chunks)[1] : max_chunk[xa];
  if (cy <= 0 || cx <= 0) throw ChunkError(fmt::format("reproject: invalid chunks ({}, {})", cy, cx));
  auto regular = [](std::int64_t n, std::int64_t c) {
    std::vector<std::int64_t> sizes;
    for (std::int64_t o = 0; o < n; o += c) sizes.push_back(std::min(c, n - o));
    return sizes;
  };
  std::vector<std::vector<std::int64_t>> out_chunks;
  for (std::size_t a = 0; a < ya; ++a) out_chunks.push_back(in_grid.chunks(a));
  out_chunks.push_back(regular(grid.height, cy));
  out_chunks.push_back(regular(grid.width, cx));

  const geo::FootprintMapper mapper(*src_crs, src_transform, dst_crs, grid.transform);
  const geo::ReprojectPlan plan = geo::plan_reprojection(mapper, in_grid.chunks(ya), in_grid.chunks(xa), out_chunks[ya],
                                                         out_chunks[xa], options.resampling);

  graph::LayerSpec spec;
  spec.label = "reproject";
  spec.op = "reproject";
  spec.kind = graph::LayerKind::General;
  const std::optional<double> src_nodata = nodata_of(da);
  spec.params = {{"src_crs", src_crs->wkt()},
                 {"dst_crs", dst_crs.wkt()},
                 {"src_transform", {src_transform.a, src_transform.b, src_transform.c, src_transform.d, src_transform.e,
                                    src_transform.f}},
                 {"dst_transform", {t.a, t.b, t.c, t.d, t.e, t.f}},
                 {"resampling", options.resampling},
                 {"src_nodata", nodata_json(src_nodata)},
                 {"dst_nodata", nodata_json(fill)},
                 {"error_threshold", options.error_threshold},
                 {"x_scale", plan.x_scale},
                 {"y_scale", plan.y_scale}};
  graph::LayerInput input{src.layer(), {}};
  for (std::size_t a = 0; a < ya; ++a) input.axes.push_back(graph::AxisDep::identity(static_cast<int>(a)));
  input.axes.push_back(graph::AxisDep::from_table(static_cast<int>(ya), plan.y_table));
  input.axes.push_back(graph::AxisDep::from_table(static_cast<int>(xa), plan.x_table));
  spec.inputs.push_back(std::move(input));
  spec.grid = ChunkGrid(out_chunks);
  spec.dtype = dtype;
  graph::LayerPtr layer = graph::make_layer(std::move(spec));

  // Chunks no source pixel reaches hold only the fill value: no task reads anything for them.
  if (!plan.empty_chunks.empty()) {
    const std::set<std::int64_t> empty(plan.empty_chunks.begin(), plan.empty_chunks.end());
    const std::int64_t nx = layer->grid.num_chunks(xa);
    graph::ConstantChunks constant;
    constant.value = fill;
    for (std::int64_t lin = 0; lin < layer->grid.total_chunks(); ++lin) {
      auto idx = layer->grid.unravel(lin);
      if (empty.count(idx[ya] * nx + idx[xa])) constant.chunks.push_back(lin);
    }
    layer = graph::with_constant_chunks(*layer, std::move(constant));
  }

  // Coordinates as rioxarray's _make_coords: pixel centres of the new grid (computed in the order
  // affine does, so they are bit-identical), the other coordinates unless they span y or x.
  const std::string grid_mapping =
      da.attrs().contains("grid_mapping") && da.attrs()["grid_mapping"].is_string() ? da.attrs()["grid_mapping"].get<std::string>()
                                                                                   : "spatial_ref";
  Coords coords;
  for (const auto& [name, c] : da.coords()) {
    if (name == "x" || name == "y" || name == grid_mapping) continue;
    const auto& d = c.dims();
    if (std::find(d.begin(), d.end(), "x") != d.end() || std::find(d.begin(), d.end(), "y") != d.end()) continue;
    coords.set(name, c);
  }
  const double xc = t.a * 0.5 + t.b * 0.5 + t.c, yc = t.d * 0.5 + t.e * 0.5 + t.f;
  std::vector<double> xs(static_cast<std::size_t>(grid.width)), ys(static_cast<std::size_t>(grid.height));
  for (std::int64_t i = 0; i < grid.width; ++i) xs[static_cast<std::size_t>(i)] = t.a * static_cast<double>(i) + t.b * 0.0 + xc;
  for (std::int64_t j = 0; j < grid.height; ++j) ys[static_cast<std::size_t>(j)] = t.d * 0.0 + t.e * static_cast<double>(j) + yc;
  auto [x_attrs, y_attrs] = axis_attrs(dst_crs, da.coords().contains("x") ? da.coords().at("x").attrs() : Attrs::object(),
                                       da.coords().contains("y") ? da.coords().at("y").attrs() : Attrs::object());
  coords.set("y", Coordinate::from_vector("y", ys, y_attrs));
  coords.set("x", Coordinate::from_vector("x", xs, x_attrs));

  // Attributes as rioxarray's _generate_attrs: the input's without nodata ones, then _FillValue.
  Attrs attrs = da.attrs().is_object() ? da.attrs() : Attrs::object();
  for (const char* key : {"_FillValue", "missing_value", "fill_value", "nodata", "nodatavals", "is_tiled", "res",
                          "grid_mapping", "crs", "transform"})
    attrs.erase(key);
  DataArray out = DataArray::from_layer(layer, order, coords, attrs, da.name());
  out = set_nodata(out, src_nodata ? *src_nodata : fill);
  out = write_crs(out, dst_crs);
  return out.dims() == da.dims() ? out : out.transpose(da.dims());
}

}  // namespace cubist
