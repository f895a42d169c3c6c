#include "openeo/registry.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "cubist/error.hpp"
#include "openeo/evaluator.hpp"

namespace cubist::openeo {
namespace {

std::map<std::string, ProcessDef>& registry() {
  static std::map<std::string, ProcessDef> r;
  return r;
}

}  // namespace

ProcessRegistration::ProcessRegistration(ProcessDef def) {
  std::string id = def.id;
  registry().emplace(std::move(id), std::move(def));
}

const ProcessDef* find_process(const std::string& id) {
  auto it = registry().find(id);
  return it == registry().end() ? nullptr : &it->second;
}

std::vector<const ProcessDef*> all_processes() {
  std::vector<const ProcessDef*> out;
  for (const auto& [id, def] : registry()) out.push_back(&def);
  return out;
}

const Parameter* ProcessDef::parameter(const std::string& name) const {
  for (const auto& p : parameters)
    if (p.name == name) return &p;
  return nullptr;
}

nlohmann::json ProcessDef::to_json() const {
  nlohmann::json params = nlohmann::json::array();
  for (const auto& p : parameters) {
    nlohmann::json j = {{"name", p.name}, {"description", p.description}, {"schema", p.schema}};
    if (p.optional) {
      j["optional"] = true;
      j["default"] = p.default_value;
    }
    params.push_back(std::move(j));
  }
  return {{"id", id},
          {"summary", summary},
          {"description", description.empty() ? summary : description},
          {"categories", categories},
          {"parameters", params},
          {"returns", returns}};
}

nlohmann::json processes_document() {
  nlohmann::json list = nlohmann::json::array();
  for (const auto* p : all_processes()) list.push_back(p->to_json());
  return {{"processes", list}, {"links", nlohmann::json::array()}};
}

namespace schema {
nlohmann::json cube() { return {{"type", "object"}, {"subtype", "datacube"}}; }
nlohmann::json number_or_null() { return {{"type", {"number", "null"}}}; }
nlohmann::json any() { return {{"description", "Any data type."}}; }
nlohmann::json boolean_or_null() { return {{"type", {"boolean", "null"}}}; }
nlohmann::json string() { return {{"type", "string"}}; }
nlohmann::json callback(const std::vector<std::string>& parameters) {
  nlohmann::json ps = nlohmann::json::array();
  for (const auto& p : parameters) ps.push_back({{"name", p}, {"schema", any()}, {"description", p}});
  return {{"type", "object"}, {"subtype", "process-graph"}, {"parameters", ps}};
}
nlohmann::json labeled_array() { return {{"type", "array"}, {"items", any()}}; }
nlohmann::json bbox() {
  return {{"type", "object"},
          {"subtype", "bounding-box"},
          {"required", {"west", "south", "east", "north"}},
          {"properties",
           {{"west", {{"type", "number"}}},
            {"south", {{"type", "number"}}},
            {"east", {{"type", "number"}}},
            {"north", {{"type", "number"}}},
            {"crs", {{"type", {"integer", "string"}}}}}}};
}
nlohmann::json geojson() { return {{"type", "object"}, {"subtype", "geojson"}}; }
nlohmann::json temporal_interval() {
  return {{"type", "array"}, {"subtype", "temporal-interval"}, {"minItems", 2}, {"maxItems", 2},
          {"items", {{"type", {"string", "null"}}}}};
}
}  // namespace schema

// --- Args

Args::Args(const ProcessDef& def, const Node& node, std::map<std::string, Value> values, Evaluator& evaluator,
           const Scope* scope)
    : def_(def), node_(node), values_(std::move(values)), evaluator_(evaluator), scope_(scope) {
  for (const auto& p : def.parameters)
    if (p.optional && !values_.count(p.name)) defaults_[p.name] = Value::from_json(p.default_value);
}

RunContext& Args::context() { return evaluator_.context(); }

bool Args::given(const std::string& name) const {
  auto it = values_.find(name);
  return it != values_.end() && !it->second.is_null();
}

const Value& Args::get(const std::string& name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  if (auto it = defaults_.find(name); it != defaults_.end()) return it->second;
  static const Value null_value;
  return null_value;
}

DataArray Args::cube(const std::string& name) const {
  const Value& v = get(name);
  if (!v.is_array_like()) fail(name, fmt::format("expected a data cube, got {}", v.describe()));
  return v.cube;
}

double Args::number(const std::string& name) const {
  const Value& v = get(name);
  if (v.kind != Value::Kind::Number) fail(name, fmt::format("expected a number, got {}", v.describe()));
  return v.scalar.get<double>();
}

std::optional<double> Args::optional_number(const std::string& name) const {
  if (get(name).is_null()) return std::nullopt;
  return number(name);
}

std::string Args::string(const std::string& name) const {
  const Value& v = get(name);
  if (v.kind != Value::Kind::String) fail(name, fmt::format("expected a string, got {}", v.describe()));
  return v.scalar.get<std::string>();
}

bool Args::boolean(const std::string& name) const {
  const Value& v = get(name);
  if (v.kind != Value::Kind::Boolean) fail(name, fmt::format("expected true or false, got {}", v.describe()));
  return v.scalar.get<bool>();
}

Value Args::call(const std::string& name, std::map<std::string, Value> parameters) const {
  const Value& v = get(name);
  if (v.kind != Value::Kind::Callback) fail(name, fmt::format("expected a process graph, got {}", v.describe()));
  Scope scope;
  scope.parent = scope_;
  scope.values = std::move(parameters);
  return evaluator_.evaluate(*v.callback, scope);
}

void Args::fail(const std::string& argument, const std::string& message) const {
  throw NodeError(fmt::format("node '{}' ({}): argument '{}': {}", node_.id, node_.process_id, argument, message));
}

}  // namespace cubist::openeo
