#include "graph/optimize.hpp"

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/expression.hpp"
#include "graph/chunk_box.hpp"
#include "graph/rewrite.hpp"

namespace cubist::graph {
namespace {

using core::Expression;
using core::ExprOp;

bool all_identity(const LayerInput& in) {
  for (const auto& d : in.axes)
    if (d.kind != DepKind::Identity) return false;
  return true;
}

// A rebuilt layer keeps the constant chunks of the layer it replaces.
LayerPtr keep_constant(const Layer& original, LayerPtr rebuilt) {
  return original.constant ? with_constant_chunks(*rebuilt, *original.constant) : rebuilt;
}

LayerPtr merge(const Layer& layer, std::vector<LayerInput> inputs,
               const std::unordered_map<const Layer*, int>& consumers,
               const std::unordered_set<const Layer*>& outputs) {
  Expression expr = Expression::from_json(layer.params.at("expr"));
  bool changed = false;
  for (std::size_t s = 0; s < inputs.size(); ++s) {
    const Layer& p = *inputs[s].layer;
    // A producer with constant chunks keeps its own layer: inlined, its chunks would be computed.
    if (p.kind != LayerKind::Elementwise || p.constant || outputs.count(&p) || !all_identity(inputs[s])) continue;
    auto it = consumers.find(&p);
    if (it == consumers.end() || it->second != 1) continue;
    // Producer p's inputs become inputs of this layer, their axes composed through p's mapping.
    std::vector<std::int32_t> slot_map;
    for (const auto& pin : p.inputs) {
      LayerInput composed{pin.layer, pin.axes};
      for (auto& d : composed.axes)
        if (d.kind != DepKind::All && d.kind != DepKind::Fixed) d.out_axis = inputs[s].axes[static_cast<std::size_t>(d.out_axis)].out_axis;
      std::int32_t slot = -1;
      for (std::size_t k = 0; k < inputs.size(); ++k)
        if (inputs[k].layer == composed.layer && inputs[k].axes == composed.axes) slot = static_cast<std::int32_t>(k);
      if (slot < 0) {
        slot = static_cast<std::int32_t>(inputs.size());
        inputs.push_back(std::move(composed));
      }
      slot_map.push_back(slot);
    }
    expr = expr.inline_input(static_cast<std::int32_t>(s), Expression::from_json(p.params.at("expr")), slot_map);
    changed = true;
  }
  if (!changed) return nullptr;
  // Drop inputs the merged program no longer reads, renumbering the rest.
  std::vector<std::int32_t> renumber(inputs.size(), -1);
  for (const auto& n : expr.nodes)
    if (n.op == ExprOp::Input) renumber[static_cast<std::size_t>(n.args[0])] = 0;
  std::vector<LayerInput> kept;
  for (std::size_t k = 0; k < inputs.size(); ++k)
    if (renumber[k] == 0) {
      renumber[k] = static_cast<std::int32_t>(kept.size());
      kept.push_back(inputs[k]);
    }
  for (auto& n : expr.nodes)
    if (n.op == ExprOp::Input) n.args[0] = renumber[static_cast<std::size_t>(n.args[0])];
  Params params = layer.params;
  params["expr"] = expr.to_json();
  return keep_constant(layer, make_layer({layer.label, layer.op, layer.kind, std::move(params), std::move(kept), layer.grid, layer.dtype, nullptr, 0}));
}

}  // namespace

std::vector<LayerPtr> fuse_elementwise(const std::vector<LayerPtr>& outputs) {
  auto order = topological_layers(outputs);
  std::unordered_map<const Layer*, int> consumers;
  for (const Layer* l : order)
    for (const auto& in : l->inputs) ++consumers[in.layer.get()];
  std::unordered_set<const Layer*> output_set;
  for (const auto& o : outputs) output_set.insert(o.get());

  GraphRewrite rewrite;
  for (const Layer* l : order) {
    bool inputs_changed = false;
    std::vector<LayerInput> inputs = rewrite.inputs_of(*l, inputs_changed);
    // The merge test uses the original consumer counts, keyed by the replacement layers.
    if (inputs_changed)
      for (std::size_t s = 0; s < inputs.size(); ++s) consumers[inputs[s].layer.get()] = consumers[l->inputs[s].layer.get()];
    LayerPtr merged;
    if (l->kind == LayerKind::Elementwise) merged = merge(*l, inputs, consumers, output_set);
    if (merged) {
      rewrite.replace(l, merged);
    } else if (inputs_changed) {
      rewrite.replace(l, GraphRewrite::rebuilt(*l, std::move(inputs)));
    }
    if (output_set.count(l)) output_set.insert(rewrite.current(l));
  }
  return rewrite.results(outputs);
}

// ---------------------------------------------------------------------------------------------
// Window push-down.

namespace {

using Chunks = std::vector<std::vector<std::int64_t>>;  // chunk sizes of the kept axes, in order

// A gather layer that only slices with step 1 and indexes axes away, as a window on its input
// (one entry per input axis; kept axes are the gather's output axes, in order).
std::optional<std::vector<AxisWindow>> selection_window(const Layer& g) {
  if (g.op != "gather" || g.inputs.size() != 1 || !g.params.contains("axes")) return std::nullopt;
  const auto& axes = g.params.at("axes");
  const Layer& in = *g.inputs[0].layer;
  if (!axes.is_array() || axes.size() != in.rank()) return std::nullopt;
  std::vector<AxisWindow> w;
  std::size_t next_out = 0;
  for (const auto& a : axes) {
    const int out = a.value("out_axis", -1);
    if (out < 0) {
      if (!a.contains("index")) return std::nullopt;
      w.push_back({a.at("index").get<std::int64_t>(), 1, true});
      continue;
    }
    if (static_cast<std::size_t>(out) != next_out++ || a.contains("indices") || a.value("step", 0) != 1) return std::nullopt;
    w.push_back({a.at("start").get<std::int64_t>(), g.grid.shape()[static_cast<std::size_t>(out)], false});
  }
  if (next_out != g.rank()) return std::nullopt;
  return w;
}

// The chunks of `grid` (the window of `l`'s output) lying in constant chunks of `l`, or nullopt
// when a chunk of the window lies partly in them: computed from the window's inputs, its part in
// a constant chunk would be the computed values, which a constant chunk only promises to equal.
std::optional<ConstantChunks> constant_under_window(const Layer& l, const std::vector<AxisWindow>& window,
                                                    const ChunkGrid& grid) {
  ConstantChunks out;
  out.value = l.constant->value;
  const std::size_t rank = l.rank();
  ChunkRanges range(rank);  // chunks of l along each axis
  for (std::int64_t c = 0; c < grid.total_chunks(); ++c) {
    const auto wi = grid.unravel(c);
    for (std::size_t a = 0, k = 0; a < rank; ++a) {
      std::int64_t lo = window[a].start, hi = lo + 1;
      if (!window[a].drop) {
        lo += grid.offset(k, wi[k]);
        hi = window[a].start + grid.offset(k, wi[k] + 1);
        ++k;
      }
      range[a] = {l.grid.chunk_of(a, lo), l.grid.chunk_of(a, hi - 1) + 1};
    }
    std::size_t overlapped = 0, constant = 0;
    for_each_chunk_in_box(l.grid, range, [&](std::int64_t lc) {
      ++overlapped;
      constant += l.constant->contains(lc);
    });
    if (constant == overlapped) out.chunks.push_back(c);
    else if (constant > 0) return std::nullopt;
  }
  return out;
}

class WindowPusher {
 public:
  WindowPusher(const SourceWindowFn& window_source, const std::vector<LayerPtr>& outputs)
      : window_source_(window_source) {
    for (const Layer* l : topological_layers(outputs))
      for (const auto& in : l->inputs) ++consumers_[in.layer.get()];
    for (const auto& o : outputs) ++consumers_[o.get()];  // an output is needed whole
  }

