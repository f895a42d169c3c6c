// Evaluates a validated process graph once: every node's process runs on the resolved values of
// its arguments, data cubes stay lazy, and callbacks are evaluated once with whole arrays as
// their parameters (so they become cubist layers, not per-pixel interpreters).
#pragma once
#include <map>
#include <string>

#include "openeo/process_graph.hpp"
#include "openeo/registry.hpp"
#include "openeo/value.hpp"

namespace cubist::openeo {

// Parameters visible in a (child) process graph: its own, then those of the graphs around it.
struct Scope {
  const Scope* parent = nullptr;
  std::map<std::string, Value> values;
  const Value* find(const std::string& name) const;
};

class Evaluator {
 public:
  explicit Evaluator(RunContext& context) : context_(context) {}
  // The value of the graph's result node (every node is evaluated, in dependency order).
  Value evaluate(const ProcessGraph& graph, const Scope& scope);
  RunContext& context() { return context_; }

 private:
  RunContext& context_;
};

// Parses, validates and evaluates a graph document; the result node's value.
// `arguments` give values to the document's declared parameters (else their defaults).
Value evaluate_graph(const nlohmann::json& doc, RunContext& context,
                     const std::map<std::string, nlohmann::json>& arguments = {});

}  // namespace cubist::openeo
