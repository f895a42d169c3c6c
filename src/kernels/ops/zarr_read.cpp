// Op "zarr_read": one Zarr chunk of an array, read (and decoded by its codecs) when a task needs it.
// Parameters are plain JSON so the layer can travel to another process: the store path or URL,
// the array path inside it and the array metadata (so no metadata is re-read per task), plus an
// optional CF time decoding. prepare() opens the store and the array once per layer.
#include <fmt/format.h>

#include "cubist/error.hpp"
#include "cubist/zarr.hpp"
#include "kernels/op_registry.hpp"

namespace cubist::kernels {
namespace {

struct Prepared {
  std::shared_ptr<const zarr::ZarrArray> array;
  std::optional<zarr::cf::TimeUnits> time_units;  // decode CF times to datetime64[ns]
  std::vector<double> time_fills;                 // encoded values that mean NaT
};

std::shared_ptr<const void> prepare(const nlohmann::json& params, const OpSignature& sig) {
  const auto store_path = params.at("store").get<std::string>();
  const auto path = params.at("path").get<std::string>();
  const auto where = fmt::format("zarr_read {}/{}", store_path, path);
  zarr::ArrayMetadata meta = zarr::metadata_from_json(params.at("metadata"), where);
  auto p = std::make_shared<Prepared>();
  p->array = zarr::ZarrArray::from_metadata(zarr::open_store(store_path), path, std::move(meta));
  if (params.contains("time_units")) {
    p->time_units = zarr::cf::parse_time_units(params["time_units"].get<std::string>(),
                                               params.value("calendar", std::string("standard")));
    p->time_fills = params.value("time_fills", std::vector<double>{});
  }
  DType produced = p->time_units ? DType::DateTime64 : p->array->dtype();
  if (produced != sig.out_dtype)
    throw TypeError(fmt::format("{}: the array holds {} but the layer expects {}", where, dtype_name(produced),
                                dtype_name(sig.out_dtype)));
  if (p->array->shape() != sig.out_shape)
    throw ValueError(fmt::format("{}: the array has shape {} but the layer expects {}", where,
                                 shape_to_string(p->array->shape()), shape_to_string(sig.out_shape)));
  return p;
}

Chunk run(const TaskContext& ctx) {
  const auto& p = ctx.params<Prepared>();
  // The layer's grid is the Zarr chunk grid, so the task's linear index is the Zarr chunk's.
  Chunk c = p.array->read_chunk(ctx.linear_chunk);
  if (p.time_units) c = zarr::cf::decode_times(c, *p.time_units, p.time_fills);
  return c;
}

const OpRegistration kRegister{OpDef{"zarr_read", prepare, run}};

}  // namespace
}  // namespace cubist::kernels
