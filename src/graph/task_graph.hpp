// The task level of the graph IR: one task per needed chunk of each layer, culled to what the
// requested outputs need, with blockwise chains fused into execution units.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "graph/layer.hpp"

namespace cubist::graph {

struct Task {
  std::uint32_t layer = 0;       // index into TaskGraph::layers
  std::int64_t chunk = 0;        // linear chunk index in the layer's grid
  std::uint32_t dep_begin = 0;   // deps[dep_begin, dep_end) in slot order, C order within a slot
  std::uint32_t dep_end = 0;
};

struct TaskGraphOptions {
  bool fuse = true;  // fuse single-consumer 1:1 producers into their consumer's unit
  // Chunks computed only from constant chunks become constant too (graph/constant_fold.hpp).
  bool fold_constants = true;
};

struct TaskGraph {
  std::vector<const Layer*> layers;            // producers before consumers
  std::vector<LayerPtr> owned;                 // keeps the (possibly optimised) layers alive
  std::vector<Task> tasks;                     // producers before consumers
  std::vector<std::uint32_t> deps;             // task ids
  std::vector<std::uint16_t> dep_slot;         // input slot of each dep
  std::vector<std::vector<std::uint32_t>> output_tasks;  // per requested output: task per linear chunk

  // Execution units: members[unit_begin[u], unit_begin[u+1]) run in order on one thread; the
  // last member is the unit's result. A unit waits for the units of its members' outside deps.
  std::vector<std::uint32_t> unit_begin;
  std::vector<std::uint32_t> unit_members;
  std::vector<std::uint32_t> unit_of_task;
  std::vector<std::uint32_t> unit_dep_begin;   // unit_deps[unit_dep_begin[u], unit_dep_begin[u+1])
  std::vector<std::uint32_t> unit_deps;        // unit ids, one per outside edge (with repeats)
  std::vector<std::uint32_t> unit_priority;    // lower runs first: depth-first, like dask.order

  std::size_t num_units() const { return unit_begin.empty() ? 0 : unit_begin.size() - 1; }
  std::string task_name(std::uint32_t t) const;  // "mean-1a2b...(0, 3)"
};

// Materialises the tasks that `outputs` need (all their chunks).
TaskGraph build_task_graph(const std::vector<LayerPtr>& outputs, const TaskGraphOptions& options = {});

}  // namespace cubist::graph
