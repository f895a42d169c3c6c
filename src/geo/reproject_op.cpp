// Op "reproject": one output chunk of a reprojection (rasterio.warp.reproject of a window).
// The input chunks its footprint needs (leading dims..., y, x) are copied into one source window,
// each (y, x) plane becomes a band of a GDAL MEM dataset, and GDAL's warper writes straight into
// the output chunk's buffer (also a MEM dataset, one band per plane).
// params: {"src_crs", "dst_crs": WKT, "src_transform", "dst_transform": [a, b, c, d, e, f] of pixel
// (0, 0) of the whole grids, "resampling": rasterio's name, "src_nodata": number | "nan" | null,
// "dst_nodata": number | "nan", "error_threshold": source pixels (0: exact transformations),
// "x_scale", "y_scale": GDAL's XSCALE / YSCALE (destination pixels per source pixel)}.
#include <cpl_string.h>
#include <fmt/format.h>
#include <gdal_priv.h>
#include <gdalwarper.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <vector>

#include "cubist/error.hpp"
#include "cubist/geo.hpp"
#include "kernels/op_registry.hpp"
#include "raster/raster.hpp"

namespace cubist::geo {
namespace {

struct Prepared {
  std::string src_wkt, dst_wkt;
  Affine src_transform, dst_transform;
  GDALResampleAlg resampling = GRA_NearestNeighbour;
  std::optional<double> src_nodata;
  double dst_nodata = 0;
  double error_threshold = 0.125;
  double x_scale = 1, y_scale = 1;
  DType in_dtype = DType::Float64;
  std::int64_t out_height = 0, out_width = 0;  // the whole output grid
};

GDALResampleAlg resampling_of(const std::string& name) {
  static const std::map<std::string, GDALResampleAlg> algs = {
      {"nearest", GRA_NearestNeighbour}, {"bilinear", GRA_Bilinear}, {"cubic", GRA_Cubic},
      {"cubic_spline", GRA_CubicSpline}, {"lanczos", GRA_Lanczos}, {"average", GRA_Average},
      {"mode", GRA_Mode}, {"min", GRA_Min}, {"max", GRA_Max}, {"med", GRA_Med}, {"q1", GRA_Q1}, {"q3", GRA_Q3},
      {"sum", GRA_Sum}, {"rms", GRA_RMS}};
  auto it = algs.find(name);
  if (it == algs.end())
    throw ValueError(fmt::format("reproject: unknown resampling '{}' (nearest, bilinear, cubic, cubic_spline, lanczos, "
                                 "average, mode, min, max, med, q1, q3, sum, rms)",
                                 name));
  return it->second;
}

GDALDataType gdal_type(DType t) {
  switch (t) {
    case DType::UInt8: return GDT_Byte;
    case DType::UInt16: return GDT_UInt16;
    case DType::Int16: return GDT_Int16;
    case DType::UInt32: return GDT_UInt32;
    case DType::Int32: return GDT_Int32;
    case DType::UInt64: return GDT_UInt64;
    case DType::Int64: return GDT_Int64;
    case DType::Float32: return GDT_Float32;
    case DType::Float64: return GDT_Float64;
    default: throw TypeError(fmt::format("reproject: GDAL cannot warp {} data", dtype_name(t)));
  }
}

Affine affine_param(const nlohmann::json& params, const char* key) {
  const auto& t = params.at(key);
  if (!t.is_array() || t.size() != 6) throw ValueError(fmt::format("reproject: {} must be 6 numbers", key));
  return {t[0].get<double>(), t[1].get<double>(), t[2].get<double>(), t[3].get<double>(), t[4].get<double>(),
          t[5].get<double>()};
}

std::optional<double> nodata_param(const nlohmann::json& v) {
  if (v.is_null()) return std::nullopt;
  if (v.is_string() && v.get<std::string>() == "nan") return std::nan("");
  if (v.is_number()) return v.get<double>();
  throw ValueError(fmt::format("reproject: nodata must be a number, \"nan\" or null, not {}", v.dump()));
}

std::shared_ptr<const void> prepare(const nlohmann::json& params, const kernels::OpSignature& sig) {
  if (sig.input_dtypes.size() != 1 || sig.out_shape.size() < 2 || sig.input_shapes[0].size() != sig.out_shape.size())
    throw ValueError("reproject: one input of the output's rank (>= 2, y and x last) is needed");
  if (sig.input_dtypes[0] != sig.out_dtype) throw TypeError("reproject: the output dtype must be the input's");
  gdal_type(sig.out_dtype);
  raster::ensure_gdal();
  auto p = std::make_shared<Prepared>();
  p->src_wkt = params.at("src_crs").get<std::string>();
  p->dst_wkt = params.at("dst_crs").get<std::string>();
  p->src_transform = affine_param(params, "src_transform");
  p->dst_transform = affine_param(params, "dst_transform");
  p->resampling = resampling_of(params.at("resampling").get<std::string>());
  p->src_nodata = nodata_param(params.value("src_nodata", nlohmann::json()));
  auto dst = nodata_param(params.at("dst_nodata"));
  if (!dst) throw ValueError("reproject: dst_nodata is required");
  p->dst_nodata = *dst;
  p->error_threshold = params.value("error_threshold", 0.125);
  p->x_scale = params.value("x_scale", 1.0);
  p->y_scale = params.value("y_scale", 1.0);
  p->in_dtype = sig.input_dtypes[0];
  p->out_height = sig.out_shape[sig.out_shape.size() - 2];
  p->out_width = sig.out_shape[sig.out_shape.size() - 1];
  return p;
}

struct DatasetCloser {
  void operator()(GDALDataset* ds) const { GDALClose(GDALDataset::ToHandle(ds)); }
};
using DatasetPtr = std::unique_ptr<GDALDataset, DatasetCloser>;

// A MEM dataset whose `bands` bands are consecutive height x width planes of `data` (no copy).
DatasetPtr mem_dataset(void* data, DType dtype, std::int64_t bands, std::int64_t height, std::int64_t width,
                       const Affine& transform, const std::string& wkt) {
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  if (!mem) throw IOError("reproject: GDAL has no MEM driver");
  DatasetPtr ds(mem->Create("", static_cast<int>(width), static_cast<int>(height), 0, GDT_Byte, nullptr));
  if (!ds) throw IOError("reproject: cannot create a GDAL MEM dataset");
  const std::size_t item = itemsize(dtype);
  const std::size_t plane = static_cast<std::size_t>(height * width) * item;
  for (std::int64_t b = 0; b < bands; ++b) {
    char pointer[64] = {0};
    CPLPrintPointer(pointer, static_cast<char*>(data) + static_cast<std::size_t>(b) * plane, sizeof(pointer) - 1);
    CPLStringList options;
    options.SetNameValue("DATAPOINTER", pointer);
    options.SetNameValue("PIXELOFFSET", std::to_string(item).c_str());
    options.SetNameValue("LINEOFFSET", std::to_string(item * static_cast<std::size_t>(width)).c_str());
    if (ds->AddBand(gdal_type(dtype), options.List()) != CE_None) throw IOError("reproject: cannot add a MEM band");
  }
  auto gt = transform.to_gdal();
  ds->SetGeoTransform(gt.data());
  ds->SetProjection(wkt.c_str());
  return ds;
}

void fill(Chunk& out, double value) {
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto v = out.mutable_values<T>();
    std::fill(v.begin(), v.end(), static_cast<T>(value));
  });
}

