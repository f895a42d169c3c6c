#include "graph/layer.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <functional>
#include <unordered_set>

#include "core/hash.hpp"
#include "cubist/error.hpp"

namespace cubist::graph {

LayerPtr make_sink_layer(std::string label, std::string op, Params params, const LayerPtr& input) {
  const ChunkGrid& g = input->grid;
  Shape counts, ones(g.rank(), 1);
  std::vector<AxisDep> deps;
  for (std::size_t a = 0; a < g.rank(); ++a) {
    counts.push_back(g.num_chunks(a));
    deps.push_back(AxisDep::identity(static_cast<int>(a)));
  }
  LayerSpec spec;
  spec.label = std::move(label);
  spec.op = std::move(op);
  spec.kind = LayerKind::Blockwise;
  spec.params = std::move(params);
  spec.inputs = {{input, std::move(deps)}};
  spec.grid = ChunkGrid::regular(counts, ones);
  spec.dtype = DType::UInt8;
  return make_layer(std::move(spec));
}

LayerPtr make_layer(LayerSpec spec) {
  for (std::size_t s = 0; s < spec.inputs.size(); ++s) {
    const auto& in = spec.inputs[s];
    if (!in.layer) throw Error(fmt::format("layer '{}': input {} is null", spec.label, s));
    if (in.axes.size() != in.layer->rank())
      throw Error(fmt::format("layer '{}': input {} has rank {} but {} axis dependencies", spec.label, s,
                              in.layer->rank(), in.axes.size()));
    for (const auto& d : in.axes)
      if (d.kind != DepKind::All && d.kind != DepKind::Fixed && (d.out_axis < 0 || static_cast<std::size_t>(d.out_axis) >= spec.grid.rank()))
        throw Error(fmt::format("layer '{}': input {} maps to output axis {} of a rank-{} grid", spec.label, s,
                                d.out_axis, spec.grid.rank()));
  }
  core::Hasher h;
  h.add(spec.op).add(spec.params.dump()).add_int(static_cast<int>(spec.dtype)).add_int(
      static_cast<std::int64_t>(spec.token));
  for (const auto& sizes : spec.grid.all_chunks()) {
    h.add_int(static_cast<std::int64_t>(sizes.size()));
    h.add(sizes.data(), sizes.size() * sizeof(std::int64_t));
  }
  for (const auto& in : spec.inputs) {
    h.add(in.layer->key);
    for (const auto& d : in.axes) {
      h.add_int(static_cast<int>(d.kind)).add_int(d.out_axis).add_int(d.block);
      for (auto [lo, hi] : d.table) h.add_int(lo).add_int(hi);
    }
  }
  auto layer = std::make_shared<Layer>();
  layer->key = fmt::format("{}-{}", spec.label, core::hex64(h.digest()));
  layer->label = std::move(spec.label);
  layer->op = std::move(spec.op);
  layer->kind = spec.kind;
  layer->params = std::move(spec.params);
  layer->inputs = std::move(spec.inputs);
  layer->grid = std::move(spec.grid);
  layer->dtype = spec.dtype;
  layer->literal = std::move(spec.literal);
  layer->token = spec.token;
  return layer;
}

bool ConstantChunks::contains(std::int64_t linear) const {
  return std::binary_search(chunks.begin(), chunks.end(), linear);
}

LayerPtr with_constant_chunks(const Layer& layer, ConstantChunks constant) {
  std::sort(constant.chunks.begin(), constant.chunks.end());
  constant.chunks.erase(std::unique(constant.chunks.begin(), constant.chunks.end()), constant.chunks.end());
  if (!constant.chunks.empty() && (constant.chunks.front() < 0 || constant.chunks.back() >= layer.grid.total_chunks()))
    throw Error(fmt::format("layer '{}': constant chunk index outside its {} chunks", layer.label, layer.grid.total_chunks()));
  auto out = std::make_shared<Layer>(layer);
  if (constant.chunks.empty()) {
    out->constant.reset();
    return out;
  }
  // The key extends the layer's own: same layer, same constant chunks and value -> same key.
  core::Hasher h;
  h.add(layer.key).add(&constant.value, sizeof(double));
  h.add(constant.chunks.data(), constant.chunks.size() * sizeof(std::int64_t));
  out->key = fmt::format("{}-{}", layer.label, core::hex64(h.digest()));
  out->constant = std::make_shared<const ConstantChunks>(std::move(constant));
  return out;
}

std::vector<std::pair<std::int64_t, std::int64_t>> input_chunk_ranges(const Layer& layer, std::size_t slot,
                                                                      const std::vector<std::int64_t>& out) {
  const auto& in = layer.inputs[slot];
  std::vector<std::pair<std::int64_t, std::int64_t>> ranges(in.axes.size());
  for (std::size_t a = 0; a < in.axes.size(); ++a) {
    const auto& d = in.axes[a];
    std::int64_t n = in.layer->grid.num_chunks(a);
    switch (d.kind) {
      case DepKind::Identity: {
        auto c = out[static_cast<std::size_t>(d.out_axis)];
        ranges[a] = {c, c + 1};
        break;
      }
      case DepKind::Block: {
        auto c = out[static_cast<std::size_t>(d.out_axis)];
        ranges[a] = {c * d.block, std::min(n, (c + 1) * d.block)};
        break;
      }
      case DepKind::All: ranges[a] = {0, n}; break;
      case DepKind::Fixed: ranges[a] = d.table[0]; break;
      case DepKind::Table: ranges[a] = d.table[static_cast<std::size_t>(out[static_cast<std::size_t>(d.out_axis)])]; break;
    }
  }
  return ranges;
}

std::vector<const Layer*> topological_layers(const std::vector<LayerPtr>& outputs) {
  std::vector<const Layer*> order;
  std::unordered_set<const Layer*> seen;
  // Iterative post-order DFS: deep graphs (long chains of user operations) must not overflow the stack.
  std::vector<std::pair<const Layer*, std::size_t>> stack;
  for (const auto& out : outputs) {
    if (!out || !seen.insert(out.get()).second) continue;
    stack.emplace_back(out.get(), 0);
    while (!stack.empty()) {
      auto& [layer, next] = stack.back();
      if (next < layer->inputs.size()) {
        const Layer* child = layer->inputs[next++].layer.get();
        if (seen.insert(child).second) stack.emplace_back(child, 0);
      } else {
        order.push_back(layer);
        stack.pop_back();
      }
    }
  }
  return order;
}

std::string format_index(const std::vector<std::int64_t>& index) {
  if (index.size() == 1) return fmt::format("({},)", index[0]);
  return fmt::format("({})", fmt::join(index, ", "));
}

}  // namespace cubist::graph
