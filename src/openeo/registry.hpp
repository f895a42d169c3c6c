// The openEO processes cubist runs: each with its metadata as the openEO API publishes it
// (GET /processes: id, summary, categories, parameters with JSON schemas, returns) and its
// implementation over lazy DataArrays. Processes register themselves from their files
// (processes_*.cpp), as ops do in kernels/.
#pragma once
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cubist/error.hpp"
#include "openeo/process_graph.hpp"
#include "openeo/value.hpp"

namespace cubist::openeo {

class Evaluator;
class Args;
struct Scope;

// An error already naming its node (and argument): passed through as it is.
class NodeError : public ValueError {
 public:
  using ValueError::ValueError;
};

struct Parameter {
  std::string name, description;
  nlohmann::json schema;  // a JSON schema object, or an array of alternatives
  bool optional = false;
  nlohmann::json default_value;  // used when optional and not given
};

using ProcessImpl = std::function<Value(Args&)>;

struct ProcessDef {
  std::string id, summary, description;
  std::vector<std::string> categories;
  std::vector<Parameter> parameters;
  nlohmann::json returns;  // {"description": ..., "schema": ...}
  ProcessImpl impl;
  const Parameter* parameter(const std::string& name) const;
  nlohmann::json to_json() const;  // the openEO process description
};

const ProcessDef* find_process(const std::string& id);
std::vector<const ProcessDef*> all_processes();  // sorted by id
// {"processes": [...], "links": []}: the openEO API's GET /processes document.
nlohmann::json processes_document();

struct ProcessRegistration {
  explicit ProcessRegistration(ProcessDef def);
};

// Schema helpers for the metadata (openEO's JSON schema conventions).
namespace schema {
nlohmann::json cube();                 // {"type": "object", "subtype": "datacube"}
nlohmann::json number_or_null();
nlohmann::json any();                  // {"description": "Any data type."}
nlohmann::json boolean_or_null();
nlohmann::json string();
nlohmann::json callback(const std::vector<std::string>& parameters);  // subtype process-graph
nlohmann::json labeled_array();        // {"type": "array"} of any
nlohmann::json bbox();                 // subtype bounding-box
nlohmann::json geojson();              // subtype geojson
nlohmann::json temporal_interval();
}  // namespace schema

// Everything shared by one run: options from the command line and what save_result asked for.
struct RunContext {
  std::string stac_url;  // load_collection's STAC API (--stac-url / CUBIST_STAC_URL)
  struct Save {
    DataArray data;
    std::string format;  // upper case: ZARR
    nlohmann::json options;
    std::string node;
  };
  std::vector<Save> saves;
};

// The resolved arguments of one node, with helpers that fail with one line naming the node and
// the argument.
class Args {
 public:
  Args(const ProcessDef& def, const Node& node, std::map<std::string, Value> values, Evaluator& evaluator,
       const Scope* scope);

  const Node& node() const { return node_; }
  RunContext& context();
  bool given(const std::string& name) const;  // given and not null
  const Value& get(const std::string& name) const;  // the default when not given
  DataArray cube(const std::string& name) const;
  double number(const std::string& name) const;
  std::optional<double> optional_number(const std::string& name) const;
  std::string string(const std::string& name) const;
  bool boolean(const std::string& name) const;
  // Evaluates the callback passed as `name` with these parameters (lazy arrays in, lazy out).
  Value call(const std::string& name, std::map<std::string, Value> parameters) const;
  [[noreturn]] void fail(const std::string& argument, const std::string& message) const;

 private:
  const ProcessDef& def_;
  const Node& node_;
  std::map<std::string, Value> values_;
  std::map<std::string, Value> defaults_;
  Evaluator& evaluator_;
  const Scope* scope_;  // the parameters visible where the node is (callbacks see them too)
};

}  // namespace cubist::openeo
