#include "kernels/op_registry.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "cubist/error.hpp"

namespace cubist::kernels {

OpRegistry& OpRegistry::instance() {
  static OpRegistry registry;
  return registry;
}

void OpRegistry::add(OpDef def) {
  if (contains(def.name)) throw Error(fmt::format("op '{}' registered twice", def.name));
  ops_.push_back(std::make_unique<OpDef>(std::move(def)));
}

const OpDef& OpRegistry::get(std::string_view name) const {
  for (const auto& op : ops_)
    if (op->name == name) return *op;
  throw KeyError(fmt::format("unknown op '{}' (registered: {})", name, fmt::join(names(), ", ")));
}

bool OpRegistry::contains(std::string_view name) const {
  return std::any_of(ops_.begin(), ops_.end(), [&](const auto& op) { return op->name == name; });
}

std::vector<std::string> OpRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& op : ops_) out.push_back(op->name);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<nlohmann::json> window_source(const graph::Layer& source, const std::vector<graph::AxisWindow>& window) {
  const auto& registry = OpRegistry::instance();
  if (source.kind != graph::LayerKind::Source || !registry.contains(source.op)) return std::nullopt;
  const OpDef& def = registry.get(source.op);
  if (!def.window) return std::nullopt;
  return def.window(source.params, source.grid.shape(), window);
}

bool source_reads_rows(const graph::Layer& source) {
  const auto& registry = OpRegistry::instance();
  return source.kind == graph::LayerKind::Source && !source.literal && registry.contains(source.op) &&
         registry.get(source.op).rows != nullptr;
}

std::optional<nlohmann::json> same_params_window(const nlohmann::json& params, const Shape&,
                                                 const std::vector<graph::AxisWindow>&) {
  return params;
}

}  // namespace cubist::kernels
