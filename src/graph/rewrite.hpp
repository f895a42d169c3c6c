// The bookkeeping every layer-rewriting pass shares (fuse_elementwise, push_down_windows,
// inline_sources): visiting layers producers first, each sees its inputs already pointing at
// their replacements; a layer the pass leaves alone is rebuilt only when an input changed.
#pragma once
#include <unordered_map>
#include <utility>
#include <vector>

#include "graph/layer.hpp"

namespace cubist::graph {

class GraphRewrite {
 public:
  // The layer that replaces `l` so far (`l` itself when none).
  LayerPtr current(const LayerPtr& l) const {
    auto it = replaced_.find(l.get());
    return it == replaced_.end() ? l : it->second;
  }
  const Layer* current(const Layer* l) const {
    auto it = replaced_.find(l);
    return it == replaced_.end() ? l : it->second.get();
  }

  // `l`'s inputs pointing at their replacements; `changed` tells whether any input was replaced.
  std::vector<LayerInput> inputs_of(const Layer& l, bool& changed) const {
    std::vector<LayerInput> inputs = l.inputs;
    changed = false;
    for (auto& in : inputs) {
      LayerPtr now = current(in.layer);
      changed = changed || now != in.layer;
      in.layer = std::move(now);
    }
    return inputs;
  }

  void replace(const Layer* old, LayerPtr now) { replaced_[old] = std::move(now); }

  // `l` over other inputs, its constant chunks kept.
  static LayerPtr rebuilt(const Layer& l, std::vector<LayerInput> inputs) {
    LayerPtr self = make_layer({l.label, l.op, l.kind, l.params, std::move(inputs), l.grid, l.dtype, l.literal, l.token});
    return l.constant ? with_constant_chunks(*self, *l.constant) : self;
  }

  std::vector<LayerPtr> results(const std::vector<LayerPtr>& outputs) const {
    std::vector<LayerPtr> out;
    for (const auto& o : outputs) out.push_back(current(o));
    return out;
  }

 private:
  std::unordered_map<const Layer*, LayerPtr> replaced_;
};

}  // namespace cubist::graph
