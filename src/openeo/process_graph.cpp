#include "openeo/process_graph.hpp"

#include <fmt/format.h>

#include <fstream>
#include <functional>

#include "cubist/error.hpp"
#include "openeo/registry.hpp"

namespace cubist::openeo {
namespace {

std::string prefix(const ProcessGraph& g) { return g.where.empty() ? "" : g.where + ": "; }

std::shared_ptr<const ProcessGraph> parse_graph(const nlohmann::json& nodes, const std::string& where);

// A subtree holding no reference stays one literal JSON value.
ArgValue parse_argument(const nlohmann::json& j, const std::string& where) {
  ArgValue a;
  if (j.is_object()) {
    if (j.contains("from_node")) {
      if (!j["from_node"].is_string()) throw ValueError(fmt::format("{}: from_node must be a string", where));
      a.kind = ArgValue::Kind::FromNode;
      a.ref = j["from_node"].get<std::string>();
      return a;
    }
    if (j.contains("from_parameter")) {
      if (!j["from_parameter"].is_string()) throw ValueError(fmt::format("{}: from_parameter must be a string", where));
      a.kind = ArgValue::Kind::FromParameter;
      a.ref = j["from_parameter"].get<std::string>();
      return a;
    }
    if (j.contains("process_graph")) {
      a.kind = ArgValue::Kind::Callback;
      a.graph = parse_graph(j["process_graph"], where);
      return a;
    }
    a.kind = ArgValue::Kind::Object;
    bool literal = true;
    for (const auto& [k, v] : j.items()) {
      a.members.emplace_back(k, parse_argument(v, fmt::format("{}.{}", where, k)));
      if (a.members.back().second.kind != ArgValue::Kind::Literal) literal = false;
    }
    if (literal) {
      a = ArgValue{};
      a.literal = j;
    }
    return a;
  }
  if (j.is_array()) {
    a.kind = ArgValue::Kind::Array;
    bool literal = true;
    for (std::size_t i = 0; i < j.size(); ++i) {
      a.items.push_back(parse_argument(j[i], fmt::format("{}[{}]", where, i)));
      if (a.items.back().kind != ArgValue::Kind::Literal) literal = false;
    }
    if (literal) {
      a = ArgValue{};
      a.literal = j;
    }
    return a;
  }
  a.literal = j;
  return a;
}

std::shared_ptr<const ProcessGraph> parse_graph(const nlohmann::json& nodes, const std::string& where) {
  const std::string p = where.empty() ? "" : where + ": ";
  if (!nodes.is_object() || nodes.empty())
    throw ValueError(fmt::format("{}a process graph must be a non-empty object of nodes", p));
  auto g = std::make_shared<ProcessGraph>();
  g->where = where;
  for (const auto& [id, n] : nodes.items()) {
    if (!n.is_object()) throw ValueError(fmt::format("{}node '{}': must be an object", p, id));
    Node node;
    node.id = id;
    if (!n.contains("process_id") || !n["process_id"].is_string())
      throw ValueError(fmt::format("{}node '{}': process_id is missing or not a string", p, id));
    node.process_id = n["process_id"].get<std::string>();
    if (n.contains("result")) {
      if (!n["result"].is_boolean()) throw ValueError(fmt::format("{}node '{}': result must be true or false", p, id));
      node.result = n["result"].get<bool>();
    }
    node.raw_arguments = n.value("arguments", nlohmann::json::object());
    if (!node.raw_arguments.is_object())
      throw ValueError(fmt::format("{}node '{}': arguments must be an object", p, id));
    for (const auto& [name, v] : node.raw_arguments.items()) {
      const std::string arg_where = fmt::format("{}node '{}' argument '{}'", p, id, name);
      node.arguments.emplace_back(name, parse_argument(v, arg_where));
    }
    g->nodes.push_back(std::move(node));
  }
  return g;
}

// --- validation

// Literal JSON against an openEO parameter schema (an object or an array of alternatives).
bool matches(const nlohmann::json& v, const nlohmann::json& s) {
  if (s.is_array()) {
    for (const auto& alt : s)
      if (matches(v, alt)) return true;
    return false;
  }
  if (!s.is_object()) return true;
  const std::string subtype = s.value("subtype", "");
  if (subtype == "datacube" || subtype == "raster-cube" || subtype == "vector-cube" || subtype == "process-graph")
    return false;  // a literal can never be a cube or a callback
  if (s.contains("enum")) {
    bool found = false;
    for (const auto& e : s["enum"]) found = found || e == v;
    if (!found) return false;
  }
  if (!s.contains("type")) return true;
  std::vector<std::string> types;
  if (s["type"].is_array())
    for (const auto& t : s["type"]) types.push_back(t.get<std::string>());
  else
    types.push_back(s["type"].get<std::string>());
  for (const auto& t : types) {
    if ((t == "null" && v.is_null()) || (t == "boolean" && v.is_boolean()) || (t == "number" && v.is_number()) ||
        (t == "integer" && v.is_number() && v.get<double>() == static_cast<double>(static_cast<long long>(v.get<double>()))) ||
        (t == "string" && v.is_string()) || (t == "array" && v.is_array()) || (t == "object" && v.is_object()))
      return true;
  }
  return false;
}

bool accepts(const nlohmann::json& s, const std::function<bool(const nlohmann::json&)>& pred) {
  if (s.is_array()) {
    for (const auto& alt : s)
      if (accepts(alt, pred)) return true;
    return false;
  }
  return s.is_object() && pred(s);
}

bool has_type(const nlohmann::json& s, const std::string& type) {
  if (!s.contains("type")) return true;
  if (s["type"].is_string()) return s["type"] == type;
  for (const auto& t : s["type"])
    if (t == type) return true;
  return false;
}

// The parameter names a callback gets, from the first process-graph subschema found.
std::optional<std::vector<std::string>> callback_parameters(const nlohmann::json& s) {
  if (s.is_array()) {
    for (const auto& alt : s)
      if (auto r = callback_parameters(alt)) return r;
    return std::nullopt;
  }
  if (!s.is_object()) return std::nullopt;
  if (s.value("subtype", "") == "process-graph") {
    std::vector<std::string> names;
    for (const auto& p : s.value("parameters", nlohmann::json::array())) names.push_back(p.at("name").get<std::string>());
    return names;
  }
  for (const char* key : {"additionalProperties", "items"})
    if (s.contains(key))
      if (auto r = callback_parameters(s[key])) return r;
  return std::nullopt;
}

std::string schema_text(const nlohmann::json& s) {
  std::vector<std::string> parts;
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& x) {
    if (x.is_array()) {
      for (const auto& a : x) walk(a);
    } else if (x.contains("subtype")) {
      parts.push_back(x["subtype"].get<std::string>());
    } else if (x.contains("enum")) {
      std::string e;
      for (const auto& v : x["enum"]) e += (e.empty() ? "one of " : ", ") + (v.is_string() ? v.get<std::string>() : v.dump());
      parts.push_back(e);
    } else if (x.contains("type")) {
      if (x["type"].is_string()) parts.push_back(x["type"].get<std::string>());
      else
        for (const auto& t : x["type"]) parts.push_back(t.get<std::string>());
    } else {
      parts.push_back("any");
    }
  };
  walk(s);
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? " or " : "") + parts[i];
  return out;
}

