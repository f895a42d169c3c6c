// open_zarr: a Zarr group as a lazy Dataset, with xarray's conventions.
//  * one "zarr_read" Source layer per array; its grid is the Zarr chunk grid (xarray.open_zarr's
//    default chunks), so a task reads exactly one stored chunk and only computed chunks are read;
//  * coordinates (named in a `coordinates` attribute, or 1-d and named like their dim) are small:
//    read eagerly, in one run, into Coordinates;
//  * CF decoding: time units -> datetime64 inside the read op (one pass); fill/missing values ->
//    NaN and scale/offset as elementwise operations over the raw read, so they fuse with it.
#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <set>
#include <sstream>

#include "array/builder.hpp"
#include "array/execution.hpp"
#include "array/zarr_params.hpp"
#include "cubist/error.hpp"
#include "cubist/io.hpp"
#include "cubist/zarr.hpp"

namespace cubist {
namespace {

using nlohmann::json;

// Attributes xarray moves from .attrs to .encoding when it decodes a variable.
const char* const kMaskScaleKeys[] = {"_FillValue", "missing_value", "scale_factor", "add_offset"};

std::vector<std::string> split_words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// xarray's decoding of a variable. In v2 the Zarr fill_value is the _FillValue; in v3 it is only a
// storage default (0 for ints) and _FillValue lives in the attributes, as xarray writes v3.
zarr::cf::Decoding decoding_of(const zarr::ArrayMetadata& m) {
  return zarr::cf::decoding_for(m.attributes, m.zarr_format == 2 ? m.fill_value : nlohmann::json(), m.dtype);
}

bool decodes_time(const zarr::ArrayMetadata& m, const ZarrOpenOptions& o) {
  return o.decode_times && is_numeric(m.dtype) && m.dtype != DType::Bool && zarr::cf::is_time_variable(m.attributes);
}

// The raw read of one array (CF time decoding included: it changes the dtype, not the layout).
DataArray read_layer(const std::string& locator, const std::string& name, const zarr::ZarrArray& a,
                     const ZarrOpenOptions& o) {
  const auto& m = a.metadata();
  if (m.dimension_names.size() != m.shape.size())
    throw ValueError(fmt::format("open_zarr: variable '{}' in '{}' has no dimension names (v2: attribute "
                                 "'_ARRAY_DIMENSIONS', v3: field 'dimension_names')", name, locator));
  json params = zarr_io::array_params(locator, a);
  DType dtype = m.dtype;
  if (decodes_time(m, o)) {
    params["time_units"] = m.attributes["units"];
    params["calendar"] = m.attributes.value("calendar", std::string("standard"));
    auto d = decoding_of(m);
    params["time_fills"] = d.fill_values;
    dtype = DType::DateTime64;
  }
  graph::LayerSpec spec;
  spec.label = "open_zarr-" + name;
  spec.op = "zarr_read";
  spec.kind = graph::LayerKind::Source;
  spec.params = std::move(params);
  spec.grid = m.chunk_grid();
  spec.dtype = dtype;
  return DataArray::from_layer(graph::make_layer(std::move(spec)), m.dimension_names);
}

// xarray's mask_and_scale as lazy elementwise operations (dtype rules from cf::decoding_for).
DataArray mask_and_scale(const DataArray& raw, const zarr::ArrayMetadata& m) {
  const auto d = decoding_of(m);
  if (d.identity()) return raw;
  DataArray x = raw;
  if (!d.fill_values.empty()) {
    const DType masked = is_float(m.dtype) ? m.dtype : itemsize(m.dtype) <= 2 ? DType::Float32 : DType::Float64;
    // Compare the stored values (not the cast ones) so an integer fill matches exactly.
    DataArray keep = raw != d.fill_values[0];
    for (std::size_t i = 1; i < d.fill_values.size(); ++i) keep = keep & (raw != d.fill_values[i]);
    x = raw.astype(masked).where(keep);
  }
  if (d.scale_factor || d.add_offset) {
    x = x.astype(d.decoded_dtype);  // as xarray: cast, then *= scale, then += offset
    if (d.scale_factor) x = x * *d.scale_factor;
    if (d.add_offset) x = x + *d.add_offset;
  }
  return x.dtype() == d.decoded_dtype ? x : x.astype(d.decoded_dtype);
}

Attrs decoded_attrs(const zarr::ArrayMetadata& m, const ZarrOpenOptions& o) {
  Attrs attrs = m.attributes.is_object() ? m.attributes : Attrs::object();
  attrs.erase("coordinates");
  if (decodes_time(m, o)) {
    attrs.erase("units");
    attrs.erase("calendar");
    attrs.erase("_FillValue");
    attrs.erase("missing_value");
  } else if (o.mask_and_scale) {
    for (const char* k : kMaskScaleKeys) attrs.erase(k);
  }
  return attrs;
}

DataArray open_variable(const std::string& locator, const std::string& name, const zarr::ZarrArray& a,
                        const ZarrOpenOptions& o) {
  const auto& m = a.metadata();
  DataArray x = read_layer(locator, name, a, o);
  if (o.mask_and_scale && !decodes_time(m, o)) x = mask_and_scale(x, m);
  return ArrayBuilder::make(name, m.dimension_names, {}, decoded_attrs(m, o), x.layer());
}

// Which arrays xarray would make coordinates.
std::set<std::string> coordinate_names(const zarr::ZarrGroup& g) {
  std::set<std::string> names;
  auto add_listed = [&](const json& attrs) {
    if (attrs.is_object() && attrs.contains("coordinates") && attrs["coordinates"].is_string())
      for (const auto& w : split_words(attrs["coordinates"].get<std::string>())) names.insert(w);
  };
  add_listed(g.attributes());
  for (const auto& n : g.array_names()) {
    const auto& m = g.array(n)->metadata();
    add_listed(m.attributes);
    if (m.dimension_names.size() == 1 && m.dimension_names[0] == n) names.insert(n);
  }
  // String arrays (xarray's '<U' coordinates such as band): listed, or named like a dimension.
  for (const auto& n : g.array_names())
    for (const auto& d : g.array(n)->metadata().dimension_names) names.insert(d);
  std::set<std::string> present;
  for (const auto& n : names)
    if (std::find(g.array_names().begin(), g.array_names().end(), n) != g.array_names().end()) present.insert(n);
  for (const auto& n : g.string_array_names())
    if (names.count(n)) present.insert(n);
  return present;
}

}  // namespace

Dataset open_zarr(const std::string& path_or_url, const ZarrOpenOptions& options) {
  zarr::OpenOptions zo;
  zo.consolidated = options.consolidated;
  zo.strict = options.strict;
  const zarr::ZarrGroup group = zarr::ZarrGroup::open(path_or_url, zo);
  const std::string locator = zarr_io::store_locator(path_or_url);
  const auto coord_names = coordinate_names(group);
  auto dropped = [&](const std::string& n) {
    return std::find(options.drop_variables.begin(), options.drop_variables.end(), n) != options.drop_variables.end();
  };

  // String coordinates load as labels; other string arrays are skipped (or refused when strict).
  Coords coords;
  std::set<std::string> loaded;
  for (const auto& n : group.string_array_names()) {
    if (dropped(n)) continue;
    if (coord_names.count(n)) {
      zarr::StringArray sa = group.read_strings(n);
      if (sa.dims.size() == 1) {
        Attrs attrs = sa.attributes;
        attrs.erase("coordinates");
        coords.set(n, Coordinate::strings(sa.dims[0], std::move(sa.values), std::move(attrs)));
        loaded.insert(n);
        continue;
      }
    }
    if (options.strict)
      throw TypeError(fmt::format("open_zarr '{}': variable '{}' holds strings, which only 1-d coordinates may", path_or_url, n));
  }
  if (options.warn)
    for (const auto& s : group.skipped())
      if (!loaded.count(s.name) && !dropped(s.name))
        std::fprintf(stderr, "cubist: open_zarr: skipping variable '%s' of '%s': %s\n", s.name.c_str(), path_or_url.c_str(),
                     s.reason.c_str());

  std::vector<std::pair<std::string, DataArray>> vars, coord_vars;
  for (const auto& n : group.array_names()) {
    if (dropped(n)) continue;
    DataArray v = open_variable(locator, n, *group.array(n), options);
    (coord_names.count(n) ? coord_vars : vars).emplace_back(n, std::move(v));
  }

  // Coordinates are labels held in memory: read all of them in one parallel run.
  if (!coord_vars.empty()) {
    std::vector<graph::LayerPtr> layers;
    for (const auto& [n, v] : coord_vars) layers.push_back(v.layer());
    auto chunks = run_layers(layers, {}, nullptr);
    for (std::size_t i = 0; i < coord_vars.size(); ++i) {
      const auto& [n, v] = coord_vars[i];
      Chunk values = assemble_chunks(chunks[i], v.layer()->grid, v.dtype());
      coords.set(n, Coordinate(v.dims(), std::move(values), v.attrs()));
    }
  }
  Attrs attrs = group.attributes();
  attrs.erase("coordinates");
  Dataset ds(std::move(vars), std::move(coords), std::move(attrs));
  return options.chunks ? ds.chunk(*options.chunks) : ds;
}

}  // namespace cubist
