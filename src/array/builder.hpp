// Internal helpers the array layer's files share to build DataArrays and their layers.
#pragma once
#include <string>
#include <vector>

#include "cubist/data_array.hpp"
#include "graph/layer.hpp"

namespace cubist {

struct ArrayBuilder {
  // A DataArray with the given parts (no validation beyond rank).
  static DataArray make(std::string name, std::vector<std::string> dims, Coords coords, Attrs attrs,
                        graph::LayerPtr layer);
  // Same labels as `like` (name, coords, attrs) over a new layer with the same dims.
  static DataArray with_layer(const DataArray& like, graph::LayerPtr layer);
  // A literal layer over in-memory chunks laid out on `grid`.
  static graph::LayerPtr literal_layer(std::vector<Chunk> chunks, ChunkGrid grid, DType dtype);
  // The layer that rechunks `source` to `grid` (returns `source` when the grid is unchanged).
  static graph::LayerPtr rechunk_layer(const graph::LayerPtr& source, const ChunkGrid& grid);
};

// Coordinates of `coords` that only use dims in `keep`.
Coords coords_on(const Coords& coords, const std::vector<std::string>& keep);

}  // namespace cubist
