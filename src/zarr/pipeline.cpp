#include "zarr/pipeline.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <fmt/format.h>

#include "zarr/layout.hpp"

namespace cubist::zarr {
using nlohmann::json;
using detail::BytesCodec;

namespace {
Shape c_strides_of(const Shape& shape) {
  Shape s(shape.size(), 1);
  for (std::size_t a = shape.size(); a-- > 1;) s[a - 1] = s[a] * shape[a];
  return s;
}

// Makes `b` hold at least `need` bytes, keeping its first `keep` bytes (grows geometrically, so a
// per-thread buffer settles at the largest shard after a few chunks).
void reserve_keeping(Bytes& b, std::size_t keep, std::size_t need) {
  if (need <= b.size()) return;
  if (need <= b.capacity()) {
    b.resize_discard(need);  // within capacity: contents stay
    return;
  }
  Bytes bigger(std::max(need, 2 * b.capacity()));
  if (keep > 0) std::memcpy(bigger.data(), b.data(), keep);
  b = std::move(bigger);
}

constexpr bool kLittle = std::endian::native == std::endian::little;
constexpr std::uint64_t kEmpty = ~std::uint64_t{0};

std::vector<int> compose(const std::vector<int>& first, const std::vector<int>& then) {
  if (first.empty()) return then;
  std::vector<int> r(then.size());
  for (std::size_t i = 0; i < then.size(); ++i) r[i] = first[static_cast<std::size_t>(then[i])];
  return r;
}

std::vector<int> parse_order(const json& order, std::size_t rank, std::string_view where) {
  std::vector<int> perm(rank);
  if (order.is_string()) {  // early v3 drafts: "C" / "F"
    auto s = order.get<std::string>();
    for (std::size_t i = 0; i < rank; ++i) perm[i] = static_cast<int>(s == "F" ? rank - 1 - i : i);
    if (s != "C" && s != "F") throw ValueError(fmt::format("{}: codec 'transpose': unknown order '{}'", where, s));
    return perm;
  }
  if (!order.is_array() || order.size() != rank)
    throw ValueError(fmt::format("{}: codec 'transpose': field 'order' must list {} axes", where, rank));
  std::vector<bool> seen(rank, false);
  for (std::size_t i = 0; i < rank; ++i) {
    int a = order[i].get<int>();
    if (a < 0 || static_cast<std::size_t>(a) >= rank || seen[static_cast<std::size_t>(a)])
      throw ValueError(fmt::format("{}: codec 'transpose': field 'order' {} is not a permutation", where, order.dump()));
    seen[static_cast<std::size_t>(a)] = true;
    perm[i] = a;
  }
  return perm;
}
}  // namespace

// ---- sharding_indexed ------------------------------------------------------------------------
class ShardingCodec {
 public:
  ShardingCodec(const json& cfg, DType dtype, const Shape& shard, const std::array<std::byte, 8>& fill,
                std::string_view where)
      : dtype_(dtype), itemsize_(itemsize(dtype)), shard_(shard), fill_(fill) {
    if (!cfg.is_object() || !cfg.contains("chunk_shape") || !cfg["chunk_shape"].is_array())
      throw ValueError(fmt::format("{}: codec 'sharding_indexed': missing field 'chunk_shape'", where));
    inner_ = cfg["chunk_shape"].get<Shape>();
    if (inner_.size() != shard.size())
      throw ValueError(fmt::format("{}: codec 'sharding_indexed': chunk_shape rank {} != array rank {}", where,
                                   inner_.size(), shard.size()));
    grid_.resize(shard.size());
    for (std::size_t a = 0; a < shard.size(); ++a) {
      if (inner_[a] <= 0 || shard[a] % inner_[a] != 0)
        throw ValueError(fmt::format("{}: codec 'sharding_indexed': chunk_shape {} does not divide the shard shape {}",
                                     where, shape_to_string(inner_), shape_to_string(shard)));
      grid_[a] = shard[a] / inner_[a];
    }
    n_inner_ = shape_size(grid_);
    json codecs = cfg.value("codecs", json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}}));
    inner_pipe_ = CodecPipeline::from_v3(codecs, dtype, inner_, fill, where);
    json index_codecs = cfg.value("index_codecs", json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                                                               {{"name", "crc32c"}}}));
    Shape ishape = grid_;
    ishape.push_back(2);
    index_pipe_ = CodecPipeline::from_v3(index_codecs, DType::UInt64, ishape, {}, where);
    // The encoded index has a fixed size: measure it once by encoding an empty index.
    std::vector<std::uint64_t> probe(static_cast<std::size_t>(n_inner_) * 2, kEmpty);
    index_size_ = index_pipe_->encode(reinterpret_cast<const std::byte*>(probe.data())).size();
    auto loc = cfg.value("index_location", std::string("end"));
    if (loc != "end" && loc != "start")
      throw ValueError(fmt::format("{}: codec 'sharding_indexed': index_location '{}' is not 'start' or 'end'", where, loc));
    index_at_start_ = loc == "start";
  }

  const Shape& inner_shape() const { return inner_; }
  std::size_t index_nbytes() const { return index_size_; }
  bool index_at_start() const { return index_at_start_; }
  const CodecPipeline& inner_pipeline() const { return *inner_pipe_; }

  std::vector<std::uint64_t> decode_index(std::span<const std::byte> index_bytes, std::uint64_t shard_size) const {
    if (index_bytes.size() != index_size_ || shard_size < index_size_)
      throw ValueError(fmt::format("sharding: shard of {} bytes is shorter than its index ({} bytes)",
                                   std::min<std::uint64_t>(shard_size, index_bytes.size()), index_size_));
    std::vector<std::uint64_t> index(static_cast<std::size_t>(n_inner_) * 2);
    index_pipe_->decode(index_bytes, reinterpret_cast<std::byte*>(index.data()));
    for (std::int64_t i = 0; i < n_inner_; ++i) {
      auto off = index[static_cast<std::size_t>(2 * i)], n = index[static_cast<std::size_t>(2 * i + 1)];
      if (off == kEmpty && n == kEmpty) continue;
      if (off > shard_size || n > shard_size - off)
        throw ValueError(fmt::format("sharding: inner chunk {} at offset {} size {} lies outside the shard of {} bytes",
                                     i, off, n, shard_size));
    }
    return index;
  }

  void decode(std::span<const std::byte> in, std::byte* out) const {
    if (in.size() < index_size_)
      throw ValueError(fmt::format("sharding: shard of {} bytes is shorter than its index ({} bytes)", in.size(), index_size_));
    auto index = decode_index(index_at_start_ ? in.first(index_size_) : in.last(index_size_), in.size());
    bool contiguous = detail::block_is_contiguous(shard_, inner_);
    Bytes scratch;
    if (!contiguous) scratch = Bytes(inner_pipe_->decoded_nbytes());
    Shape idx(shard_.size(), 0), offset(shard_.size());
    for (std::int64_t i = 0; i < n_inner_; ++i) {
      for (std::size_t a = 0; a < shard_.size(); ++a) offset[a] = idx[a] * inner_[a];
      std::byte* target = contiguous
                              ? out + static_cast<std::size_t>(detail::block_linear_offset(shard_, offset)) * itemsize_
                              : scratch.data();
      auto off = index[static_cast<std::size_t>(2 * i)], n = index[static_cast<std::size_t>(2 * i + 1)];
      if (off == kEmpty && n == kEmpty) {
        detail::fill_elements(target, shape_size(inner_), fill_, itemsize_);
      } else {
        inner_pipe_->decode(in.subspan(off, n), target);
      }
      if (!contiguous) detail::copy_block(out, shard_, offset, scratch.data(), inner_, itemsize_, false);
      for (std::size_t a = shard_.size(); a-- > 0;) {
        if (++idx[a] < grid_[a]) break;
        idx[a] = 0;
      }
    }
  }

  // Encodes the shard whose elements start at `in` with element strides `strides` (C strides for a
  // packed shard, or a view's): each inner chunk is packed straight from the source and encoded
  // straight into `out` (reused capacity), so a shard costs its inner chunks' codec work plus one
  // small copy per inner chunk, and no fresh pages.
  void encode_into(const std::byte* in, const Shape& strides, Bytes& out) const {
    const Shape c_strides = c_strides_of(shard_);
    const bool packed_source = strides == c_strides;
    const bool inner_contiguous = packed_source && detail::block_is_contiguous(shard_, inner_);
    const std::size_t inner_nbytes = inner_pipe_->decoded_nbytes(), bound = inner_pipe_->encode_bound();
    std::vector<std::uint64_t> index(static_cast<std::size_t>(n_inner_) * 2);
    Bytes packed, encoded;
    if (!inner_contiguous) packed = Bytes(inner_nbytes);
    std::size_t pos = index_at_start_ ? index_size_ : 0;
    out.resize_discard(std::max(out.capacity(), pos + inner_nbytes * static_cast<std::size_t>(n_inner_) / 2 + index_size_));
    Shape idx(shard_.size(), 0), offset(shard_.size());
    for (std::int64_t i = 0; i < n_inner_; ++i) {
      for (std::size_t a = 0; a < shard_.size(); ++a) offset[a] = idx[a] * inner_[a];
      const std::byte* src = packed.data();
      std::int64_t at = 0;
      for (std::size_t a = 0; a < shard_.size(); ++a) at += offset[a] * strides[a];
      if (inner_contiguous) src = in + at * static_cast<std::int64_t>(itemsize_);
      else detail::pack_strided_block(in, strides, offset, packed.data(), inner_, itemsize_);
      std::size_t n;
      if (bound > 0) {  // one compressor: it writes into the shard buffer itself
        reserve_keeping(out, pos, pos + bound);
        n = inner_pipe_->encode_to(src, out.mutable_span().subspan(pos, bound));
      } else {
        inner_pipe_->encode_into(src, encoded);
        n = encoded.size();
        reserve_keeping(out, pos, pos + n);
        if (n > 0) std::memcpy(out.data() + pos, encoded.data(), n);
      }
      index[static_cast<std::size_t>(2 * i)] = pos;
      index[static_cast<std::size_t>(2 * i + 1)] = n;
      pos += n;
      for (std::size_t a = shard_.size(); a-- > 0;) {
        if (++idx[a] < grid_[a]) break;
        idx[a] = 0;
      }
    }
    index_pipe_->encode_into(reinterpret_cast<const std::byte*>(index.data()), encoded);
    if (encoded.size() != index_size_)
      throw ValueError(fmt::format("sharding: encoded index of {} bytes, expected {}", encoded.size(), index_size_));
    reserve_keeping(out, pos, pos + index_size_);
    std::memcpy(out.data() + (index_at_start_ ? 0 : pos), encoded.data(), index_size_);
    out.truncate(index_at_start_ ? pos : pos + index_size_);
  }

 private:
  DType dtype_;
  std::size_t itemsize_;
  Shape shard_, inner_, grid_;
  std::int64_t n_inner_ = 0;
  std::array<std::byte, 8> fill_;
  std::unique_ptr<CodecPipeline> inner_pipe_, index_pipe_;
  std::size_t index_size_ = 0;
  bool index_at_start_ = false;
};

