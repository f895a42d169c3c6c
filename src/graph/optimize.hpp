// Layer-level optimisation before tasks are materialised.
#pragma once
#include <vector>

#include "graph/layer.hpp"

namespace cubist::graph {

// Merges chains of elementwise layers into single elementwise layers whose program does the
// whole chain in one pass over each chunk. A producer is merged only where nothing else needs
// its result, so no work is duplicated. Returns the optimised outputs, in order.
std::vector<LayerPtr> fuse_elementwise(const std::vector<LayerPtr>& outputs);

}  // namespace cubist::graph
