#pragma once
#include <set>
#include <string>
#include <vector>

#include "cubist/data_array.hpp"

namespace cubist {

// The chunk grid a ChunkSpec asks for; `previous` (if any) supplies the chunks of unnamed dims
// and the aspect ratio for "auto", as dask's normalize_chunks(previous_chunks=...).
ChunkGrid resolve_chunks(const std::vector<std::string>& dims, const Shape& shape, DType dtype, const ChunkSpec& spec,
                         const ChunkGrid* previous);

std::vector<std::int64_t> auto_chunk_sizes(const Shape& shape, std::vector<std::int64_t> fixed, std::set<std::size_t> autos,
                                           std::int64_t limit, std::size_t item,
                                           const std::vector<std::vector<std::int64_t>>* previous);

}  // namespace cubist