// ---- pipeline --------------------------------------------------------------------------------
CodecPipeline::~CodecPipeline() = default;

void CodecPipeline::finish(std::string_view) {
  itemsize_ = itemsize(dtype_);
  nbytes_ = static_cast<std::size_t>(shape_size(shape_)) * itemsize_;
  encoded_shape_ = shape_;
  if (!perm_.empty()) {
    bool identity = true;
    for (std::size_t i = 0; i < perm_.size(); ++i) identity = identity && perm_[i] == static_cast<int>(i);
    if (identity) perm_.clear();
  }
  if (!perm_.empty()) {
    inverse_perm_.assign(perm_.size(), 0);
    for (std::size_t i = 0; i < perm_.size(); ++i) {
      encoded_shape_[i] = shape_[static_cast<std::size_t>(perm_[i])];
      inverse_perm_[static_cast<std::size_t>(perm_[i])] = static_cast<int>(i);
    }
  }
  if (itemsize_ == 1) swap_ = false;
}

std::unique_ptr<CodecPipeline> CodecPipeline::from_v2(const ArrayMetadata& m, std::string_view where) {
  std::unique_ptr<CodecPipeline> p(new CodecPipeline());
  p->dtype_ = m.dtype;
  p->shape_ = m.chunks;
  if (m.order == 'F')
    for (std::size_t i = 0; i < m.chunks.size(); ++i) p->perm_.push_back(static_cast<int>(m.chunks.size() - 1 - i));
  p->swap_ = m.big_endian == kLittle;
  if (!m.compressor.is_null()) p->bytes_codecs_.push_back(detail::make_v2_codec(m.compressor, itemsize(m.dtype), where));
  p->finish(where);
  return p;
}

