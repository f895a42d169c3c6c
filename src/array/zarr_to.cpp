// to_zarr: writes a Dataset (or a DataArray) as a Zarr group, as xarray's Dataset.to_zarr does.
// Every variable (coordinates included) becomes a "zarr_write" sink layer over its data, rechunked
// to the Zarr chunk grid; all sinks run in ONE execution (shared inputs are computed once and
// chunks are written in parallel, each atomically). The metadata is committed only after every
// chunk succeeded, so a failed write is never advertised as a complete store.
#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <set>

#include "array/builder.hpp"
#include "array/execution.hpp"
#include "array/zarr_params.hpp"
#include "cubist/error.hpp"
#include "cubist/io.hpp"
#include "cubist/zarr.hpp"

namespace cubist {
namespace {

using nlohmann::json;
constexpr const char* kUnnamed = "__xarray_dataarray_variable__";

struct Target {
  std::string name;
  DataArray data;  // carries dims and user attrs
  bool is_coord = false;
};

std::vector<std::int64_t> first_chunks(const ChunkGrid& g) {
  std::vector<std::int64_t> out;
  for (std::size_t a = 0; a < g.rank(); ++a) out.push_back(g.chunks(a).empty() ? 1 : std::max<std::int64_t>(1, g.chunks(a)[0]));
  return out;
}

// Chunks that start a new Zarr chunk at every boundary of `zchunks` when the data lands at element
// `offset` of the stored array (appends, region writes), so no two write tasks ever touch the
// same stored chunk (partial chunks are read, merged and rewritten by exactly one task).
ChunkGrid aligned_grid(const Shape& shape, const Shape& zchunks, const Shape& offset) {
  std::vector<std::vector<std::int64_t>> chunks(shape.size());
  for (std::size_t a = 0; a < shape.size(); ++a) {
    std::int64_t n = shape[a], cs = zchunks[a], first = offset[a] % cs ? cs - offset[a] % cs : cs;
    for (std::int64_t pos = 0, step = first; pos < n; pos += step, step = cs) chunks[a].push_back(std::min(step, n - pos));
    if (chunks[a].empty()) chunks[a].push_back(0);
  }
  return ChunkGrid(std::move(chunks));
}

// The sink: one marker element per written chunk, its chunk i fed by data chunk i.
graph::LayerPtr sink_layer(const std::string& name, const DataArray& data, json params) {
  return graph::make_sink_layer("to_zarr-" + name, "zarr_write", std::move(params), data.layer());
}

// NaT needs a fill value to be masked back; without NaT, xarray writes none (fill_value null), so
// only in-memory labels free of NaT go without (lazy data cannot be inspected).
bool may_hold_nat(const DataArray& x) {
  if (!x.in_memory()) return true;
  auto v = x.memory_chunk().values<std::int64_t>();
  return std::find(v.begin(), v.end(), kNaT) != v.end();
}

// xarray's CF time encoding: in-memory labels get the coarsest exact unit since the first time;
// lazy data (unknown values) nanoseconds since the epoch, which is always exact.
std::string time_units_for(const DataArray& x, const ZarrVariableEncoding* enc) {
  if (enc && enc->units) return *enc->units;
  if (x.in_memory()) return zarr::cf::infer_time_units(x.memory_chunk().values<std::int64_t>());
  return "nanoseconds since 1970-01-01";
}

class ZarrWriteJob {
 public:
  ZarrWriteJob(const std::string& path, const ToZarrOptions& o)
      : path_(path), options_(o), mode_(zarr::parse_write_mode(o.mode)),
        writer_(path, mode_, o.zarr_format, o.consolidated), locator_(zarr_io::store_locator(path)) {}

  void add(const Target& t, const std::string& coordinates_attr) {
    const ZarrVariableEncoding* enc = nullptr;
    if (auto it = options_.encoding.find(t.name); it != options_.encoding.end()) enc = &it->second;
    bool exists = false;
    try {
      (void)writer_.existing_array(t.name);
      exists = true;
    } catch (const KeyError&) {
    }
    if (exists && mode_ == zarr::WriteMode::Append) return add_existing(t);
    if (!options_.region.empty())
      throw KeyError(fmt::format("to_zarr: region write of '{}': no such variable in '{}'", t.name, path_));
    add_new(t, enc, coordinates_attr);
  }

