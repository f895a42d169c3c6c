// ZarrArray: chunk keys and chunk read/write through the codec pipeline.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <fmt/format.h>

#include "cubist/zarr.hpp"
#include "zarr/internal.hpp"
#include "zarr/layout.hpp"
#include "zarr/pipeline.hpp"

namespace cubist::zarr {
using nlohmann::json;

namespace {
// Scratch buffers up to this size are kept per thread; bigger ones in the array's ScratchPool
// (zarr/scratch_pool.hpp), which frees them when the array's reads or writes are over.
constexpr std::size_t kPerThreadMax = std::size_t{64} << 20;

std::optional<Bytes> get_metadata(const Store& s, const std::string& key) { return s.get(key); }
}  // namespace

ZarrArray::ZarrArray(std::shared_ptr<Store> store, std::string path, ArrayMetadata meta)
    : store_(std::move(store)), path_(std::move(path)), meta_(std::move(meta)) {
  validate_prefix(path_);
  auto where = describe_key(detail::join_path(path_, meta_.zarr_format == 2 ? ".zarray" : "zarr.json"));
  if (meta_.chunks.size() != meta_.shape.size())
    throw ValueError(fmt::format("{}: field 'chunks': rank {} differs from the rank {} of 'shape'", where,
                                 meta_.chunks.size(), meta_.shape.size()));
  for (auto c : meta_.chunks)
    if (c <= 0) throw ValueError(fmt::format("{}: field 'chunks': extent {} must be positive", where, c));
  grid_ = meta_.chunk_grid();
  fill_ = detail::fill_bytes(meta_.fill_value, meta_.dtype, where);
  if (meta_.zarr_format == 2) pipeline_ = CodecPipeline::from_v2(meta_, where);
  else if (meta_.zarr_format == 3) pipeline_ = CodecPipeline::from_v3(meta_.codecs, meta_.dtype, meta_.chunks, fill_, where);
  else throw ValueError(fmt::format("{}: field 'zarr_format': expected 2 or 3, got {}", where, meta_.zarr_format));
}

ZarrArray::~ZarrArray() = default;

std::shared_ptr<const ZarrArray> ZarrArray::from_metadata(std::shared_ptr<Store> store, std::string path,
                                                          ArrayMetadata metadata) {
  if (!store) throw ValueError("zarr: null store");
  return std::shared_ptr<const ZarrArray>(new ZarrArray(std::move(store), std::move(path), std::move(metadata)));
}

std::shared_ptr<const ZarrArray> ZarrArray::open(std::shared_ptr<Store> store, std::string path) {
  if (!store) throw ValueError("zarr: null store");
  validate_prefix(path);
  auto where = [&](std::string_view name) { return fmt::format("{}/{}", store->describe(), detail::join_path(path, name)); };
  if (auto v3 = get_metadata(*store, detail::join_path(path, "zarr.json"))) {
    auto j = parse_json(v3->as_string(), where("zarr.json"));
    return from_metadata(store, path, parse_array_metadata_v3(j, where("zarr.json")));
  }
  auto za = get_metadata(*store, detail::join_path(path, ".zarray"));
  if (!za) throw KeyError(fmt::format("zarr: no array at '{}' (no .zarray or zarr.json)", where("")));
  auto z = parse_json(za->as_string(), where(".zarray"));
  json attrs;
  if (auto a = get_metadata(*store, detail::join_path(path, ".zattrs"))) attrs = parse_json(a->as_string(), where(".zattrs"));
  return from_metadata(store, path, parse_array_metadata_v2(z, attrs, where(".zarray")));
}

std::string ZarrArray::describe_key(std::string_view key) const { return fmt::format("{}/{}", store_->describe(), key); }

std::string ZarrArray::chunk_key(const std::vector<std::int64_t>& index) const {
  // fmt::memory_buffer rather than std::string += (GCC 12 reports a bogus -Wrestrict there).
  fmt::memory_buffer key;
  if (!path_.empty()) fmt::format_to(std::back_inserter(key), "{}/", path_);
  bool v2_keys = meta_.zarr_format == 2 || meta_.chunk_key_encoding == "v2";
  char sep = meta_.zarr_format == 2 ? meta_.dimension_separator : meta_.chunk_key_separator;
  if (!v2_keys) key.push_back('c');
  else if (index.empty()) key.push_back('0');
  for (std::size_t a = 0; a < index.size(); ++a) {
    if (a > 0 || !v2_keys) key.push_back(sep);
    fmt::format_to(std::back_inserter(key), "{}", index[a]);
  }
  return fmt::to_string(key);
}

namespace {
void check_index(const ChunkGrid& g, const std::vector<std::int64_t>& index, const std::string& array) {
  if (index.size() != g.rank())
    throw ChunkError(fmt::format("zarr array '{}': chunk index of rank {} for an array of rank {}", array, index.size(), g.rank()));
  for (std::size_t a = 0; a < index.size(); ++a)
    if (index[a] < 0 || index[a] >= g.num_chunks(a))
      throw ChunkError(fmt::format("zarr array '{}': chunk index {} out of range on axis {} ({} chunks)", array,
                                   index[a], a, g.num_chunks(a)));
}
}  // namespace

std::vector<std::int64_t> ZarrArray::unravel_checked(std::int64_t linear) const {
  if (linear < 0 || linear >= grid_.total_chunks())
    throw ChunkError(fmt::format("zarr array '{}': chunk number {} out of range ({} chunks)", path_, linear, grid_.total_chunks()));
  return grid_.unravel(linear);
}

Chunk ZarrArray::read_chunk(std::int64_t linear) const { return read_chunk(unravel_checked(linear)); }
void ZarrArray::write_chunk(std::int64_t linear, const Chunk& chunk) const { write_chunk(unravel_checked(linear), chunk); }

Chunk ZarrArray::read_chunk(const std::vector<std::int64_t>& index) const {
  check_index(grid_, index, path_);
  Shape actual = grid_.chunk_shape(index);
  Chunk out = Chunk::allocate(meta_.dtype, actual);
  std::size_t isz = itemsize(meta_.dtype);
  if (out.size() == 0) return out;
  auto* dst = static_cast<std::byte*>(out.mutable_raw());
  // No MADV_HUGEPAGE on the output: chunk buffers are recycled (core/chunk.cpp), so in steady
  // state nothing is faulted in, and on a first read THP's compaction (defrag "madvise") cost more
  // than the faults it saved (1 GB of lz4 1024² chunks from a cold process, loaded VM: median CPU
  // 0.96 s with the advice vs 0.72 s without; repeated reads 0.39 vs 0.37 s, within noise).
  auto key = chunk_key(index);
  // Encoded bytes land in a per-thread buffer reused across chunks (no page faults per chunk).
  thread_local Bytes raw;
  if (raw.capacity() > kPerThreadMax) raw = Bytes();  // do not keep a huge one from a previous chunk
  // Decoded from the store's own bytes when it can lend them (a mapped file: no copy).
  bool found = store_->read_with(key, raw, [&](std::span<const std::byte> encoded) {
    try {
      if (actual == meta_.chunks) {
        pipeline_->decode(encoded, dst);  // straight into the output buffer
      } else {  // edge chunk: stored padded to the full chunk shape, decoded into reused scratch
        const std::size_t n = pipeline_->decoded_nbytes();
        thread_local Bytes local;
        std::optional<detail::ScratchPool::Lease> lease;
        if (n > kPerThreadMax) lease.emplace(pipeline_->padded_scratch().take(n));
        Bytes& full = lease ? lease->bytes() : local;
        full.resize_discard(n);
        pipeline_->decode(encoded, full.data());
        detail::copy_block(full.data(), meta_.chunks, Shape(actual.size(), 0), dst, actual, isz, true);
      }
    } catch (const ValueError& e) {
      throw ValueError(fmt::format("zarr: chunk '{}': {}", describe_key(key), e.what()));
    }
  });
  if (!found) detail::fill_elements(dst, out.size(), fill_, isz);  // never written: the fill value, as zarr-python
  return out;
}

Chunk ZarrArray::read_region(const Shape& offset, const Shape& shape) const {
  const std::size_t rank = grid_.rank();
  if (offset.size() != rank || shape.size() != rank)
    throw ValueError(fmt::format("zarr array '{}': region of rank {} at an offset of rank {} for an array of rank {}", path_,
                                 shape.size(), offset.size(), rank));
  for (std::size_t a = 0; a < rank; ++a)
    if (offset[a] < 0 || shape[a] < 0 || offset[a] + shape[a] > meta_.shape[a])
      throw ValueError(fmt::format("zarr array '{}': region {} at {} leaves the array of shape {}", path_, shape_to_string(shape),
                                   shape_to_string(offset), shape_to_string(meta_.shape)));
  Chunk out = Chunk::allocate(meta_.dtype, shape);
  if (out.size() == 0) return out;
  auto* dst = static_cast<std::byte*>(out.mutable_raw());
  const std::size_t isz = itemsize(meta_.dtype);
  std::vector<std::int64_t> lo(rank), hi(rank), idx(rank);
  for (std::size_t a = 0; a < rank; ++a) {
    lo[a] = grid_.chunk_of(a, offset[a]);
    hi[a] = grid_.chunk_of(a, offset[a] + shape[a] - 1);
    idx[a] = lo[a];
  }
  while (true) {
    Shape cshape = grid_.chunk_shape(idx), part(rank), in_chunk(rank), in_out(rank);
    bool whole = true;
    for (std::size_t a = 0; a < rank; ++a) {
      const std::int64_t c0 = grid_.offset(a, idx[a]);
      const std::int64_t r0 = std::max(c0, offset[a]), r1 = std::min(c0 + cshape[a], offset[a] + shape[a]);
      part[a] = r1 - r0;
      in_chunk[a] = r0 - c0;
      in_out[a] = r0 - offset[a];
      whole = whole && part[a] == cshape[a];
    }
    if (!whole && pipeline_->reads_partial_shards()) {
      read_shard_part(idx, in_chunk, part, dst, shape, in_out);
    } else {
      const Chunk c = read_chunk(idx);
      detail::copy_subarray(static_cast<const std::byte*>(c.raw()), cshape, in_chunk, dst, shape, in_out, part, isz);
    }
    std::size_t a = rank;
    while (a-- > 0) {
      if (++idx[a] <= hi[a]) break;
      idx[a] = lo[a];
    }
    if (a == static_cast<std::size_t>(-1)) break;
  }
  return out;
}

void ZarrArray::read_shard_part(const std::vector<std::int64_t>& index, const Shape& box_offset, const Shape& box,
                                std::byte* out, const Shape& out_shape, const Shape& out_offset) const {
  const std::size_t rank = box.size(), isz = itemsize(meta_.dtype);
  const auto key = chunk_key(index);
  const Shape& inner = pipeline_->inner_shape();
  const std::size_t index_nbytes = pipeline_->shard_index_nbytes();
  thread_local Bytes raw, decoded;
  if (raw.capacity() > kPerThreadMax) raw = Bytes();
  decoded.resize_discard(static_cast<std::size_t>(shape_size(inner)) * isz);
  try {
    // The index first: at the end of the shard (one suffix request, which also gives the size)
    // or at its start (the size is then unknown: a lying offset fails as an out-of-range read).
    std::optional<std::uint64_t> shard_size;
    if (pipeline_->shard_index_at_start()) {
      if (store_->get_range_into(key, 0, index_nbytes, raw)) shard_size = std::numeric_limits<std::uint64_t>::max();
    } else {
      shard_size = store_->get_suffix_into(key, index_nbytes, raw);
    }
    Shape first(rank), count(rank), grid(rank);
    for (std::size_t a = 0; a < rank; ++a) {
      grid[a] = meta_.chunks[a] / inner[a];
      first[a] = box_offset[a] / inner[a];
      count[a] = (box_offset[a] + box[a] - 1) / inner[a] - first[a] + 1;
    }
    std::vector<std::uint64_t> table;
    if (shard_size) table = pipeline_->decode_shard_index(raw.span(), *shard_size);
    auto stored = [&](std::int64_t linear) {
      const auto at = static_cast<std::size_t>(2 * linear);
      return shard_size && !(table[at] == ~std::uint64_t{0} && table[at + 1] == ~std::uint64_t{0});
    };
    // The touched inner chunks, and the byte span of the shard that holds all the stored ones.
    struct Piece {
      std::int64_t linear = 0;
      Shape part, in_inner, in_out;
    };
    std::vector<Piece> pieces;
    std::uint64_t lo = ~std::uint64_t{0}, hi = 0, needed = 0;
    for (Shape j = first;;) {
      Piece p{0, Shape(rank), Shape(rank), Shape(rank)};
      for (std::size_t a = 0; a < rank; ++a) {
        p.linear = p.linear * grid[a] + j[a];
        const std::int64_t c0 = j[a] * inner[a];
        const std::int64_t r0 = std::max(c0, box_offset[a]), r1 = std::min(c0 + inner[a], box_offset[a] + box[a]);
        p.part[a] = r1 - r0;
        p.in_inner[a] = r0 - c0;
        p.in_out[a] = out_offset[a] + (r0 - box_offset[a]);
      }
      if (stored(p.linear)) {
        const auto at = static_cast<std::size_t>(2 * p.linear);
        lo = std::min(lo, table[at]);
        hi = std::max(hi, table[at] + table[at + 1]);
        needed += table[at + 1];
      }
      pieces.push_back(std::move(p));
      std::size_t a = rank;
      while (a-- > 0) {
        if (++j[a] < first[a] + count[a]) break;
        j[a] = first[a];
      }
      if (a == static_cast<std::size_t>(-1)) break;
    }
    // One range request for all of them when the gaps between them are small (the inner chunks of
    // one row of the box are adjacent in the shard): one open, or one HTTP request, instead of one
    // per inner chunk; else one request per inner chunk, never reading much more than needed.
    const bool one_range = needed > 0 && hi - lo <= 2 * needed + (std::uint64_t{64} << 10);
    if (one_range && !store_->get_range_into(key, lo, hi - lo, raw))
      throw IOError(fmt::format("zarr: chunk '{}' disappeared while being read", describe_key(key)));
    for (const Piece& p : pieces) {
      const auto at = static_cast<std::size_t>(2 * p.linear);
      if (!stored(p.linear)) {
        detail::fill_elements(decoded.data(), shape_size(inner), fill_, isz);  // missing shard or inner chunk
      } else if (one_range) {
        pipeline_->decode_inner(raw.span().subspan(table[at] - lo, table[at + 1]), decoded.data());
      } else {
        if (!store_->get_range_into(key, table[at], table[at + 1], raw))
          throw IOError(fmt::format("zarr: chunk '{}' disappeared while being read", describe_key(key)));
        pipeline_->decode_inner(raw.span(), decoded.data());
      }
      detail::copy_subarray(decoded.data(), inner, p.in_inner, out, out_shape, p.in_out, p.part, isz);
    }
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("zarr: chunk '{}': {}", describe_key(key), e.what()));
  }
}

