// Compressors: blosc (thread-safe *_ctx API), zstd, lz4 (numcodecs framing), zlib, gzip; crc32c.
#include "zarr/codecs.hpp"

#include <blosc.h>
#include <lz4.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <array>
#include <climits>
#include <cstring>
#include <fmt/format.h>
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace cubist::zarr::detail {
using nlohmann::json;

void throw_size_mismatch(std::string_view codec, std::size_t got, std::size_t expected) {
  throw ValueError(fmt::format("{} decoded {} bytes, expected {}", codec, got, expected));
}

void BytesCodec::decode_into(std::span<const std::byte> in, std::span<std::byte> out) const {
  Bytes scratch;
  auto d = decode(in, scratch);
  if (d.size() != out.size()) throw_size_mismatch(name(), d.size(), out.size());
  std::memcpy(out.data(), d.data(), d.size());
}

std::size_t BytesCodec::encode_to(std::span<const std::byte> in, std::span<std::byte> out) const {
  Bytes tmp;
  encode_into(in, tmp);
  if (tmp.size() > out.size())
    throw ValueError(fmt::format("{} encoded {} bytes into a buffer of {}", name(), tmp.size(), out.size()));
  if (!tmp.empty()) std::memcpy(out.data(), tmp.data(), tmp.size());
  return tmp.size();
}

namespace {

// Reads an optional integer field, naming the codec and field on a wrong type.
int int_field(const json& cfg, const char* key, int dflt, std::string_view codec, std::string_view where) {
  if (!cfg.is_object() || !cfg.contains(key) || cfg[key].is_null()) return dflt;
  const auto& v = cfg[key];
  if (!v.is_number_integer())
    throw ValueError(fmt::format("{}: codec '{}': field '{}' must be an integer, got {}", where, codec, key, v.dump()));
  return v.get<int>();
}

// ---- blosc ----------------------------------------------------------------------------------
class BloscCodec final : public BytesCodec {
 public:
  BloscCodec(std::string cname, int clevel, int shuffle, std::size_t typesize, std::size_t blocksize)
      : cname_(std::move(cname)), clevel_(clevel), shuffle_(shuffle), typesize_(typesize), blocksize_(blocksize) {}
  std::string_view name() const override { return "blosc"; }

  std::span<const std::byte> decode(std::span<const std::byte> in, Bytes& scratch) const override {
    std::size_t n = checked_size(in);
    scratch = Bytes(n);
    run_decompress(in, scratch.mutable_span());
    return scratch.span();
  }
  void decode_into(std::span<const std::byte> in, std::span<std::byte> out) const override {
    std::size_t n = checked_size(in);
    if (n != out.size()) throw_size_mismatch("blosc", n, out.size());
    run_decompress(in, out);
  }
  Bytes encode(std::span<const std::byte> in) const override {
    Bytes out;
    encode_into(in, out);
    return out;
  }
  void encode_into(std::span<const std::byte> in, Bytes& out) const override {
    out.resize_discard(encode_bound(in.size()));
    out.truncate(encode_to(in, out.mutable_span()));
  }
  std::size_t encode_bound(std::size_t n) const override { return n + BLOSC_MAX_OVERHEAD; }
  std::size_t encode_to(std::span<const std::byte> in, std::span<std::byte> out) const override {
    if (in.size() > static_cast<std::size_t>(BLOSC_MAX_BUFFERSIZE))
      throw ValueError(fmt::format("blosc cannot compress a chunk of {} bytes (limit 2 GiB)", in.size()));
    int shuffle = shuffle_ == -1 ? (typesize_ == 1 ? BLOSC_BITSHUFFLE : BLOSC_SHUFFLE) : shuffle_;
    std::size_t ts = typesize_ > 0 && typesize_ <= BLOSC_MAX_TYPESIZE ? typesize_ : 1;
    // numinternalthreads = 1: chunks are already compressed in parallel by the scheduler's threads.
    int r = blosc_compress_ctx(clevel_, shuffle, ts, in.size(), in.data(), out.data(), out.size(), cname_.c_str(),
                               blocksize_, 1);
    if (r <= 0) throw ValueError(fmt::format("blosc compression with '{}' failed (code {})", cname_, r));
    return static_cast<std::size_t>(r);
  }

 private:
  static std::size_t checked_size(std::span<const std::byte> in) {
    std::size_t nbytes = 0;
    // blosc1 trusts its header; validate it against the real buffer first so bad input cannot overrun.
    if (in.size() < BLOSC_MIN_HEADER_LENGTH || blosc_cbuffer_validate(in.data(), in.size(), &nbytes) != 0)
      throw ValueError(fmt::format("blosc: corrupt or truncated data ({} bytes)", in.size()));
    return nbytes;
  }
  static void run_decompress(std::span<const std::byte> in, std::span<std::byte> out) {
    int r = blosc_decompress_ctx(in.data(), out.data(), out.size(), 1);
    if (r < 0 || static_cast<std::size_t>(r) != out.size())
      throw ValueError(fmt::format("blosc: corrupt data (decompression returned {})", r));
  }
  std::string cname_;
  int clevel_, shuffle_;
  std::size_t typesize_, blocksize_;
};

std::unique_ptr<BytesCodec> make_blosc(const json& cfg, std::size_t itemsize, bool v3, std::string_view where) {
  std::string cname = "lz4";
  if (cfg.contains("cname")) {
    if (!cfg["cname"].is_string()) throw ValueError(fmt::format("{}: codec 'blosc': field 'cname' must be a string", where));
    cname = cfg["cname"].get<std::string>();
  }
  if (cname != "lz4" && cname != "lz4hc" && cname != "zstd" && cname != "zlib" && cname != "blosclz")
    throw ValueError(fmt::format("{}: codec 'blosc': unknown cname '{}' (lz4, lz4hc, zstd, zlib, blosclz)", where, cname));
  int clevel = int_field(cfg, "clevel", 5, "blosc", where);
  if (clevel < 0 || clevel > 9) throw ValueError(fmt::format("{}: codec 'blosc': clevel {} not in 0..9", where, clevel));
  int shuffle = BLOSC_SHUFFLE;
  if (v3) {
    std::string s = cfg.value("shuffle", std::string("noshuffle"));
    if (s == "noshuffle") shuffle = BLOSC_NOSHUFFLE;
    else if (s == "shuffle") shuffle = BLOSC_SHUFFLE;
    else if (s == "bitshuffle") shuffle = BLOSC_BITSHUFFLE;
    else throw ValueError(fmt::format("{}: codec 'blosc': unknown shuffle '{}'", where, s));
    itemsize = static_cast<std::size_t>(int_field(cfg, "typesize", static_cast<int>(itemsize), "blosc", where));
  } else {
    shuffle = int_field(cfg, "shuffle", BLOSC_SHUFFLE, "blosc", where);
    if (shuffle < -1 || shuffle > 2) throw ValueError(fmt::format("{}: codec 'blosc': shuffle {} not in -1..2", where, shuffle));
  }
  int blocksize = int_field(cfg, "blocksize", 0, "blosc", where);
  if (blocksize < 0) throw ValueError(fmt::format("{}: codec 'blosc': negative blocksize", where));
  return std::make_unique<BloscCodec>(cname, clevel, shuffle, itemsize, static_cast<std::size_t>(blocksize));
}

// ---- zstd -----------------------------------------------------------------------------------
struct ZstdContexts {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};
ZstdContexts& zstd_contexts() {
  thread_local ZstdContexts ctx;  // reused across chunks: creating one costs more than a small chunk
  return ctx;
}

class ZstdCodec final : public BytesCodec {
 public:
  ZstdCodec(int level, bool checksum) : level_(level), checksum_(checksum) {}
  std::string_view name() const override { return "zstd"; }

  std::span<const std::byte> decode(std::span<const std::byte> in, Bytes& scratch) const override {
    auto size = ZSTD_getFrameContentSize(in.data(), in.size());
    if (size == ZSTD_CONTENTSIZE_ERROR) throw ValueError("zstd: corrupt data (not a zstd frame)");
    if (size != ZSTD_CONTENTSIZE_UNKNOWN) {
      scratch = Bytes(static_cast<std::size_t>(size));
      decode_into(in, scratch.mutable_span());
      return scratch.span();
    }
    return stream_decode(in, scratch);
  }
  void decode_into(std::span<const std::byte> in, std::span<std::byte> out) const override {
    auto r = ZSTD_decompressDCtx(zstd_contexts().d, out.data(), out.size(), in.data(), in.size());
    if (ZSTD_isError(r)) {
      if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
        throw ValueError(fmt::format("zstd decoded more than the expected {} bytes", out.size()));
      throw ValueError(fmt::format("zstd: corrupt data ({})", ZSTD_getErrorName(r)));
    }
    if (r != out.size()) throw_size_mismatch("zstd", r, out.size());
  }
  Bytes encode(std::span<const std::byte> in) const override {
    Bytes out;
    encode_into(in, out);
    return out;
  }
  void encode_into(std::span<const std::byte> in, Bytes& out) const override {
    out.resize_discard(encode_bound(in.size()));
    out.truncate(encode_to(in, out.mutable_span()));
  }
  std::size_t encode_bound(std::size_t n) const override { return ZSTD_compressBound(n); }
  std::size_t encode_to(std::span<const std::byte> in, std::span<std::byte> out) const override {
    auto* c = zstd_contexts().c;
    ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level_);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum_ ? 1 : 0);
    auto r = ZSTD_compress2(c, out.data(), out.size(), in.data(), in.size());
    if (ZSTD_isError(r)) throw ValueError(fmt::format("zstd compression failed: {}", ZSTD_getErrorName(r)));
    return r;
  }

 private:
  static std::span<const std::byte> stream_decode(std::span<const std::byte> in, Bytes& scratch) {
    auto* d = zstd_contexts().d;
    ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
    std::size_t cap = std::max<std::size_t>(in.size() * 4, 1 << 16), used = 0;
    Bytes buf(cap);
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    while (true) {
      ZSTD_outBuffer ob{buf.data() + used, cap - used, 0};
      auto r = ZSTD_decompressStream(d, &ob, &ib);
      if (ZSTD_isError(r)) throw ValueError(fmt::format("zstd: corrupt data ({})", ZSTD_getErrorName(r)));
      used += ob.pos;
      if (r == 0 && ib.pos == ib.size) break;
      if (ib.pos == ib.size && ob.pos < ob.size) throw ValueError("zstd: truncated data");
      if (used == cap) {
        Bytes bigger(cap * 2);
        std::memcpy(bigger.data(), buf.data(), used);
        buf = std::move(bigger);
        cap *= 2;
      }
    }
    buf.truncate(used);
    scratch = std::move(buf);
    return scratch.span();
  }
  int level_;
  bool checksum_;
};

