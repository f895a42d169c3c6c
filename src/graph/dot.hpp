// Drawing graphs as graphviz DOT, like dask's visualize(): tasks for small graphs, layers for large.
#pragma once
#include <string>
#include <vector>

#include "graph/layer.hpp"
#include "graph/task_graph.hpp"

namespace cubist::graph {

std::string layers_to_dot(const std::vector<LayerPtr>& outputs);
std::string tasks_to_dot(const TaskGraph& graph);
// A short label for a layer's node: "mean (partial)\n64 chunks" and its op details.
std::string layer_caption(const Layer& layer);

}  // namespace cubist::graph