namespace {
// Packs `c` (possibly a strided view) into `dst` in C order, one memcpy per contiguous row.
void pack_c_order(const Chunk& c, std::byte* dst) {
  const std::size_t item = itemsize(c.dtype()), rank = c.rank();
  const auto* src = static_cast<const std::byte*>(c.raw());
  if (c.is_contiguous() || rank == 0) {
    std::memcpy(dst, src, c.nbytes());
    return;
  }
  const auto& shape = c.shape();
  const auto& st = c.strides();
  const std::int64_t inner = shape[rank - 1];
  std::vector<std::int64_t> idx(rank, 0);
  for (std::int64_t row = 0; row < c.size() / inner; ++row) {
    std::int64_t off = 0;
    for (std::size_t a = 0; a + 1 < rank; ++a) off += idx[a] * st[a];
    if (st[rank - 1] == 1) {
      std::memcpy(dst, src + static_cast<std::size_t>(off) * item, static_cast<std::size_t>(inner) * item);
    } else {
      for (std::int64_t i = 0; i < inner; ++i)
        std::memcpy(dst + static_cast<std::size_t>(i) * item, src + static_cast<std::size_t>(off + i * st[rank - 1]) * item, item);
    }
    dst += static_cast<std::size_t>(inner) * item;
    for (std::size_t a = rank - 1; a-- > 0;) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
}

// Room for one compressor's worst case over `n` bytes (blosc n + 16, lz4 and zstd under n + n/255
// + 64 KiB, deflate less), so a pooled buffer serves a chunk's padded copy or its encoding.
std::size_t with_codec_room(std::size_t n) { return n + n / 128 + (std::size_t{64} << 10); }

// Per-thread buffers of the write path, reused chunk after chunk: no allocation, no fresh pages
// (and no munmap of a multi-MB buffer) per chunk.
struct WriteBuffers {
  Bytes packed, encoded;
  void trim() {  // do not keep huge ones from an exceptional chunk
    if (packed.capacity() > with_codec_room(kPerThreadMax)) packed = Bytes();
    if (encoded.capacity() > with_codec_room(kPerThreadMax)) encoded = Bytes();
  }
};
}  // namespace

void ZarrArray::write_chunk(const std::vector<std::int64_t>& index, const Chunk& chunk) const {
  check_index(grid_, index, path_);
  Shape actual = grid_.chunk_shape(index);
  auto key = chunk_key(index);
  if (chunk.dtype() != meta_.dtype)
    throw TypeError(fmt::format("zarr: chunk '{}': got {} values for a {} array", describe_key(key),
                                dtype_name(chunk.dtype()), dtype_name(meta_.dtype)));
  if (chunk.shape() != actual)
    throw ChunkError(fmt::format("zarr: chunk '{}': got shape {}, expected {}", describe_key(key),
                                 shape_to_string(chunk.shape()), shape_to_string(actual)));
  if (shape_size(meta_.chunks) == 0 || shape_size(actual) == 0) return;
  std::size_t isz = itemsize(meta_.dtype);
  thread_local WriteBuffers local;
  struct TrimAfterWrite {
    WriteBuffers& b;
    ~TrimAfterWrite() { b.trim(); }
  } trim_after{local};
  // Chunks bigger than kPerThreadMax (an 80 MiB "auto" chunk) use the array's scratch pools: their
  // buffers serve chunk after chunk without fresh pages, and go when the array's writes are over
  // (kept per thread, they would outlive the write). NDVI demo (medium, 2 workers, loaded VM,
  // interleaved runs): page faults 765-784k -> 553-618k, peak RSS 571-612 -> 608-628 MiB with one
  // idle buffer per pool; keeping one per thread: 507-595k faults but 671-724 MiB (idle buffers
  // stay resident between the writes of a run); freeing them after 50 ms idle: 690-713k, 603-619.
  // Now one per concurrent lease (scratch_pool.hpp): 356k -> 316k faults, +6 MiB (session 9).
  std::optional<detail::ScratchPool::Lease> packed_lease, encoded_lease;
  const bool pooled = pipeline_->decoded_nbytes() > kPerThreadMax;
  const std::size_t room = with_codec_room(pipeline_->decoded_nbytes());
  auto packed = [&]() -> Bytes& {
    if (!pooled) return local.packed;
    if (!packed_lease) packed_lease.emplace(pipeline_->padded_scratch().take(room));
    return packed_lease->bytes();
  };
  if (pooled) encoded_lease.emplace(pipeline_->encoded_scratch().take(room));
  Bytes& encoded = pooled ? encoded_lease->bytes() : local.encoded;
  try {
    const std::byte* src = nullptr;
    if (actual == meta_.chunks && chunk.is_contiguous()) {
      src = static_cast<const std::byte*>(chunk.raw());
    } else if (actual == meta_.chunks && pipeline_->encodes_views()) {
      // A shard from a strided view: inner chunks are packed from the view itself (no shard copy).
      pipeline_->encode_view_into(static_cast<const std::byte*>(chunk.raw()), chunk.strides(), encoded);
    } else if (actual == meta_.chunks) {  // a strided view from the runtime: packed once, here
      packed().resize_discard(pipeline_->decoded_nbytes());
      pack_c_order(chunk, packed().data());
      src = packed().data();
    } else {  // the edge chunk padded to the full chunk shape with the fill value, each byte written once
      Bytes& padded = packed();
      padded.resize_discard(pipeline_->decoded_nbytes());
      detail::pad_block(static_cast<const std::byte*>(chunk.raw()), chunk.strides(), actual, padded.data(), meta_.chunks,
                        fill_, isz);
      src = padded.data();
    }
    if (src) pipeline_->encode_into(src, encoded);
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("zarr: chunk '{}': {}", describe_key(key), e.what()));
  }
  store_->set(key, encoded.span());
}

