// Layer-level optimisation before tasks are materialised.
#pragma once
#include <functional>
#include <optional>
#include <vector>

#include "graph/layer.hpp"

namespace cubist::graph {

// Merges chains of elementwise layers into single elementwise layers whose program does the
// whole chain in one pass over each chunk. A producer is merged only where nothing else needs
// its result, so no work is duplicated. Returns the optimised outputs, in order.
std::vector<LayerPtr> fuse_elementwise(const std::vector<LayerPtr>& outputs);

// The params with which a Source layer produces just `window` of its output (one entry per
// axis of the source), or nullopt when its op cannot (kernels::window_source asks the registry).
using SourceWindowFn = std::function<std::optional<Params>(const Layer& source, const std::vector<AxisWindow>& window)>;

// Window push-down: a selection (a "gather" layer whose every axis is a step-1 slice or an index)
// over a chain of elementwise layers and selections whose leaves are Sources that can be windowed
// is replaced by the same chain over Sources that produce the selected grid directly: reads are
// cut to the window, the selection's copy disappears and the chain stays 1:1 chunk by chunk (so
// fuse_elementwise and the task graph's units take it whole). Elementwise layers are rewritten
// only when nothing else needs them (no work is duplicated); a Source that is also needed whole
// elsewhere is read twice where the windows overlap. A chain with a leaf that cannot be windowed
// is left as it was. A layer with constant chunks below the selection is windowed with the
// window's chunks that lie wholly inside its constant chunks marked constant (a stack chunk no
// footprint reaches stays unread through the crop), unless a window chunk lies only partly in
// them (then the chain is left as it was); the selection's own constant chunks are
// carried over. Values are identical with and without the rewrite.
std::vector<LayerPtr> push_down_windows(const std::vector<LayerPtr>& outputs, const SourceWindowFn& window_source);

// True when a Source layer's op can produce its chunks row by row (kernels::source_reads_rows).
using SourceRowsFn = std::function<bool(const Layer& source)>;

// Source inlining, after fuse_elementwise: an elementwise layer reads the Sources that nothing else
// needs (and that it reads 1:1, chunk for chunk) row by row while its program runs, instead of
// their chunks being computed, held and read back (the NDVI's two band reads: 2 x 8 MiB written
// and read again per chunk). The inlined Sources go into the layer's params ("sources": op,
// params, dtype and constant chunks each; the program reads them as the slots after the
// remaining inputs, a constant chunk as its value without reading). The
// chunks the task graph would have folded to constants through the inlined Sources' constant
// chunks become the layer's own constant chunks, so they stay unread. Values are identical.
std::vector<LayerPtr> inline_sources(const std::vector<LayerPtr>& outputs, const SourceRowsFn& reads_rows);

}  // namespace cubist::graph

namespace cubist::graph {

// Common subexpressions: layers with the same key compute the same chunks (the key hashes op,
// params, input keys, deps, grid and dtype), so each key is kept once and every consumer reads
// that one layer. User code and the openEO evaluator build equal layers as separate objects
// (`cube.sel(band="red")` written twice); without this the runtime computes them twice and
// fusion inlines each copy. Values are identical; run first, so the other passes see the true
// consumer counts.
std::vector<LayerPtr> merge_equal_layers(const std::vector<LayerPtr>& outputs);

}  // namespace cubist::graph
