// Layer graphs as plain JSON, so a graph built in one process runs in another (the distributed
// runtime ships exactly this; DESIGN.md roadmap 5). Layers keep their keys: the receiver's
// TaskGraph is the sender's, task for task, except that layers the sender held as distinct
// objects with one key (the same computation built twice) arrive as one layer.
#pragma once
#include <nlohmann/json.hpp>
#include <vector>

#include "graph/layer.hpp"

namespace cubist::graph {

// Every layer reachable from `outputs` once (by key), producers first; literal chunks as JSON
// binary values (MessagePack bin), constant chunks, deps, grids, dtypes, keys.
nlohmann::json to_wire(const std::vector<LayerPtr>& outputs);

// The outputs again. Validates everything (unknown dtype or dep kind, inputs referring to layers
// not yet defined, grids and deps that do not fit, literal sizes, a key that does not match its
// content): one cubist::ValueError line naming the layer index/key and the field. Op names are
// checked where ops are known (the runtime, when it prepares the layers).
std::vector<LayerPtr> from_wire(const nlohmann::json& doc);

}  // namespace cubist::graph