// ---- lz4 (numcodecs: 4-byte little-endian decoded size, then one LZ4 block) ------------------
class Lz4Codec final : public BytesCodec {
 public:
  explicit Lz4Codec(int acceleration) : acceleration_(acceleration) {}
  std::string_view name() const override { return "lz4"; }
  std::span<const std::byte> decode(std::span<const std::byte> in, Bytes& scratch) const override {
    scratch = Bytes(header_size(in));
    decode_into(in, scratch.mutable_span());
    return scratch.span();
  }
  void decode_into(std::span<const std::byte> in, std::span<std::byte> out) const override {
    auto n = header_size(in);
    if (n != out.size()) throw_size_mismatch("lz4", n, out.size());
    int r = LZ4_decompress_safe(reinterpret_cast<const char*>(in.data() + 4), reinterpret_cast<char*>(out.data()),
                                static_cast<int>(in.size() - 4), static_cast<int>(out.size()));
    if (r < 0 || static_cast<std::size_t>(r) != out.size()) throw ValueError("lz4: corrupt data");
  }
  Bytes encode(std::span<const std::byte> in) const override {
    Bytes out;
    encode_into(in, out);
    return out;
  }
  void encode_into(std::span<const std::byte> in, Bytes& out) const override {
    if (in.size() > static_cast<std::size_t>(LZ4_MAX_INPUT_SIZE))
      throw ValueError(fmt::format("lz4 cannot compress a chunk of {} bytes", in.size()));
    int n = static_cast<int>(in.size());
    out.resize_discard(4 + static_cast<std::size_t>(LZ4_compressBound(n)));
    for (int i = 0; i < 4; ++i) out.data()[i] = static_cast<std::byte>((static_cast<std::uint32_t>(n) >> (8 * i)) & 0xff);
    int r = LZ4_compress_fast(reinterpret_cast<const char*>(in.data()), reinterpret_cast<char*>(out.data() + 4), n,
                              LZ4_compressBound(n), acceleration_);
    if (r <= 0 && n > 0) throw ValueError("lz4 compression failed");
    out.truncate(4 + static_cast<std::size_t>(r));
  }

