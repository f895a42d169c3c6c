// Chunk reads: fill values, edge chunks, byte order, F order, sharding, concurrency.
#include <cmath>
#include <cstring>
#include <thread>

#include "test_util.hpp"
#include "zarr/codecs.hpp"

using namespace cubist;
using namespace cubist::zarr;
using namespace cubist::zarr::testing;
using nlohmann::json;

TEST(ZarrArray, ChunkKeys) {
  TempDir dir;
  auto store = open_directory_store(dir.path());
  auto m = default_array_metadata({"t", "y", "x"}, {4, 4, 4}, {2, 2, 2}, DType::Int16);
  EXPECT_EQ(ZarrArray::from_metadata(store, "a", m)->chunk_key({1, 0, 1}), "a/1.0.1");
  m.dimension_separator = '/';
  EXPECT_EQ(ZarrArray::from_metadata(store, "a", m)->chunk_key({1, 0, 1}), "a/1/0/1");
  auto m3 = default_array_metadata({"t", "y", "x"}, {4, 4, 4}, {2, 2, 2}, DType::Int16, json::object(), 3);
  EXPECT_EQ(ZarrArray::from_metadata(store, "a", m3)->chunk_key({1, 0, 1}), "a/c/1/0/1");
  m3.chunk_key_separator = '.';
  EXPECT_EQ(ZarrArray::from_metadata(store, "", m3)->chunk_key({1, 0, 1}), "c.1.0.1");
  m3.chunk_key_encoding = "v2";
  EXPECT_EQ(ZarrArray::from_metadata(store, "a", m3)->chunk_key({1, 0, 1}), "a/1.0.1");
  auto m0 = default_array_metadata({}, {}, {}, DType::Int16);
  EXPECT_EQ(ZarrArray::from_metadata(store, "s", m0)->chunk_key({}), "s/0");
}

TEST(ZarrArray, MissingChunksReadAsFillValue) {
  TempDir dir;
  auto store = open_directory_store(dir.path());
  auto m = default_array_metadata({"y", "x"}, {5, 5}, {2, 2}, DType::Float32);
  auto a = ZarrArray::from_metadata(store, "v", m);
  auto c = a->read_chunk({2, 2});  // edge chunk: (1, 1)
  ASSERT_EQ(c.shape(), (Shape{1, 1}));
  EXPECT_TRUE(std::isnan(c.values<float>()[0]));
  m.fill_value = 42;
  m.dtype = DType::Int32;
  auto b = ZarrArray::from_metadata(store, "w", m)->read_chunk({0, 1});
  for (auto v : b.values<std::int32_t>()) EXPECT_EQ(v, 42);
  m.fill_value = json();  // null: zeros
  auto z = ZarrArray::from_metadata(store, "w", m)->read_chunk({0, 1});
  for (auto v : z.values<std::int32_t>()) EXPECT_EQ(v, 0);
}

TEST(ZarrArray, EdgeChunksArePaddedWithFill) {
  TempDir dir;
  auto store = open_directory_store(dir.path());
  auto m = default_array_metadata({"y", "x"}, {3, 5}, {2, 4}, DType::Int32);
  m.fill_value = -1;
  m.compressor = json();
  auto a = ZarrArray::from_metadata(store, "v", m);
  a->write_chunk({1, 1}, iota_chunk<std::int32_t>({1, 1}, 7));
  auto raw = store->get("v/1.1");
  ASSERT_EQ(raw->size(), 2u * 4u * 4u);  // stored at the full chunk shape
  std::int32_t vals[8];
  std::memcpy(vals, raw->data(), sizeof vals);
  EXPECT_EQ(vals[0], 7);
  for (int i = 1; i < 8; ++i) EXPECT_EQ(vals[i], -1);
  EXPECT_EQ(a->read_chunk({1, 1}).values<std::int32_t>()[0], 7);
}

