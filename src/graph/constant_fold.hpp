// Constant chunks carried through elementwise layers: an elementwise chunk whose inputs are all
// constant chunks (or boolean inputs whose value does not change the result) is itself constant,
// so its inputs are never computed (a stack chunk no item footprint reaches -> NaN NDVI -> NaN
// after the clip's where, never read nor computed). Min/max reductions (reduce_partial,
// group_partial, reduce_combine, reduce_finalize) of float data carry constant chunks too: a state
// or result chunk all of whose input chunks are constant holds their value (the daily max of a
// day no item reaches stays NaN without merging NaN chunks). Ops that only move values (gather:
// rechunk and selections; transpose; concat) carry them as well.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "core/expression.hpp"
#include "graph/layer.hpp"

namespace cubist::graph {

// The value `expr` gives for every element when its inputs hold `inputs` (nullopt: an input that
// varies within the chunk). Boolean inputs that vary are tried with both values; any other varying
// input, a non-float64/bool node, or an op outside the exactly reproduced set gives nullopt.
std::optional<double> fold_expression(const core::Expression& expr, const std::vector<std::optional<double>>& inputs);

// Per layer of `layers` (producers before consumers), which chunks are constant and their value:
// the layer's own constant chunks plus elementwise and min/max reduction chunks folded from
// constant inputs (only those equal to the layer's own constant value when it has one; a layer
// has one value). With
// `fold` false, only the layers' own.
struct LayerConstants {
  std::vector<char> chunk;  // per linear chunk: 1 when constant
  double value = 0;
  bool any = false;
};
std::vector<LayerConstants> fold_constant_chunks(const std::vector<const Layer*>& layers, bool fold = true);

// True when merging an input chunk that holds `value` everywhere leaves every state of `l`
// unchanged, so a task need not read it: a skipna min/max group_partial of float data and a NaN
// chunk (a skipped null merges nothing; a group left without values stays null, as its all-null
// merge would). The demo's daily max of two items a day, one of which misses the chunk.
bool ignores_constant_input(const Layer& l, double value);

}  // namespace cubist::graph
