// The openEO process graph format (API v1.2): parsing into nodes whose arguments are trees of
// literals, references (from_node, from_parameter) and child process graphs (callbacks), and
// validation against the process registry before anything runs.
#pragma once
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace cubist::openeo {

struct ProcessGraph;

// One argument value, with references and callbacks found once at parse time.
struct ArgValue {
  enum class Kind { Literal, FromNode, FromParameter, Callback, Array, Object };
  Kind kind = Kind::Literal;
  nlohmann::json literal;                 // Literal: a JSON value holding no reference
  std::string ref;                        // FromNode: node id; FromParameter: parameter name
  std::shared_ptr<const ProcessGraph> graph;  // Callback
  std::vector<ArgValue> items;            // Array
  std::vector<std::pair<std::string, ArgValue>> members;  // Object
};

struct Node {
  std::string id;
  std::string process_id;
  std::vector<std::pair<std::string, ArgValue>> arguments;  // in the order given
  nlohmann::json raw_arguments;
  bool result = false;
  const ArgValue* argument(const std::string& name) const;
};

struct ProcessGraph {
  std::vector<Node> nodes;  // sorted by id (nlohmann::json objects are ordered maps)
  std::string where;        // "" at the top; "node 'r' argument 'reducer'" for a callback
  const Node* find(const std::string& id) const;
  // The node with result: true (validate() has checked there is exactly one).
  const Node& result() const;
};

// A top-level {"process_graph": {...}} object (a process or a job) or a bare graph. Structural
// errors (not an object, node without process_id, ...) throw ValueError naming the node.
std::shared_ptr<const ProcessGraph> parse_process_graph(const nlohmann::json& doc);
std::shared_ptr<const ProcessGraph> read_process_graph(const std::string& path);  // IOError / ValueError naming the file

// Checks a parsed graph against the registry: exactly one result node, no dangling from_node, no
// cycle, known processes, no unknown/missing arguments, literal types matching the parameter
// schemas, from_parameter naming a parameter in scope; callbacks recursively. Throws ValueError
// with one line naming the node and the argument.
void validate(const ProcessGraph& graph, const std::set<std::string>& parameters = {});

// The parameters a process document declares ({"parameters": [{"name", "default", "optional"}]},
// as user-defined processes do): the graph reads them with from_parameter.
struct GraphParameter {
  std::string name;
  std::optional<nlohmann::json> default_value;  // set when optional (or given a default)
};
std::vector<GraphParameter> graph_parameters(const nlohmann::json& doc);
std::set<std::string> parameter_names(const std::vector<GraphParameter>& parameters);

}  // namespace cubist::openeo