TEST(ZarrArray, BigEndianAndFortranOrderV2) {
  TempDir dir;
  auto store = open_directory_store(dir.path());
  auto m = default_array_metadata({"y", "x"}, {2, 3}, {2, 3}, DType::Int32);
  m.compressor = json();
  m.big_endian = true;
  m.order = 'F';
  auto a = ZarrArray::from_metadata(store, "v", m);
  a->write_chunk({0, 0}, iota_chunk<std::int32_t>({2, 3}, 1));  // [[1,2,3],[4,5,6]]
  auto raw = store->get("v/0.0");
  // F order: 1,4,2,5,3,6 as big-endian int32
  const unsigned char* p = reinterpret_cast<const unsigned char*>(raw->data());
  std::vector<int> got;
  for (int i = 0; i < 6; ++i) got.push_back((p[4 * i] << 24) | (p[4 * i + 1] << 16) | (p[4 * i + 2] << 8) | p[4 * i + 3]);
  EXPECT_EQ(got, (std::vector<int>{1, 4, 2, 5, 3, 6}));
  auto back_chunk = a->read_chunk({0, 0});
  auto back = back_chunk.values<std::int32_t>();
  EXPECT_EQ(std::vector<std::int32_t>(back.begin(), back.end()), (std::vector<std::int32_t>{1, 2, 3, 4, 5, 6}));
}

TEST(ZarrArray, ShardingIndexAtEndAndStart) {
  for (std::string loc : {"end", "start"}) {
    TempDir dir;
    auto store = open_directory_store(dir.path());
    auto m = default_array_metadata({"y", "x"}, {10, 12}, {8, 8}, DType::UInt16, json::object(), 3);
    m.fill_value = 9;
    m.codecs = json::array({{{"name", "sharding_indexed"},
                             {"configuration",
                              {{"chunk_shape", {4, 2}},
                               {"codecs", json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                                                       {{"name", "zstd"}, {"configuration", {{"level", 1}}}}})},
                               {"index_codecs", json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                                                             {{"name", "crc32c"}}})},
                               {"index_location", loc}}}}});
    auto a = ZarrArray::from_metadata(store, "v", m);
    for (std::int64_t i = 0; i < a->grid().total_chunks(); ++i) a->write_chunk(i, iota_chunk<std::uint16_t>(a->grid().chunk_shape(i), 10 * i));
    for (std::int64_t i = 0; i < a->grid().total_chunks(); ++i) {
      auto expect = iota_chunk<std::uint16_t>(a->grid().chunk_shape(i), 10 * i);
      auto got = a->read_chunk(i);
      ASSERT_EQ(std::memcmp(got.raw(), expect.raw(), expect.nbytes()), 0) << loc << " chunk " << i;
    }
    // Index layout: 4x2 grid of inner chunks, 16 bytes each + crc32c; read it back by hand.
    auto shard = store->get("v/c/0/0");
    ASSERT_TRUE(shard);
    std::size_t index_size = 8 * 16 + 4;
    auto idx_bytes = loc == "end" ? shard->span().last(index_size) : shard->span().first(index_size);
    std::uint64_t first_off;
    std::memcpy(&first_off, idx_bytes.data(), 8);
    EXPECT_EQ(first_off, loc == "end" ? 0u : index_size);
    // Mark inner chunk 1 as empty (2^64-1, 2^64-1): it must read as the fill value.
    Bytes edited = Bytes::copy_of(shard->span());
    auto* idx = edited.data() + (loc == "end" ? edited.size() - index_size : 0);
    std::uint64_t empty = ~std::uint64_t{0};
    std::memcpy(idx + 16, &empty, 8);
    std::memcpy(idx + 24, &empty, 8);
    auto crc = detail::crc32c(std::span<const std::byte>(idx, index_size - 4));
    std::memcpy(idx + index_size - 4, &crc, 4);
    store->set("v/c/0/0", edited.span());
    auto got_chunk = a->read_chunk({0, 0});
    auto got = got_chunk.values<std::uint16_t>();
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 8; ++c) {
        bool in_inner1 = c >= 2 && c < 4;
        EXPECT_EQ(got[static_cast<std::size_t>(r * 8 + c)], in_inner1 ? 9 : r * 8 + c) << r << "," << c;
      }
    // A shard with a broken index checksum is an error naming the key.
    idx[0] = std::byte{0x55};
    store->set("v/c/0/0", edited.span());
    expect_error<ValueError>([&] { a->read_chunk({0, 0}); }, {"v/c/0/0", "crc32c"});
  }
}

