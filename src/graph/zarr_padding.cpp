// pad_zarr_edge_chunks (graph/optimize.hpp): edge chunks of a Zarr write assembled padded.
// The sink's params hold the array's metadata as zarr::metadata_to_json writes it (v2:
// {".zarray": {...}}, v3: the zarr.json object); only the chunk shape, the shape and the fill value
// are read here, and anything unexpected leaves the graph as it was.
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "graph/optimize.hpp"
#include "graph/rewrite.hpp"

namespace cubist::graph {
namespace {

struct ZarrChunking {
  Shape shape, chunks;
  Params fill_value;
};

std::optional<Shape> extents(const Params& j) {
  if (!j.is_array()) return std::nullopt;
  Shape s;
  for (const auto& e : j) {
    if (!e.is_number_integer()) return std::nullopt;
    s.push_back(e.get<std::int64_t>());
  }
  return s;
}

// The array's shape, chunk (v3: shard) shape and fill value from a zarr_write layer's metadata.
std::optional<ZarrChunking> zarr_chunking(const Params& metadata) {
  if (!metadata.is_object()) return std::nullopt;
  const Params* meta = &metadata;
  const Params* chunks = nullptr;
  if (metadata.contains(".zarray")) {  // v2
    meta = &metadata[".zarray"];
    if (!meta->is_object() || !meta->contains("chunks")) return std::nullopt;
    chunks = &(*meta)["chunks"];
  } else {  // v3: a regular chunk grid
    const auto grid = metadata.find("chunk_grid");
    if (grid == metadata.end() || !grid->is_object() || grid->value("name", std::string()) != "regular" ||
        !grid->contains("configuration") || !(*grid)["configuration"].is_object() ||
        !(*grid)["configuration"].contains("chunk_shape"))
      return std::nullopt;
    chunks = &(*grid)["configuration"]["chunk_shape"];
  }
  if (!meta->contains("shape") || !meta->contains("fill_value")) return std::nullopt;
  auto shape = extents((*meta)["shape"]), chunk_shape = extents(*chunks);
  if (!shape || !chunk_shape || shape->size() != chunk_shape->size()) return std::nullopt;
  for (std::size_t a = 0; a < shape->size(); ++a)
    if ((*shape)[a] <= 0 || (*chunk_shape)[a] <= 0) return std::nullopt;
  return ZarrChunking{std::move(*shape), std::move(*chunk_shape), (*meta)["fill_value"]};
}

// The Zarr chunking of `sink` when it can take a padded input from `gather`, its sole input.
std::optional<ZarrChunking> paddable(const Layer& sink, const Layer& gather) {
  const Params& p = sink.params;
  if (sink.op != "zarr_write" || !p.is_object() || p.value("mode", std::string("chunk")) != "chunk" ||
      p.contains("time_units") || p.contains("cf_encoding") || p.contains("input_padded") || !p.contains("metadata"))
    return std::nullopt;
  if (gather.op != "gather" || !gather.params.is_object() || gather.params.contains("zarr_padding") || gather.rank() == 0)
    return std::nullopt;
  const auto& deps = sink.inputs[0].axes;
  for (std::size_t a = 0; a < deps.size(); ++a)
    if (deps[a].kind != DepKind::Identity || deps[a].out_axis != static_cast<int>(a)) return std::nullopt;
  auto z = zarr_chunking(p["metadata"]);
  if (!z || z->shape != gather.grid.shape() || ChunkGrid::regular(z->shape, z->chunks) != gather.grid) return std::nullopt;
  return z;
}

}  // namespace

std::vector<LayerPtr> pad_zarr_edge_chunks(const std::vector<LayerPtr>& outputs) {
  const auto order = topological_layers(outputs);
  std::unordered_map<const Layer*, int> consumers;
  for (const Layer* l : order)
    for (const auto& in : l->inputs) ++consumers[in.layer.get()];
  for (const auto& o : outputs) ++consumers[o.get()];  // an output is needed as it is

  // Decided on the original graph: gather -> the padding its sink needs.
  std::unordered_map<const Layer*, ZarrChunking> pad_gather;
  std::unordered_set<const Layer*> flag_sink;
  for (const Layer* l : order) {
    if (l->inputs.size() != 1) continue;
    const Layer* g = l->inputs[0].layer.get();
    if (consumers[g] != 1) continue;
    if (auto z = paddable(*l, *g)) {
      pad_gather.emplace(g, std::move(*z));
      flag_sink.insert(l);
    }
  }
  if (flag_sink.empty()) return outputs;

  GraphRewrite rewrite;
  for (const Layer* l : order) {
    bool inputs_changed = false;
    std::vector<LayerInput> inputs = rewrite.inputs_of(*l, inputs_changed);
    Params params = l->params;
    if (auto it = pad_gather.find(l); it != pad_gather.end()) {
      params["zarr_padding"] = {{"chunks", it->second.chunks}, {"fill_value", it->second.fill_value}};
    } else if (flag_sink.count(l)) {
      params["input_padded"] = true;
    } else {
      if (inputs_changed) rewrite.replace(l, GraphRewrite::rebuilt(*l, std::move(inputs)));
      continue;
    }
    LayerPtr self = make_layer({l->label, l->op, l->kind, std::move(params), std::move(inputs), l->grid, l->dtype, l->literal, l->token});
    rewrite.replace(l, l->constant ? with_constant_chunks(*self, *l->constant) : self);
  }
  return rewrite.results(outputs);
}

}  // namespace cubist::graph
