#include "graph/serialize.hpp"

#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <unordered_map>

#include "cubist/error.hpp"

namespace cubist::graph {
namespace {

using nlohmann::json;

constexpr int kFormatVersion = 1;
// Bounds on what a document may make us build before anything else checks it.
constexpr std::size_t kMaxRank = 64;
constexpr std::int64_t kMaxChunksPerLayer = std::int64_t{1} << 40;

constexpr const char* kLayerKinds[] = {"source", "elementwise", "blockwise", "general"};
constexpr const char* kDepKinds[] = {"identity", "block", "all", "table", "fixed"};

// A value from the document for an error message: one line, bounded, whatever its bytes.
std::string show(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

json dep_to_wire(const AxisDep& d) {
  json out = {{"kind", kDepKinds[static_cast<int>(d.kind)]}};
  // Defaults left out; every field is part of the key, so anything set is sent as it is.
  if (d.out_axis != -1) out["out_axis"] = d.out_axis;
  if (d.block != 1) out["block"] = d.block;
  if (!d.table.empty()) {
    json t = json::array();
    for (auto [lo, hi] : d.table) t.push_back({lo, hi});
    out["table"] = std::move(t);
  }
  return out;
}

json literal_to_wire(const std::vector<Chunk>& chunks) {
  json out = json::array();
  for (const Chunk& c : chunks) {
    const Chunk packed = c.contiguous();
    const auto* p = static_cast<const std::uint8_t*>(packed.raw());
    out.push_back({{"dtype", dtype_name(c.dtype())},
                   {"shape", c.shape()},
                   {"data", json::binary(std::vector<std::uint8_t>(p, p + packed.nbytes()))}});
  }
  return out;
}

json layer_to_wire(const Layer& l, const std::unordered_map<std::string, std::size_t>& index_of) {
  json inputs = json::array();
  for (const auto& in : l.inputs) {
    json axes = json::array();
    for (const auto& d : in.axes) axes.push_back(dep_to_wire(d));
    inputs.push_back({{"layer", index_of.at(in.layer->key)}, {"axes", std::move(axes)}});
  }
  json out = {{"key", l.key},
              {"label", l.label},
              {"op", l.op},
              {"kind", kLayerKinds[static_cast<int>(l.kind)]},
              {"params", l.params},
              {"inputs", std::move(inputs)},
              {"grid", l.grid.all_chunks()},
              {"dtype", dtype_name(l.dtype)}};
  if (l.token) out["token"] = l.token;
  if (l.literal) out["literal"] = literal_to_wire(*l.literal);
  if (l.constant) out["constant"] = {{"chunks", l.constant->chunks}, {"value", l.constant->value}};
  return out;
}

// Reads one layer of a document; every failure names the layer and the field.
class LayerReader {
 public:
  LayerReader(const json& doc, std::size_t index, const std::vector<LayerPtr>& earlier)
      : doc_(doc), index_(index), earlier_(earlier) {
    if (!doc.is_object()) fail("", "is not an object");
    const auto k = doc.find("key");
    if (k != doc.end() && k->is_string()) key_ = show(*k);
  }

  LayerPtr read() {
    LayerSpec spec;
    spec.label = string("label");
    spec.op = string("op");
    if (spec.op.empty()) fail("op", "is empty");
    spec.kind = static_cast<LayerKind>(enum_index("kind", kLayerKinds));
    spec.params = field("params");
    spec.dtype = dtype(field("dtype"), "dtype");
    spec.grid = grid();
    spec.inputs = inputs(spec.grid);
    if (const auto t = doc_.find("token"); t != doc_.end()) {
      if (!t->is_number_unsigned()) fail("token", "is not an unsigned integer");
      spec.token = t->get<std::uint64_t>();
    }
    if (const auto lit = doc_.find("literal"); lit != doc_.end())
      spec.literal = std::make_shared<const std::vector<Chunk>>(literal(*lit, spec.grid, spec.dtype));
    const std::string sent = string("key");
    LayerPtr layer;
    try {
      layer = make_layer(std::move(spec));
      if (const auto c = doc_.find("constant"); c != doc_.end()) layer = with_constant_chunks(*layer, constant(*c, *layer));
    } catch (const Error& e) {  // the invariants make_layer checks, named after the layer
      fail("", e.what());
    } catch (const json::exception& e) {  // params that cannot be dumped for the key (bad UTF-8)
      fail("params", e.what());
    }
    if (layer->key != sent) fail("key", fmt::format("does not match the layer's content (rebuilt as {})", show(layer->key)));
    return layer;
  }

 private:
  [[noreturn]] void fail(std::string_view field, std::string_view what) const {
    const std::string layer = key_.empty() ? fmt::format("layer {}", index_) : fmt::format("layer {} ({})", index_, key_);
    if (field.empty()) throw ValueError(fmt::format("graph document: {} {}", layer, what));
    throw ValueError(fmt::format("graph document: {}: field '{}' {}", layer, field, what));
  }

  const json& field(std::string_view name) const {
    const auto it = doc_.find(name);
    if (it == doc_.end()) fail(name, "is missing");
    return *it;
  }
  std::string string(std::string_view name) const {
    const json& f = field(name);
    if (!f.is_string()) fail(name, "is not a string");
    return f.get<std::string>();
  }
  template <std::size_t N> std::size_t enum_index(std::string_view name, const char* const (&names)[N]) const {
    return enum_index(field(name), name, names);
  }
  template <std::size_t N>
  std::size_t enum_index(const json& f, std::string_view name, const char* const (&names)[N]) const {
    if (f.is_string())
      for (std::size_t i = 0; i < N; ++i)
        if (f.get_ref<const std::string&>() == names[i]) return i;
    fail(name, fmt::format("is {}, not one of {}", show(f), fmt::join(names, ", ")));
  }
  DType dtype(const json& f, std::string_view name) const {
    if (!f.is_string()) fail(name, "is not a string");
    try {
      return parse_dtype(f.get_ref<const std::string&>());
    } catch (const Error&) {
      fail(name, fmt::format("names an unknown dtype {}", show(f)));
    }
  }
  std::int64_t integer(const json& f, std::string_view name, std::int64_t lo, std::int64_t hi) const {
    if (!f.is_number_integer()) fail(name, "is not an integer");
    std::int64_t v;
    if (f.is_number_unsigned()) {
      const auto u = f.get<std::uint64_t>();
      if (hi < 0 || u > static_cast<std::uint64_t>(hi)) fail(name, fmt::format("= {} is outside [{}, {}]", u, lo, hi));
      v = static_cast<std::int64_t>(u);
    } else {
      v = f.get<std::int64_t>();
    }
    if (v < lo || v > hi) fail(name, fmt::format("= {} is outside [{}, {}]", v, lo, hi));
    return v;
  }
  const json& array(const json& f, std::string_view name) const {
    if (!f.is_array()) fail(name, "is not an array");
    return f;
  }

  // Sizes are checked for overflow here; ChunkGrid checks the rest (no empty axis, positive sizes).
  ChunkGrid grid() const {
    const json& g = array(field("grid"), "grid");
    if (g.size() > kMaxRank) fail("grid", fmt::format("has {} axes, more than {}", g.size(), kMaxRank));
    std::vector<std::vector<std::int64_t>> chunks(g.size());
    std::int64_t total = 1;
    for (std::size_t a = 0; a < g.size(); ++a) {
      const std::string name = fmt::format("grid[{}]", a);
      const json& sizes = array(g[a], name);
      std::int64_t extent = 0;
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        const auto s = integer(sizes[i], fmt::format("{}[{}]", name, i), 0, std::numeric_limits<std::int64_t>::max());
        if (s > std::numeric_limits<std::int64_t>::max() - extent) fail(name, "sums to more than 64 bits hold");
        extent += s;
        chunks[a].push_back(s);
      }
      if (!sizes.empty() && total > kMaxChunksPerLayer / static_cast<std::int64_t>(sizes.size()))
        fail("grid", fmt::format("has more than {} chunks", kMaxChunksPerLayer));
      total *= std::max<std::int64_t>(1, static_cast<std::int64_t>(sizes.size()));
    }
    try {
      ChunkGrid grid(std::move(chunks));
      (void)shape_size(grid.shape());  // the element count must fit too
      return grid;
    } catch (const Error& e) {
      fail("grid", e.what());
    }
  }

  std::vector<LayerInput> inputs(const ChunkGrid& out_grid) const {
    const json& list = array(field("inputs"), "inputs");
    std::vector<LayerInput> inputs;
    for (std::size_t s = 0; s < list.size(); ++s) {
      const std::string name = fmt::format("inputs[{}]", s);
      const json& in = list[s];
      if (!in.is_object()) fail(name, "is not an object");
      const auto l = in.find("layer");
      if (l == in.end()) fail(name + ".layer", "is missing");
      const auto producer = integer(*l, name + ".layer", 0, std::numeric_limits<std::int64_t>::max());
      if (static_cast<std::size_t>(producer) >= earlier_.size())
        fail(name + ".layer", fmt::format("= {} does not name an earlier layer (producers come first)", producer));
      LayerInput input{earlier_[static_cast<std::size_t>(producer)], {}};
      const auto axes = in.find("axes");
      if (axes == in.end()) fail(name + ".axes", "is missing");
      array(*axes, name + ".axes");
      if (axes->size() != input.layer->rank())
        fail(name + ".axes", fmt::format("has {} entries for an input of rank {}", axes->size(), input.layer->rank()));
      for (std::size_t a = 0; a < axes->size(); ++a)
        input.axes.push_back(dep((*axes)[a], fmt::format("{}.axes[{}]", name, a), input.layer->grid.num_chunks(a), out_grid));
      inputs.push_back(std::move(input));
    }
    return inputs;
  }

  // An axis dependency whose every input chunk range lies inside the input's chunks, for every
  // output chunk (the task builder indexes with them unchecked).
  AxisDep dep(const json& d, const std::string& name, std::int64_t in_chunks, const ChunkGrid& out_grid) const {
    if (!d.is_object()) fail(name, "is not an object");
    const auto k = d.find("kind");
    if (k == d.end()) fail(name + ".kind", "is missing");
    AxisDep dep;
    dep.kind = static_cast<DepKind>(enum_index(*k, name + ".kind", kDepKinds));
    const int rank = static_cast<int>(out_grid.rank());
    if (const auto o = d.find("out_axis"); o != d.end()) dep.out_axis = static_cast<int>(integer(*o, name + ".out_axis", -1, kMaxRank));
    if (const auto b = d.find("block"); b != d.end()) dep.block = integer(*b, name + ".block", 1, std::numeric_limits<std::int64_t>::max());
    if (const auto t = d.find("table"); t != d.end()) {
      for (std::size_t i = 0; i < array(*t, name + ".table").size(); ++i) {
        const std::string at = fmt::format("{}.table[{}]", name, i);
        const json& pair = (*t)[i];
        if (!pair.is_array() || pair.size() != 2) fail(at, "is not a [lo, hi] pair");
        const auto lo = integer(pair[0], at, 0, in_chunks), hi = integer(pair[1], at, lo, in_chunks);
        dep.table.emplace_back(lo, hi);
      }
    }
    const bool mapped = dep.kind == DepKind::Identity || dep.kind == DepKind::Block || dep.kind == DepKind::Table;
    if (mapped && (dep.out_axis < 0 || dep.out_axis >= rank))
      fail(name + ".out_axis", fmt::format("= {} is not an axis of the rank-{} output", dep.out_axis, rank));
    const std::int64_t out_chunks = mapped ? out_grid.num_chunks(static_cast<std::size_t>(dep.out_axis)) : 0;
    switch (dep.kind) {
      case DepKind::Identity:
        if (out_chunks > in_chunks)
          fail(name, fmt::format("maps {} output chunks onto {} input chunks one to one", out_chunks, in_chunks));
        break;
      case DepKind::Block:
        if ((out_chunks - 1) > (in_chunks - 1) / dep.block)
          fail(name, fmt::format("needs blocks of {} beyond the input's {} chunks", dep.block, in_chunks));
        break;
      case DepKind::Table:
        if (static_cast<std::int64_t>(dep.table.size()) != out_chunks)
          fail(name + ".table", fmt::format("has {} entries for {} output chunks", dep.table.size(), out_chunks));
        break;
      case DepKind::Fixed:
        if (dep.table.size() != 1) fail(name + ".table", "must hold exactly one [lo, hi) pair");
        break;
      case DepKind::All:
        break;
    }
    return dep;
  }

  std::vector<Chunk> literal(const json& lit, const ChunkGrid& grid, DType layer_dtype) const {
    array(lit, "literal");
    if (static_cast<std::int64_t>(lit.size()) != grid.total_chunks())
      fail("literal", fmt::format("has {} chunks for a grid of {}", lit.size(), grid.total_chunks()));
    std::vector<Chunk> chunks;
    chunks.reserve(lit.size());
    for (std::size_t i = 0; i < lit.size(); ++i) {
      const std::string name = fmt::format("literal[{}]", i);
      const json& c = lit[i];
      if (!c.is_object() || !c.contains("dtype") || !c.contains("shape") || !c.contains("data"))
        fail(name, "is not an object with dtype, shape and data");
      const DType dt = dtype(c["dtype"], name + ".dtype");
      if (dt != layer_dtype) fail(name + ".dtype", fmt::format("is {}, the layer's is {}", dtype_name(dt), dtype_name(layer_dtype)));
      const Shape expected = grid.chunk_shape(static_cast<std::int64_t>(i));
      if (c["shape"] != json(expected))
        fail(name + ".shape", fmt::format("is {}, the grid's chunk is {}", show(c["shape"]), shape_to_string(expected)));
      const json& data = c["data"];
      if (!data.is_binary()) fail(name + ".data", "is not binary");
      const std::size_t bytes = static_cast<std::size_t>(shape_size(expected)) * itemsize(dt);
      if (data.get_binary().size() != bytes)
        fail(name + ".data", fmt::format("holds {} bytes, the chunk needs {}", data.get_binary().size(), bytes));
      Chunk chunk = Chunk::allocate(dt, expected);
      if (bytes) std::memcpy(chunk.mutable_raw(), data.get_binary().data(), bytes);
      chunks.push_back(std::move(chunk));
    }
    return chunks;
  }

  ConstantChunks constant(const json& c, const Layer& layer) const {
    if (!c.is_object()) fail("constant", "is not an object");
    const auto v = c.find("value");
    if (v == c.end() || !v->is_number()) fail("constant.value", "is missing or not a number");
    const auto list = c.find("chunks");
    if (list == c.end()) fail("constant.chunks", "is missing");
    ConstantChunks out;
    out.value = v->get<double>();
    for (std::size_t i = 0; i < array(*list, "constant.chunks").size(); ++i)
      out.chunks.push_back(integer((*list)[i], fmt::format("constant.chunks[{}]", i), 0, layer.grid.total_chunks() - 1));
    return out;
  }

  const json& doc_;
  std::size_t index_;
  const std::vector<LayerPtr>& earlier_;
  std::string key_;
};

}  // namespace

nlohmann::json to_wire(const std::vector<LayerPtr>& outputs) {
  for (std::size_t i = 0; i < outputs.size(); ++i)
    if (!outputs[i]) throw ValueError(fmt::format("to_wire: output {} is null", i));
  // Two layer objects with one key are the same computation: sent once.
  std::unordered_map<std::string, std::size_t> index_of;
  json layers = json::array();
  for (const Layer* l : topological_layers(outputs)) {
    if (!index_of.emplace(l->key, layers.size()).second) continue;
    layers.push_back(layer_to_wire(*l, index_of));
  }
  json out_indices = json::array();
  for (const auto& o : outputs) out_indices.push_back(index_of.at(o->key));
  return {{"format", "cubist-graph"}, {"version", kFormatVersion}, {"layers", std::move(layers)}, {"outputs", std::move(out_indices)}};
}

std::vector<LayerPtr> from_wire(const nlohmann::json& doc) {
  if (!doc.is_object()) throw ValueError("graph document is not an object");
  const auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer() || version->get<std::int64_t>() != kFormatVersion)
    throw ValueError(fmt::format("graph document: field 'version' is {}, expected {}",
                                 version == doc.end() ? "missing" : show(*version), kFormatVersion));
  const auto list = doc.find("layers");
  if (list == doc.end() || !list->is_array()) throw ValueError("graph document: field 'layers' is missing or not an array");
  std::vector<LayerPtr> layers;
  layers.reserve(list->size());
  for (std::size_t i = 0; i < list->size(); ++i) layers.push_back(LayerReader((*list)[i], i, layers).read());
  const auto outs = doc.find("outputs");
  if (outs == doc.end() || !outs->is_array()) throw ValueError("graph document: field 'outputs' is missing or not an array");
  std::vector<LayerPtr> outputs;
  for (std::size_t i = 0; i < outs->size(); ++i) {
    const json& o = (*outs)[i];
    if (!o.is_number_unsigned() || o.get<std::uint64_t>() >= layers.size())
      throw ValueError(fmt::format("graph document: field 'outputs[{}]' = {} does not name one of the {} layers", i,
                                   show(o), layers.size()));
    outputs.push_back(layers[o.get<std::size_t>()]);
  }
  return outputs;
}

}  // namespace cubist::graph