TEST(ZarrArray, ConcurrentChunkReadsAndWrites) {
  TempDir dir;
  auto store = open_directory_store(dir.path());
  auto m = default_array_metadata({"t", "y", "x"}, {16, 64, 64}, {1, 32, 32}, DType::Float32);
  auto a = ZarrArray::from_metadata(store, "v", m);
  auto n = a->grid().total_chunks();
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (std::int64_t i = t; i < n; i += 4) a->write_chunk(i, iota_chunk<float>(a->grid().chunk_shape(i), static_cast<double>(i)));
    });
  for (auto& t : ts) t.join();
  ts.clear();
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (std::int64_t i = (t + 1) % 4; i < n; i += 4) {
        auto c = a->read_chunk(i);
        auto e = iota_chunk<float>(c.shape(), static_cast<double>(i));
        if (std::memcmp(c.raw(), e.raw(), e.nbytes()) != 0) ++bad;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad, 0);
}

TEST(ZarrArray, WriteChecksShapeAndDtype) {
  TempDir dir;
  auto a = ZarrArray::from_metadata(open_directory_store(dir.path()), "v",
                                    default_array_metadata({"x"}, {10}, {4}, DType::Float32));
  expect_error<ChunkError>([&] { a->write_chunk({2}, iota_chunk<float>({4})); }, {"v/2", "(2,)"});
  expect_error<TypeError>([&] { a->write_chunk({0}, iota_chunk<double>({4})); }, {"float64"});
  expect_error<ChunkError>([&] { a->read_chunk({3}); }, {"out of range"});
}

TEST(ZarrArray, WriteRegionMergesPartialChunks) {
  TempDir dir;
  auto m = default_array_metadata({"y", "x"}, {5, 7}, {2, 3}, DType::Int32);
  m.fill_value = -1;
  auto a = ZarrArray::from_metadata(open_directory_store(dir.path()), "v", m);
  a->write_region({1, 2}, iota_chunk<std::int32_t>({3, 4}, 100));  // rows 1..3, cols 2..5
  a->write_region({4, 6}, iota_chunk<std::int32_t>({1, 1}, 7));
  std::vector<std::int32_t> full(35, -1);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x) full[static_cast<std::size_t>((1 + y) * 7 + 2 + x)] = 100 + y * 4 + x;
  full[34] = 7;
  for (std::int64_t i = 0; i < a->grid().total_chunks(); ++i) {
    auto idx = a->grid().unravel(i);
    auto c = a->read_chunk(idx);
    auto v = c.values<std::int32_t>();
    for (std::int64_t y = 0; y < c.shape()[0]; ++y)
      for (std::int64_t x = 0; x < c.shape()[1]; ++x)
        EXPECT_EQ(v[static_cast<std::size_t>(y * c.shape()[1] + x)],
                  full[static_cast<std::size_t>((a->grid().offset(0, idx[0]) + y) * 7 + a->grid().offset(1, idx[1]) + x)]);
  }
  expect_error<DimensionError>([&] { a->write_region({4, 6}, iota_chunk<std::int32_t>({2, 1})); }, {"exceeds"});
}