 private:
  static std::size_t header_size(std::span<const std::byte> in) {
    if (in.size() < 4) throw ValueError(fmt::format("lz4: truncated data ({} bytes)", in.size()));
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n |= static_cast<std::uint32_t>(in[static_cast<std::size_t>(i)]) << (8 * i);
    if (n > static_cast<std::uint32_t>(LZ4_MAX_INPUT_SIZE)) throw ValueError("lz4: corrupt size header");
    return n;
  }
  int acceleration_;
};

// ---- zlib / gzip (deflate with a zlib or gzip wrapper) ---------------------------------------
class DeflateCodec final : public BytesCodec {
 public:
  DeflateCodec(bool gzip, int level) : gzip_(gzip), level_(level) {}
  std::string_view name() const override { return gzip_ ? "gzip" : "zlib"; }

  std::span<const std::byte> decode(std::span<const std::byte> in, Bytes& scratch) const override {
    std::size_t cap = std::max<std::size_t>(in.size() * 4, 1 << 16);
    while (true) {
      Bytes buf(cap);
      auto [n, done] = inflate_to(in, buf.mutable_span());
      if (done) {
        buf.truncate(n);
        scratch = std::move(buf);
        return scratch.span();
      }
      cap *= 4;  // output did not fit: retry bigger (rare; decode_into is the hot path)
    }
  }
  void decode_into(std::span<const std::byte> in, std::span<std::byte> out) const override {
    auto [n, done] = inflate_to(in, out);
    if (!done) throw ValueError(fmt::format("{} decoded more than the expected {} bytes", name(), out.size()));
    if (n != out.size()) throw_size_mismatch(name(), n, out.size());
  }
  Bytes encode(std::span<const std::byte> in) const override {
    z_stream s{};
    if (deflateInit2(&s, level_, Z_DEFLATED, gzip_ ? 31 : 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw ValueError(fmt::format("{}: cannot initialise level {}", name(), level_));
    Bytes out(deflateBound(&s, in.size()) + 32);
    s.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
    s.avail_in = static_cast<uInt>(in.size());
    s.next_out = reinterpret_cast<Bytef*>(out.data());
    s.avail_out = static_cast<uInt>(out.size());
    int r = deflate(&s, Z_FINISH);
    auto n = s.total_out;
    deflateEnd(&s);
    if (r != Z_STREAM_END) throw ValueError(fmt::format("{} compression failed", name()));
    out.truncate(n);
    return out;
  }

 private:
  // (bytes written, stream ended)
  std::pair<std::size_t, bool> inflate_to(std::span<const std::byte> in, std::span<std::byte> out) const {
    if (in.size() > UINT_MAX || out.size() > UINT_MAX) throw ValueError(fmt::format("{}: chunk too large", name()));
    z_stream s{};
    if (inflateInit2(&s, 15 + 32) != Z_OK) throw ValueError(fmt::format("{}: cannot initialise", name()));  // zlib or gzip
    s.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
    s.avail_in = static_cast<uInt>(in.size());
    s.next_out = reinterpret_cast<Bytef*>(out.data());
    s.avail_out = static_cast<uInt>(out.size());
    int r = inflate(&s, Z_FINISH);
    auto n = s.total_out;
    inflateEnd(&s);
    if (r == Z_STREAM_END) return {n, true};
    if (r == Z_BUF_ERROR && s.avail_out == 0) return {n, false};
    throw ValueError(fmt::format("{}: corrupt or truncated data", name()));
  }
  bool gzip_;
  int level_;
};

// ---- crc32c (v3: 4-byte little-endian checksum appended) -------------------------------------
class Crc32cCodec final : public BytesCodec {
 public:
  std::string_view name() const override { return "crc32c"; }
  std::span<const std::byte> decode(std::span<const std::byte> in, Bytes&) const override {
    if (in.size() < 4) throw ValueError("crc32c: data shorter than its checksum");
    auto body = in.first(in.size() - 4);
    std::uint32_t stored = 0;
    for (int i = 0; i < 4; ++i) stored |= static_cast<std::uint32_t>(in[body.size() + static_cast<std::size_t>(i)]) << (8 * i);
    if (crc32c(body) != stored) throw ValueError("crc32c: checksum mismatch (corrupt data)");
    return body;
  }
  Bytes encode(std::span<const std::byte> in) const override {
    Bytes out(in.size() + 4);
    if (!in.empty()) std::memcpy(out.data(), in.data(), in.size());
    auto c = crc32c(in);
    for (int i = 0; i < 4; ++i) out.data()[in.size() + static_cast<std::size_t>(i)] = static_cast<std::byte>((c >> (8 * i)) & 0xff);
    return out;
  }
};

std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}

std::uint32_t crc32c_soft(std::uint32_t crc, const unsigned char* p, std::size_t n) {
  static const auto table = make_crc_table();
  for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_hw(std::uint32_t crc, const unsigned char* p, std::size_t n) {
  std::uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
  }
  auto c32 = static_cast<std::uint32_t>(c);
  for (; n > 0; --n, ++p) c32 = _mm_crc32_u8(c32, *p);
  return c32;
}
#endif

}  // namespace