void ZarrArray::write_region(const Shape& offset, const Chunk& input) const {
  const std::size_t rank = grid_.rank();
  const Chunk data = input.contiguous();
  if (offset.size() != rank || data.rank() != rank)
    throw DimensionError(fmt::format("zarr array '{}': region of rank {} at an offset of rank {} for an array of rank {}",
                                     path_, data.rank(), offset.size(), rank));
  if (data.dtype() != meta_.dtype)
    throw TypeError(fmt::format("zarr array '{}': got {} values for a {} array", path_, dtype_name(data.dtype()),
                                dtype_name(meta_.dtype)));
  for (std::size_t a = 0; a < rank; ++a)
    if (offset[a] < 0 || offset[a] + data.shape()[a] > meta_.shape[a])
      throw DimensionError(fmt::format("zarr array '{}': region {} at {} exceeds the shape {}", path_,
                                       shape_to_string(data.shape()), shape_to_string(offset), shape_to_string(meta_.shape)));
  if (data.size() == 0) return;
  const std::size_t isz = itemsize(meta_.dtype);
  // Chunk index ranges touched along each axis.
  std::vector<std::int64_t> lo(rank), hi(rank), idx(rank);
  for (std::size_t a = 0; a < rank; ++a) {
    lo[a] = grid_.chunk_of(a, offset[a]);
    hi[a] = grid_.chunk_of(a, offset[a] + data.shape()[a] - 1);
    idx[a] = lo[a];
  }
  auto* src = const_cast<std::byte*>(static_cast<const std::byte*>(data.raw()));
  while (true) {
    Shape cshape = grid_.chunk_shape(idx), part(rank), in_chunk(rank), in_data(rank);
    bool full = true;
    for (std::size_t a = 0; a < rank; ++a) {
      std::int64_t c0 = grid_.offset(a, idx[a]), c1 = c0 + cshape[a];
      std::int64_t r0 = std::max(c0, offset[a]), r1 = std::min(c1, offset[a] + data.shape()[a]);
      part[a] = r1 - r0;
      in_chunk[a] = r0 - c0;
      in_data[a] = r0 - offset[a];
      full = full && part[a] == cshape[a];
    }
    Chunk target = full ? Chunk::allocate(meta_.dtype, cshape) : read_chunk(idx);
    Bytes tmp(static_cast<std::size_t>(shape_size(part)) * isz);
    detail::copy_block(src, data.shape(), in_data, tmp.data(), part, isz, true);
    detail::copy_block(static_cast<std::byte*>(target.mutable_raw()), cshape, in_chunk, tmp.data(), part, isz, false);
    write_chunk(idx, target);
    std::size_t a = rank;
    while (a-- > 0) {
      if (++idx[a] <= hi[a]) break;
      idx[a] = lo[a];
    }
    if (a == static_cast<std::size_t>(-1)) break;
  }
}

}  // namespace cubist::zarr
