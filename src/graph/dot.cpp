#include "graph/dot.hpp"

#include <fmt/format.h>
#include <unordered_map>

#include "core/expression.hpp"
#include "core/format.hpp"

namespace cubist::graph {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string shape_color(const Layer& l) {
  switch (l.kind) {
    case LayerKind::Source: return "#c6dbef";
    case LayerKind::Elementwise: return "#c7e9c0";
    case LayerKind::Blockwise: return "#fdd0a2";
    case LayerKind::General: return "#dadaeb";
  }
  return "white";
}

}  // namespace

std::string layer_caption(const Layer& l) {
  std::string detail;
  if (l.op == "elementwise" && l.params.contains("expr")) {
    detail = core::Expression::from_json(l.params["expr"]).to_string();
    if (detail.size() > 60) detail = detail.substr(0, 57) + "...";
  } else if (l.op != l.label) {
    detail = l.op;
  }
  double bytes = static_cast<double>(shape_size(l.grid.shape())) * static_cast<double>(itemsize(l.dtype));
  std::string constant = l.constant ? fmt::format(" ({} constant)", l.constant->chunks.size()) : "";
  return fmt::format("{}{}\n{} {}\n{} chunks{}, {}", l.label, detail.empty() ? "" : "\n" + detail, dtype_name(l.dtype),
                     shape_to_string(l.grid.shape()), l.grid.total_chunks(), constant, core::format_bytes(bytes));
}

std::string layers_to_dot(const std::vector<LayerPtr>& outputs) {
  auto order = topological_layers(outputs);
  std::unordered_map<const Layer*, std::size_t> id;
  std::string dot = "digraph cubist {\n  rankdir=BT;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n";
  for (std::size_t i = 0; i < order.size(); ++i) {
    id[order[i]] = i;
    dot += fmt::format("  l{} [label=\"{}\", fillcolor=\"{}\"];\n", i, escape(layer_caption(*order[i])), shape_color(*order[i]));
  }
  for (const Layer* l : order)
    for (const auto& in : l->inputs) dot += fmt::format("  l{} -> l{};\n", id[in.layer.get()], id[l]);
  dot += "}\n";
  return dot;
}

std::string tasks_to_dot(const TaskGraph& g) {
  std::string dot = "digraph cubist {\n  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=10];\n";
  for (std::size_t u = 0; u < g.num_units(); ++u) {
    // Fused tasks share a cluster: they run as one unit on one thread.
    bool fused = g.unit_begin[u + 1] - g.unit_begin[u] > 1;
    if (fused) dot += fmt::format("  subgraph cluster_u{} {{ style=dashed; color=gray;\n", u);
    for (auto m = g.unit_begin[u]; m < g.unit_begin[u + 1]; ++m) {
      auto t = g.unit_members[m];
      const Task& task = g.tasks[t];
      const Layer& l = *g.layers[task.layer];
      dot += fmt::format("  t{} [shape=box, style=\"rounded,filled\", fillcolor=\"{}\", label=\"{}\\n{}\"];\n", t, shape_color(l),
                         escape(l.label), format_index(l.grid.unravel(task.chunk)));
    }
    if (fused) dot += "  }\n";
  }
  for (std::uint32_t t = 0; t < g.tasks.size(); ++t)
    for (auto d = g.tasks[t].dep_begin; d < g.tasks[t].dep_end; ++d) dot += fmt::format("  t{} -> t{};\n", g.deps[d], t);
  dot += "}\n";
  return dot;
}

}  // namespace cubist::graph
