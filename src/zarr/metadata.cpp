// Zarr v2 (.zarray/.zattrs) and v3 (zarr.json) array metadata: parsing with errors that name the
// file and field, serialising as zarr-python does, and xarray's default encoding.
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <limits>

#include "cubist/zarr.hpp"
#include "zarr/internal.hpp"
#include "zarr/pipeline.hpp"

namespace cubist::zarr {
using nlohmann::json;

json parse_json(std::string_view text, std::string_view where) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw ValueError(fmt::format("{}: malformed JSON ({})", where, e.what()));
  }
}

std::string dump_json(const json& j) { return j.dump(4, ' ', true); }

namespace {

[[noreturn]] void bad_field(std::string_view where, std::string_view field, std::string_view why) {
  throw ValueError(fmt::format("{}: field '{}': {}", where, field, why));
}

const json& require(const json& j, const char* field, std::string_view where) {
  if (!j.is_object()) throw ValueError(fmt::format("{}: metadata must be a JSON object", where));
  auto it = j.find(field);
  if (it == j.end()) bad_field(where, field, "missing");
  return *it;
}

Shape shape_field(const json& v, const char* field, std::string_view where, bool positive) {
  if (!v.is_array()) bad_field(where, field, fmt::format("must be a list of integers, got {}", v.dump()));
  Shape s;
  for (const auto& e : v) {
    if (!e.is_number_integer()) bad_field(where, field, fmt::format("must be a list of integers, got {}", v.dump()));
    auto x = e.get<std::int64_t>();
    if (x < 0 || (positive && x == 0)) bad_field(where, field, fmt::format("extent {} must be {}", x, positive ? "positive" : "non-negative"));
    s.push_back(x);
  }
  return s;
}

// numpy dtype string ("<f4", ">i2", "|b1", "<M8[ns]") -> dtype and byte order.
void parse_v2_dtype(const json& v, ArrayMetadata& m, std::string_view where) {
  if (!v.is_string()) throw TypeError(fmt::format("{}: field 'dtype': unsupported dtype {}", where, v.dump()));
  auto s = v.get<std::string>();
  auto unsupported = [&] { throw TypeError(fmt::format("{}: field 'dtype': unsupported dtype '{}'", where, s)); };
  if (s.size() < 3) unsupported();
  char order = s[0];
  auto body = std::string_view(s).substr(1);
  if (order != '<' && order != '>' && order != '|' && order != '=') unsupported();
  static const std::pair<std::string_view, DType> table[] = {
      {"b1", DType::Bool},    {"i1", DType::Int8},    {"i2", DType::Int16},   {"i4", DType::Int32},
      {"i8", DType::Int64},   {"u1", DType::UInt8},   {"u2", DType::UInt16},  {"u4", DType::UInt32},
      {"u8", DType::UInt64},  {"f4", DType::Float32}, {"f8", DType::Float64}, {"M8[ns]", DType::DateTime64}};
  for (const auto& [name, t] : table)
    if (body == name) {
      m.dtype = t;
      m.big_endian = order == '>';
      return;
    }
  unsupported();
}

std::string v2_dtype_string(const ArrayMetadata& m) {
  std::size_t n = itemsize(m.dtype);
  char order = n == 1 ? '|' : (m.big_endian ? '>' : '<');
  switch (m.dtype) {
    case DType::Bool: return "|b1";
    case DType::Float32: case DType::Float64: return fmt::format("{}f{}", order, n);
    case DType::DateTime64: return fmt::format("{}M8[ns]", order);
    default: return fmt::format("{}{}{}", order, is_signed_integer(m.dtype) ? 'i' : 'u', n);
  }
}

DType parse_v3_dtype(const json& v, std::string_view where) {
  if (!v.is_string()) throw TypeError(fmt::format("{}: field 'data_type': unsupported data type {}", where, v.dump()));
  auto s = v.get<std::string>();
  if (s == "datetime64[ns]" || s == "float" || s == "int") throw TypeError(fmt::format("{}: field 'data_type': unsupported data type '{}'", where, s));
  try {
    return parse_dtype(s);
  } catch (const TypeError&) {
    throw TypeError(fmt::format("{}: field 'data_type': unsupported data type '{}'", where, s));
  }
}

void check_fill(ArrayMetadata& m, std::string_view where) {
  m.fill_value = detail::normalize_fill_value(m.fill_value);
  (void)detail::fill_bytes(m.fill_value, m.dtype, where);  // validates
}

}  // namespace

