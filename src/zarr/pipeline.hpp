// A chunk's codec chain, built once from metadata: array->array (transpose / v2 order F),
// array->bytes (bytes endian or sharding_indexed), then bytes->bytes (compressors, crc32c).
#pragma once
#include <array>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "cubist/zarr.hpp"
#include "zarr/codecs.hpp"
#include "zarr/scratch_pool.hpp"

namespace cubist::zarr {

class ShardingCodec;

class CodecPipeline {
 public:
  // The decoded form is always a C-order, native-endian array of `shape` elements of `dtype`.
  static std::unique_ptr<CodecPipeline> from_v2(const ArrayMetadata& m, std::string_view where);
  static std::unique_ptr<CodecPipeline> from_v3(const nlohmann::json& codecs, DType dtype, Shape shape,
                                                const std::array<std::byte, 8>& fill, std::string_view where);
  ~CodecPipeline();

  std::size_t decoded_nbytes() const { return nbytes_; }
  // Decodes `in` into `out` (decoded_nbytes() bytes). Throws ValueError saying what went wrong.
  void decode(std::span<const std::byte> in, std::byte* out) const;
  Bytes encode(const std::byte* in) const;
  // Like encode, into `out` reusing its capacity (per-thread buffers in the write path).
  void encode_into(const std::byte* in, Bytes& out) const;
  // A sharded chunk can be encoded from a strided view (element strides, `first` its first
  // element): each inner chunk is packed straight from the view, with no packed copy of the shard.
  bool encodes_views() const;
  void encode_view_into(const std::byte* first, const Shape& strides, Bytes& out) const;
  // Upper bound of the encoded size when one compressor (or none) follows a plain "bytes" step,
  // else 0; then encode_to encodes straight into `out` (at least that big) and returns the size.
  std::size_t encode_bound() const;
  std::size_t encode_to(const std::byte* in, std::span<std::byte> out) const;
  // Partial shard reads, when the chunk is one sharding_indexed step with nothing around it: a
  // reader fetches the shard's index (shard_index_nbytes() at its start or end), then only the
  // inner chunks it needs, each decoded by decode_inner into inner_shape() elements.
  bool reads_partial_shards() const { return encodes_views(); }
  const Shape& inner_shape() const;
  std::size_t shard_index_nbytes() const;
  bool shard_index_at_start() const;
  // (offset, nbytes) per inner chunk in C order, both ~0 for an empty one; ValueError when the
  // index fails its checksum or names bytes outside a shard of `shard_size` bytes.
  std::vector<std::uint64_t> decode_shard_index(std::span<const std::byte> index, std::uint64_t shard_size) const;
  void decode_inner(std::span<const std::byte> in, std::byte* out) const;
  // True when the array->bytes step is "bytes" and nothing reorders: a compressor may decode
  // straight into the caller's buffer.
  bool direct() const { return perm_.empty() && !swap_ && !sharding_; }
  // Big scratch buffers of this array's chunks, reused between chunks and freed with the pipeline
  // (zarr/scratch_pool.hpp): decoded-size ones (an edge chunk padded to the chunk shape) and
  // encodings, apart so that an encoding buffer stays resident only as far as encodings reach.
  detail::ScratchPool& padded_scratch() const { return padded_scratch_; }
  detail::ScratchPool& encoded_scratch() const { return encoded_scratch_; }

 private:
  CodecPipeline() = default;
  void finish(std::string_view where);
  const ShardingCodec& partial_sharding() const;

  DType dtype_ = DType::Float64;
  std::size_t itemsize_ = 8;
  Shape shape_, encoded_shape_;
  std::size_t nbytes_ = 0;
  std::vector<int> perm_;  // encoded = transpose(decoded, perm_); empty = identity
  std::vector<int> inverse_perm_;
  bool swap_ = false;      // stored byte order differs from the machine's
  std::unique_ptr<ShardingCodec> sharding_;
  std::vector<std::unique_ptr<detail::BytesCodec>> bytes_codecs_;  // in encode order
  mutable detail::ScratchPool padded_scratch_, encoded_scratch_;
};

}  // namespace cubist::zarr
