// Source inlining (graph/optimize.hpp): an elementwise layer that is the only reader of a Source
// reads that Source's rows itself while its program runs (kernels/ops/elementwise.cpp, params
// "sources"), so the Source's chunk is never allocated, written and read back.
#include <bit>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/expression.hpp"
#include "graph/constant_fold.hpp"
#include "graph/optimize.hpp"
#include "graph/rewrite.hpp"

namespace cubist::graph {
namespace {

using core::Expression;
using core::ExprOp;

// The Source is read 1:1, chunk for chunk, in the consumer's axis order.
bool aligned_one_to_one(const Layer& consumer, const LayerInput& in) {
  if (in.layer->grid != consumer.grid) return false;
  for (std::size_t a = 0; a < in.axes.size(); ++a)
    if (in.axes[a].kind != DepKind::Identity || in.axes[a].out_axis != static_cast<int>(a)) return false;
  return true;
}

class Inliner {
 public:
  Inliner(const std::vector<LayerPtr>& outputs, const SourceRowsFn& reads_rows)
      : order_(topological_layers(outputs)), reads_rows_(reads_rows) {
    for (const Layer* l : order_)
      for (const auto& in : l->inputs) ++consumers_[in.layer.get()];
    for (const auto& o : outputs) outputs_.insert(o.get());
    // The chunks the task graph would fold to constants, per layer: an inlined Source's constant
    // chunks are no longer seen there, so the consumer carries the folded ones as its own.
    const auto folded = fold_constant_chunks(order_);
    for (std::size_t i = 0; i < order_.size(); ++i) folded_[order_[i]] = folded[i];
  }

  const std::vector<const Layer*>& order() const { return order_; }

  // `l` (an elementwise layer, inputs already replaced) with the Sources only it reads inlined,
  // or null when there is none.
  LayerPtr inline_into(const Layer& l, const std::vector<LayerInput>& inputs) const {
    if (l.kind != LayerKind::Elementwise || l.op != "elementwise" || !l.params.contains("expr") ||
        l.params.contains("sources"))
      return nullptr;
    std::vector<bool> inline_slot(inputs.size(), false);
    bool any = false;
    for (std::size_t s = 0; s < inputs.size(); ++s) {
      const Layer& p = *inputs[s].layer;
      auto c = consumers_.find(&p);
      inline_slot[s] = p.kind == LayerKind::Source && !p.literal && !outputs_.count(&p) && c != consumers_.end() &&
                       c->second == 1 && aligned_one_to_one(l, inputs[s]) && reads_rows_(p);
      any = any || inline_slot[s];
    }
    if (!any) return nullptr;
    // Kept inputs keep their order as slots 0..m-1; inlined Sources follow as slots m, m+1, ...
    std::vector<std::int32_t> slot(inputs.size(), -1);
    std::vector<LayerInput> kept;
    nlohmann::json sources = nlohmann::json::array();
    for (std::size_t s = 0; s < inputs.size(); ++s)
      if (!inline_slot[s]) {
        slot[s] = static_cast<std::int32_t>(kept.size());
        kept.push_back(inputs[s]);
      }
    for (std::size_t s = 0; s < inputs.size(); ++s)
      if (inline_slot[s]) {
        const Layer& p = *inputs[s].layer;
        slot[s] = static_cast<std::int32_t>(kept.size() + sources.size());
        nlohmann::json source = {{"op", p.op}, {"params", p.params}, {"dtype", dtype_name(p.dtype)}};
        // Its constant chunks the program does not fold (say, only one input constant there) are
        // still the constant, not read: the kernel fills them (the value as bits: NaN in JSON is null).
        if (p.constant)
          source["constant"] = {{"chunks", p.constant->chunks}, {"value_bits", std::bit_cast<std::uint64_t>(p.constant->value)}};
        sources.push_back(std::move(source));
      }
    Expression expr = Expression::from_json(l.params.at("expr"));
    for (auto& n : expr.nodes)
      if (n.op == ExprOp::Input) n.args[0] = slot[static_cast<std::size_t>(n.args[0])];
    Params params = l.params;
    params["expr"] = expr.to_json();
    params["sources"] = std::move(sources);
    LayerPtr merged = make_layer({l.label, l.op, l.kind, std::move(params), std::move(kept), l.grid, l.dtype, nullptr, 0});
    const LayerConstants& c = folded_.at(&l);
    if (!c.any) return merged;
    ConstantChunks constant{{}, c.value};
    for (std::size_t k = 0; k < c.chunk.size(); ++k)
      if (c.chunk[k]) constant.chunks.push_back(static_cast<std::int64_t>(k));
    return with_constant_chunks(*merged, std::move(constant));
  }

 private:
  std::vector<const Layer*> order_;
  const SourceRowsFn& reads_rows_;
  std::unordered_map<const Layer*, int> consumers_;
  std::unordered_set<const Layer*> outputs_;
  std::unordered_map<const Layer*, LayerConstants> folded_;
};

}  // namespace

std::vector<LayerPtr> inline_sources(const std::vector<LayerPtr>& outputs, const SourceRowsFn& reads_rows) {
  Inliner inliner(outputs, reads_rows);
  GraphRewrite rewrite;
  for (const Layer* l : inliner.order()) {
    bool inputs_changed = false;
    std::vector<LayerInput> inputs = rewrite.inputs_of(*l, inputs_changed);
    // Sources have no inputs, so an inlined one is the original layer the consumer counts name.
    if (LayerPtr merged = inliner.inline_into(*l, inputs)) {
      rewrite.replace(l, std::move(merged));
    } else if (inputs_changed) {
      rewrite.replace(l, GraphRewrite::rebuilt(*l, std::move(inputs)));
    }
  }
  return rewrite.results(outputs);
}

}  // namespace cubist::graph
