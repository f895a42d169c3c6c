// Fixed-width string arrays of Zarr v2 (numpy '<U n' UCS-4 and '|S n' bytes): how xarray stores
// string coordinates such as band = ['red', 'nir']. cubist's DataArrays hold numbers, so these
// arrays are read whole into std::strings (coordinates are small) and written as one chunk.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "cubist/zarr.hpp"
#include "zarr/codecs.hpp"
#include "zarr/internal.hpp"
#include "zarr/layout.hpp"

namespace cubist::zarr {
using nlohmann::json;

namespace {

struct StringDType {
  bool unicode = false;     // 'U' (UCS-4 code points) or 'S' (bytes)
  bool big_endian = false;  // '>U'
  std::size_t chars = 0;    // characters per element
  std::size_t width() const { return unicode ? 4 * chars : chars; }
};

std::optional<StringDType> parse_string_dtype(const json& dtype) {
  if (!dtype.is_string()) return std::nullopt;
  auto s = dtype.get<std::string>();
  if (s.size() < 3 || (s[0] != '<' && s[0] != '>' && s[0] != '|' && s[0] != '=') || (s[1] != 'U' && s[1] != 'S'))
    return std::nullopt;
  std::size_t n = 0;
  for (std::size_t i = 2; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9' || n > (std::size_t{1} << 24)) return std::nullopt;
    n = n * 10 + static_cast<std::size_t>(s[i] - '0');
  }
  if (n == 0) return std::nullopt;
  return StringDType{s[1] == 'U', s[0] == '>', n};
}

void append_utf8(std::string& out, std::uint32_t cp, std::string_view where) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    throw ValueError(fmt::format("{}: invalid unicode code point U+{:X}", where, cp));
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::vector<std::uint32_t> utf8_code_points(std::string_view s, std::string_view where) {
  std::vector<std::uint32_t> cps;
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (n < 0 || i + static_cast<std::size_t>(n) >= s.size() + (n == 0 ? 1 : 0))
      throw ValueError(fmt::format("{}: string '{}' is not valid UTF-8", where, s));
    std::uint32_t cp = n == 0 ? c : c & (0x3Fu >> n);
    for (int k = 1; k <= n; ++k) {
      auto d = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((d & 0xC0) != 0x80) throw ValueError(fmt::format("{}: string '{}' is not valid UTF-8", where, s));
      cp = (cp << 6) | (d & 0x3F);
    }
    if (cp == 0) throw ValueError(fmt::format("{}: string with a NUL character cannot be stored as a numpy '<U' string", where));
    cps.push_back(cp);
    i += static_cast<std::size_t>(n) + 1;
  }
  return cps;
}

// One element's bytes -> std::string, without numpy's trailing NUL padding.
std::string decode_element(const std::byte* p, const StringDType& t, std::string_view where) {
  std::string out;
  if (!t.unicode) {
    std::size_t n = t.chars;
    while (n > 0 && p[n - 1] == std::byte{0}) --n;
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  std::size_t n = t.chars;
  auto cp_at = [&](std::size_t i) {
    std::uint32_t v = 0;
    for (std::size_t b = 0; b < 4; ++b) {
      auto byte = static_cast<std::uint32_t>(p[4 * i + (t.big_endian ? 3 - b : b)]);
      v |= byte << (8 * b);
    }
    return v;
  };
  while (n > 0 && cp_at(n - 1) == 0) --n;
  for (std::size_t i = 0; i < n; ++i) append_utf8(out, cp_at(i), where);
  return out;
}

std::string chunk_key_v2(const std::string& name, const std::vector<std::int64_t>& idx, char sep) {
  // fmt::memory_buffer rather than std::string += (GCC 12 reports a bogus -Wrestrict there).
  fmt::memory_buffer key;
  fmt::format_to(std::back_inserter(key), "{}/", name);
  if (idx.empty()) key.push_back('0');
  for (std::size_t a = 0; a < idx.size(); ++a) {
    if (a > 0) key.push_back(sep);
    fmt::format_to(std::back_inserter(key), "{}", idx[a]);
  }
  return fmt::to_string(key);
}

}  // namespace

bool is_string_dtype(const json& zarray) {
  return zarray.is_object() && zarray.contains("dtype") && parse_string_dtype(zarray["dtype"]).has_value();
}

StringArray read_string_array(const Store& store, const std::string& name, const json& zarray, const json& zattrs) {
  const auto where = fmt::format("{}/{}/.zarray", store.describe(), name);
  auto t = parse_string_dtype(zarray.value("dtype", json()));
  if (!t) throw TypeError(fmt::format("{}: field 'dtype': not a fixed-width string dtype", where));
  StringArray out;
  try {
    out.shape = zarray.at("shape").get<Shape>();
    Shape chunks = zarray.at("chunks").get<Shape>();
    if (chunks.size() != out.shape.size())
      throw ValueError(fmt::format("{}: field 'chunks': rank {} differs from the rank {} of 'shape'", where, chunks.size(), out.shape.size()));
    for (std::size_t a = 0; a < chunks.size(); ++a)
      if (chunks[a] <= 0 || out.shape[a] < 0) throw ValueError(fmt::format("{}: field 'chunks' or 'shape': bad extent", where));
    if (out.shape.size() > 1 && zarray.value("order", std::string("C")) != "C")
      throw ValueError(fmt::format("{}: field 'order': only C order is supported for string arrays of rank > 1", where));
    if (zarray.contains("filters") && !zarray["filters"].is_null() && !zarray["filters"].empty())
      throw ValueError(fmt::format("{}: field 'filters': filters are not supported", where));
    auto sep_s = zarray.value("dimension_separator", std::string("."));
    if (sep_s != "." && sep_s != "/") throw ValueError(fmt::format("{}: field 'dimension_separator': '{}'", where, sep_s));
    std::unique_ptr<detail::BytesCodec> codec;
    if (zarray.contains("compressor") && !zarray["compressor"].is_null())
      codec = detail::make_v2_codec(zarray["compressor"], t->width(), where);
    json attrs = zattrs.is_object() ? zattrs : json::object();
    if (attrs.contains("_ARRAY_DIMENSIONS")) {
      out.dims = attrs["_ARRAY_DIMENSIONS"].get<std::vector<std::string>>();
      attrs.erase("_ARRAY_DIMENSIONS");
    }
    if (out.dims.size() != out.shape.size())
      throw ValueError(fmt::format("{}: attribute '_ARRAY_DIMENSIONS' must list {} dimension names", where, out.shape.size()));
    out.attributes = std::move(attrs);

    const std::size_t w = t->width();
    const std::int64_t total = shape_size(out.shape);
    if (static_cast<double>(total) * static_cast<double>(w) > double(std::size_t{1} << 31))
      throw ValueError(fmt::format("{}: string array too large to hold as coordinate labels", where));
    std::vector<std::byte> all(static_cast<std::size_t>(total) * w, std::byte{0});
    const std::size_t chunk_bytes = static_cast<std::size_t>(shape_size(chunks)) * w;
    Bytes raw, decoded(chunk_bytes), dense;
    ChunkGrid grid = ChunkGrid::regular(out.shape, chunks);
    for (std::int64_t i = 0; total > 0 && i < grid.total_chunks(); ++i) {
      auto idx = grid.unravel(i);
      auto key = chunk_key_v2(name, idx, sep_s[0]);
      if (!store.get_into(key, raw)) continue;  // missing chunk: empty strings (numpy's zeros)
      try {
        if (codec) codec->decode_into(raw.span(), decoded.mutable_span());
        else if (raw.size() != chunk_bytes) detail::throw_size_mismatch("bytes", raw.size(), chunk_bytes);
        else std::memcpy(decoded.data(), raw.data(), chunk_bytes);
      } catch (const ValueError& e) {
        throw ValueError(fmt::format("zarr: chunk '{}/{}': {}", store.describe(), key, e.what()));
      }
      Shape actual = grid.chunk_shape(idx), offset(idx.size());
      for (std::size_t a = 0; a < idx.size(); ++a) offset[a] = grid.offset(a, idx[a]);
      dense.resize_discard(static_cast<std::size_t>(shape_size(actual)) * w);
      detail::copy_block(decoded.data(), chunks, Shape(idx.size(), 0), dense.data(), actual, w, true);
      detail::copy_block(all.data(), out.shape, offset, dense.data(), actual, w, false);
    }
    out.values.reserve(static_cast<std::size_t>(total));
    for (std::int64_t i = 0; i < total; ++i) out.values.push_back(decode_element(all.data() + static_cast<std::size_t>(i) * w, *t, where));
  } catch (const json::exception& e) {
    throw ValueError(fmt::format("{}: {}", where, e.what()));
  }
  return out;
}

std::pair<json, json> write_string_array(Store& store, const std::string& name, const StringArray& a) {
  const auto where = fmt::format("{}/{}", store.describe(), name);
  if (a.dims.size() != a.shape.size())
    throw DimensionError(fmt::format("zarr: string array '{}': {} dimension names for rank {}", where, a.dims.size(), a.shape.size()));
  if (static_cast<std::int64_t>(a.values.size()) != shape_size(a.shape))
    throw ValueError(fmt::format("zarr: string array '{}': {} values for shape {}", where, a.values.size(), shape_to_string(a.shape)));
  std::vector<std::vector<std::uint32_t>> cps;
  std::size_t chars = 1;  // numpy's '<U0' is not a thing: at least one character
  for (const auto& v : a.values) {
    cps.push_back(utf8_code_points(v, where));
    chars = std::max(chars, cps.back().size());
  }
  const std::size_t w = 4 * chars;
  std::vector<std::byte> data(a.values.size() * w, std::byte{0});
  for (std::size_t i = 0; i < cps.size(); ++i)
    for (std::size_t k = 0; k < cps[i].size(); ++k)
      for (std::size_t b = 0; b < 4; ++b)
        data[i * w + 4 * k + b] = static_cast<std::byte>((cps[i][k] >> (8 * b)) & 0xFF);  // little-endian, as '<U'
  // As xarray writes a string coordinate: one chunk, blosc lz4 (its default), fill_value null.
  json compressor = {{"id", "blosc"}, {"cname", "lz4"}, {"clevel", 5}, {"shuffle", 1}, {"blocksize", 0}};
  Shape chunks = a.shape;
  for (auto& c : chunks) c = std::max<std::int64_t>(c, 1);
  json zarray = {{"chunks", chunks},        {"compressor", compressor}, {"dtype", fmt::format("<U{}", chars)},
                 {"fill_value", nullptr},   {"filters", nullptr},       {"order", "C"},
                 {"shape", a.shape},        {"zarr_format", 2}};
  json zattrs = a.attributes.is_object() ? a.attributes : json::object();
  zattrs["_ARRAY_DIMENSIONS"] = a.dims;
  if (!a.values.empty()) {
    auto codec = detail::make_v2_codec(compressor, w, where);
    Bytes encoded = codec->encode(std::span<const std::byte>(data.data(), data.size()));
    store.set(chunk_key_v2(name, std::vector<std::int64_t>(a.shape.size(), 0), '.'), encoded.span());
  }
  return {zarray, zattrs};
}

}  // namespace cubist::zarr