TEST(ZarrArray, WritesStridedViews) {
  TempDir dir;
  auto a = ZarrArray::from_metadata(open_directory_store(dir.path()), "v",
                                    default_array_metadata({"y", "x"}, {2, 2}, {2, 2}, DType::Int32));
  auto big = iota_chunk<std::int32_t>({4, 4});  // [[0..3],[4..7],...]
  std::vector<std::int64_t> off{1, 1};
  auto view = big.view(off, {2, 2});  // [[5, 6], [9, 10]], not contiguous
  ASSERT_FALSE(view.is_contiguous());
  a->write_chunk({0, 0}, view);
  auto back = a->read_chunk({0, 0});
  auto v = back.values<std::int32_t>();
  EXPECT_EQ(std::vector<std::int32_t>(v.begin(), v.end()), (std::vector<std::int32_t>{5, 6, 9, 10}));
}

// Shards written from strided views (the runtime's zero-copy chunks) pack each inner chunk straight
// from the view: the stored bytes must equal those written from packed copies, for every kind of
// inner codec chain (one compressor writing into the shard buffer, or a chain going through a
// scratch buffer), index at start and end, full and partial edge shards, and a transposed layout.
TEST(ZarrArray, ShardsFromStridedViewsEqualShardsFromPackedChunks) {
  json bytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
  std::vector<json> inner_chains = {
      json::array({bytes, {{"name", "blosc"}, {"configuration", {{"cname", "lz4"}, {"clevel", 5}, {"shuffle", "shuffle"}, {"typesize", 2}}}}}),
      json::array({bytes, {{"name", "gzip"}, {"configuration", {{"level", 1}}}}}),
      json::array({bytes, {{"name", "zstd"}, {"configuration", {{"level", 1}}}}, {{"name", "crc32c"}}}),
      json::array({bytes})};
  const Shape shape{3, 20, 24};
  Chunk source = iota_chunk<std::uint16_t>({3, 20, 31});  // wider than the array: every view is strided
  for (const auto& inner : inner_chains) {
    for (std::string loc : {"end", "start"}) {
      for (bool transposed : {false, true}) {
        TempDir dir;
        auto store = open_directory_store(dir.path());
        auto m = default_array_metadata({"t", "y", "x"}, shape, {1, 16, 16}, DType::UInt16, json::object(), 3);
        m.fill_value = 7;
        json sharding = {{"name", "sharding_indexed"},
                         {"configuration", {{"chunk_shape", {1, 4, 8}}, {"codecs", inner}, {"index_location", loc}}}};
        m.codecs = transposed ? json::array({{{"name", "transpose"}, {"configuration", {{"order", {0, 2, 1}}}}}, sharding})
                              : json::array({sharding});
        auto from_views = ZarrArray::from_metadata(store, "views", m);
        auto from_packed = ZarrArray::from_metadata(store, "packed", m);
        const auto& g = from_views->grid();
        for (std::int64_t i = 0; i < g.total_chunks(); ++i) {
          auto index = g.unravel(i);
          Shape offset(3);
          for (std::size_t a = 0; a < 3; ++a) offset[a] = g.offset(a, index[a]);
          Chunk view = source.view(offset, g.chunk_shape(index));
          ASSERT_FALSE(view.is_contiguous());
          from_views->write_chunk(i, view);
          from_packed->write_chunk(i, view.contiguous());
        }
        std::string what = inner.dump() + " index " + loc + (transposed ? " transposed" : "");
        for (std::int64_t i = 0; i < g.total_chunks(); ++i) {
          auto index = g.unravel(i);
          auto a = store->get(from_views->chunk_key(index)), b = store->get(from_packed->chunk_key(index));
          ASSERT_TRUE(a && b) << what;
          ASSERT_EQ(a->as_string(), b->as_string()) << what << " shard " << i;
          Shape offset(3);
          for (std::size_t ax = 0; ax < 3; ++ax) offset[ax] = g.offset(ax, index[ax]);
          Chunk expect = source.view(offset, g.chunk_shape(index)).contiguous();
          Chunk got = from_views->read_chunk(i);
          ASSERT_EQ(got.shape(), expect.shape()) << what;
          ASSERT_EQ(std::memcmp(got.raw(), expect.raw(), expect.nbytes()), 0) << what << " shard " << i;
        }
      }
    }
  }
}
