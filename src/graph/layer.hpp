// The graph IR's high-level layer: one user operation over every chunk of an array.
// A layer is data, never code: a registered op name, JSON parameters, inputs with an explicit
// per-axis description of which input chunks each output chunk needs, and the output chunk grid.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cubist/chunk.hpp"
#include "cubist/chunk_grid.hpp"

namespace cubist::graph {

using Params = nlohmann::json;

enum class DepKind : std::uint8_t {
  Identity,  // input chunk i along this axis feeds output chunk i along out_axis
  Block,     // output chunk c along out_axis needs input chunks [c*block, (c+1)*block)
  All,       // every chunk along this axis (the axis is reduced away or has one chunk)
  Table,     // output chunk c along out_axis needs input chunks table[c] = [lo, hi)
  Fixed,     // input chunks table[0] = [lo, hi) whatever the output chunk (an axis indexed away)
};

struct AxisDep {
  DepKind kind = DepKind::Identity;
  int out_axis = -1;
  std::int64_t block = 1;
  std::vector<std::pair<std::int64_t, std::int64_t>> table;

  static AxisDep identity(int out_axis) { return {DepKind::Identity, out_axis, 1, {}}; }
  static AxisDep blocks(int out_axis, std::int64_t block) { return {DepKind::Block, out_axis, block, {}}; }
  static AxisDep all() { return {DepKind::All, -1, 1, {}}; }
  static AxisDep fixed(std::int64_t lo, std::int64_t hi) { return {DepKind::Fixed, -1, 1, {{lo, hi}}}; }
  static AxisDep from_table(int out_axis, std::vector<std::pair<std::int64_t, std::int64_t>> t) {
    return {DepKind::Table, out_axis, 1, std::move(t)};
  }
  bool operator==(const AxisDep&) const = default;
};

// Output chunks whose every element is `value` (e.g. chunks of a clip entirely outside the
// polygon): their tasks take no inputs, so culling drops every read they would have needed.
// `chunks` holds sorted, unique linear chunk indices of the layer's grid.
struct ConstantChunks {
  std::vector<std::int64_t> chunks;
  double value = 0;
  bool contains(std::int64_t linear) const;
};

// One axis of a sub-window of a layer's output (window push-down, graph/optimize.hpp): elements
// [start, start + count) are kept, or, with `drop`, the axis is indexed away at `start`.
struct AxisWindow {
  std::int64_t start = 0;
  std::int64_t count = 0;
  bool drop = false;
  bool operator==(const AxisWindow&) const = default;
};

struct Layer;
using LayerPtr = std::shared_ptr<const Layer>;

struct LayerInput {
  LayerPtr layer;
  std::vector<AxisDep> axes;  // one entry per axis of the input layer
};

// What the optimiser may do with a layer.
enum class LayerKind : std::uint8_t {
  Source,       // no inputs (generated or literal data, later reads)
  Elementwise,  // op "elementwise": an Expression over inputs aligned chunk by chunk
  Blockwise,    // any other op whose inputs are all Identity/All-mapped
  General,      // rechunk, reduction combine, ...
};

struct Layer {
  std::string label;  // the user's operation: "add", "mean", "random"
  std::string op;     // the registered op computing each chunk
  LayerKind kind = LayerKind::General;
  Params params;
  std::vector<LayerInput> inputs;
  ChunkGrid grid;
  DType dtype = DType::Float64;
  std::shared_ptr<const std::vector<Chunk>> literal;  // chunks of in-memory data, if any
  std::string key;  // "<label>-<hash>": same op, params, inputs and grid give the same key
  std::shared_ptr<const ConstantChunks> constant;  // optional; part of the key
  std::uint64_t token = 0;  // LayerSpec::token, kept so a serialised layer rebuilds with its key

  std::size_t rank() const { return grid.rank(); }
};

struct LayerSpec {
  std::string label;
  std::string op;
  LayerKind kind = LayerKind::General;
  Params params = Params::object();
  std::vector<LayerInput> inputs;
  ChunkGrid grid;
  DType dtype = DType::Float64;
  std::shared_ptr<const std::vector<Chunk>> literal;
  std::uint64_t token = 0;  // extra identity for data the params do not describe (literal chunks)
};

// Validates the spec (one AxisDep per input axis, sane out axes) and computes the key.
LayerPtr make_layer(LayerSpec spec);

// A sink over `input`: op `op` runs once per input chunk (fused into the unit computing it) and
// outputs one uint8 marker element per chunk; to_zarr and openEO's save_result write this way.
LayerPtr make_sink_layer(std::string label, std::string op, Params params, const LayerPtr& input);

// A copy of `layer` whose `constant.chunks` are filled with `constant.value` without reading
// inputs (validated: indices within the grid; sorted and deduplicated here). The key changes.
LayerPtr with_constant_chunks(const Layer& layer, ConstantChunks constant);

// The [lo, hi) range of chunks along each axis of input `slot` that output chunk `out` needs.
std::vector<std::pair<std::int64_t, std::int64_t>> input_chunk_ranges(const Layer& layer, std::size_t slot,
                                                                      const std::vector<std::int64_t>& out);

// Every layer reachable from `outputs`, producers before consumers (deterministic order).
std::vector<const Layer*> topological_layers(const std::vector<LayerPtr>& outputs);

std::string format_index(const std::vector<std::int64_t>& index);  // "(0, 3, 1)"

}  // namespace cubist::graph
