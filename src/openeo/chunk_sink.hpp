// Writing a cube chunk by chunk as the scheduler computes it (save_result's GTiff and netCDF):
// a sink layer over the cube's chunks hands each finished chunk to a ChunkWriter from the worker
// thread that computed it, so only the chunks in flight are in memory, never the whole cube.
#pragma once
#include <cstdint>
#include <span>

#include "cubist/data_array.hpp"

namespace cubist::openeo {

class ChunkWriter {
 public:
  virtual ~ChunkWriter() = default;
  // One C-contiguous chunk of the cube, starting at `offset` (one entry per dim), in any order.
  // Calls are serialised (GDAL datasets are not thread-safe) unless thread_safe() says the
  // writer takes concurrent calls (and serialises its own I/O).
  virtual void write(const Chunk& chunk, std::span<const std::int64_t> offset) = 0;
  virtual bool thread_safe() const { return false; }
  // After the last chunk (flush, close): failures are thrown here.
  virtual void finish() {}
};

// Computes `data` and passes every chunk to `writer`; the first failure (of a task or of the
// writer) is rethrown once the run stops. `stats` (optional) receives the run's figures.
void write_chunks(const DataArray& data, ChunkWriter& writer, const ComputeOptions& compute, ComputeStats* stats = nullptr);

}  // namespace cubist::openeo