  // Remembers which original layer a rebuilt one stands for (its consumers are the original's).
  void rebuilt(const Layer* original, const Layer* replacement) {
    auto it = origin_.find(original);
    origin_[replacement] = it == origin_.end() ? original : it->second;
  }

  // `layer` producing just `window` of its output with `chunks` along the kept axes, or null
  // when some layer of the chain cannot.
  LayerPtr window(const LayerPtr& layer, const std::vector<AxisWindow>& window, const Chunks& chunks) {
    const Layer& l = *layer;
    if (window.size() != l.rank()) return nullptr;
    bool identity = true;
    for (std::size_t a = 0, k = 0; a < window.size(); ++a) {
      const AxisWindow& w = window[a];
      if (w.start < 0 || (!w.drop && (w.count <= 0 || w.start + w.count > l.grid.shape()[a])) ||
          (w.drop && w.start >= l.grid.shape()[a]))
        return nullptr;
      if (w.drop || w.start != 0 || w.count != l.grid.shape()[a] || chunks[k++] != l.grid.chunks(a)) identity = false;
    }
    if (identity) return layer;
    if (!l.constant) return window_of_kind(l, window, chunks);
    // A chunk of the window is constant when the chunks of `l` it overlaps are (one value per layer).
    auto constant = constant_under_window(l, window, ChunkGrid(chunks));
    if (!constant) return nullptr;
    LayerPtr w = window_of_kind(l, window, chunks);
    if (!w || constant->chunks.empty()) return w;
    return intern(with_constant_chunks(*w, std::move(*constant)));
  }