std::string kind_text(const ArgValue& a) {
  if (a.kind == ArgValue::Kind::Callback) return "a process graph";
  if (a.kind == ArgValue::Kind::Array) return "an array";
  if (a.kind == ArgValue::Kind::Object) return "an object";
  return a.literal.dump();
}

void collect_node_refs(const ArgValue& a, std::vector<std::string>& out) {
  if (a.kind == ArgValue::Kind::FromNode) out.push_back(a.ref);
  for (const auto& i : a.items) collect_node_refs(i, out);
  for (const auto& [k, m] : a.members) collect_node_refs(m, out);
}

struct Validator {
  const ProcessGraph& g;
  std::set<std::string> params;

  [[noreturn]] void fail(const Node& n, const std::string& arg, const std::string& msg) const {
    if (arg.empty()) throw ValueError(fmt::format("{}node '{}' ({}): {}", prefix(g), n.id, n.process_id, msg));
    throw ValueError(fmt::format("{}node '{}' ({}): argument '{}': {}", prefix(g), n.id, n.process_id, arg, msg));
  }

  // References and callbacks anywhere inside one argument.
  void check_tree(const Node& n, const std::string& arg, const ArgValue& a, const nlohmann::json& s) const {
    switch (a.kind) {
      case ArgValue::Kind::FromNode:
        if (!g.find(a.ref)) fail(n, arg, fmt::format("from_node '{}' names no node of this process graph", a.ref));
        break;
      case ArgValue::Kind::FromParameter:
        if (!params.count(a.ref)) fail(n, arg, fmt::format("from_parameter '{}' names no parameter in scope", a.ref));
        break;
      case ArgValue::Kind::Callback: {
        auto names = callback_parameters(s);
        if (!names) fail(n, arg, fmt::format("got a process graph, expected {}", schema_text(s)));
        std::set<std::string> inner = params;
        inner.insert(names->begin(), names->end());
        validate(*a.graph, inner);
        break;
      }
      case ArgValue::Kind::Array: {
        nlohmann::json item_schema = nlohmann::json::object();
        if (s.is_object() && s.contains("items")) item_schema = s["items"];
        for (const auto& i : a.items) check_tree(n, arg, i, item_schema);
        break;
      }
      case ArgValue::Kind::Object: {
        nlohmann::json member_schema = nlohmann::json::object();
        if (s.is_object() && s.contains("additionalProperties")) member_schema = s["additionalProperties"];
        else if (s.is_array())
          for (const auto& alt : s)
            if (alt.is_object() && alt.contains("additionalProperties")) member_schema = alt["additionalProperties"];
        for (const auto& [k, m] : a.members) check_tree(n, arg, m, member_schema);
        break;
      }
      case ArgValue::Kind::Literal: break;
    }
  }

