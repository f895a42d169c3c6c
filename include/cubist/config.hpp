// Process-wide defaults, like dask.config.
#pragma once
#include <cstdint>

namespace cubist::config {

// Target bytes per chunk for chunk("auto"), as dask's array.chunk-size (default 128 MiB).
std::int64_t chunk_size_bytes();
void set_chunk_size_bytes(std::int64_t bytes);

// Chunk bytes one computation may hold at once before the scheduler stops starting units that
// would hold more (new reads) while others run; 0 (the default) means the runtime's default:
// CUBIST_MEMORY_BUDGET (bytes, or with a K/M/G suffix), else a quarter of physical memory.
std::int64_t memory_budget_bytes();
void set_memory_budget_bytes(std::int64_t bytes);

// Worker threads of the shared pool: CUBIST_NUM_THREADS, else one per core.
unsigned num_threads();

}  // namespace cubist::config