 private:
  LayerPtr window_of_kind(const Layer& l, const std::vector<AxisWindow>& window, const Chunks& chunks) {
    switch (l.kind) {
      case LayerKind::Source: {
        if (l.literal || !window_source_) return nullptr;
        auto params = window_source_(l, window);
        if (!params) return nullptr;
        return intern(make_layer({l.label, l.op, l.kind, std::move(*params), {}, ChunkGrid(chunks), l.dtype, nullptr, 0}));
      }
      case LayerKind::Elementwise: return window_elementwise(l, window, chunks);
      default: {
        auto sel = selection_window(l);
        return sel ? window_selection(l, *sel, window, chunks) : nullptr;
      }
    }
  }

  int consumers(const Layer& l) const {
    auto o = origin_.find(&l);
    auto it = consumers_.find(o == origin_.end() ? &l : o->second);
    return it == consumers_.end() ? 0 : it->second;
  }

  // The window moves onto every input (all aligned 1:1 with the output); the program is the same.
  LayerPtr window_elementwise(const Layer& l, const std::vector<AxisWindow>& window, const Chunks& chunks) {
    if (consumers(l) != 1) return nullptr;  // someone else needs it whole: it would be computed twice
    std::vector<int> new_axis(window.size(), -1);
    for (std::size_t a = 0, k = 0; a < window.size(); ++a)
      if (!window[a].drop) new_axis[a] = static_cast<int>(k++);
    std::vector<LayerInput> inputs;
    for (const auto& in : l.inputs) {
      std::vector<AxisWindow> w;
      Chunks c;
      std::vector<AxisDep> deps;
      for (const auto& d : in.axes) {
        if (d.kind != DepKind::Identity) return nullptr;
        const auto out = static_cast<std::size_t>(d.out_axis);
        w.push_back(window[out]);
        if (!window[out].drop) {
          c.push_back(chunks[static_cast<std::size_t>(new_axis[out])]);
          deps.push_back(AxisDep::identity(new_axis[out]));
        }
      }
      LayerPtr sub = this->window(in.layer, w, c);
      if (!sub) return nullptr;
      inputs.push_back({std::move(sub), std::move(deps)});
    }
    return intern(make_layer({l.label, l.op, l.kind, l.params, std::move(inputs), ChunkGrid(chunks), l.dtype, nullptr, 0}));
  }

  // A selection under the window: the two compose into one window on the selection's input.
  LayerPtr window_selection(const Layer& l, const std::vector<AxisWindow>& sel, const std::vector<AxisWindow>& window,
                            const Chunks& chunks) {
    std::vector<AxisWindow> w;
    Chunks c;
    std::size_t out = 0, kept = 0;
    for (const auto& s : sel) {
      if (s.drop) {
        w.push_back(s);
        continue;
      }
      const AxisWindow& o = window[out++];
      w.push_back({s.start + o.start, o.count, o.drop});
      if (!o.drop) c.push_back(chunks[kept++]);
    }
    return this->window(l.inputs[0].layer, w, c);
  }

  // One layer per key: a source windowed the same way for two consumers (nir - red, nir + red) is
  // read once.
  LayerPtr intern(LayerPtr layer) { return interned_.try_emplace(layer->key, layer).first->second; }

  const SourceWindowFn& window_source_;
  std::unordered_map<std::string, LayerPtr> interned_;
  std::unordered_map<const Layer*, int> consumers_;
  std::unordered_map<const Layer*, const Layer*> origin_;
};

}  // namespace

std::vector<LayerPtr> push_down_windows(const std::vector<LayerPtr>& outputs, const SourceWindowFn& window_source) {
  WindowPusher pusher(window_source, outputs);
  GraphRewrite rewrite;
  for (const Layer* l : topological_layers(outputs)) {
    bool inputs_changed = false;
    std::vector<LayerInput> inputs = rewrite.inputs_of(*l, inputs_changed);
    LayerPtr self = inputs_changed ? GraphRewrite::rebuilt(*l, std::move(inputs)) : nullptr;
    if (self) pusher.rebuilt(l, self.get());
    const Layer& now = self ? *self : *l;
    if (auto sel = selection_window(now)) {
      Chunks chunks = now.grid.all_chunks();
      if (LayerPtr pushed = pusher.window(now.inputs[0].layer, *sel, chunks)) {
        self = keep_constant(now, pushed);
        pusher.rebuilt(l, self.get());
      }
    }
    if (self) rewrite.replace(l, std::move(self));
  }
  return rewrite.results(outputs);
}

}  // namespace cubist::graph
