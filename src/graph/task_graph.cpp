#include "graph/task_graph.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <functional>
#include <limits>
#include <queue>
#include <unordered_map>

#include "cubist/error.hpp"
#include "graph/chunk_box.hpp"
#include "graph/constant_fold.hpp"

namespace cubist::graph {
namespace {

constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

// Calls f(linear input chunk) for every input chunk that output chunk `out` of `layer` needs in `slot`.
template <class F>
void for_each_input_chunk(const Layer& layer, std::size_t slot, const std::vector<std::int64_t>& out, F&& f) {
  for_each_chunk_in_box(layer.inputs[slot].layer->grid, input_chunk_ranges(layer, slot, out), std::forward<F>(f));
}

// True when each consumer chunk reads exactly one chunk of this input.
bool is_one_to_one(const LayerInput& in) {
  for (std::size_t a = 0; a < in.axes.size(); ++a) {
    const AxisDep& d = in.axes[a];
    bool single = d.kind == DepKind::Identity || (d.kind == DepKind::All && in.layer->grid.num_chunks(a) == 1) ||
                  (d.kind == DepKind::Fixed && d.table[0].second - d.table[0].first == 1);
    if (!single) return false;
  }
  return true;
}

// Priority: post-order DFS from the output units, so one branch finishes (and frees its inputs)
// before the next starts, as dask.order aims to. The roots are taken in output order, except that
// once some roots' inputs are partly computed (inputs shared with roots already ordered: a
// rechunk's output chunks straddling the same input chunks), the started root with the fewest
// inputs still to compute goes next (ties: output order), as dask.order finishes what has
// started: its held inputs or partial assembly are released soonest, and it reads data next to
// what was just read (NDVI demo: the output chunk below, whose reads share the COG tile rows that
// straddle the chunk row in between, before the one to the right: 358 -> 348 tile decodes with
// the 32 MiB tile cache, 323 with 48 MiB; taking every chunk below first gave 331 at 32 MiB, but
// nothing in the graph says which neighbour shares a source's tiles).
void assign_priorities(TaskGraph& g) {
  const std::size_t nu = g.num_units();
  g.unit_priority.assign(nu, kNone);
  std::vector<std::uint32_t> roots;  // in output order, each once
  std::vector<char> is_root(nu, 0);
  for (const auto& ot : g.output_tasks)
    for (auto t : ot) {
      auto u = g.unit_of_task[t];
      if (!is_root[u]) roots.push_back(u);
      is_root[u] = 1;
    }
  // Per unit, the roots (by position in `roots`) reading it directly; per root, its distinct
  // direct inputs not ordered yet.
  std::vector<std::uint32_t> reader_begin(nu + 1, 0), readers, remaining(roots.size(), 0);
  {
    std::vector<std::uint32_t> last_seen(nu, kNone);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> edges;  // (input unit, root position)
    for (std::uint32_t r = 0; r < roots.size(); ++r)
      for (auto d = g.unit_dep_begin[roots[r]]; d < g.unit_dep_begin[roots[r] + 1]; ++d) {
        const auto v = g.unit_deps[d];
        if (last_seen[v] == r) continue;
        last_seen[v] = r;
        edges.emplace_back(v, r);
        ++remaining[r];
      }
    for (const auto& e : edges) ++reader_begin[e.first + 1];
    for (std::size_t u = 0; u < nu; ++u) reader_begin[u + 1] += reader_begin[u];
    readers.resize(edges.size());
    std::vector<std::uint32_t> fill(reader_begin.begin(), reader_begin.end() - 1);
    for (const auto& e : edges) readers[fill[e.first]++] = e.second;
  }
  // Started roots by (inputs left, position); entries go stale as counts drop and are skipped.
  using Entry = std::pair<std::uint32_t, std::uint32_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> started;
  std::vector<char> visited(nu, 0);
  std::uint32_t next = 0;
  auto mark = [&](std::uint32_t u) {
    visited[u] = 1;
    for (auto k = reader_begin[u]; k < reader_begin[u + 1]; ++k) {
      const auto r = readers[k];
      --remaining[r];
      if (!visited[roots[r]]) started.emplace(remaining[r], r);
    }
  };
  std::vector<std::pair<std::uint32_t, std::uint32_t>> dfs;
  std::size_t in_order = 0;  // roots before this position are ordered
  while (true) {
    std::uint32_t root = kNone;
    while (!started.empty() && root == kNone) {
      auto [left, r] = started.top();
      started.pop();
      if (!visited[roots[r]] && left == remaining[r]) root = roots[r];
    }
    while (root == kNone && in_order < roots.size())
      if (!visited[roots[in_order++]]) root = roots[in_order - 1];
    if (root == kNone) break;
    mark(root);
    dfs.emplace_back(root, g.unit_dep_begin[root]);
    while (!dfs.empty()) {
      auto& [u, d] = dfs.back();
      if (d < g.unit_dep_begin[u + 1]) {
        auto v = g.unit_deps[d++];
        if (!visited[v]) {
          mark(v);
          dfs.emplace_back(v, g.unit_dep_begin[v]);
        }
      } else {
        g.unit_priority[u] = next++;
        dfs.pop_back();
      }
    }
  }
}

}  // namespace

std::string TaskGraph::task_name(std::uint32_t t) const {
  const Task& task = tasks[t];
  const Layer& l = *layers[task.layer];
  return fmt::format("{}{}", l.key, format_index(l.grid.unravel(task.chunk)));
}

TaskGraph build_task_graph(const std::vector<LayerPtr>& outputs, const TaskGraphOptions& options) {
  TaskGraph g;
  g.owned = outputs;
  g.layers = topological_layers(outputs);
  const std::size_t nl = g.layers.size();
  std::unordered_map<const Layer*, std::uint32_t> layer_index;
  for (std::size_t i = 0; i < nl; ++i) layer_index[g.layers[i]] = static_cast<std::uint32_t>(i);

  // Constant chunks: each layer's own, plus elementwise chunks computed from constant chunks only.
  const std::vector<LayerConstants> constant = fold_constant_chunks(g.layers, options.fold_constants);
  auto is_constant = [&](std::size_t i, std::int64_t c) { return constant[i].chunk[static_cast<std::size_t>(c)] != 0; };
  // Input chunk `ic` of slot `s` that chunk `idx` of layer `i` need not read (ignores_constant_input),
  // unless it would read none at all.
  // (Indexed by the layers' topological positions, which the constant layers added below shift.)
  const std::vector<const Layer*> order = g.layers;
  std::vector<std::size_t> ignored_input(nl, nl);  // its input's position when layer i ignores constants
  if (options.fold_constants)
    for (std::size_t i = 0; i < nl; ++i) {
      const Layer& l = *order[i];
      if (l.inputs.size() != 1) continue;
      const std::size_t in = layer_index[l.inputs[0].layer.get()];
      if (constant[in].any && ignores_constant_input(l, constant[in].value)) ignored_input[i] = in;
    }
  auto skipped_input = [&](std::size_t i, const std::vector<std::int64_t>& idx) {
    std::vector<char> skip;
    const std::size_t in = ignored_input[i];
    if (in == nl) return skip;
    const Layer& l = *order[i];
    bool all = true;
    for_each_input_chunk(l, 0, idx, [&](std::int64_t ic) {
      skip.push_back(static_cast<char>(is_constant(in, ic)));
      all = all && skip.back();
    });
    if (all) skip.assign(skip.size(), 0);
    return skip;
  };

  // Cull: walk consumers before producers, marking the chunks each needs.
  std::vector<std::vector<char>> needed(nl);
  for (std::size_t i = 0; i < nl; ++i) needed[i].assign(static_cast<std::size_t>(g.layers[i]->grid.total_chunks()), 0);
  for (const auto& out : outputs) std::fill(needed[layer_index[out.get()]].begin(), needed[layer_index[out.get()]].end(), 1);
  for (std::size_t i = nl; i-- > 0;) {
    const Layer& l = *g.layers[i];
    for (std::int64_t c = 0; c < l.grid.total_chunks(); ++c) {
      if (!needed[i][static_cast<std::size_t>(c)]) continue;
      if (is_constant(i, c)) continue;  // reads nothing
      auto idx = l.grid.unravel(c);
      const std::vector<char> skip = skipped_input(i, idx);
      for (std::size_t s = 0; s < l.inputs.size(); ++s) {
        auto& dst = needed[layer_index[l.inputs[s].layer.get()]];
        std::size_t n = 0;
        for_each_input_chunk(l, s, idx, [&](std::int64_t ic) {
          if (skip.empty() || !skip[n++]) dst[static_cast<std::size_t>(ic)] = 1;
        });
      }
    }
  }

  // Constant chunks run as tasks of a "full" source layer over the same grid, placed just before
  // their layer: no inputs, and the runtime needs nothing new to run them.
  std::vector<const Layer*> original = std::move(g.layers);
  std::vector<std::uint32_t> constant_layer(nl, kNone);
  for (std::size_t i = 0; i < nl; ++i) {
    const Layer& l = *original[i];
    bool any = false;
    for (std::int64_t c = 0; constant[i].any && c < l.grid.total_chunks() && !any; ++c)
      any = needed[i][static_cast<std::size_t>(c)] && is_constant(i, c);
    if (any) {
      LayerSpec spec;
      spec.label = l.label + "-constant";
      spec.op = "full";
      spec.kind = LayerKind::Source;
      spec.params = {{"value", constant[i].value}};
      spec.grid = l.grid;
      spec.dtype = l.dtype;
      g.owned.push_back(make_layer(std::move(spec)));
      constant_layer[i] = static_cast<std::uint32_t>(g.layers.size());
      g.layers.push_back(g.owned.back().get());
    }
    layer_index[&l] = static_cast<std::uint32_t>(g.layers.size());
    g.layers.push_back(&l);
  }

  // Tasks in layer order (producers first), with deps in slot order.
  std::vector<std::vector<std::uint32_t>> task_of_layer(g.layers.size());
  for (std::size_t k = 0; k < nl; ++k) {
    const Layer& l = *original[k];
    const std::size_t i = layer_index[&l];
    auto& mine = task_of_layer[i];
    mine.assign(needed[k].size(), kNone);
    for (std::int64_t c = 0; c < l.grid.total_chunks(); ++c) {
      if (!needed[k][static_cast<std::size_t>(c)]) continue;
      if (is_constant(k, c)) {
        mine[static_cast<std::size_t>(c)] = static_cast<std::uint32_t>(g.tasks.size());
        auto d = static_cast<std::uint32_t>(g.deps.size());
        g.tasks.push_back(Task{constant_layer[k], c, d, d});
        continue;
      }
      Task t{static_cast<std::uint32_t>(i), c, static_cast<std::uint32_t>(g.deps.size()), 0};
      auto idx = l.grid.unravel(c);
      const std::vector<char> skip = skipped_input(k, idx);
      for (std::size_t s = 0; s < l.inputs.size(); ++s) {
        const auto& src = task_of_layer[layer_index[l.inputs[s].layer.get()]];
        std::size_t n = 0;
        for_each_input_chunk(l, s, idx, [&](std::int64_t ic) {
          if (!skip.empty() && skip[n++]) return;
          g.deps.push_back(src[static_cast<std::size_t>(ic)]);
          g.dep_slot.push_back(static_cast<std::uint16_t>(s));
        });
      }
      t.dep_end = static_cast<std::uint32_t>(g.deps.size());
      if (g.tasks.size() >= kNone - 1) throw Error("graph has more than 4 billion tasks");
      mine[static_cast<std::size_t>(c)] = static_cast<std::uint32_t>(g.tasks.size());
      g.tasks.push_back(t);
    }
  }
  for (const auto& out : outputs) g.output_tasks.push_back(task_of_layer[layer_index[out.get()]]);

  // Fusion: a task whose only consumer reads exactly it through a 1:1 dependency runs inside
  // that consumer's unit (dask's linear fusion: no scheduling, the chunk stays in cache).
  const std::size_t nt = g.tasks.size();
  std::vector<std::uint32_t> consumers(nt, 0), consumer(nt, kNone);
  std::vector<char> is_output(nt, 0);
  for (const auto& ot : g.output_tasks)
    for (auto t : ot) is_output[t] = 1;
  for (std::uint32_t t = 0; t < nt; ++t)
    for (auto d = g.tasks[t].dep_begin; d < g.tasks[t].dep_end; ++d) {
      ++consumers[g.deps[d]];
      consumer[g.deps[d]] = t;
    }
  std::vector<std::uint32_t> fused_into(nt, kNone);
  if (options.fuse) {
    for (std::uint32_t t = 0; t < nt; ++t) {
      if (consumers[t] != 1 || is_output[t]) continue;
      const std::uint32_t c = consumer[t];
      const Task& ct = g.tasks[c];
      const Layer& cl = *g.layers[ct.layer];
      for (auto d = ct.dep_begin; d < ct.dep_end; ++d)
        if (g.deps[d] == t && is_one_to_one(cl.inputs[g.dep_slot[d]])) fused_into[t] = c;
    }
  }
  // Units: each root (a task not fused into another) with its fused producers, producers first.
  g.unit_of_task.assign(nt, kNone);
  std::vector<std::uint32_t> stack;
  for (std::uint32_t t = 0; t < nt; ++t) {
    if (fused_into[t] != kNone) continue;
    const auto u = static_cast<std::uint32_t>(g.unit_begin.size());
    g.unit_begin.push_back(static_cast<std::uint32_t>(g.unit_members.size()));
    // Post-order over fused producers; they have lower ids than their consumer.
    std::vector<std::uint32_t> members;
    stack.assign(1, t);
    while (!stack.empty()) {
      auto x = stack.back();
      stack.pop_back();
      members.push_back(x);
      for (auto d = g.tasks[x].dep_begin; d < g.tasks[x].dep_end; ++d)
        if (fused_into[g.deps[d]] == x) stack.push_back(g.deps[d]);
    }
    std::sort(members.begin(), members.end());  // ids are topological
    for (auto m : members) {
      g.unit_members.push_back(m);
      g.unit_of_task[m] = u;
    }
  }
  g.unit_begin.push_back(static_cast<std::uint32_t>(g.unit_members.size()));
  const std::size_t nu = g.num_units();
  g.unit_dep_begin.reserve(nu + 1);
  for (std::size_t u = 0; u < nu; ++u) {
    g.unit_dep_begin.push_back(static_cast<std::uint32_t>(g.unit_deps.size()));
    for (auto m = g.unit_begin[u]; m < g.unit_begin[u + 1]; ++m) {
      const Task& task = g.tasks[g.unit_members[m]];
      for (auto d = task.dep_begin; d < task.dep_end; ++d)
        if (g.unit_of_task[g.deps[d]] != u) g.unit_deps.push_back(g.unit_of_task[g.deps[d]]);
    }
  }
  g.unit_dep_begin.push_back(static_cast<std::uint32_t>(g.unit_deps.size()));

  assign_priorities(g);
  return g;
}

}  // namespace cubist::graph