Affine shifted(const Affine& t, double col, double row) {
  return {t.a, t.b, t.c + t.a * col + t.b * row, t.d, t.e, t.f + t.d * col + t.e * row};
}

// The transformer the warper calls for one chunk. GDAL's approximate transformer interpolates along
// each row of points it is given, so its answer depends on the row's extent: rasterio warps the
// whole output at once (rows span the full width), a chunk only a piece of each row. To give the
// same source positions as that one whole warp, a chunk's row is transformed as the full-width
// row of the whole output grid and the chunk's part is taken from it. Other calls (the warper's
// source-window sampling) are transformed directly.
struct RowTransform {
  void* exact = nullptr;   // GenImgProj: pixels of the whole output grid <-> pixels of the source window
  void* approx = nullptr;  // GDALApproxTransformer over `exact`, or null for exact transformations
  double col_off = 0, row_off = 0;  // the chunk's origin in the whole output grid
  std::int64_t full_width = 0;
  std::vector<double> x, y, z;
  std::vector<int> ok;
};

int row_transform(void* arg, int dst_to_src, int n, double* x, double* y, double* z, int* success) {
  auto& t = *static_cast<RowTransform*>(arg);
  if (!dst_to_src) {  // source -> chunk pixels
    int r = GDALGenImgProjTransform(t.exact, FALSE, n, x, y, z, success);
    for (int i = 0; i < n; ++i) {
      x[i] -= t.col_off;
      y[i] -= t.row_off;
    }
    return r;
  }
  // A row of consecutive pixel positions (centres, or corners for the area methods): the whole
  // warp asked for the same positions relative to its origin, over the full width.
  bool row = n >= 2 && t.approx && t.col_off + n <= static_cast<double>(t.full_width);
  for (int i = 1; row && i < n; ++i) row = y[i] == y[0] && x[i] == x[0] + i;
  const double x0 = x[0];
  for (int i = 0; i < n; ++i) {
    x[i] += t.col_off;
    y[i] += t.row_off;
  }
  if (!t.approx) return GDALGenImgProjTransform(t.exact, TRUE, n, x, y, z, success);
  if (!row) return GDALApproxTransform(t.approx, TRUE, n, x, y, z, success);
  const auto w = static_cast<std::size_t>(t.full_width);
  t.x.resize(w);
  t.y.assign(w, y[0]);
  t.z.assign(w, 0.0);
  t.ok.assign(w, 0);
  for (std::size_t j = 0; j < w; ++j) t.x[j] = x0 + static_cast<double>(j);
  int r = GDALApproxTransform(t.approx, TRUE, static_cast<int>(w), t.x.data(), t.y.data(), t.z.data(), t.ok.data());
  const auto first = static_cast<std::size_t>(t.col_off);
  for (int i = 0; i < n; ++i) {
    x[i] = t.x[first + static_cast<std::size_t>(i)];
    y[i] = t.y[first + static_cast<std::size_t>(i)];
    if (z) z[i] = t.z[first + static_cast<std::size_t>(i)];
    success[i] = t.ok[first + static_cast<std::size_t>(i)];
  }
  return r;
}

