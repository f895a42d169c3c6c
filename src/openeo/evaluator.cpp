#include "openeo/evaluator.hpp"

#include <fmt/format.h>

#include <functional>

#include "cubist/error.hpp"

namespace cubist::openeo {

const Value* Scope::find(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent)
    if (auto it = s->values.find(name); it != s->values.end()) return &it->second;
  return nullptr;
}

Value Evaluator::evaluate(const ProcessGraph& graph, const Scope& scope) {
  std::map<std::string, Value> done;
  std::function<const Value&(const Node&)> run;

  std::function<Value(const ArgValue&, const Node&, const std::string&)> resolve =
      [&](const ArgValue& a, const Node& node, const std::string& arg) -> Value {
    switch (a.kind) {
      case ArgValue::Kind::Literal: return Value::from_json(a.literal);
      case ArgValue::Kind::FromNode: return run(*graph.find(a.ref));
      case ArgValue::Kind::FromParameter: {
        const Value* v = scope.find(a.ref);
        if (!v)
          throw NodeError(fmt::format("node '{}' ({}): argument '{}': parameter '{}' has no value here", node.id,
                                      node.process_id, arg, a.ref));
        return *v;
      }
      case ArgValue::Kind::Callback: {
        Value v;
        v.kind = Value::Kind::Callback;
        v.callback = a.graph;
        return v;
      }
      case ArgValue::Kind::Array: {
        Value v;
        v.kind = Value::Kind::List;
        for (const auto& i : a.items) v.items.push_back(resolve(i, node, arg));
        return v;
      }
      case ArgValue::Kind::Object: {
        Value v;
        v.kind = Value::Kind::Object;
        for (const auto& [k, m] : a.members) v.members.emplace_back(k, resolve(m, node, arg));
        return v;
      }
    }
    return Value::null();
  };

  run = [&](const Node& node) -> const Value& {
    if (auto it = done.find(node.id); it != done.end()) return it->second;
    const ProcessDef* def = find_process(node.process_id);
    if (!def) throw NodeError(fmt::format("node '{}': unknown process '{}'", node.id, node.process_id));
    std::map<std::string, Value> values;
    for (const auto& [name, a] : node.arguments) values[name] = resolve(a, node, name);
    Args args(*def, node, std::move(values), *this, &scope);
    Value result;
    try {
      result = def->impl(args);
    } catch (const NodeError&) {
      throw;
    } catch (const Error& e) {
      throw NodeError(fmt::format("node '{}' ({}): {}", node.id, node.process_id, e.what()));
    }
    return done.emplace(node.id, std::move(result)).first->second;
  };

  try {
    for (const auto& n : graph.nodes) run(n);
  } catch (const NodeError& e) {
    if (graph.where.empty()) throw;
    throw NodeError(fmt::format("{}: {}", graph.where, e.what()));
  }
  return done.at(graph.result().id);
}

Value evaluate_graph(const nlohmann::json& doc, RunContext& context, const std::map<std::string, nlohmann::json>& arguments) {
  auto graph = parse_process_graph(doc);
  const auto declared = graph_parameters(doc);
  validate(*graph, parameter_names(declared));
  Scope scope;
  for (const auto& p : declared) {
    if (auto it = arguments.find(p.name); it != arguments.end()) scope.values[p.name] = Value::from_json(it->second);
    else if (p.default_value) scope.values[p.name] = Value::from_json(*p.default_value);
    else throw ValueError(fmt::format("parameter '{}' has no default: give it a value (--param {}=VALUE)", p.name, p.name));
  }
  for (const auto& [name, v] : arguments)
    if (!scope.values.count(name)) throw ValueError(fmt::format("parameter '{}' is not declared by the process graph", name));
  Evaluator evaluator(context);
  return evaluator.evaluate(*graph, scope);
}

}  // namespace cubist::openeo
