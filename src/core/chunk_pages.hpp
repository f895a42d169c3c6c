// Page-level help for chunks filled piece by piece (kernels' streamed assembly).
#pragma once
#include <cstddef>

#include "cubist/chunk.hpp"

namespace cubist::detail {

// Moves pages of freed chunk buffers into the not yet written whole pages of bytes [begin, end)
// of `sparse`, a chunk made by Chunk::sparse_zeros (anything else is left alone): those pages
// then hold stale bytes instead of zeros, and writing them faults nothing. For a caller about to
// write that range, in an output every byte of which is written before it is read: a fresh page
// costs a fault plus the kernel zeroing it. When `sparse` is freed, its pages go to the cache.
void back_unwritten_pages(const Chunk& sparse, std::size_t begin, std::size_t end);

}  // namespace cubist::detail