  // String coordinates are small labels: written now as one '<U n' chunk (v2 only, as xarray).
  // Returns false when not written (v3, or region writes where the store already holds them).
  bool add_strings(const std::string& name, const Coordinate& c) {
    if (!options_.region.empty()) return false;
    if (writer_.zarr_format() != 2 || c.dims().size() != 1) {
      std::fprintf(stderr, "cubist: to_zarr: string coordinate '%s' is not written to '%s' (%s)\n", name.c_str(), path_.c_str(),
                   writer_.zarr_format() != 2 ? "Zarr v3 string arrays are not supported yet" : "only 1-d string coordinates are");
      return false;
    }
    zarr::StringArray a;
    a.dims = c.dims();
    a.shape = {static_cast<std::int64_t>(c.string_values().size())};
    a.values = c.string_values();
    a.attributes = c.attrs();
    a.attributes.erase("_ARRAY_DIMENSIONS");
    writer_.write_strings(name, a);
    return true;
  }

  void run_and_commit(Attrs attrs) {
    if (!sinks_.empty()) run_layers(sinks_, options_.compute, nullptr);  // throws before any commit
    // Region writes leave the group's attributes alone (the writer keeps the stored ones); appends
    // update them, so attributes only the store has survive.
    if (options_.region.empty()) {
      if (mode_ == zarr::WriteMode::Append) {
        Attrs merged = stored_group_attrs();
        merged.update(attrs);
        attrs = std::move(merged);
      }
      writer_.set_attributes(std::move(attrs));
    }
    writer_.commit();
  }

 private:
  void push_sink(const std::string& name, const DataArray& data, json params) {
    if (data.size() == 0) return;  // nothing to store; the metadata alone describes it
    sinks_.push_back(sink_layer(name, data, std::move(params)));
  }

