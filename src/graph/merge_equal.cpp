// merge_equal_layers: one layer per key (graph/optimize.hpp).
#include <string>
#include <unordered_map>

#include "graph/optimize.hpp"

namespace cubist::graph {

std::vector<LayerPtr> merge_equal_layers(const std::vector<LayerPtr>& outputs) {
  // The owning pointer of every layer, to keep a layer that needs no change as it is.
  std::unordered_map<const Layer*, LayerPtr> owner;
  for (const auto& out : outputs)
    if (out) owner.emplace(out.get(), out);
  const auto order = topological_layers(outputs);
  for (const Layer* l : order)
    for (const auto& in : l->inputs) owner.emplace(in.layer.get(), in.layer);

  std::unordered_map<std::string, LayerPtr> kept_for_key;
  std::unordered_map<const Layer*, LayerPtr> replacement;  // every layer -> the one kept for its key
  for (const Layer* l : order) {
    if (auto it = kept_for_key.find(l->key); it != kept_for_key.end()) {
      replacement.emplace(l, it->second);
      continue;
    }
    // Producers come first, so every input has its replacement already. Keys hash the inputs'
    // keys, not the objects, so a copy reading the kept inputs keeps its key.
    bool changed = false;
    for (const auto& in : l->inputs) changed = changed || replacement.at(in.layer.get()) != in.layer;
    LayerPtr kept = owner.at(l);
    if (changed) {
      auto copy = std::make_shared<Layer>(*l);
      for (auto& in : copy->inputs) in.layer = replacement.at(in.layer.get());
      kept = std::move(copy);
    }
    replacement.emplace(l, kept);
    kept_for_key.emplace(l->key, std::move(kept));
  }
  std::vector<LayerPtr> result;
  result.reserve(outputs.size());
  for (const auto& out : outputs) result.push_back(out ? replacement.at(out.get()) : out);
  return result;
}

}  // namespace cubist::graph
