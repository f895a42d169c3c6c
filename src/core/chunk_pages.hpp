// Page-level help for chunks filled piece by piece (kernels' streamed assembly).
#pragma once
#include <cstddef>
#include <span>
#include <vector>

#include "cubist/chunk.hpp"

namespace cubist::detail {

struct ByteRange {
  std::size_t begin = 0, end = 0;
  bool operator==(const ByteRange&) const = default;
};

// The runs of whole pages (of `page` bytes) that `ranges` (sorted by begin) touch, touching or
// overlapping pages merged, keeping only runs of at least `min_run` bytes. An input of a
// streamed assembly that covers part of each output row writes one short range per row: its
// pages merge into one run only when the input reaches from row to row (it writes a page of
// every row); else they stay single pages, too short to be worth a move of their own.
inline std::vector<ByteRange> page_runs(std::span<const ByteRange> ranges, std::size_t page, std::size_t min_run) {
  std::vector<ByteRange> runs;
  ByteRange run;
  bool open = false;
  auto close = [&] {
    if (open && run.end - run.begin >= min_run) runs.push_back(run);
  };
  for (const ByteRange& r : ranges) {
    if (r.end <= r.begin) continue;
    const std::size_t b = r.begin / page * page, e = (r.end + page - 1) / page * page;
    if (open && b <= run.end) {
      run.end = std::max(run.end, e);
      continue;
    }
    close();
    run = {b, e};
    open = true;
  }
  close();
  return runs;
}

// Moves pages of freed chunk buffers into the not yet written pages that the byte ranges
// `written` (sorted by begin) of `sparse` touch, where they form runs of at least 256 KiB;
// `sparse` is a chunk made by Chunk::sparse_zeros (anything else is left alone). Those pages then
// hold stale bytes instead of zeros, and writing them faults nothing: a fresh page costs a fault
// plus the kernel zeroing it. Only pages the caller writes are backed, so the chunk becomes
// resident no earlier than it would by faulting. For a caller about to write those ranges, in an
// output every byte of which is written before it is read (a page the caller writes in part is
// finished by another writer). When `sparse` is freed, its pages go to the cache.
void back_unwritten_pages(const Chunk& sparse, std::span<const ByteRange> written);

}  // namespace cubist::detail