std::uint32_t crc32c(std::span<const std::byte> data) {
  auto* p = reinterpret_cast<const unsigned char*>(data.data());
#if defined(__x86_64__)
  static const bool hw = __builtin_cpu_supports("sse4.2");
  if (hw) return ~crc32c_hw(~0u, p, data.size());
#endif
  return ~crc32c_soft(~0u, p, data.size());
}

std::unique_ptr<BytesCodec> make_v2_codec(const json& config, std::size_t itemsize, std::string_view where) {
  if (!config.is_object() || !config.contains("id") || !config["id"].is_string())
    throw ValueError(fmt::format("{}: field 'compressor' must be null or an object with a string 'id'", where));
  auto id = config["id"].get<std::string>();
  if (id == "blosc") return make_blosc(config, itemsize, false, where);
  if (id == "zstd") return std::make_unique<ZstdCodec>(int_field(config, "level", 1, id, where), false);
  if (id == "lz4") return std::make_unique<Lz4Codec>(std::max(1, int_field(config, "acceleration", 1, id, where)));
  if (id == "zlib") return std::make_unique<DeflateCodec>(false, int_field(config, "level", 1, id, where));
  if (id == "gzip") return std::make_unique<DeflateCodec>(true, int_field(config, "level", 1, id, where));
  throw ValueError(fmt::format("{}: unknown codec '{}' (supported: blosc, zstd, lz4, zlib, gzip)", where, id));
}

std::unique_ptr<BytesCodec> make_v3_codec(const json& codec, std::size_t itemsize, std::string_view where) {
  auto name = codec.at("name").get<std::string>();
  json cfg = codec.contains("configuration") ? codec["configuration"] : json::object();
  if (!cfg.is_object()) throw ValueError(fmt::format("{}: codec '{}': field 'configuration' must be an object", where, name));
  if (name == "blosc") return make_blosc(cfg, itemsize, true, where);
  if (name == "zstd") return std::make_unique<ZstdCodec>(int_field(cfg, "level", 0, name, where), cfg.value("checksum", false));
  if (name == "gzip") return std::make_unique<DeflateCodec>(true, int_field(cfg, "level", 6, name, where));
  if (name == "crc32c") return std::make_unique<Crc32cCodec>();
  return nullptr;
}

}  // namespace cubist::zarr::detail