Chunk run(const kernels::TaskContext& ctx) {
  const auto& p = ctx.params<Prepared>();
  const std::size_t rank = ctx.out_shape.size(), ya = rank - 2, xa = rank - 1;
  Chunk out = Chunk::allocate(ctx.out_dtype, ctx.shape());
  fill(out, p.dst_nodata);
  if (ctx.inputs.empty()) return out;  // no source pixel reaches this chunk

  // The source window: the union of the input chunks (a full block of chunk rows x chunk columns).
  std::int64_t r0 = INT64_MAX, r1 = 0, c0 = INT64_MAX, c1 = 0;
  for (const auto& in : ctx.inputs) {
    r0 = std::min(r0, in.offset[ya]);
    r1 = std::max(r1, in.offset[ya] + in.chunk->shape()[ya]);
    c0 = std::min(c0, in.offset[xa]);
    c1 = std::max(c1, in.offset[xa] + in.chunk->shape()[xa]);
  }
  const std::int64_t wh = r1 - r0, ww = c1 - c0, h = ctx.out_shape[ya], w = ctx.out_shape[xa];
  std::int64_t bands = 1;
  for (std::size_t a = 0; a < ya; ++a) bands *= ctx.out_shape[a];
  Shape src_shape(ctx.out_shape.begin(), ctx.out_shape.end());
  src_shape[ya] = wh;
  src_shape[xa] = ww;
  Chunk src = Chunk::allocate(p.in_dtype, src_shape);
  const std::size_t item = itemsize(p.in_dtype);
  for (const auto& in : ctx.inputs) {
    const std::int64_t ch = in.chunk->shape()[ya], cw = in.chunk->shape()[xa];
    const auto* from = static_cast<const char*>(in.chunk->raw());
    auto* to = static_cast<char*>(src.mutable_raw());
    for (std::int64_t b = 0; b < bands; ++b)
      for (std::int64_t r = 0; r < ch; ++r)
        std::memcpy(to + static_cast<std::size_t>((b * wh + in.offset[ya] - r0 + r) * ww + in.offset[xa] - c0) * item,
                    from + static_cast<std::size_t>((b * ch + r) * cw) * item, static_cast<std::size_t>(cw) * item);
  }

  DatasetPtr src_ds = mem_dataset(src.mutable_raw(), p.in_dtype, bands, wh, ww,
                                  shifted(p.src_transform, static_cast<double>(c0), static_cast<double>(r0)), p.src_wkt);
  DatasetPtr dst_ds =
      mem_dataset(out.mutable_raw(), ctx.out_dtype, bands, h, w,
                  shifted(p.dst_transform, static_cast<double>(ctx.out_offset[xa]), static_cast<double>(ctx.out_offset[ya])),
                  p.dst_wkt);

  // As rasterio.warp.reproject: GenImgProj transformer, approximated within error_threshold pixels,
  // here over the whole output grid (a MEM dataset without bands allocates nothing).
  DatasetPtr grid_ds = mem_dataset(nullptr, ctx.out_dtype, 0, p.out_height, p.out_width, p.dst_transform, p.dst_wkt);
  CPLErrorReset();
  CPLPushErrorHandler(CPLQuietErrorHandler);
  RowTransform rt;
  rt.exact = GDALCreateGenImgProjTransformer2(GDALDataset::ToHandle(src_ds.get()), GDALDataset::ToHandle(grid_ds.get()),
                                              nullptr);
  if (!rt.exact) {
    std::string why = CPLGetLastErrorMsg();
    CPLPopErrorHandler();
    throw ValueError(fmt::format("reproject: no transformation between the CRSs: {}", why));
  }
  if (p.error_threshold > 0) rt.approx = GDALCreateApproxTransformer(GDALGenImgProjTransform, rt.exact, p.error_threshold);
  rt.col_off = static_cast<double>(ctx.out_offset[xa]);
  rt.row_off = static_cast<double>(ctx.out_offset[ya]);
  rt.full_width = p.out_width;
  GDALWarpOptions* wo = GDALCreateWarpOptions();
  wo->hSrcDS = GDALDataset::ToHandle(src_ds.get());
  wo->hDstDS = GDALDataset::ToHandle(dst_ds.get());
  wo->eResampleAlg = p.resampling;
  wo->pfnTransformer = row_transform;
  wo->pTransformerArg = &rt;
  wo->nBandCount = static_cast<int>(bands);
  wo->panSrcBands = static_cast<int*>(CPLMalloc(sizeof(int) * static_cast<std::size_t>(bands)));
  wo->panDstBands = static_cast<int*>(CPLMalloc(sizeof(int) * static_cast<std::size_t>(bands)));
  wo->padfDstNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double) * static_cast<std::size_t>(bands)));
  if (p.src_nodata) wo->padfSrcNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double) * static_cast<std::size_t>(bands)));
  for (int b = 0; b < static_cast<int>(bands); ++b) {
    wo->panSrcBands[b] = wo->panDstBands[b] = b + 1;
    wo->padfDstNoDataReal[b] = p.dst_nodata;
    if (p.src_nodata) wo->padfSrcNoDataReal[b] = *p.src_nodata;
  }
  wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "INIT_DEST", "NO_DATA");
  // The whole output's scale, not this chunk's: every chunk resamples with the same kernel.
  wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "XSCALE", fmt::format("{}", p.x_scale).c_str());
  wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "YSCALE", fmt::format("{}", p.y_scale).c_str());
  CPLErr err = CE_Failure;
  {
    GDALWarpOperation op;
    if (op.Initialize(wo) == CE_None) err = op.ChunkAndWarpImage(0, 0, static_cast<int>(w), static_cast<int>(h));
  }
  std::string why = CPLGetLastErrorMsg();
  CPLPopErrorHandler();
  GDALDestroyWarpOptions(wo);  // does not free the transformer
  if (rt.approx) GDALDestroyApproxTransformer(rt.approx);
  GDALDestroyGenImgProjTransformer(rt.exact);
  if (err != CE_None) throw IOError(fmt::format("reproject: GDAL warp of chunk {} failed: {}",
                                                ctx.linear_chunk, why.empty() ? "unknown error" : why));
  dst_ds.reset();  // flush nothing: the bands write into `out` directly
  return out;
}

kernels::OpDef definition() {
  kernels::OpDef def;  // by field: OpDef may grow optional members
  def.name = "reproject";
  def.prepare = prepare;
  def.run = run;
  return def;
}

const kernels::OpRegistration kRegister{definition()};

}  // namespace
}  // namespace cubist::geo