namespace detail {

std::string join_path(std::string_view prefix, std::string_view name) {
  if (prefix.empty()) return std::string(name);
  if (name.empty()) return std::string(prefix);
  return fmt::format("{}/{}", prefix, name);
}

json normalize_fill_value(const json& f) {
  if (f.is_number_float()) {
    double d = f.get<double>();
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  }
  return f;
}

std::array<std::byte, 8> fill_bytes(const json& f, DType dtype, std::string_view where) {
  std::array<std::byte, 8> out{};
  if (f.is_null()) return out;
  auto bad = [&](std::string_view why) -> void {
    throw ValueError(fmt::format("{}: field 'fill_value': {} for dtype {}: {}", where, f.dump(), dtype_name(dtype), why));
  };
  double d = 0;
  bool is_float_value = false;
  if (f.is_string()) {
    auto s = f.get<std::string>();
    if (dtype == DType::DateTime64 && s == "NaT") {
      std::int64_t v = kNaT;
      std::memcpy(out.data(), &v, 8);
      return out;
    }
    if (!is_float(dtype)) bad("a string is only allowed for floating-point arrays");
    if (s == "NaN") d = std::numeric_limits<double>::quiet_NaN();
    else if (s == "Infinity") d = std::numeric_limits<double>::infinity();
    else if (s == "-Infinity") d = -std::numeric_limits<double>::infinity();
    else if (s.starts_with("0x") && s.size() == 2 + 2 * itemsize(dtype)) {  // v3: raw bit pattern
      std::uint64_t bits = std::stoull(s.substr(2), nullptr, 16);
      std::memcpy(out.data(), &bits, itemsize(dtype));  // little-endian host
      return out;
    } else bad("unknown string");
    is_float_value = true;
  } else if (f.is_boolean()) {
    d = f.get<bool>() ? 1 : 0;
  } else if (!f.is_number()) {
    bad("must be a number, a string or null");
  }
  visit_dtype(dtype, [&]<class T>(TypeTag<T>) {
    T v{};
    if constexpr (std::is_floating_point_v<T>) {
      v = is_float_value || !f.is_number() ? static_cast<T>(d) : f.get<T>();
    } else if constexpr (std::is_same_v<T, bool>) {
      v = f.is_boolean() ? f.get<bool>() : (f.is_number() && f.get<double>() != 0);
    } else {
      if (f.is_number_float()) {
        double x = f.get<double>();
        if (x != std::floor(x)) bad("not an integer");
        v = static_cast<T>(x);
      } else if (f.is_number_unsigned()) {
        auto x = f.get<std::uint64_t>();
        if (x > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) bad("out of range");
        v = static_cast<T>(x);
      } else if (f.is_number_integer()) {
        auto x = f.get<std::int64_t>();
        if constexpr (std::is_unsigned_v<T>) {
          if (x < 0) bad("out of range");
          if (static_cast<std::uint64_t>(x) > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) bad("out of range");
        } else {
          if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max()) bad("out of range");
        }
        v = static_cast<T>(x);
      } else {
        v = static_cast<T>(d);
      }
    }
    std::memcpy(out.data(), &v, sizeof(T));
  });
  return out;
}

}  // namespace detail

