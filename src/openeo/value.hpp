// The values an openEO process graph passes between nodes while it is evaluated.
//
// Data cubes are cubist DataArrays. They keep cubist's dimension names (stack()'s `time`, `band`,
// `y`, `x`); openEO's names `t` and `bands` are mapped onto them where a process takes a dimension
// (see cube.hpp), so a graph's output is exactly what the C++ API writes for the same pipeline.
// Inside callbacks the same lazy arrays flow: a reducer's `data` is the whole cube tagged with the
// dimension it runs along (Kind::Labeled), so `mean(data)` becomes one lazy reduction and
// `multiply(x, 2)` one fused elementwise layer; nothing is interpreted per pixel.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cubist/data_array.hpp"

namespace cubist::openeo {

struct ProcessGraph;  // process_graph.hpp

struct Value {
  enum class Kind { Null, Boolean, Number, String, List, Object, Cube, Labeled, Grouped, Callback };
  Kind kind = Kind::Null;
  nlohmann::json scalar;                              // Boolean, Number, String
  std::vector<Value> items;                           // List
  std::vector<std::pair<std::string, Value>> members;  // Object
  DataArray cube;           // Cube; Labeled: the array along `dim`; Grouped: the grouped array
  std::string dim;          // Labeled, Grouped: the dimension the process works along
  std::shared_ptr<const GroupBy> groups;              // Grouped: the temporal periods
  std::shared_ptr<const ProcessGraph> callback;       // Callback

  static Value null() { return {}; }
  static Value number(double v);
  static Value boolean(bool v);
  static Value string(std::string v);
  static Value of_cube(DataArray a);
  static Value labeled(DataArray a, std::string dim);
  static Value from_json(const nlohmann::json& j);  // literal JSON (arrays -> List, objects -> Object)

  bool is_null() const { return kind == Kind::Null; }
  bool is_array_like() const { return kind == Kind::Cube || kind == Kind::Labeled; }
  const Value* member(const std::string& name) const;
  nlohmann::json to_json() const;  // literal values only (TypeError for cubes and callbacks)
  std::string describe() const;    // "a number", "a data cube", ... for error messages
};

}  // namespace cubist::openeo
