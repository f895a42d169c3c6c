// Iterating over a box of chunks: the chunks of a grid between per-axis index ranges.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "cubist/chunk_grid.hpp"

namespace cubist::graph {

// Per axis, the chunk indices [first, second).
using ChunkRanges = std::vector<std::pair<std::int64_t, std::int64_t>>;

// Calls f(linear chunk of `grid`) for every chunk in the box, in C order (last axis fastest);
// nothing when a range is empty, once for a rank-0 grid.
template <class F>
void for_each_chunk_in_box(const ChunkGrid& grid, const ChunkRanges& ranges, F&& f) {
  std::vector<std::int64_t> idx(ranges.size());
  for (std::size_t a = 0; a < ranges.size(); ++a) {
    if (ranges[a].first >= ranges[a].second) return;
    idx[a] = ranges[a].first;
  }
  while (true) {
    f(grid.ravel(idx));
    std::size_t a = ranges.size();
    while (a > 0) {
      --a;
      if (++idx[a] < ranges[a].second) break;
      idx[a] = ranges[a].first;
      if (a == 0) return;
    }
    if (ranges.empty()) return;
  }
}

}  // namespace cubist::graph