std::unique_ptr<CodecPipeline> CodecPipeline::from_v3(const json& codecs, DType dtype, Shape shape,
                                                      const std::array<std::byte, 8>& fill, std::string_view where) {
  if (!codecs.is_array() || codecs.empty())
    throw ValueError(fmt::format("{}: field 'codecs' must be a non-empty list", where));
  std::unique_ptr<CodecPipeline> p(new CodecPipeline());
  p->dtype_ = dtype;
  p->shape_ = shape;
  bool have_array_to_bytes = false;
  Shape cur = shape;  // the array shape seen by the next array codec
  try {
    for (const auto& c : codecs) {
      if (!c.is_object() || !c.contains("name") || !c["name"].is_string())
        throw ValueError(fmt::format("{}: field 'codecs': each codec needs a string 'name', got {}", where, c.dump()));
      auto name = c["name"].get<std::string>();
      json cfg = c.contains("configuration") ? c["configuration"] : json::object();
      if (name == "transpose") {
        if (have_array_to_bytes) throw ValueError(fmt::format("{}: codec 'transpose' after the array->bytes codec", where));
        auto perm = parse_order(cfg.value("order", json()), shape.size(), where);
        Shape next(cur.size());
        for (std::size_t i = 0; i < perm.size(); ++i) next[i] = cur[static_cast<std::size_t>(perm[i])];
        p->perm_ = compose(p->perm_, perm);
        cur = next;
      } else if (name == "bytes" || name == "endian") {
        if (have_array_to_bytes) throw ValueError(fmt::format("{}: two array->bytes codecs ('{}')", where, name));
        have_array_to_bytes = true;
        auto endian = cfg.value("endian", std::string("little"));
        if (endian != "little" && endian != "big")
          throw ValueError(fmt::format("{}: codec 'bytes': unknown endian '{}'", where, endian));
        p->swap_ = (endian == "big") == kLittle;
      } else if (name == "sharding_indexed") {
        if (have_array_to_bytes) throw ValueError(fmt::format("{}: two array->bytes codecs ('{}')", where, name));
        have_array_to_bytes = true;
        p->sharding_ = std::make_unique<ShardingCodec>(cfg, dtype, cur, fill, where);
      } else {
        auto bc = detail::make_v3_codec(c, itemsize(dtype), where);
        if (!bc)
          throw ValueError(fmt::format("{}: unknown codec '{}' (supported: transpose, bytes, sharding_indexed, blosc, "
                                       "gzip, zstd, crc32c)", where, name));
        if (!have_array_to_bytes) throw ValueError(fmt::format("{}: codec '{}' before the array->bytes codec", where, name));
        p->bytes_codecs_.push_back(std::move(bc));
      }
    }
  } catch (const json::exception& e) {
    throw ValueError(fmt::format("{}: field 'codecs': {}", where, e.what()));
  }
  if (!have_array_to_bytes) throw ValueError(fmt::format("{}: field 'codecs' has no 'bytes' or 'sharding_indexed' codec", where));
  p->finish(where);
  return p;
}