namespace {
ArrayMetadata parse_v2_impl(const json& z, const json& attrs, std::string_view where) {
  ArrayMetadata m;
  m.zarr_format = 2;
  const auto& fmtv = require(z, "zarr_format", where);
  if (!fmtv.is_number_integer() || fmtv.get<int>() != 2) bad_field(where, "zarr_format", fmt::format("expected 2, got {}", fmtv.dump()));
  m.shape = shape_field(require(z, "shape", where), "shape", where, false);
  m.chunks = shape_field(require(z, "chunks", where), "chunks", where, true);
  if (m.chunks.size() != m.shape.size())
    bad_field(where, "chunks", fmt::format("rank {} differs from the rank {} of 'shape'", m.chunks.size(), m.shape.size()));
  parse_v2_dtype(require(z, "dtype", where), m, where);
  m.compressor = z.value("compressor", json());
  if (!m.compressor.is_null() && !m.compressor.is_object()) bad_field(where, "compressor", "must be null or an object");
  m.filters = z.value("filters", json());
  if (!m.filters.is_null()) {
    if (!m.filters.is_array()) bad_field(where, "filters", "must be null or a list");
    if (!m.filters.empty()) {
      auto id = m.filters[0].is_object() ? m.filters[0].value("id", std::string("?")) : m.filters[0].dump();
      throw ValueError(fmt::format("{}: field 'filters': unknown codec '{}' (filters are not supported)", where, id));
    }
  }
  auto order = z.value("order", json("C"));
  if (order != "C" && order != "F") bad_field(where, "order", fmt::format("must be \"C\" or \"F\", got {}", order.dump()));
  m.order = order.get<std::string>()[0];
  auto sep = z.value("dimension_separator", json("."));
  if (sep.is_null()) sep = ".";
  if (sep != "." && sep != "/") bad_field(where, "dimension_separator", fmt::format("must be \".\" or \"/\", got {}", sep.dump()));
  m.dimension_separator = sep.get<std::string>()[0];
  if (!z.contains("fill_value")) bad_field(where, "fill_value", "missing");
  m.fill_value = z["fill_value"];
  check_fill(m, where);
  if (!attrs.is_null()) {
    if (!attrs.is_object()) throw ValueError(fmt::format("{}: .zattrs must be a JSON object", where));
    m.attributes = attrs;
    if (auto it = m.attributes.find("_ARRAY_DIMENSIONS"); it != m.attributes.end()) {
      if (!it->is_array() || it->size() != m.shape.size())
        bad_field(where, "_ARRAY_DIMENSIONS", fmt::format("must list {} dimension names", m.shape.size()));
      for (const auto& d : *it) {
        if (!d.is_string()) bad_field(where, "_ARRAY_DIMENSIONS", "names must be strings");
        m.dimension_names.push_back(d.get<std::string>());
      }
      m.attributes.erase(it);
    }
  }
  validate_codecs(m, where);
  return m;
}

ArrayMetadata parse_v3_impl(const json& z, std::string_view where) {
  ArrayMetadata m;
  m.zarr_format = 3;
  const auto& fmtv = require(z, "zarr_format", where);
  if (!fmtv.is_number_integer() || fmtv.get<int>() != 3) bad_field(where, "zarr_format", fmt::format("expected 3, got {}", fmtv.dump()));
  if (require(z, "node_type", where) != "array") bad_field(where, "node_type", "expected \"array\"");
  m.shape = shape_field(require(z, "shape", where), "shape", where, false);
  m.dtype = parse_v3_dtype(require(z, "data_type", where), where);
  const auto& grid = require(z, "chunk_grid", where);
  if (!grid.is_object() || grid.value("name", json()) != "regular")
    bad_field(where, "chunk_grid", fmt::format("only the \"regular\" grid is supported, got {}", grid.dump()));
  if (!grid.contains("configuration") || !grid["configuration"].is_object() || !grid["configuration"].contains("chunk_shape"))
    bad_field(where, "chunk_grid", "missing configuration.chunk_shape");
  m.chunks = shape_field(grid["configuration"]["chunk_shape"], "chunk_grid.configuration.chunk_shape", where, true);
  if (m.chunks.size() != m.shape.size())
    bad_field(where, "chunk_grid", fmt::format("chunk rank {} differs from the rank {} of 'shape'", m.chunks.size(), m.shape.size()));
  const auto& cke = require(z, "chunk_key_encoding", where);
  if (!cke.is_object() || !cke.contains("name") || !cke["name"].is_string()) bad_field(where, "chunk_key_encoding", "needs a 'name'");
  m.chunk_key_encoding = cke["name"].get<std::string>();
  if (m.chunk_key_encoding != "default" && m.chunk_key_encoding != "v2")
    bad_field(where, "chunk_key_encoding", fmt::format("unknown encoding '{}'", m.chunk_key_encoding));
  m.chunk_key_separator = m.chunk_key_encoding == "default" ? '/' : '.';
  if (cke.contains("configuration") && cke["configuration"].is_object() && cke["configuration"].contains("separator")) {
    auto sep = cke["configuration"]["separator"];
    if (sep != "." && sep != "/") bad_field(where, "chunk_key_encoding", fmt::format("separator must be \".\" or \"/\", got {}", sep.dump()));
    m.chunk_key_separator = sep.get<std::string>()[0];
  }
  m.fill_value = require(z, "fill_value", where);
  check_fill(m, where);
  m.codecs = require(z, "codecs", where);
  if (z.contains("attributes")) {
    if (!z["attributes"].is_object()) bad_field(where, "attributes", "must be an object");
    m.attributes = z["attributes"];
  }
  if (z.contains("dimension_names") && !z["dimension_names"].is_null()) {
    const auto& dn = z["dimension_names"];
    if (!dn.is_array() || dn.size() != m.shape.size())
      bad_field(where, "dimension_names", fmt::format("must list {} names", m.shape.size()));
    for (std::size_t i = 0; i < dn.size(); ++i) {
      if (dn[i].is_null()) m.dimension_names.push_back(fmt::format("dim_{}", i));
      else if (dn[i].is_string()) m.dimension_names.push_back(dn[i].get<std::string>());
      else bad_field(where, "dimension_names", "names must be strings or null");
    }
  }
  if (z.contains("storage_transformers") && !(z["storage_transformers"].is_array() && z["storage_transformers"].empty()))
    bad_field(where, "storage_transformers", "storage transformers are not supported");
  validate_codecs(m, where);
  return m;
}

}  // namespace

