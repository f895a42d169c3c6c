#include "openeo/temporal_extent.hpp"

#include <algorithm>

namespace cubist::openeo {
namespace {

constexpr const char* kKey = "openeo:extent";

std::optional<std::int64_t> bound(const nlohmann::json& j) {
  if (!j.is_number_integer()) return std::nullopt;
  return j.get<std::int64_t>();
}

nlohmann::json to_json(const std::optional<std::int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

// The later start / earlier end of two possibly open bounds.
std::optional<std::int64_t> tighter(std::optional<std::int64_t> a, std::optional<std::int64_t> b, bool later) {
  if (!a) return b;
  if (!b) return a;
  return later ? std::max(*a, *b) : std::min(*a, *b);
}

Coordinate with_attrs(const Coordinate& c, Attrs attrs) {
  if (c.is_string()) return Coordinate::strings(c.dims().front(), c.string_values(), std::move(attrs));
  return Coordinate(c.dims(), c.values(), std::move(attrs));
}

}  // namespace

TemporalExtent temporal_extent(const DataArray& cube, const std::string& dim) {
  if (!cube.coords().contains(dim)) return {};
  const Attrs& attrs = cube.coords().at(dim).attrs();
  auto it = attrs.find(kKey);
  if (it == attrs.end() || !it->is_array() || it->size() != 2) return {};
  return {bound((*it)[0]), bound((*it)[1])};
}

DataArray restrict_temporal_extent(const DataArray& cube, const std::string& dim, const TemporalExtent& extent) {
  if (!cube.coords().contains(dim)) return cube;
  const TemporalExtent old = temporal_extent(cube, dim);
  const TemporalExtent now{tighter(old.start, extent.start, true), tighter(old.end, extent.end, false)};
  if (!now.start && !now.end) return cube;
  const Coordinate& c = cube.coords().at(dim);
  Attrs attrs = c.attrs();
  attrs[kKey] = nlohmann::json::array({to_json(now.start), to_json(now.end)});
  return cube.assign_coords(dim, with_attrs(c, std::move(attrs)));
}

DataArray without_extent(const DataArray& cube) {
  DataArray out = cube;
  for (const auto& [name, c] : cube.coords()) {
    if (!c.attrs().contains(kKey)) continue;
    Attrs attrs = c.attrs();
    attrs.erase(kKey);
    out = out.assign_coords(name, with_attrs(c, std::move(attrs)));
  }
  return out;
}

}  // namespace cubist::openeo
