// Op "zarr_write": a sink that encodes and atomically stores the one input chunk it receives, and
// returns a one-byte marker (the runtime only needs to know it succeeded). Parameters are plain
// JSON (store path, array path, array metadata) so writes can run on any worker.
//   mode "chunk":  the input grid is the Zarr chunk grid; input chunk i is Zarr chunk i.
//   mode "region": the input chunk lands at `offset` + its own offset (appends onto an existing
//                  array); the caller's chunking guarantees no two tasks touch one Zarr chunk.
#include <fmt/format.h>

#include "cubist/error.hpp"
#include "cubist/zarr.hpp"
#include "kernels/op_registry.hpp"

namespace cubist::kernels {
namespace {

struct Prepared {
  std::shared_ptr<const zarr::ZarrArray> array;
  bool region = false;
  Shape offset;
  std::optional<zarr::cf::TimeUnits> time_units;  // datetime64 input is CF-encoded to int64
  std::optional<zarr::cf::Encoding> cf_encoding;  // scale_factor/add_offset packing (xarray's CF encoding)
  std::string where;
};

std::shared_ptr<const void> prepare(const nlohmann::json& params, const OpSignature& sig) {
  const auto store_path = params.at("store").get<std::string>();
  const auto path = params.at("path").get<std::string>();
  auto p = std::make_shared<Prepared>();
  p->where = fmt::format("zarr_write {}/{}", store_path, path);
  zarr::ArrayMetadata meta = zarr::metadata_from_json(params.at("metadata"), p->where);
  p->array = zarr::ZarrArray::from_metadata(zarr::open_store(store_path), path, std::move(meta));
  p->region = params.value("mode", std::string("chunk")) == "region";
  if (p->region) p->offset = params.at("offset").get<Shape>();
  if (params.contains("time_units"))
    p->time_units = zarr::cf::parse_time_units(params["time_units"].get<std::string>(),
                                               params.value("calendar", std::string("standard")));
  if (params.contains("cf_encoding")) p->cf_encoding = zarr::cf::encoding_from_json(params["cf_encoding"], p->where);
  if (sig.input_dtypes.size() != 1) throw ValueError(fmt::format("{}: expects exactly one input", p->where));
  DType in = sig.input_dtypes[0], stored = p->array->dtype();
  bool ok = p->time_units    ? in == DType::DateTime64 && stored == DType::Int64
            : p->cf_encoding ? p->cf_encoding->stored_dtype == stored
                             : in == stored;
  if (!ok)
    throw TypeError(fmt::format("{}: cannot store {} data in an array of dtype {}", p->where, dtype_name(in), dtype_name(stored)));
  if (!p->region && sig.input_shapes[0] != p->array->shape())
    throw ValueError(fmt::format("{}: data of shape {} does not match the array's {}", p->where,
                                 shape_to_string(sig.input_shapes[0]), shape_to_string(p->array->shape())));
  if (p->region && p->offset.size() != p->array->shape().size())
    throw ValueError(fmt::format("{}: region offset has rank {}, the array {}", p->where, p->offset.size(),
                                 p->array->shape().size()));
  return p;
}

Chunk run(const TaskContext& ctx) {
  const auto& p = ctx.params<Prepared>();
  if (ctx.inputs.size() != 1) throw ValueError(fmt::format("{}: expects one input chunk per task", p.where));
  const TaskInput& in = ctx.inputs[0];
  Chunk data = *in.chunk;  // may be a strided view: write_chunk packs it into a reused buffer
  if (p.time_units || p.cf_encoding) data = data.contiguous();  // the CF encoders read packed values
  if (p.time_units) data = zarr::cf::encode_times(data, *p.time_units);
  if (p.cf_encoding) {
    try {
      data = zarr::cf::apply_encoding(data, *p.cf_encoding);
    } catch (const ValueError& e) {
      throw ValueError(fmt::format("{}: {}", p.where, e.what()));
    }
  }
  if (p.region) {
    Shape at(p.offset.size());
    for (std::size_t a = 0; a < at.size(); ++a) at[a] = p.offset[a] + in.offset[a];
    p.array->write_region(at, data);
  } else {
    std::vector<std::int64_t> index(ctx.chunk_index.begin(), ctx.chunk_index.end());
    if (p.array->grid().chunk_shape(index) != data.shape())
      throw ValueError(fmt::format("{}: chunk {} has shape {} but the Zarr chunk is {}", p.where,
                                   p.array->chunk_key(index), shape_to_string(data.shape()),
                                   shape_to_string(p.array->grid().chunk_shape(index))));
    p.array->write_chunk(index, data);
  }
  return Chunk::zeros(DType::UInt8, ctx.shape());
}

// strided_inputs: zero-copy views of in-memory data reach write_chunk as they are, which packs
// them into a per-thread buffer (or, for shards, packs each inner chunk straight from the view)
// instead of the runtime packing every chunk into a freshly allocated one first.
const OpRegistration kRegister{OpDef{"zarr_write", prepare, run, /*strided_inputs=*/true}};

}  // namespace
}  // namespace cubist::kernels