// nlohmann type errors (a string where a number belongs...) become ValueErrors naming the file.
ArrayMetadata parse_array_metadata_v2(const json& z, const json& attrs, std::string_view where) {
  try {
    return parse_v2_impl(z, attrs, where);
  } catch (const json::exception& e) {
    throw ValueError(fmt::format("{}: invalid metadata ({})", where, e.what()));
  }
}

ArrayMetadata parse_array_metadata_v3(const json& z, std::string_view where) {
  try {
    return parse_v3_impl(z, where);
  } catch (const json::exception& e) {
    throw ValueError(fmt::format("{}: invalid metadata ({})", where, e.what()));
  }
}

void validate_codecs(const ArrayMetadata& m, std::string_view where) {
  if (m.zarr_format == 2) {
    (void)CodecPipeline::from_v2(m, where);
  } else {
    (void)CodecPipeline::from_v3(m.codecs, m.dtype, m.chunks, detail::fill_bytes(m.fill_value, m.dtype, where), where);
  }
}

json to_zarray(const ArrayMetadata& m) {
  json z = {{"zarr_format", 2},
            {"shape", m.shape},
            {"chunks", m.chunks},
            {"dtype", v2_dtype_string(m)},
            {"compressor", m.compressor},
            {"fill_value", detail::normalize_fill_value(m.fill_value)},
            {"order", std::string(1, m.order)},
            {"filters", m.filters.is_array() && m.filters.empty() ? json() : m.filters}};
  if (m.dimension_separator == '/') z["dimension_separator"] = "/";
  return z;
}

json to_zattrs(const ArrayMetadata& m) {
  json a = m.attributes.is_object() ? m.attributes : json::object();
  if (!m.dimension_names.empty()) a["_ARRAY_DIMENSIONS"] = m.dimension_names;
  return a;
}

json to_zarr_json(const ArrayMetadata& m) {
  if (m.dtype == DType::DateTime64)
    throw TypeError("zarr v3: datetime64[ns] is not a core data type; encode times as int64 with CF units first");
  json z = {{"zarr_format", 3},
            {"node_type", "array"},
            {"shape", m.shape},
            {"data_type", std::string(dtype_name(m.dtype))},
            {"chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", m.chunks}}}}},
            {"chunk_key_encoding",
             {{"name", m.chunk_key_encoding}, {"configuration", {{"separator", std::string(1, m.chunk_key_separator)}}}}},
            {"fill_value", detail::normalize_fill_value(m.fill_value)},
            {"codecs", m.codecs},
            {"attributes", m.attributes.is_object() ? m.attributes : json::object()}};
  if (!m.dimension_names.empty()) z["dimension_names"] = m.dimension_names;
  return z;
}

ArrayMetadata default_array_metadata(std::vector<std::string> dims, Shape shape, Shape chunks, DType dtype,
                                     json attributes, int zarr_format) {
  if (zarr_format != 2 && zarr_format != 3) throw ValueError(fmt::format("zarr_format must be 2 or 3, got {}", zarr_format));
  if (!dims.empty() && dims.size() != shape.size())
    throw DimensionError(fmt::format("{} dimension names for an array of rank {}", dims.size(), shape.size()));
  ArrayMetadata m;
  m.zarr_format = zarr_format;
  m.shape = std::move(shape);
  m.chunks = std::move(chunks);
  m.dtype = dtype;
  m.dimension_names = std::move(dims);
  m.attributes = attributes.is_object() ? std::move(attributes) : json::object();
  if (zarr_format == 2) {
    // xarray/zarr-python 2 default: Blosc(cname='lz4', clevel=5, shuffle=SHUFFLE, blocksize=0).
    m.compressor = {{"id", "blosc"}, {"cname", "lz4"}, {"clevel", 5}, {"shuffle", 1}, {"blocksize", 0}};
    m.fill_value = is_float(dtype) ? json("NaN") : json();
  } else {
    m.codecs = json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                            {{"name", "blosc"},
                             {"configuration",
                              {{"cname", "lz4"}, {"clevel", 5}, {"shuffle", itemsize(dtype) == 1 ? "bitshuffle" : "shuffle"},
                               {"typesize", itemsize(dtype)}, {"blocksize", 0}}}}});
    m.fill_value = is_float(dtype) ? json("NaN") : (dtype == DType::Bool ? json(false) : json(0));
  }
  return m;
}

json metadata_to_json(const ArrayMetadata& m) {
  if (m.zarr_format == 3) return to_zarr_json(m);
  return {{".zarray", to_zarray(m)}, {".zattrs", to_zattrs(m)}};
}

ArrayMetadata metadata_from_json(const json& j, std::string_view where) {
  if (j.is_object() && j.contains(".zarray")) return parse_array_metadata_v2(j[".zarray"], j.value(".zattrs", json()), where);
  return parse_array_metadata_v3(j, where);
}

}  // namespace cubist::zarr
