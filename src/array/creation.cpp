// Generated arrays: each chunk is produced by a source op when (and only when) it is needed.
#include <cmath>
#include <fmt/format.h>

#include "array/builder.hpp"
#include "array/chunking.hpp"
#include "cubist/creation.hpp"
#include "cubist/datetime.hpp"
#include "cubist/error.hpp"

namespace cubist {
namespace {

DataArray source(const char* label, const char* op, nlohmann::json params, const DimSizes& dims, DType dtype,
                 const DimSizes& chunks) {
  std::vector<std::string> names;
  Shape shape;
  for (const auto& [d, n] : dims) {
    if (n < 0) throw DimensionError(fmt::format("{}: dimension '{}' has negative size {}", label, d, n));
    names.push_back(d);
    shape.push_back(n);
  }
  std::vector<std::pair<std::string, ChunkSize>> spec;
  for (const auto& [d, c] : chunks) spec.emplace_back(d, ChunkSize(c));
  for (const auto& [d, n] : dims)
    if (std::none_of(chunks.begin(), chunks.end(), [&](const auto& c) { return c.first == d; })) spec.emplace_back(d, ChunkSize("auto"));
  // Validates dim names (unique, non-empty) before chunk resolution uses them.
  for (std::size_t i = 0; i < names.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (names[i] == names[j]) throw DimensionError(fmt::format("{}: dimension '{}' appears twice", label, names[i]));
  ChunkGrid grid = resolve_chunks(names, shape, dtype, ChunkSpec(spec), nullptr);
  graph::LayerSpec ls;
  ls.label = label;
  ls.op = op;
  ls.kind = graph::LayerKind::Source;
  ls.params = std::move(params);
  ls.grid = std::move(grid);
  ls.dtype = dtype;
  return DataArray::from_layer(graph::make_layer(std::move(ls)), names);
}

}  // namespace

DataArray full(const DimSizes& dims, double value, DType dtype, const DimSizes& chunks) {
  if (dtype == DType::DateTime64) throw TypeError("full: datetime64 arrays are not generated; build them from values");
  if (!is_float(dtype) && !std::isfinite(value))
    throw ValueError(fmt::format("full: {} cannot hold {}", dtype_name(dtype), value));
  nlohmann::json v = is_float(dtype) ? nlohmann::json(value) : nlohmann::json(static_cast<std::int64_t>(value));
  return source("full", "full", {{"value", v}}, dims, dtype, chunks);
}
DataArray zeros(const DimSizes& dims, DType dtype, const DimSizes& chunks) { return full(dims, 0.0, dtype, chunks); }
DataArray ones(const DimSizes& dims, DType dtype, const DimSizes& chunks) { return full(dims, 1.0, dtype, chunks); }

DataArray random(const DimSizes& dims, DType dtype, const DimSizes& chunks, std::uint64_t seed) {
  if (!is_float(dtype)) throw TypeError(fmt::format("random: dtype must be float32 or float64, got {}", dtype_name(dtype)));
  return source("random", "random", {{"seed", seed}}, dims, dtype, chunks);
}

DataArray arange(const std::string& dim, double start, double stop, double step, DType dtype, std::int64_t chunk) {
  if (step == 0 || !std::isfinite(step)) throw ValueError("arange: step must be a finite non-zero number");
  auto n = static_cast<std::int64_t>(std::max(0.0, std::ceil((stop - start) / step)));
  DimSizes chunks;
  if (chunk > 0) chunks.emplace_back(dim, chunk);
  return source("arange", "arange", {{"start", start}, {"step", step}}, {{dim, n}}, dtype, chunks);
}

Coordinate date_range(const std::string& dim, const std::string& start, std::int64_t periods, const std::string& freq) {
  if (periods < 0) throw ValueError(fmt::format("date_range: periods must be >= 0, got {}", periods));
  std::size_t pos = 0;
  while (pos < freq.size() && std::isdigit(static_cast<unsigned char>(freq[pos]))) ++pos;
  std::int64_t count = pos ? std::stoll(freq.substr(0, pos)) : 1;
  std::string unit = freq.substr(pos);
  std::int64_t ns;
  if (unit == "D") ns = 86'400'000'000'000;
  else if (unit == "h" || unit == "H") ns = 3'600'000'000'000;
  else if (unit == "min" || unit == "T") ns = 60'000'000'000;
  else if (unit == "s" || unit == "S") ns = 1'000'000'000;
  else throw ValueError(fmt::format("date_range: frequency '{}' is not supported (use D, h, min or s)", freq));
  std::int64_t t0 = datetime_ns(start);
  std::vector<std::int64_t> values(static_cast<std::size_t>(periods));
  for (std::int64_t i = 0; i < periods; ++i) values[static_cast<std::size_t>(i)] = t0 + i * count * ns;
  return Coordinate::datetimes_ns(dim, std::move(values));
}

}  // namespace cubist
