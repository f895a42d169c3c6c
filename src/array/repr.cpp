// Text reprs in xarray's layout, with dask-style chunk information.
#include <fmt/format.h>
#include <ostream>

#include "array/builder.hpp"
#include "core/format.hpp"
#include "cubist/datetime.hpp"
#include "cubist/dataset.hpp"
#include "cubist/error.hpp"

namespace cubist {
namespace {

std::string format_element(const Chunk& c, std::int64_t i) {
  if (c.dtype() == DType::DateTime64) return format_datetime(c.values<std::int64_t>()[static_cast<std::size_t>(i)]);
  return visit_dtype(c.dtype(), [&](auto tag) -> std::string {
    using T = typename decltype(tag)::type;
    T v = c.values<T>()[static_cast<std::size_t>(i)];
    if constexpr (std::is_floating_point_v<T>) return fmt::format("{:.6g}", v);
    else if constexpr (std::is_same_v<T, bool>) return v ? "True" : "False";
    else return fmt::format("{}", v);
  });
}

std::string preview(std::int64_t n, const std::function<std::string(std::int64_t)>& at, std::int64_t edge = 3) {
  std::vector<std::string> parts;
  if (n <= 2 * edge) {
    for (std::int64_t i = 0; i < n; ++i) parts.push_back(at(i));
  } else {
    for (std::int64_t i = 0; i < edge; ++i) parts.push_back(at(i));
    parts.push_back("...");
    for (std::int64_t i = n - edge; i < n; ++i) parts.push_back(at(i));
  }
  return fmt::format("{}", fmt::join(parts, " "));
}

std::string dims_text(const DimSizes& sizes) {
  std::vector<std::string> parts;
  for (const auto& [d, n] : sizes) parts.push_back(fmt::format("{}: {}", d, n));
  return fmt::format("({})", fmt::join(parts, ", "));
}

std::string coords_text(const Coords& coords, const std::vector<std::string>& dims) {
  if (coords.empty()) return "";
  std::size_t width = 0;
  for (const auto& [n, c] : coords) width = std::max(width, n.size());
  std::string out = "Coordinates:\n";
  for (const auto& [n, c] : coords) {
    bool index = c.dims().size() == 1 && c.dims()[0] == n && std::find(dims.begin(), dims.end(), n) != dims.end();
    out += fmt::format("  {} {:<{}} ({}) {} {}\n", index ? '*' : ' ', n, width, fmt::join(c.dims(), ", "), c.dtype_name(),
                       preview(c.size(), [&](std::int64_t i) { return c.format_value(i); }));
  }
  return out;
}

std::string attrs_text(const Attrs& attrs) {
  if (attrs.empty()) return "";
  std::string out = "Attributes:\n";
  for (const auto& [k, v] : attrs.items()) {
    std::string s = v.is_string() ? v.get<std::string>() : v.dump();
    if (s.size() > 70) s = s.substr(0, 67) + "...";
    out += fmt::format("    {}: {}\n", k, s);
  }
  return out;
}

std::string data_text(const DataArray& a) {
  if (a.in_memory()) {
    const Chunk& c = a.memory_chunk();
    return fmt::format("array([{}], dtype={}, shape={})", preview(c.size(), [&](std::int64_t i) { return format_element(c, i); }),
                       dtype_name(c.dtype()), shape_to_string(c.shape()));
  }
  const auto& g = a.chunks();
  return fmt::format("cubist.array<{}, shape={}, dtype={}, chunksize={}, chunks={}, tasks={}, size={}>", a.layer()->label,
                     shape_to_string(a.shape()), dtype_name(a.dtype()), shape_to_string(g.max_chunk_shape()),
                     g.total_chunks(), a.num_tasks(), core::format_bytes(static_cast<double>(a.nbytes())));
}

}  // namespace

std::string DataArray::repr() const {
  if (!layer_) return "<cubist.DataArray (empty)>";
  std::string out = fmt::format("<cubist.DataArray{} {}>\n", name_.empty() ? "" : fmt::format(" '{}'", name_), dims_text(sizes()));
  out += data_text(*this) + "\n";
  out += coords_text(coords_, dims_);
  out += attrs_text(attrs_);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::ostream& operator<<(std::ostream& os, const DataArray& a) { return os << a.repr(); }

std::string Dataset::repr() const {
  std::string out = fmt::format("<cubist.Dataset>\nDimensions:  {}\n", dims_text(dims()));
  out += coords_text(coords_, {});
  std::size_t width = 0;
  for (const auto& [n, v] : vars_) width = std::max(width, n.size());
  out += "Data variables:\n";
  for (const auto& [n, v] : vars_) {
    std::string info = v.in_memory() ? fmt::format("{}", dtype_name(v.dtype()))
                                     : fmt::format("{} cubist.array<chunksize={}, chunks={}, size={}>", dtype_name(v.dtype()),
                                                   shape_to_string(v.chunks().max_chunk_shape()), v.chunks().total_chunks(),
                                                   core::format_bytes(static_cast<double>(v.nbytes())));
    out += fmt::format("    {:<{}} ({}) {}\n", n, width, fmt::join(v.dims(), ", "), info);
  }
  out += attrs_text(attrs_);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::ostream& operator<<(std::ostream& os, const Dataset& ds) { return os << ds.repr(); }

}  // namespace cubist
