#include "graph/optimize.hpp"

#include <unordered_map>
#include <unordered_set>

#include "core/expression.hpp"

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

  std::unordered_map<const Layer*, LayerPtr> rebuilt;  // old layer -> its optimised replacement
  auto current = [&](const LayerPtr& l) {
    auto it = rebuilt.find(l.get());
    return it == rebuilt.end() ? l : it->second;
  };
  for (const Layer* l : order) {
    std::vector<LayerInput> inputs = l->inputs;
    bool inputs_changed = false;
    for (auto& in : inputs) {
      auto now = current(in.layer);
      if (now != in.layer) {
        in.layer = now;
        inputs_changed = true;
      }
    }
    // The merge test uses the original consumer counts, keyed by the replacement layers.
    if (inputs_changed)
      for (std::size_t s = 0; s < inputs.size(); ++s) consumers[inputs[s].layer.get()] = consumers[l->inputs[s].layer.get()];
    LayerPtr merged;
    if (l->kind == LayerKind::Elementwise) merged = merge(*l, inputs, consumers, output_set);
    if (merged) {
      rebuilt[l] = merged;
    } else if (inputs_changed) {
      LayerSpec spec{l->label, l->op, l->kind, l->params, std::move(inputs), l->grid, l->dtype, l->literal, 0};
      rebuilt[l] = keep_constant(*l, make_layer(std::move(spec)));
    }
    if (auto it = rebuilt.find(l); it != rebuilt.end() && output_set.count(l)) output_set.insert(it->second.get());
  }
  std::vector<LayerPtr> result;
  for (const auto& o : outputs) result.push_back(current(o));
  return result;
}

}  // namespace cubist::graph