  void add_new(const Target& t, const ZarrVariableEncoding* enc, const std::string& coordinates_attr) {
    DataArray x = t.data;
    const int format = writer_.zarr_format();
    Attrs attrs = x.attrs();
    attrs.erase("_ARRAY_DIMENSIONS");  // written from the dims
    // A scalar (e.g. rioxarray's spatial_ref) has no dims to write them from; xarray needs the empty list.
    if (format == 2 && x.ndim() == 0) attrs["_ARRAY_DIMENSIONS"] = json::array();
    if (x.dtype() == DType::DateTime64)  // the CF encoding below owns these
      for (const char* k : {"_FillValue", "units", "calendar"}) attrs.erase(k);
    if (!coordinates_attr.empty()) attrs["coordinates"] = coordinates_attr;
    // Chunks: the encoding's, else the data's first chunk per axis (a regular grid, as Zarr needs).
    Shape chunks = first_chunks(x.chunks());
    if (enc && enc->chunks)
      for (const auto& [d, n] : *enc->chunks) {
        if (!x.has_dim(d))
          throw DimensionError(fmt::format("to_zarr: encoding of '{}' gives chunks for dimension '{}' which it does not have", t.name, d));
        if (n < 1) throw ChunkError(fmt::format("to_zarr: encoding of '{}': chunk size {} for '{}' must be >= 1", t.name, n, d));
        chunks[x.axis(d)] = n;
      }
    for (std::size_t a = 0; a < chunks.size(); ++a) chunks[a] = std::max<std::int64_t>(1, std::min(chunks[a], std::max<std::int64_t>(1, x.shape()[a])));
    json params;
    DType stored = x.dtype();
    std::optional<std::string> units;
    std::optional<zarr::cf::Encoding> cf_encoding;
    bool nat_fill = false;
    if (x.dtype() == DType::DateTime64) {
      units = time_units_for(x, enc);
      (void)zarr::cf::parse_time_units(*units);  // a clear error now rather than in every task
      attrs["units"] = *units;
      attrs["calendar"] = "proleptic_gregorian";
      stored = DType::Int64;
      nat_fill = may_hold_nat(x);
      if (format == 3 && nat_fill) attrs["_FillValue"] = kNaT;  // v3: xarray keeps _FillValue as an attribute
    } else if (enc && (enc->scale_factor || enc->add_offset)) {
      // Packed in the sink, chunk by chunk (rounding half to even, NaN -> fill), as xarray encodes.
      std::optional<double> fill;
      if (enc->fill_value) fill = zarr::cf::fill_value_as_double(*enc->fill_value);
      try {
        cf_encoding = zarr::cf::encoding_for(x.dtype(), enc->dtype, enc->scale_factor, enc->add_offset, fill);
      } catch (const Error& e) {
        throw TypeError(fmt::format("to_zarr: encoding of '{}': {}", t.name, e.what()));
      }
      stored = cf_encoding->stored_dtype;
      attrs.erase("scale_factor");
      attrs.erase("add_offset");
      if (enc->scale_factor) attrs["scale_factor"] = *enc->scale_factor;
      if (enc->add_offset) attrs["add_offset"] = *enc->add_offset;
    } else if (enc && enc->dtype && *enc->dtype != x.dtype()) {
      stored = *enc->dtype;
      // Floats stored as integers: NaN becomes the fill value, which masks it back on read.
      if (is_float(x.dtype()) && !is_float(stored) && enc->fill_value && !enc->fill_value->is_null())
        x = x.fillna(zarr::cf::fill_value_as_double(*enc->fill_value).value_or(0));
      x = x.astype(stored);
    }
    zarr::ArrayMetadata m = zarr::default_array_metadata(x.dims(), x.shape(), chunks, stored, attrs, format);
    if (units) m.fill_value = nat_fill ? json(kNaT) : json();  // NaT is stored as INT64_MIN
    if (enc) {
      if (enc->compressor) {
        if (format != 2) throw ValueError(fmt::format("to_zarr: encoding of '{}': 'compressor' is for Zarr v2; give 'codecs' for v3", t.name));
        m.compressor = *enc->compressor;
      }
      if (enc->codecs) {
        if (format != 3) throw ValueError(fmt::format("to_zarr: encoding of '{}': 'codecs' is for Zarr v3; give 'compressor' for v2", t.name));
        m.codecs = *enc->codecs;
      }
      if (enc->fill_value && !units) {
        m.fill_value = *enc->fill_value;
        if (format == 3 && !enc->fill_value->is_null()) m.attributes["_FillValue"] = *enc->fill_value;
      }
    }
    auto handle = writer_.create_array(t.name, std::move(m));
    x = ArrayBuilder::with_layer(x, ArrayBuilder::rechunk_layer(x.layer(), handle->grid()));
    params = zarr_io::array_params(locator_, *handle);
    params["mode"] = "chunk";
    if (units) {
      params["time_units"] = *units;
      params["calendar"] = "proleptic_gregorian";
    }
    if (cf_encoding) params["cf_encoding"] = zarr::cf::encoding_to_json(*cf_encoding);
    push_sink(t.name, x, std::move(params));
  }