void CodecPipeline::decode(std::span<const std::byte> in, std::byte* out) const {
  // Undo the bytes->bytes codecs outermost first, keeping the last one for a direct decode.
  std::span<const std::byte> cur = in;
  std::size_t n = bytes_codecs_.size();
  // One scratch per stage: a stage may return a view into its input (crc32c strips its tail).
  // None for the common single compressor decoding straight into `out` (an inner chunk of a
  // shard is decoded this way thousands of times per shard file: no allocation per chunk).
  std::vector<Bytes> hold(n > 1 || (sharding_ && n > 0) ? n : 0);
  for (std::size_t i = n; i-- > 1;) cur = bytes_codecs_[i]->decode(cur, hold[i]);
  Bytes array_tmp;
  std::byte* target = out;
  if (!perm_.empty()) {
    array_tmp = Bytes(nbytes_);
    target = array_tmp.data();
  }
  if (sharding_) {
    if (n > 0) cur = bytes_codecs_[0]->decode(cur, hold[0]);
    sharding_->decode(cur, target);
  } else if (n > 0) {
    bytes_codecs_[0]->decode_into(cur, {target, nbytes_});
  } else {
    if (cur.size() != nbytes_) detail::throw_size_mismatch("bytes", cur.size(), nbytes_);
    std::memcpy(target, cur.data(), nbytes_);
  }
  if (swap_) detail::byteswap(target, static_cast<std::int64_t>(nbytes_ / itemsize_), itemsize_);
  if (!perm_.empty()) detail::permute_axes(target, encoded_shape_, out, inverse_perm_, itemsize_);
}

