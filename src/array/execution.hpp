#pragma once
#include <vector>

#include "cubist/data_array.hpp"
#include "graph/layer.hpp"

namespace cubist {

// The layers as compute() runs them: equal layers merged, selections pushed into the reads,
// elementwise chains fused, Sources read row by row inside their one elementwise consumer
// (visualize draws the same).
std::vector<graph::LayerPtr> optimize_layers(const std::vector<graph::LayerPtr>& outputs);
// Runs the graphs of several outputs in one go (shared inputs computed once).
std::vector<std::vector<Chunk>> run_layers(const std::vector<graph::LayerPtr>& outputs, const ComputeOptions& options,
                                           ComputeStats* stats);
// One C-order chunk from the chunks of `grid` (by linear index).
Chunk assemble_chunks(const std::vector<Chunk>& chunks, const ChunkGrid& grid, DType dtype);

}  // namespace cubist
