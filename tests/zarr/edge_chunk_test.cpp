// Edge chunks (smaller than the chunk shape) are stored padded to the chunk shape: from strided
// views, for every element size, and through the scratch pool that big chunks use.
#include <cmath>
#include <cstring>
#include <optional>

#include "test_util.hpp"
#include "zarr/codecs.hpp"
#include "zarr/layout.hpp"
#include "zarr/scratch_pool.hpp"

using namespace cubist;
using namespace cubist::zarr;
using namespace cubist::zarr::testing;
using nlohmann::json;

namespace {
// The padded chunk element by element: the block's element where it reaches, else the fill pattern.
std::vector<std::byte> padded_reference(const std::byte* base, const Shape& strides, const Shape& block, const Shape& full,
                                        const std::array<std::byte, 8>& fill, std::size_t isz) {
  std::vector<std::byte> out;
  Shape idx(full.size(), 0);
  for (std::int64_t n = 0; n < shape_size(full); ++n) {
    bool inside = true;
    std::int64_t at = 0;
    for (std::size_t a = 0; a < full.size(); ++a) {
      inside = inside && idx[a] < block[a];
      at += idx[a] * strides[a];
    }
    const std::byte* from = inside ? base + at * static_cast<std::int64_t>(isz) : fill.data();
    out.insert(out.end(), from, from + isz);
    for (std::size_t a = full.size(); a-- > 0;) {
      if (++idx[a] < full[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}
}  // namespace

TEST(ZarrEdgeChunks, PadBlockEqualsElementwisePaddingForViewsAndElementSizes) {
  std::array<std::byte, 8> fill{};
  for (std::size_t i = 0; i < fill.size(); ++i) fill[i] = static_cast<std::byte>(0xA0 + i);
  const Shape full{3, 5, 7};
  auto check = [&](const std::byte* base, const Shape& strides, const Shape& block, std::size_t isz) {
    std::vector<std::byte> got(static_cast<std::size_t>(shape_size(full)) * isz, std::byte{0x55});
    detail::pad_block(base, strides, block, got.data(), full, fill, isz);
    EXPECT_EQ(got, padded_reference(base, strides, block, full, fill, isz)) << shape_to_string(block) << " itemsize " << isz;
  };
  auto check_chunk = [&](const Chunk& c) {
    check(static_cast<const std::byte*>(c.raw()), c.strides(), c.shape(), itemsize(c.dtype()));
  };
  check_chunk(iota_chunk<std::uint8_t>({2, 5, 3}));
  check_chunk(iota_chunk<std::int16_t>({3, 1, 7}));
  check_chunk(iota_chunk<float>({1, 4, 6}));
  check_chunk(iota_chunk<double>({3, 5, 7}));  // no padding at all
  check_chunk(iota_chunk<double>({0, 5, 7}));  // nothing but padding
  check_chunk(iota_chunk<double>({3, 5, 0}));
  Chunk wide = iota_chunk<std::int32_t>({4, 6, 9});
  std::vector<std::int64_t> at{1, 1, 2};
  check_chunk(wide.view(at, {2, 4, 5}));  // strided rows
  // A transposed layout: the last axis is not unit-stride (element by element).
  Chunk t = iota_chunk<std::uint16_t>({3, 4, 2});
  check(static_cast<const std::byte*>(t.raw()), Shape{1, 2, 8}, Shape{2, 4, 3}, 2);
}

// A strided view written as an edge chunk stores the same bytes as its packed copy.
TEST(ZarrEdgeChunks, StridedEdgeChunkStoresTheSameBytesAsPacked) {
  TempDir dir;
  auto store = open_directory_store(dir.path());
  auto m = default_array_metadata({"y", "x"}, {7, 10}, {4, 4}, DType::Float64);
  m.compressor = json{{"id", "blosc"}, {"cname", "lz4"}, {"clevel", 5}, {"shuffle", 1}, {"blocksize", 0}};
  auto views = ZarrArray::from_metadata(store, "views", m), packed = ZarrArray::from_metadata(store, "packed", m);
  Chunk source = iota_chunk<double>({9, 13});
  const auto& g = views->grid();
  for (std::int64_t i = 0; i < g.total_chunks(); ++i) {
    auto index = g.unravel(i);
    std::vector<std::int64_t> off{g.offset(0, index[0]), g.offset(1, index[1])};
    Chunk view = source.view(off, g.chunk_shape(index));
    views->write_chunk(i, view);
    packed->write_chunk(i, view.contiguous());
  }
  for (std::int64_t i = 0; i < g.total_chunks(); ++i) {
    auto index = g.unravel(i);
    EXPECT_EQ(store->get(views->chunk_key(index))->as_string(), store->get(packed->chunk_key(index))->as_string()) << i;
  }
  auto back = views->read_region({0, 0}, {7, 10});
  for (std::int64_t y = 0; y < 7; ++y)
    for (std::int64_t x = 0; x < 10; ++x) ASSERT_EQ(back.values<double>()[static_cast<std::size_t>(y * 10 + x)], static_cast<double>(y * 13 + x));
}

TEST(ZarrEdgeChunks, ScratchPoolKeepsAsManyBuffersAsWereLeasedAtOnce) {
  detail::ScratchPool pool;
  const std::byte* kept = nullptr;
  {
    auto a = pool.take(1000);  // one lease at a time: one buffer is kept
    kept = a.bytes().data();
  }
  {
    auto again = pool.take(1000);
    EXPECT_EQ(again.bytes().data(), kept);
  }
  EXPECT_EQ(pool.cached_bytes(), 1000u);
  {
    std::optional<detail::ScratchPool::Lease> a(pool.take(1000)), b(pool.take(1000)), c(pool.take(1000));
    EXPECT_GE(a->bytes().capacity(), 1000u);
    EXPECT_NE(a->bytes().data(), b->bytes().data());  // leased at the same time: three buffers
    EXPECT_NE(b->bytes().data(), c->bytes().data());
    kept = c->bytes().data();
    a.reset();
    b.reset();
    c.reset();  // all three kept: three threads wrote at once
  }
  EXPECT_EQ(pool.cached_bytes(), 3000u);
  {
    auto small = pool.take(500);  // the most recently returned buffer big enough serves
    EXPECT_EQ(small.bytes().data(), kept);
    EXPECT_EQ(pool.cached_bytes(), 2000u);
  }
  {
    auto big = pool.take(5000);  // the idle ones are too small: a new one
    EXPECT_GE(big.bytes().capacity(), 5000u);
  }
  // The big one came back while three waited: freed, not kept as a fourth.
  EXPECT_EQ(pool.cached_bytes(), 3000u);
}

// Chunks of more than 64 MiB go through the array's scratch pools (padded copy and encoding):
// edge chunks written one after the other through the same buffers stay correct.
TEST(ZarrEdgeChunks, BigEdgeChunksThroughTheScratchPool) {
  TempDir dir;
  auto store = open_directory_store(dir.path());
  const std::int64_t side = 4200;  // 4200² float32 = 70.6 MB per chunk
  auto m = default_array_metadata({"y", "x"}, {side + 3, side + 2}, {side, side}, DType::Float32);
  m.compressor = json{{"id", "blosc"}, {"cname", "lz4"}, {"clevel", 5}, {"shuffle", 1}, {"blocksize", 0}};
  auto a = ZarrArray::from_metadata(store, "big", m);
  for (std::int64_t i : {1, 2, 3}) {  // the three edge chunks: (side, 2), (3, side), (3, 2)
    auto index = a->grid().unravel(i);
    Chunk c = iota_chunk<float>(a->grid().chunk_shape(index), static_cast<double>(i * 1000));
    a->write_chunk(i, c);
    Chunk back = a->read_chunk(i);
    ASSERT_EQ(back.shape(), c.shape());
    ASSERT_EQ(std::memcmp(back.raw(), c.raw(), c.nbytes()), 0) << i;
  }
  // The stored chunk holds the fill value (NaN) beyond the edge.
  auto raw = store->get(a->chunk_key({1, 1}));
  ASSERT_TRUE(raw);
  Bytes decoded(static_cast<std::size_t>(side * side) * 4);
  detail::make_v2_codec(m.compressor, 4, "test")->decode_into(raw->span(), decoded.mutable_span());
  float v;
  std::memcpy(&v, decoded.data() + 8, 4);  // row 0, x = 2: beyond the 2 stored columns
  EXPECT_TRUE(std::isnan(v));
}