Bytes CodecPipeline::encode(const std::byte* in) const {
  Bytes out;
  encode_into(in, out);
  return out;
}

void CodecPipeline::encode_into(const std::byte* in, Bytes& out) const {
  Bytes arr;
  const std::byte* src = in;
  if (!perm_.empty() || swap_) {
    arr = Bytes(nbytes_);
    if (!perm_.empty()) detail::permute_axes(in, shape_, arr.data(), perm_, itemsize_);
    else std::memcpy(arr.data(), in, nbytes_);
    if (swap_) detail::byteswap(arr.data(), static_cast<std::int64_t>(nbytes_ / itemsize_), itemsize_);
    src = arr.data();
  }
  if (sharding_ && bytes_codecs_.empty()) {
    sharding_->encode_into(src, c_strides_of(encoded_shape_), out);
    return;
  }
  Bytes cur;
  if (sharding_) sharding_->encode_into(src, c_strides_of(encoded_shape_), cur);
  std::span<const std::byte> view = sharding_ ? cur.span() : std::span<const std::byte>(src, nbytes_);
  if (bytes_codecs_.empty()) {
    out.resize_discard(nbytes_);
    if (nbytes_ > 0) std::memcpy(out.data(), src, nbytes_);
    return;
  }
  // Middle stages go through scratch buffers; the last one writes straight into `out`.
  Bytes stage;
  for (std::size_t i = 0; i < bytes_codecs_.size(); ++i) {
    if (i + 1 == bytes_codecs_.size()) {
      bytes_codecs_[i]->encode_into(view, out);
    } else {
      Bytes next;
      bytes_codecs_[i]->encode_into(view, next);
      stage = std::move(next);
      view = stage.span();
    }
  }
}

const Shape& CodecPipeline::inner_shape() const { return partial_sharding().inner_shape(); }
std::size_t CodecPipeline::shard_index_nbytes() const { return partial_sharding().index_nbytes(); }
bool CodecPipeline::shard_index_at_start() const { return partial_sharding().index_at_start(); }
std::vector<std::uint64_t> CodecPipeline::decode_shard_index(std::span<const std::byte> index, std::uint64_t shard_size) const {
  return partial_sharding().decode_index(index, shard_size);
}
void CodecPipeline::decode_inner(std::span<const std::byte> in, std::byte* out) const {
  partial_sharding().inner_pipeline().decode(in, out);
}
const ShardingCodec& CodecPipeline::partial_sharding() const {
  if (!reads_partial_shards()) throw Error("internal: partial shard read on a pipeline that is not one sharding step");
  return *sharding_;
}

bool CodecPipeline::encodes_views() const { return sharding_ && perm_.empty() && !swap_ && bytes_codecs_.empty(); }

void CodecPipeline::encode_view_into(const std::byte* first, const Shape& strides, Bytes& out) const {
  if (!encodes_views()) throw Error("internal: encode_view_into on a pipeline that needs packed input");
  sharding_->encode_into(first, strides, out);
}

std::size_t CodecPipeline::encode_bound() const {
  if (!direct()) return 0;
  if (bytes_codecs_.empty()) return nbytes_;
  return bytes_codecs_.size() == 1 ? bytes_codecs_[0]->encode_bound(nbytes_) : 0;
}

std::size_t CodecPipeline::encode_to(const std::byte* in, std::span<std::byte> out) const {
  if (encode_bound() == 0 || out.size() < encode_bound()) throw Error("internal: encode_to without room for the bound");
  if (bytes_codecs_.empty()) {
    if (nbytes_ > 0) std::memcpy(out.data(), in, nbytes_);
    return nbytes_;
  }
  return bytes_codecs_[0]->encode_to({in, nbytes_}, out);
}

}  // namespace cubist::zarr