  void check_node(const Node& n) const {
    const ProcessDef* def = find_process(n.process_id);
    if (!def) fail(n, "", fmt::format("unknown process '{}' (`cubist processes` lists the supported ones)", n.process_id));
    for (const auto& [name, a] : n.arguments) {
      const Parameter* p = def->parameter(name);
      if (!p) fail(n, name, fmt::format("{} has no parameter '{}'", n.process_id, name));
      const nlohmann::json& s = p->schema;
      if (a.kind == ArgValue::Kind::Literal && !matches(a.literal, s))
        fail(n, name, fmt::format("wrong type: got {}, expected {}", kind_text(a), schema_text(s)));
      if (a.kind == ArgValue::Kind::Array && !accepts(s, [](const nlohmann::json& x) { return has_type(x, "array") && !x.contains("subtype"); }))
        fail(n, name, fmt::format("wrong type: got an array, expected {}", schema_text(s)));
      if (a.kind == ArgValue::Kind::Object && !accepts(s, [](const nlohmann::json& x) { return has_type(x, "object") && x.value("subtype", "") != "datacube" && x.value("subtype", "") != "process-graph"; }))
        fail(n, name, fmt::format("wrong type: got an object, expected {}", schema_text(s)));
      check_tree(n, name, a, s);
    }
    for (const auto& p : def->parameters)
      if (!p.optional && !n.argument(p.name)) fail(n, p.name, "missing required argument");
  }

  void check_cycles() const {
    std::map<std::string, int> state;  // 1: on the path, 2: done
    std::function<void(const Node&)> visit = [&](const Node& n) {
      state[n.id] = 1;
      for (const auto& [name, a] : n.arguments) {
        std::vector<std::string> refs;
        collect_node_refs(a, refs);
        for (const auto& r : refs) {
          const Node* dep = g.find(r);
          if (!dep) continue;
          if (state[r] == 1) fail(n, name, fmt::format("from_node '{}' closes a cycle", r));
          if (state[r] == 0) visit(*dep);
        }
      }
      state[n.id] = 2;
    };
    for (const auto& n : g.nodes)
      if (state[n.id] == 0) visit(n);
  }
};

}  // namespace

const ArgValue* Node::argument(const std::string& name) const {
  for (const auto& [k, v] : arguments)
    if (k == name) return &v;
  return nullptr;
}

const Node* ProcessGraph::find(const std::string& id) const {
  for (const auto& n : nodes)
    if (n.id == id) return &n;
  return nullptr;
}

const Node& ProcessGraph::result() const {
  for (const auto& n : nodes)
    if (n.result) return n;
  throw ValueError(fmt::format("{}no node has result: true", prefix(*this)));
}

std::shared_ptr<const ProcessGraph> parse_process_graph(const nlohmann::json& doc) {
  if (!doc.is_object()) throw ValueError("a process graph document must be a JSON object");
  if (doc.contains("process_graph") && doc["process_graph"].is_object()) return parse_graph(doc["process_graph"], "");
  if (doc.contains("process") && doc["process"].is_object() && doc["process"].contains("process_graph"))
    return parse_graph(doc["process"]["process_graph"], "");  // a batch job / sync request body
  return parse_graph(doc, "");
}

std::shared_ptr<const ProcessGraph> read_process_graph(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IOError(fmt::format("{}: cannot open the process graph", path));
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
  try {
    return parse_process_graph(doc);
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("{}: {}", path, e.what()));
  }
}

std::vector<GraphParameter> graph_parameters(const nlohmann::json& doc) {
  std::vector<GraphParameter> out;
  if (!doc.is_object() || !doc.contains("process_graph") || !doc.contains("parameters")) return out;
  const auto& ps = doc["parameters"];
  if (!ps.is_array()) throw ValueError("'parameters' must be an array of parameter objects");
  for (std::size_t i = 0; i < ps.size(); ++i) {
    if (!ps[i].is_object() || !ps[i].contains("name") || !ps[i]["name"].is_string())
      throw ValueError(fmt::format("parameters[{}]: needs a string 'name'", i));
    GraphParameter p{ps[i]["name"].get<std::string>(), std::nullopt};
    if (ps[i].contains("default")) p.default_value = ps[i]["default"];
    else if (ps[i].value("optional", false)) p.default_value = nullptr;
    out.push_back(std::move(p));
  }
  return out;
}

std::set<std::string> parameter_names(const std::vector<GraphParameter>& parameters) {
  std::set<std::string> names;
  for (const auto& p : parameters) names.insert(p.name);
  return names;
}

void validate(const ProcessGraph& g, const std::set<std::string>& parameters) {
  std::vector<std::string> results;
  for (const auto& n : g.nodes)
    if (n.result) results.push_back(n.id);
  if (results.empty()) throw ValueError(fmt::format("{}no node has result: true", prefix(g)));
  if (results.size() > 1)
    throw ValueError(fmt::format("{}nodes '{}' and '{}' both have result: true (exactly one may)", prefix(g),
                                 results[0], results[1]));
  Validator v{g, parameters};
  for (const auto& n : g.nodes) v.check_node(n);
  v.check_cycles();
}

}  // namespace cubist::openeo
