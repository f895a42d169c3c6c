#include "openeo/value.hpp"

#include <fmt/format.h>

#include "cubist/error.hpp"

namespace cubist::openeo {

Value Value::number(double v) {
  Value r;
  r.kind = Kind::Number;
  r.scalar = v;
  return r;
}
Value Value::boolean(bool v) {
  Value r;
  r.kind = Kind::Boolean;
  r.scalar = v;
  return r;
}
Value Value::string(std::string v) {
  Value r;
  r.kind = Kind::String;
  r.scalar = std::move(v);
  return r;
}
Value Value::of_cube(DataArray a) {
  Value r;
  r.kind = Kind::Cube;
  r.cube = std::move(a);
  return r;
}
Value Value::labeled(DataArray a, std::string dim) {
  Value r;
  r.kind = Kind::Labeled;
  r.cube = std::move(a);
  r.dim = std::move(dim);
  return r;
}

Value Value::from_json(const nlohmann::json& j) {
  if (j.is_null()) return null();
  if (j.is_boolean()) return boolean(j.get<bool>());
  if (j.is_number()) return number(j.get<double>());
  if (j.is_string()) return string(j.get<std::string>());
  Value r;
  if (j.is_array()) {
    r.kind = Kind::List;
    for (const auto& e : j) r.items.push_back(from_json(e));
  } else {
    r.kind = Kind::Object;
    for (const auto& [k, v] : j.items()) r.members.emplace_back(k, from_json(v));
  }
  return r;
}

const Value* Value::member(const std::string& name) const {
  for (const auto& [k, v] : members)
    if (k == name) return &v;
  return nullptr;
}

nlohmann::json Value::to_json() const {
  switch (kind) {
    case Kind::Null: return nullptr;
    case Kind::Boolean:
    case Kind::Number:
    case Kind::String: return scalar;
    case Kind::List: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& e : items) a.push_back(e.to_json());
      return a;
    }
    case Kind::Object: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& [k, v] : members) o[k] = v.to_json();
      return o;
    }
    default: throw TypeError(fmt::format("expected a plain value, got {}", describe()));
  }
}

std::string Value::describe() const {
  switch (kind) {
    case Kind::Null: return "null";
    case Kind::Boolean: return "a boolean";
    case Kind::Number: return "a number";
    case Kind::String: return "a string";
    case Kind::List: return "an array";
    case Kind::Object: return "an object";
    case Kind::Cube: return "a data cube";
    case Kind::Labeled: return fmt::format("the labeled array along '{}'", dim);
    case Kind::Grouped: return fmt::format("the groups along '{}'", dim);
    case Kind::Callback: return "a process graph";
  }
  return "a value";
}

}  // namespace cubist::openeo
