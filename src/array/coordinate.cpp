#include "cubist/coordinate.hpp"

#include <cstring>
#include <fmt/format.h>

#include "cubist/datetime.hpp"
#include "cubist/error.hpp"

namespace cubist {

Coordinate::Coordinate(std::vector<std::string> dims, Chunk values, Attrs attrs)
    : dims_(std::move(dims)), values_(std::move(values)), attrs_(attrs.is_object() ? std::move(attrs) : Attrs::object()) {
  if (values_.empty()) throw ValueError("coordinate without values");
  if (dims_.size() != values_.rank())
    throw DimensionError(fmt::format("coordinate has {} dimension names for values of rank {}", dims_.size(), values_.rank()));
}

Coordinate Coordinate::strings(std::string dim, std::vector<std::string> values, Attrs attrs) {
  Coordinate c;
  c.dims_ = {std::move(dim)};
  c.string_shape_ = {static_cast<std::int64_t>(values.size())};
  c.strings_ = std::move(values);
  c.is_string_ = true;
  c.attrs_ = attrs.is_object() ? std::move(attrs) : Attrs::object();
  return c;
}

Coordinate Coordinate::datetimes(std::string dim, const std::vector<std::string>& iso, Attrs attrs) {
  std::vector<std::int64_t> ns;
  ns.reserve(iso.size());
  for (const auto& s : iso) ns.push_back(datetime_ns(s));
  return datetimes_ns(std::move(dim), std::move(ns), std::move(attrs));
}

Coordinate Coordinate::datetimes_ns(std::string dim, std::vector<std::int64_t> ns, Attrs attrs) {
  Chunk c = Chunk::allocate(DType::DateTime64, {static_cast<std::int64_t>(ns.size())});
  std::copy(ns.begin(), ns.end(), c.mutable_values<std::int64_t>().begin());
  return Coordinate({std::move(dim)}, std::move(c), std::move(attrs));
}

Shape Coordinate::shape() const { return is_string_ ? string_shape_ : values_.shape(); }
std::int64_t Coordinate::size() const { return is_string_ ? static_cast<std::int64_t>(strings_.size()) : values_.size(); }

std::string Coordinate::dtype_name() const { return is_string_ ? "string" : std::string(cubist::dtype_name(dtype())); }

double Coordinate::numeric_value(std::int64_t i) const {
  if (is_string_) throw TypeError("string coordinate has no numeric values");
  return visit_dtype(dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    return static_cast<double>(values_.values<T>()[static_cast<std::size_t>(i)]);
  });
}

std::string Coordinate::format_value(std::int64_t i) const {
  if (is_string_) return strings_[static_cast<std::size_t>(i)];
  if (dtype() == DType::DateTime64) return format_datetime(values_.values<std::int64_t>()[static_cast<std::size_t>(i)]);
  return visit_dtype(dtype(), [&](auto tag) -> std::string {
    using T = typename decltype(tag)::type;
    T v = values_.values<T>()[static_cast<std::size_t>(i)];
    if constexpr (std::is_floating_point_v<T>) return fmt::format("{:.6g}", v);
    else if constexpr (std::is_same_v<T, bool>) return v ? "True" : "False";
    else return fmt::format("{}", v);
  });
}

Coordinate Coordinate::take(std::size_t axis, const std::vector<std::int64_t>& index, bool drop_axis) const {
  Shape in_shape = shape();
  Shape out_shape = in_shape;
  out_shape[axis] = static_cast<std::int64_t>(index.size());
  std::int64_t outer = 1, inner = 1;
  for (std::size_t a = 0; a < axis; ++a) outer *= in_shape[a];
  for (std::size_t a = axis + 1; a < in_shape.size(); ++a) inner *= in_shape[a];
  std::vector<std::string> dims = dims_;
  if (drop_axis) {
    out_shape.erase(out_shape.begin() + static_cast<std::ptrdiff_t>(axis));
    dims.erase(dims.begin() + static_cast<std::ptrdiff_t>(axis));
  }
  const auto n = static_cast<std::int64_t>(index.size());
  if (is_string_) {
    Coordinate c = *this;
    c.dims_ = dims;
    c.string_shape_ = out_shape;
    c.strings_.clear();
    for (auto i : index) c.strings_.push_back(strings_[static_cast<std::size_t>(i)]);
    return c;
  }
  Chunk out = Chunk::allocate(dtype(), out_shape);
  const std::size_t item = itemsize(dtype());
  const auto* src = static_cast<const std::byte*>(values_.raw());
  auto* dst = static_cast<std::byte*>(out.mutable_raw());
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t k = 0; k < n; ++k)
      std::memcpy(dst + static_cast<std::size_t>((o * n + k) * inner) * item,
                  src + static_cast<std::size_t>((o * in_shape[axis] + index[static_cast<std::size_t>(k)]) * inner) * item,
                  static_cast<std::size_t>(inner) * item);
  return Coordinate(std::move(dims), std::move(out), attrs_);
}

bool Coordinate::equals(const Coordinate& o) const {
  if (dims_ != o.dims_ || is_string_ != o.is_string_ || shape() != o.shape()) return false;
  if (is_string_) return strings_ == o.strings_;
  if (dtype() != o.dtype()) return false;
  if (values_.raw() == o.values_.raw()) return true;
  return std::memcmp(values_.raw(), o.values_.raw(), values_.nbytes()) == 0;
}

Coords::Coords(std::initializer_list<std::pair<std::string, Coordinate>> items) {
  for (const auto& [n, c] : items) set(n, c);
}

bool Coords::contains(const std::string& name) const {
  return std::any_of(items_.begin(), items_.end(), [&](const auto& p) { return p.first == name; });
}

const Coordinate& Coords::at(const std::string& name) const {
  for (const auto& [n, c] : items_)
    if (n == name) return c;
  throw KeyError(fmt::format("no coordinate named '{}'", name));
}

void Coords::set(const std::string& name, Coordinate c) {
  for (auto& [n, existing] : items_)
    if (n == name) {
      existing = std::move(c);
      return;
    }
  items_.emplace_back(name, std::move(c));
}

void Coords::erase(const std::string& name) {
  items_.erase(std::remove_if(items_.begin(), items_.end(), [&](const auto& p) { return p.first == name; }), items_.end());
}

}  // namespace cubist
