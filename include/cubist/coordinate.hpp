// Coordinates: labels along dimensions, always held in memory (numeric, datetime64 or strings).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cubist/chunk.hpp"

namespace cubist {

using Attrs = nlohmann::json;  // a JSON object, as Zarr and CF store attributes

class Coordinate {
 public:
  Coordinate() = default;
  // Numeric or datetime64 values along `dims` (a rank-0 chunk with no dims is a scalar coordinate).
  Coordinate(std::vector<std::string> dims, Chunk values, Attrs attrs = Attrs::object());
  template <class T>
  static Coordinate from_vector(std::string dim, const std::vector<T>& values, Attrs attrs = Attrs::object()) {
    Chunk c = Chunk::allocate(dtype_of<T>(), {static_cast<std::int64_t>(values.size())});
    std::copy(values.begin(), values.end(), c.mutable_values<T>().begin());
    return Coordinate({std::move(dim)}, std::move(c), std::move(attrs));
  }
  static Coordinate strings(std::string dim, std::vector<std::string> values, Attrs attrs = Attrs::object());
  // datetime64[ns] labels from ISO 8601 text ("2020-01-05", "2020-01-05T10:00").
  static Coordinate datetimes(std::string dim, const std::vector<std::string>& iso, Attrs attrs = Attrs::object());
  static Coordinate datetimes_ns(std::string dim, std::vector<std::int64_t> ns, Attrs attrs = Attrs::object());

  const std::vector<std::string>& dims() const { return dims_; }
  Shape shape() const;
  std::int64_t size() const;
  bool is_string() const { return is_string_; }
  DType dtype() const { return values_.dtype(); }  // meaningless for string coordinates
  const Chunk& values() const { return values_; }
  const std::vector<std::string>& string_values() const { return strings_; }
  const Attrs& attrs() const { return attrs_; }
  std::string dtype_name() const;          // "float64", "datetime64[ns]", "<U8"-like "string"
  std::string format_value(std::int64_t flat_index) const;
  double numeric_value(std::int64_t flat_index) const;  // numeric/datetime as double

  // Positions `index` along axis `axis` (a new coordinate); `drop_axis` for a single integer index.
  Coordinate take(std::size_t axis, const std::vector<std::int64_t>& index, bool drop_axis) const;
  bool equals(const Coordinate& other) const;

 private:
  std::vector<std::string> dims_;
  Chunk values_;
  std::vector<std::string> strings_;
  Shape string_shape_;
  bool is_string_ = false;
  Attrs attrs_ = Attrs::object();
};

// Coordinates by name, in insertion order (as xarray shows them).
class Coords {
 public:
  Coords() = default;
  Coords(std::initializer_list<std::pair<std::string, Coordinate>> items);
  bool contains(const std::string& name) const;
  const Coordinate& at(const std::string& name) const;  // throws cubist::KeyError naming it
  void set(const std::string& name, Coordinate c);
  void erase(const std::string& name);
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<std::pair<std::string, Coordinate>> items_;
};

}  // namespace cubist
