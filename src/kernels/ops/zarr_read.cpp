// Op "zarr_read": one Zarr chunk of an array, read (and decoded by its codecs) when a task needs it.
// Parameters are plain JSON so the layer can travel to another process: the store path or URL,
// the array path inside it and the array metadata (so no metadata is re-read per task), plus an
// optional CF time decoding. prepare() opens the store and the array once per layer.
// Window push-down (graph::push_down_windows): a selection of the array (x.isel(...)) becomes a
// "window" param, one {start, count, drop} per array axis; each task then reads just its box
// (ZarrArray::read_region: a partly covered shard is read in part, through byte ranges).
#include <fmt/format.h>

#include "cubist/error.hpp"
#include "cubist/zarr.hpp"
#include "graph/layer.hpp"
#include "kernels/op_registry.hpp"

namespace cubist::kernels {
namespace {

struct Prepared {
  std::shared_ptr<const zarr::ZarrArray> array;
  std::optional<zarr::cf::TimeUnits> time_units;  // decode CF times to datetime64[ns]
  std::vector<double> time_fills;                 // encoded values that mean NaT
  std::vector<graph::AxisWindow> window;           // per array axis; empty: the whole array
};

std::vector<graph::AxisWindow> parse_window(const nlohmann::json& params, std::size_t rank, const std::string& where) {
  std::vector<graph::AxisWindow> w;
  if (!params.contains("window")) return w;
  const auto& j = params["window"];
  if (!j.is_array() || j.size() != rank)
    throw ValueError(fmt::format("{}: field 'window' must list {} axes", where, rank));
  for (const auto& a : j) {
    if (!a.is_object() || !a.contains("start") || !a.contains("count"))
      throw ValueError(fmt::format("{}: field 'window': each axis needs 'start' and 'count', got {}", where, a.dump()));
    w.push_back({a["start"].get<std::int64_t>(), a["count"].get<std::int64_t>(), a.value("drop", false)});
  }
  return w;
}

nlohmann::json window_to_json(const std::vector<graph::AxisWindow>& w) {
  auto j = nlohmann::json::array();
  for (const auto& a : w) j.push_back({{"start", a.start}, {"count", a.count}, {"drop", a.drop}});
  return j;
}

// The shape the layer produces: the window's kept counts, or the whole array.
Shape produced_shape(const Shape& array_shape, const std::vector<graph::AxisWindow>& w) {
  if (w.empty()) return array_shape;
  Shape s;
  for (const auto& a : w)
    if (!a.drop) s.push_back(a.count);
  return s;
}

std::shared_ptr<const void> prepare(const nlohmann::json& params, const OpSignature& sig) {
  const auto store_path = params.at("store").get<std::string>();
  const auto path = params.at("path").get<std::string>();
  const auto where = fmt::format("zarr_read {}/{}", store_path, path);
  zarr::ArrayMetadata meta = zarr::metadata_from_json(params.at("metadata"), where);
  auto p = std::make_shared<Prepared>();
  p->array = zarr::ZarrArray::from_metadata(zarr::open_store(store_path), path, std::move(meta));
  p->window = parse_window(params, p->array->shape().size(), where);
  for (std::size_t a = 0; a < p->window.size(); ++a) {
    const auto& w = p->window[a];
    const std::int64_t n = w.drop ? 1 : w.count;
    if (w.start < 0 || n < 0 || w.start + n > p->array->shape()[a])
      throw ValueError(fmt::format("{}: field 'window': axis {} [{}, {}) leaves the array's extent {}", where, a, w.start,
                                   w.start + n, p->array->shape()[a]));
  }
  if (params.contains("time_units")) {
    p->time_units = zarr::cf::parse_time_units(params["time_units"].get<std::string>(),
                                               params.value("calendar", std::string("standard")));
    p->time_fills = params.value("time_fills", std::vector<double>{});
  }
  DType produced = p->time_units ? DType::DateTime64 : p->array->dtype();
  if (produced != sig.out_dtype)
    throw TypeError(fmt::format("{}: the array holds {} but the layer expects {}", where, dtype_name(produced),
                                dtype_name(sig.out_dtype)));
  if (produced_shape(p->array->shape(), p->window) != sig.out_shape)
    throw ValueError(fmt::format("{}: the array (window) has shape {} but the layer expects {}", where,
                                 shape_to_string(produced_shape(p->array->shape(), p->window)), shape_to_string(sig.out_shape)));
  return p;
}

Chunk run(const TaskContext& ctx) {
  const auto& p = ctx.params<Prepared>();
  Chunk c;
  if (p.window.empty()) {
    // The layer's grid is the Zarr chunk grid, so the task's linear index is the Zarr chunk's.
    c = p.array->read_chunk(ctx.linear_chunk);
  } else {
    Shape offset, shape;
    std::size_t k = 0;
    for (const auto& w : p.window) {
      offset.push_back(w.drop ? w.start : w.start + ctx.out_offset[k]);
      shape.push_back(w.drop ? 1 : ctx.out_shape[k]);
      if (!w.drop) ++k;
    }
    c = p.array->read_region(offset, shape).reshaped(ctx.shape());
  }
  if (p.time_units) c = zarr::cf::decode_times(c, *p.time_units, p.time_fills);
  return c;
}

// A window of the (possibly already windowed) output: composed onto the array axes.
std::optional<nlohmann::json> window(const nlohmann::json& params, const Shape& shape, const std::vector<graph::AxisWindow>& w) {
  if (w.size() != shape.size()) return std::nullopt;
  const auto meta = zarr::metadata_from_json(params.at("metadata"), "zarr_read window");
  auto current = parse_window(params, meta.shape.size(), "zarr_read window");
  if (current.empty())
    for (std::int64_t e : meta.shape) current.push_back({0, e, false});
  std::size_t k = 0;
  for (auto& a : current) {
    if (a.drop) continue;
    if (k == w.size()) return std::nullopt;
    const auto& n = w[k++];
    if (n.start < 0 || n.start + (n.drop ? 1 : n.count) > a.count || (!n.drop && n.count <= 0)) return std::nullopt;
    a = {a.start + n.start, n.drop ? 1 : n.count, n.drop};
  }
  if (k != w.size()) return std::nullopt;
  nlohmann::json out = params;
  out["window"] = window_to_json(current);
  return out;
}

const OpRegistration kRegister{OpDef{.name = "zarr_read", .prepare = prepare, .run = run, .window = window}};

}  // namespace
}  // namespace cubist::kernels