  // Mode "a" on a variable the store has: grow it along append_dim, or (without that dim)
  // overwrite its values in place, as xarray does.
  void add_existing(const Target& t) {
    DataArray x = t.data;
    auto old = writer_.existing_array(t.name);
    const auto& om = old->metadata();
    std::optional<std::string> units;
    if (x.dtype() == DType::DateTime64) {
      if (!om.attributes.contains("units") || !om.attributes["units"].is_string())
        throw TypeError(fmt::format("to_zarr: cannot append datetime64 values to '{}' in '{}': it has no CF 'units'", t.name, path_));
      units = om.attributes["units"].get<std::string>();
      if (om.fill_value.is_null() && x.in_memory() && may_hold_nat(x))
        throw ValueError(fmt::format("to_zarr: cannot append NaT to '{}' in '{}': it was written without a fill value", t.name, path_));
    } else if (x.dtype() != om.dtype) {
      throw TypeError(fmt::format("to_zarr: cannot write {} values to '{}' of dtype {} in '{}'", dtype_name(x.dtype()), t.name,
                                  dtype_name(om.dtype), path_));
    }
    json params;
    if (options_.append_dim && x.has_dim(*options_.append_dim)) {
      zarr::ArrayMetadata expected = om;
      expected.dimension_names = x.dims();
      expected.shape = x.shape();
      expected.dtype = units ? DType::Int64 : x.dtype();
      auto axis = x.axis(*options_.append_dim);
      std::int64_t old_extent = om.dimension_names == x.dims() ? om.shape[axis] : 0;
      auto handle = writer_.append_array(t.name, *options_.append_dim, expected);
      Shape offset(x.ndim(), 0);
      offset[axis] = old_extent;
      params = region_params(x, *handle, offset);
    } else if (!options_.region.empty()) {
      params = region_params(x, *old, region_offset(t.name, x, om));
    } else {
      if (om.dimension_names != x.dims() || om.shape != x.shape())
        throw DimensionError(fmt::format("to_zarr: variable '{}' has dims ({}) and shape {} but '{}' holds ({}) {}; give "
                                         "append_dim or use mode \"w\"", t.name, fmt::join(x.dims(), ", "),
                                         shape_to_string(x.shape()), path_, fmt::join(om.dimension_names, ", "),
                                         shape_to_string(om.shape)));
      x = ArrayBuilder::with_layer(x, ArrayBuilder::rechunk_layer(x.layer(), old->grid()));
      params = zarr_io::array_params(locator_, *old);
      params["mode"] = "chunk";
    }
    if (units) {
      params["time_units"] = *units;
      params["calendar"] = om.attributes.value("calendar", std::string("proleptic_gregorian"));
    }
    push_sink(t.name, x, std::move(params));
  }

  // Where `x` lands in the stored array for a region write; its extents must fit.
  Shape region_offset(const std::string& name, const DataArray& x, const zarr::ArrayMetadata& om) const {
    if (om.dimension_names != x.dims())
      throw DimensionError(fmt::format("to_zarr: region write of '{}': dims ({}) differ from the store's ({}) in '{}'", name,
                                       fmt::join(x.dims(), ", "), fmt::join(om.dimension_names, ", "), path_));
    Shape offset(x.ndim(), 0);
    for (std::size_t a = 0; a < x.ndim(); ++a) {
      const auto& d = x.dims()[a];
      std::int64_t start = 0, stop = om.shape[a];
      if (auto it = options_.region.find(d); it != options_.region.end()) {
        if (it->second.step != 1) throw ValueError(fmt::format("to_zarr: region of '{}' must have step 1", d));
        start = it->second.start.value_or(0);
        stop = it->second.stop.value_or(om.shape[a]);
      }
      if (start < 0 || stop > om.shape[a] || stop - start != x.shape()[a])
        throw DimensionError(fmt::format("to_zarr: region write of '{}': {} values along '{}' do not fit [{}, {}) of the "
                                         "stored extent {} in '{}'", name, x.shape()[a], d, start, stop, om.shape[a], path_));
      offset[a] = start;
    }
    return offset;
  }

  // Region-mode sink parameters, with `x` rechunked so each task covers whole stored chunks.
  json region_params(DataArray& x, const zarr::ZarrArray& target, const Shape& offset) {
    x = ArrayBuilder::with_layer(x, ArrayBuilder::rechunk_layer(x.layer(), aligned_grid(x.shape(), target.metadata().chunks, offset)));
    json params = zarr_io::array_params(locator_, target);
    params["mode"] = "region";
    params["offset"] = offset;
    return params;
  }

  // The group attributes as stored (v2 .zattrs, v3 zarr.json), without parsing every array.
  Attrs stored_group_attrs() const {
    auto store = zarr::open_store(path_);
    if (auto za = store->get(".zattrs")) return zarr::parse_json(za->as_string(), path_ + "/.zattrs");
    if (auto zj = store->get("zarr.json")) {
      auto j = zarr::parse_json(zj->as_string(), path_ + "/zarr.json");
      if (j.is_object() && j.contains("attributes") && j["attributes"].is_object()) return j["attributes"];
    }
    return Attrs::object();
  }

