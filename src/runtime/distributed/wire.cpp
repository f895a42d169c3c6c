#include "runtime/distributed/wire.hpp"

#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <memory>

namespace cubist::runtime::distributed {
namespace {

using nlohmann::json;

// numpy allows 64 dimensions; nothing cubist builds comes close. Bounds the shape vectors a peer
// can make us build.
constexpr std::size_t kMaxRank = 64;
// msgpack is parsed recursively: a header of nested one-element arrays would otherwise overflow
// the stack long before it reached max_header_bytes. Graph params nest a handful of levels.
constexpr std::size_t kMaxDepth = 128;

std::string where_of(std::string_view type) {
  return type.empty() ? std::string("message") : fmt::format("'{}' message", type);
}

[[noreturn]] void fail(std::string_view type, std::string_view what) {
  throw ProtocolError(fmt::format("{}: {}", where_of(type), what));
}

// nlohmann's DOM builder behind a nesting-depth limit (it has none of its own).
class DepthLimitedSax {
 public:
  explicit DepthLimitedSax(json& result) : dom_(result, /*allow_exceptions=*/false) {}

  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& s) { return dom_.number_float(v, s); }
  bool string(json::string_t& v) { return dom_.string(v); }
  bool binary(json::binary_t& v) { return dom_.binary(v); }
  bool start_object(std::size_t n) { return enter() && dom_.start_object(n); }
  bool key(json::string_t& k) { return dom_.key(k); }
  bool end_object() { --depth_; return dom_.end_object(); }
  bool start_array(std::size_t n) { return enter() && dom_.start_array(n); }
  bool end_array() { --depth_; return dom_.end_array(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    error_ = e.what();
    return false;
  }

  bool too_deep() const { return too_deep_; }
  const std::string& error() const { return error_; }

 private:
  bool enter() {
    if (++depth_ > kMaxDepth) too_deep_ = true;
    return !too_deep_;
  }
  nlohmann::detail::json_sax_dom_parser<json> dom_;
  std::size_t depth_ = 0;
  bool too_deep_ = false;
  std::string error_;
};

json parse_header(const zmq::message_t& frame, const WireLimits& limits) {
  if (frame.size() > limits.max_header_bytes)
    fail("", fmt::format("header frame of {} bytes exceeds the limit of {} bytes", frame.size(),
                         limits.max_header_bytes));
  json header;
  DepthLimitedSax sax(header);
  const auto* p = static_cast<const std::uint8_t*>(frame.data());
  bool ok = false;
  try {
    ok = json::sax_parse(p, p + frame.size(), &sax, json::input_format_t::msgpack, /*strict=*/true);
  } catch (const json::exception& e) {  // the DOM builder's own checks (excessive sizes)
    fail("", fmt::format("header is not valid MessagePack ({})", e.what()));
  }
  if (sax.too_deep()) fail("", fmt::format("header nests deeper than {} levels", kMaxDepth));
  if (!ok) fail("", fmt::format("header is not valid MessagePack ({})", sax.error().empty() ? "truncated" : sax.error()));
  if (!header.is_object()) fail("", "header is not a MessagePack map");
  return header;
}

// Checks one chunk description against its frame; every size is checked before it is used.
struct ChunkSpec {
  DType dtype;
  Shape shape;
};

ChunkSpec parse_chunk_spec(const json& spec, std::size_t index, std::size_t frame_bytes, std::string_view type,
                           const WireLimits& limits) {
  const std::string at = fmt::format("chunks[{}]", index);
  if (!spec.is_object()) fail(type, fmt::format("field '{}' is not a map", at));
  const auto dt = spec.find("dtype");
  if (dt == spec.end() || !dt->is_string()) fail(type, fmt::format("field '{}.dtype' is missing or not a string", at));
  ChunkSpec out{};
  try {
    out.dtype = parse_dtype(dt->get_ref<const std::string&>());
  } catch (const Error&) {
    fail(type, fmt::format("field '{}.dtype' names an unknown dtype '{}'", at, dt->get_ref<const std::string&>()));
  }
  const auto sh = spec.find("shape");
  if (sh == spec.end() || !sh->is_array()) fail(type, fmt::format("field '{}.shape' is missing or not an array", at));
  if (sh->size() > kMaxRank) fail(type, fmt::format("field '{}.shape' has {} axes, more than {}", at, sh->size(), kMaxRank));
  out.shape.reserve(sh->size());
  bool zero = false;
  for (std::size_t a = 0; a < sh->size(); ++a) {
    const json& e = (*sh)[a];
    std::int64_t extent;
    if (e.is_number_unsigned()) {
      const auto u = e.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        fail(type, fmt::format("field '{}.shape[{}]' = {} is too large", at, a, u));
      extent = static_cast<std::int64_t>(u);
    } else if (e.is_number_integer()) {
      extent = e.get<std::int64_t>();
    } else {
      fail(type, fmt::format("field '{}.shape[{}]' is not an integer", at, a));
    }
    if (extent < 0) fail(type, fmt::format("field '{}.shape[{}]' = {} is negative", at, a, extent));
    if (extent == 0) zero = true;
    out.shape.push_back(extent);
  }
  // The product is kept at most the frame's size at every step, so it can never overflow.
  std::uint64_t bytes = zero ? 0 : itemsize(out.dtype);
  for (std::size_t a = 0; a < out.shape.size() && !zero; ++a) {
    const auto extent = static_cast<std::uint64_t>(out.shape[a]);
    if (extent > frame_bytes / bytes)
      fail(type, fmt::format("field '{}' ({} {}) needs more bytes than the {} of its frame", at,
                             dt->get_ref<const std::string&>(), shape_to_string(out.shape), frame_bytes));
    bytes *= extent;
  }
  if (bytes > limits.max_chunk_bytes)
    fail(type, fmt::format("field '{}' of {} bytes exceeds the limit of {} bytes", at, bytes, limits.max_chunk_bytes));
  if (bytes != frame_bytes)
    fail(type, fmt::format("field '{}' ({} {}) needs {} bytes but its frame has {}", at, dt->get_ref<const std::string&>(),
                           shape_to_string(out.shape), bytes, frame_bytes));
  return out;
}

// The frame's memory becomes the chunk's buffer when its address suits the dtype (zmq's buffers
// are malloc'd, so in practice always); otherwise one aligned copy.
Chunk adopt_frame(zmq::message_t&& frame, const ChunkSpec& spec) {
  const std::size_t item = itemsize(spec.dtype);
  auto owner = std::make_shared<zmq::message_t>(std::move(frame));  // data() taken after the move:
  const void* data = owner->data();  // small messages live inside the message object itself
  if (owner->size() == 0 || reinterpret_cast<std::uintptr_t>(data) % item != 0) {
    Chunk copy = Chunk::allocate(spec.dtype, spec.shape);
    if (owner->size()) std::memcpy(copy.mutable_raw(), data, owner->size());
    return copy;
  }
  return Chunk::wrap(spec.dtype, spec.shape, std::shared_ptr<const void>(owner, data), data);
}

}  // namespace

std::vector<zmq::message_t> encode(const Message& m) {
  if (m.type.empty()) throw ValueError("wire: cannot send a message without a type");
  if (!m.body.is_object()) throw ValueError(fmt::format("wire: body of '{}' message is not an object", m.type));
  std::vector<Chunk> chunks;
  chunks.reserve(m.chunks.size());
  json specs = json::array();
  for (std::size_t i = 0; i < m.chunks.size(); ++i) {
    const Chunk& c = m.chunks[i];
    if (c.empty()) throw ValueError(fmt::format("wire: chunk {} of '{}' message has no buffer", i, m.type));
    chunks.push_back(c.contiguous());
    specs.push_back({{"dtype", dtype_name(c.dtype())}, {"shape", c.shape()}});
  }
  const json header = {{"v", kProtocolVersion}, {"type", m.type}, {"body", m.body}, {"chunks", std::move(specs)}};
  std::vector<zmq::message_t> frames;
  frames.reserve(1 + chunks.size());
  const std::vector<std::uint8_t> bytes = json::to_msgpack(header);
  frames.emplace_back(bytes.data(), bytes.size());
  for (Chunk& c : chunks) {
    if (c.nbytes() == 0) {
      frames.emplace_back();
      continue;
    }
    // zmq calls the free function (from its I/O thread) once the frame is sent; the heap copy of
    // the chunk keeps its buffer alive until then.
    auto* keep = new Chunk(std::move(c));
    frames.emplace_back(keep->mutable_raw(), keep->nbytes(), [](void*, void* hint) { delete static_cast<Chunk*>(hint); },
                        keep);
  }
  return frames;
}

Message decode(std::vector<zmq::message_t>&& frames, const WireLimits& limits) {
  if (frames.empty()) fail("", "no frames");
  const json header = parse_header(frames[0], limits);

  const auto v = header.find("v");
  if (v == header.end() || !v->is_number_integer() || v->get<std::int64_t>() != kProtocolVersion)
    fail("", fmt::format("field 'v' is {}, expected protocol version {}", v == header.end() ? "missing" : v->dump(-1, ' ', false, json::error_handler_t::replace).substr(0, 40),
                         kProtocolVersion));
  const auto t = header.find("type");
  if (t == header.end() || !t->is_string() || t->get_ref<const std::string&>().empty())
    fail("", "field 'type' is missing, empty or not a string");
  Message m;
  m.type = t->get<std::string>();
  const auto b = header.find("body");
  if (b == header.end() || !b->is_object()) fail(m.type, "field 'body' is missing or not a map");
  const auto c = header.find("chunks");
  if (c == header.end() || !c->is_array()) fail(m.type, "field 'chunks' is missing or not an array");
  if (c->size() > limits.max_chunks)
    fail(m.type, fmt::format("field 'chunks' lists {} chunks, more than the limit of {}", c->size(), limits.max_chunks));
  if (c->size() != frames.size() - 1)
    fail(m.type, fmt::format("field 'chunks' lists {} chunks but {} chunk frames arrived", c->size(), frames.size() - 1));

  std::vector<ChunkSpec> specs;
  specs.reserve(c->size());
  for (std::size_t i = 0; i < c->size(); ++i)
    specs.push_back(parse_chunk_spec((*c)[i], i, frames[i + 1].size(), m.type, limits));
  m.body = *b;
  m.chunks.reserve(specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) m.chunks.push_back(adopt_frame(std::move(frames[i + 1]), specs[i]));
  return m;
}

const nlohmann::json& field(const nlohmann::json& body, std::string_view name, std::string_view where) {
  if (!body.is_object()) throw ProtocolError(fmt::format("{}: body is not a map (looking for field '{}')", where, name));
  const auto it = body.find(name);
  if (it == body.end()) throw ProtocolError(fmt::format("{}: field '{}' is missing", where, name));
  return *it;
}

std::string string_field(const nlohmann::json& body, std::string_view name, std::string_view where) {
  const json& f = field(body, name, where);
  if (!f.is_string()) throw ProtocolError(fmt::format("{}: field '{}' is not a string", where, name));
  return f.get<std::string>();
}

std::int64_t int_field(const nlohmann::json& body, std::string_view name, std::string_view where, std::int64_t lo,
                       std::int64_t hi) {
  const json& f = field(body, name, where);
  bool in_range = false;
  std::int64_t v = 0;
  if (f.is_number_unsigned()) {
    const auto u = f.get<std::uint64_t>();
    if (hi >= 0 && u <= static_cast<std::uint64_t>(hi)) {
      v = static_cast<std::int64_t>(u);
      in_range = v >= lo;
    }
  } else if (f.is_number_integer()) {
    v = f.get<std::int64_t>();
    in_range = v >= lo && v <= hi;
  } else {
    throw ProtocolError(fmt::format("{}: field '{}' is not an integer", where, name));
  }
  if (!in_range) throw ProtocolError(fmt::format("{}: field '{}' = {} is outside [{}, {}]", where, name, f.dump(), lo, hi));
  return v;
}

}  // namespace cubist::runtime::distributed
