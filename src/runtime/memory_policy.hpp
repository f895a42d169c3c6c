// Which ready unit runs next: the scheduler's one decision, as a pure function so it can be
// tested without threads (DESIGN.md asks this of schedulers).
//
// Units are offered in priority order (depth-first, like dask.order: finishing one branch frees
// its inputs before the next starts). Under the memory budget the first one runs. Over it, only
// a unit that keeps the held bytes within the budget may run -- in practice a consumer whose
// inputs are released when it finishes -- so no new reads start while intermediates pile up.
// When nothing is running, the first unit runs anyway: waiting could never free anything, and
// the graph must finish. The first, not the one that grows least: depth-first, it is the step
// towards the output that frees memory soonest, while the smallest unit anywhere in the ready
// set (an edge chunk of another branch) starts work that then holds memory until its branch
// finishes -- with accumulating rechunks (OpDef::accumulate), every such read opened another
// partly filled output chunk (NDVI demo under a 128 MiB budget: 18 at once, 1.1 GiB).
#pragma once
#include <cstdint>
#include <optional>
#include <span>

namespace cubist::runtime {

struct UnitCandidate {
  std::uint32_t unit = 0;
  // Bytes the unit's result adds minus the bytes of the inputs it is the last consumer of.
  std::int64_t growth = 0;
};

// `ready` in priority order (best first); returns the index into `ready` to run, or nullopt to
// wait for a running unit to finish.
std::optional<std::size_t> choose_unit(std::span<const UnitCandidate> ready, std::int64_t held_bytes,
                                       std::int64_t budget_bytes, bool anything_running);

// The default budget for chunk bytes held at once by one execution: a quarter of the physical
// memory, at least 256 MiB (CUBIST_MEMORY_BUDGET, in bytes or with a K/M/G suffix, overrides it).
std::int64_t default_memory_budget();
// Parses "512M", "2G", "1048576"; nullopt when `text` is not such a size.
std::optional<std::int64_t> parse_byte_size(const char* text);

}  // namespace cubist::runtime