  std::string path_;
  const ToZarrOptions& options_;
  zarr::WriteMode mode_;
  zarr::ZarrWriter writer_;
  std::string locator_;
  std::vector<graph::LayerPtr> sinks_;
};

// Mode "w" erases the store first: refuse when the data to write is still to be read from it.
void check_not_reading_from(const Dataset& ds, const std::string& path, const std::string& locator) {
  std::vector<graph::LayerPtr> outputs;
  for (const auto& n : ds.data_vars()) outputs.push_back(ds[n].layer());
  for (const graph::Layer* l : graph::topological_layers(outputs))
    if (l->op == "zarr_read" && l->params.value("store", std::string()) == locator)
      throw ValueError(fmt::format("to_zarr '{}': mode \"w\" would erase the store this dataset reads from; "
                                   "compute() it first or write elsewhere", path));
}

bool is_index(const std::string& name, const Coordinate& c) { return c.dims().size() == 1 && c.dims()[0] == name; }

}  // namespace

void to_zarr(const Dataset& ds, const std::string& path, const ToZarrOptions& options) {
  const auto mode = zarr::parse_write_mode(options.mode);
  if (options.append_dim && mode != zarr::WriteMode::Append)
    throw ValueError(fmt::format("to_zarr '{}': append_dim requires mode \"a\" (got \"{}\")", path, options.mode));
  for (const auto& [name, enc] : options.encoding)
    if (!ds.contains(name) && !ds.coords().contains(name))
      throw KeyError(fmt::format("to_zarr '{}': encoding given for '{}', which is not a variable of the dataset", path, name));

  if (!options.region.empty()) {
    if (mode != zarr::WriteMode::Append || options.append_dim)
      throw ValueError(fmt::format("to_zarr '{}': region writes need mode \"a\" and no append_dim", path));
    if (!zarr::open_store(path)->exists(".zgroup") && !zarr::open_store(path)->exists("zarr.json"))
      throw KeyError(fmt::format("to_zarr '{}': region writes need an existing Zarr store", path));
  }
  if (mode == zarr::WriteMode::Overwrite) check_not_reading_from(ds, path, zarr_io::store_locator(path));

  for (const auto& [name, c] : ds.coords())
    if (ds.contains(name)) throw ValueError(fmt::format("to_zarr '{}': '{}' is both a coordinate and a data variable", path, name));
  ZarrWriteJob job(path, options);
  std::vector<Target> targets;
  std::set<std::string> unwritten;  // string coordinates the store cannot take
  for (const auto& [name, c] : ds.coords()) {
    if (c.is_string()) {
      if (!job.add_strings(name, c) && options.region.empty()) unwritten.insert(name);
      continue;
    }
    targets.push_back({name, DataArray::from_chunk(c.values(), c.dims(), {}, c.attrs(), name), true});
  }
  for (const auto& name : ds.data_vars()) targets.push_back({name, ds[name], false});

  // Non-index coordinates are listed in each variable's `coordinates` attribute (those whose dims
  // the variable has), the rest in the group's, so xarray reads them back as coordinates.
  std::vector<std::string> orphans;
  for (const auto& [cn, c] : ds.coords())
    if (!is_index(cn, c) && !unwritten.count(cn)) orphans.push_back(cn);
  auto coordinates_of = [&](const Target& t) {
    std::vector<std::string> mine;
    if (t.is_coord) return std::string();
    for (const auto& [cn, c] : ds.coords())
      if (!is_index(cn, c) && !unwritten.count(cn) &&
          std::all_of(c.dims().begin(), c.dims().end(), [&](const std::string& d) { return t.data.has_dim(d); })) {
        mine.push_back(cn);
        std::erase(orphans, cn);
      }
    return fmt::format("{}", fmt::join(mine, " "));
  };

  for (const auto& t : targets) job.add(t, coordinates_of(t));
  Attrs attrs = ds.attrs();
  if (!orphans.empty()) attrs["coordinates"] = fmt::format("{}", fmt::join(orphans, " "));
  job.run_and_commit(std::move(attrs));
}

void to_zarr(const DataArray& array, const std::string& path, const ToZarrOptions& options) {
  if (!array.layer()) throw ValueError(fmt::format("to_zarr '{}': empty DataArray", path));
  std::string name = array.name().empty() ? kUnnamed : array.name();
  if (array.coords().contains(name)) name = kUnnamed;
  Dataset ds({{name, array}});
  to_zarr(ds, path, options);
}

}  // namespace cubist
