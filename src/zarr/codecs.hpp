// Bytes-to-bytes codecs (compressors and checksums), shared by Zarr v2 and v3.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "cubist/zarr.hpp"

namespace cubist::zarr::detail {

// Stateless after construction, so one instance serves every thread; contexts are per call or per thread.
class BytesCodec {
 public:
  virtual ~BytesCodec() = default;
  virtual std::string_view name() const = 0;
  // Decoded bytes; either a view into `in` (a checksum strips its tail) or into `scratch`.
  virtual std::span<const std::byte> decode(std::span<const std::byte> in, Bytes& scratch) const = 0;
  // Decodes straight into `out`; throws ValueError when the decoded size is not out.size().
  virtual void decode_into(std::span<const std::byte> in, std::span<std::byte> out) const;
  virtual Bytes encode(std::span<const std::byte> in) const = 0;
  // Encodes into `out`, reusing its capacity (a per-thread buffer: no fresh pages per chunk).
  virtual void encode_into(std::span<const std::byte> in, Bytes& out) const { out = encode(in); }
  // Largest encoding of `n` input bytes, or 0 when the codec cannot say in advance; with a bound,
  // encode_to writes straight into the caller's memory (a shard's buffer) and returns the size.
  virtual std::size_t encode_bound(std::size_t) const { return 0; }
  virtual std::size_t encode_to(std::span<const std::byte> in, std::span<std::byte> out) const;
};

// numcodecs compressor config ({"id": "blosc", ...}) of a v2 array with elements of `itemsize` bytes.
std::unique_ptr<BytesCodec> make_v2_codec(const nlohmann::json& config, std::size_t itemsize, std::string_view where);
// v3 bytes->bytes codec ({"name": "zstd", "configuration": {...}}); nullptr when `name` is not one.
std::unique_ptr<BytesCodec> make_v3_codec(const nlohmann::json& codec, std::size_t itemsize, std::string_view where);

std::uint32_t crc32c(std::span<const std::byte> data);

[[noreturn]] void throw_size_mismatch(std::string_view codec, std::size_t got, std::size_t expected);

}  // namespace cubist::zarr::detail
