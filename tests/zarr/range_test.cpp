// Byte-range reads (Store::get_range / get_suffix_into) on directories and over HTTP, including
// servers that ignore Range or lie about it, and partial shard reads (ZarrArray::read_region reads
// a shard's index and then only the inner chunks a region touches).
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>

#include "cubist/cubist.hpp"
#include "cubist/io.hpp"
#include "cubist/zarr.hpp"
#include "net/http_server.hpp"
#include "test_util.hpp"
#include "zarr/codecs.hpp"

namespace cubist::zarr {
namespace {

using nlohmann::json;
using testing::expect_error;
using testing::iota_chunk;
using testing::TempDir;
using testing::write_text;
namespace fs = std::filesystem;

std::string text_of(const Bytes& b) { return std::string(b.as_string()); }

// The range contract every store must keep, checked on `store` holding "a/k" = "0123456789".
void expect_range_contract(const Store& store) {
  EXPECT_EQ(text_of(*store.get_range("a/k", 2, 5)), "23456");
  EXPECT_EQ(text_of(*store.get_range("a/k", 0, 10)), "0123456789");
  EXPECT_EQ(text_of(*store.get_range("a/k", 10, 0)), "");
  EXPECT_FALSE(store.get_range("a/missing", 0, 1));
  expect_error<IOError>([&] { store.get_range("a/k", 8, 3); }, {"a/k", "8-11", "10 bytes"});
  expect_error<IOError>([&] { store.get_range("a/k", 11, 1); }, {"a/k"});
  Bytes b;
  auto size = store.get_suffix_into("a/k", 3, b);
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, 10u);
  EXPECT_EQ(text_of(b), "789");
  size = store.get_suffix_into("a/k", 50, b);  // longer than the value: all of it
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, 10u);
  EXPECT_EQ(text_of(b), "0123456789");
  EXPECT_FALSE(store.get_suffix_into("a/missing", 3, b));
  expect_error<ValueError>([&] { store.get_range("../k", 0, 1); }, {"'..'"});
}

TEST(ZarrRange, DirectoryStore) {
  TempDir dir;
  write_text(dir / "a/k", "0123456789");
  expect_range_contract(*open_directory_store(dir.path()));
}

class ZarrRangeHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    write_text(dir_ / "a/k", "0123456789");
    // A server that ignores Range (200 with the whole file), and one that answers 206 with a
    // Content-Range other than the one asked for.
    server_.route("GET", "/norange/(.*)", [this](const net::ServerRequest& r) {
      if (!fs::is_regular_file(dir_ / r.matches[1])) return net::ServerResponse{404, "Not Found", "text/plain"};
      return net::ServerResponse{200, testing::read_text(dir_ / r.matches[1]), "application/octet-stream"};
    });
    server_.route("GET", "/lying/(.*)", [](const net::ServerRequest&) {
      return net::ServerResponse{206, "0123", "application/octet-stream", {{"Content-Range", "bytes 0-3/10"}}};
    });
    server_.mount_directory("/stores", dir_.path().string());
    server_.start();
  }
  void TearDown() override { server_.stop(); }
  std::shared_ptr<Store> store(const std::string& prefix) { return open_store(server_.base_url() + "/" + prefix); }

  TempDir dir_;
  net::HttpServer server_;
};

TEST_F(ZarrRangeHttp, RangeRequestsReadOnlyTheRange) {
  expect_range_contract(*store("stores"));
  EXPECT_GT(server_.stats().range_requests, 0u);
  // Ranged answers carry just the range: 2 of the 10 bytes here.
  auto before = server_.stats().bytes_sent;
  store("stores")->get_range("a/k", 4, 2);
  EXPECT_EQ(server_.stats().bytes_sent - before, 2u);
}

TEST_F(ZarrRangeHttp, ServerIgnoringRangeStillGivesTheRange) { expect_range_contract(*store("norange")); }

TEST_F(ZarrRangeHttp, WrongContentRangeIsRefused) {
  expect_error<IOError>([&] { store("lying")->get_range("a/k", 2, 5); }, {"a/k", "Content-Range 'bytes 0-3/10'"});
  Bytes b;
  expect_error<IOError>([&] { store("lying")->get_suffix_into("a/k", 3, b); }, {"a/k", "last 3 bytes"});
}

// A store that counts the bytes handed out, to prove a partial shard read reads only a part.
class CountingStore final : public Store {
 public:
  explicit CountingStore(std::shared_ptr<Store> inner) : inner_(std::move(inner)) {}
  bool get_into(std::string_view key, Bytes& b) const override { return count(inner_->get_into(key, b), b); }
  bool get_range_into(std::string_view key, std::uint64_t o, std::uint64_t n, Bytes& b) const override {
    return count(inner_->get_range_into(key, o, n, b), b);
  }
  std::optional<std::uint64_t> get_suffix_into(std::string_view key, std::uint64_t n, Bytes& b) const override {
    auto size = inner_->get_suffix_into(key, n, b);
    count(size.has_value(), b);
    return size;
  }
  void set(std::string_view key, std::span<const std::byte> v) override { inner_->set(key, v); }
  void erase(std::string_view key) override { inner_->erase(key); }
  std::vector<std::string> list(std::string_view p) const override { return inner_->list(p); }
  std::vector<std::string> list_dir(std::string_view p) const override { return inner_->list_dir(p); }
  std::string describe() const override { return inner_->describe(); }
  std::uint64_t bytes_read() const { return bytes_; }
  std::uint64_t requests() const { return requests_; }

 private:
  bool count(bool found, const Bytes& b) const {
    ++requests_;
    if (found) bytes_ += b.size();
    return found;
  }
  std::shared_ptr<Store> inner_;
  mutable std::atomic<std::uint64_t> bytes_{0}, requests_{0};
};

// (2, 40, 36) uint16, shards (1, 32, 32) of inner chunks (1, 8, 8): edge shards are partial.
ArrayMetadata sharded_metadata(const std::string& index_location, bool index_crc = true) {
  auto m = default_array_metadata({"t", "y", "x"}, {2, 40, 36}, {1, 32, 32}, DType::UInt16, json::object(), 3);
  m.fill_value = 7;
  json bytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
  json index_codecs = index_crc ? json::array({bytes, {{"name", "crc32c"}}}) : json::array({bytes});
  m.codecs = json::array({{{"name", "sharding_indexed"},
                           {"configuration",
                            {{"chunk_shape", {1, 8, 8}},
                             {"codecs", json::array({bytes, {{"name", "zstd"}, {"configuration", {{"level", 1}}}}})},
                             {"index_codecs", index_codecs},
                             {"index_location", index_location}}}}});
  return m;
}

// Writes iota values (element i holds i % 65536) into every chunk.
void write_iota(const ZarrArray& a) {
  for (std::int64_t i = 0; i < a.grid().total_chunks(); ++i) {
    auto idx = a.grid().unravel(i);
    Shape cs = a.grid().chunk_shape(idx);
    Chunk c = Chunk::allocate(DType::UInt16, cs);
    auto v = c.mutable_values<std::uint16_t>();
    std::size_t k = 0;
    for (std::int64_t t = 0; t < cs[0]; ++t)
      for (std::int64_t y = 0; y < cs[1]; ++y)
        for (std::int64_t x = 0; x < cs[2]; ++x) {
          std::int64_t gt = a.grid().offset(0, idx[0]) + t, gy = a.grid().offset(1, idx[1]) + y, gx = a.grid().offset(2, idx[2]) + x;
          v[k++] = static_cast<std::uint16_t>((gt * 40 + gy) * 36 + gx);
        }
    a.write_chunk(idx, c);
  }
}

void expect_region(const ZarrArray& a, Shape off, Shape shape) {
  Chunk r = a.read_region(off, shape);
  ASSERT_EQ(r.shape(), shape);
  auto v = r.values<std::uint16_t>();
  std::size_t k = 0;
  for (std::int64_t t = 0; t < shape[0]; ++t)
    for (std::int64_t y = 0; y < shape[1]; ++y)
      for (std::int64_t x = 0; x < shape[2]; ++x, ++k)
        ASSERT_EQ(v[k], static_cast<std::uint16_t>(((off[0] + t) * 40 + off[1] + y) * 36 + off[2] + x))
            << "region " << shape_to_string(shape) << " at " << shape_to_string(off) << " element " << t << "," << y << "," << x;
}

TEST(ZarrRange, PartialShardReadsMatchTheWholeArray) {
  for (std::string loc : {"end", "start"}) {
    TempDir dir;
    auto counting = std::make_shared<CountingStore>(open_directory_store(dir.path()));
    auto a = ZarrArray::from_metadata(counting, "v", sharded_metadata(loc));
    write_iota(*a);
    for (auto [off, shape] : std::vector<std::pair<Shape, Shape>>{{{0, 0, 0}, {2, 40, 36}},
                                                                  {{1, 3, 5}, {1, 1, 1}},
                                                                  {{0, 7, 9}, {2, 30, 20}},
                                                                  {{1, 30, 30}, {1, 10, 6}},  // across four shards, two partial at the edge
                                                                  {{0, 32, 32}, {1, 8, 4}}})
      expect_region(*a, off, shape);
    // One element: the index of its shard and one inner chunk, a small part of the shard file.
    const auto shard_bytes = fs::file_size(dir / "v/c/1/0/0");
    const auto before = counting->bytes_read();
    expect_region(*a, {1, 3, 5}, {1, 1, 1});
    const auto read = counting->bytes_read() - before;
    EXPECT_LT(read, shard_bytes / 4) << loc;
    EXPECT_GT(read, 16u * 16) << loc;  // at least the index (16 inner chunks x 16 bytes)
    // A missing shard reads as the fill value.
    fs::remove(dir / "v/c/1/1/1");
    Chunk r = a->read_region({1, 33, 33}, {1, 2, 2});
    for (auto v : r.values<std::uint16_t>()) EXPECT_EQ(v, 7);
    expect_error<ValueError>([&] { a->read_region({0, 0, 0}, {1, 41, 1}); }, {"leaves the array"});
  }
}

// The inner chunks a partial read touches come in one range request when they lie close together
// in the shard (one row of inner chunks): the index plus one request, not one per inner chunk.
// Inner chunks far apart (a column of them) are fetched one by one, so the read stays a small
// part of the shard.
TEST(ZarrRange, TouchedInnerChunksOfAShardComeInOneRequestWhenClose) {
  for (std::string loc : {"end", "start"}) {
    TempDir dir;
    auto counting = std::make_shared<CountingStore>(open_directory_store(dir.path()));
    // One (512, 512) uint16 shard of 8 x 8 uncompressed (64, 64) inner chunks of 8 KiB each.
    auto m = default_array_metadata({"y", "x"}, {512, 512}, {512, 512}, DType::UInt16, json::object(), 3);
    json bytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
    m.codecs = json::array({{{"name", "sharding_indexed"},
                             {"configuration", {{"chunk_shape", {64, 64}}, {"codecs", json::array({bytes})},
                                                {"index_location", loc}}}}});
    auto a = ZarrArray::from_metadata(counting, "v", m);
    Chunk all = Chunk::allocate(DType::UInt16, {512, 512});
    auto v = all.mutable_values<std::uint16_t>();
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::uint16_t>(i * 7);
    a->write_chunk({0, 0}, all);
    auto check = [&](Shape off, Shape shape) {
      Chunk r = a->read_region(off, shape);
      auto got = r.values<std::uint16_t>();
      for (std::int64_t y = 0; y < shape[0]; ++y)
        for (std::int64_t x = 0; x < shape[1]; ++x)
          ASSERT_EQ(got[static_cast<std::size_t>(y * shape[1] + x)], v[static_cast<std::size_t>((off[0] + y) * 512 + off[1] + x)]);
    };
    auto before = counting->requests();
    check({70, 3}, {50, 500});  // the second row of inner chunks, all eight
    EXPECT_EQ(counting->requests() - before, 2u) << loc;
    before = counting->requests();
    const auto bytes_before = counting->bytes_read();
    check({0, 65}, {512, 2});  // the second column: eight inner chunks 64 KiB apart
    EXPECT_EQ(counting->requests() - before, 1u + 8u) << loc;
    EXPECT_LT(counting->bytes_read() - bytes_before, 512u * 512u * 2u / 4u) << loc;
  }
}

TEST(ZarrRange, TruncatedOrLyingShardIndexIsAnErrorNamingTheShard) {
  for (std::string loc : {"end", "start"}) {
    TempDir dir;
    auto store = open_directory_store(dir.path());
    auto a = ZarrArray::from_metadata(store, "v", sharded_metadata(loc, false));
    write_iota(*a);
    const std::size_t index_size = 16 * 16;
    auto shard = *store->get("v/c/0/0/0");
    // Truncated below its index size: refused.
    store->set("v/c/0/0/0", shard.span().first(index_size / 2));
    EXPECT_THROW(a->read_region({0, 1, 1}, {1, 2, 2}), Error) << loc;
    try {
      a->read_region({0, 1, 1}, {1, 2, 2});
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("c/0/0/0"), std::string::npos) << e.what();
    }
    // An index entry pointing past the end of the shard: the shard is refused (a read of the
    // whole shard refuses it too).
    Bytes lying = Bytes::copy_of(shard.span());
    auto* idx = lying.data() + (loc == "end" ? lying.size() - index_size : 0);
    std::uint64_t far = lying.size() + 100;
    std::memcpy(idx, &far, 8);  // inner chunk 0's offset
    store->set("v/c/0/0/0", lying.span());
    try {
      a->read_region({0, 1, 1}, {1, 2, 2});
      ADD_FAILURE() << loc << ": a lying index was read";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("c/0/0/0"), std::string::npos) << e.what();
    }
  }
}

TEST_F(ZarrRangeHttp, PartialShardReadsOverHttpWithAndWithoutRangeSupport) {
  auto local = open_directory_store(dir_.path());
  write_iota(*ZarrArray::from_metadata(local, "v", sharded_metadata("end")));
  for (std::string prefix : {"stores", "norange"}) {
    auto a = ZarrArray::from_metadata(store(prefix), "v", sharded_metadata("end"));
    expect_region(*a, {1, 30, 30}, {1, 10, 6});
    expect_region(*a, {0, 0, 0}, {2, 40, 36});
  }
}

// A selection of a lazily opened sharded array reaches the read (window push-down): over HTTP it
// fetches the shard index and the touched inner chunks, not the shard, with the values of an
// unoptimised read (whole shard, then sliced).
TEST_F(ZarrRangeHttp, SelectionOfAShardedArrayReadsOnlyTheInnerChunksItNeeds) {
  Chunk cube = Chunk::allocate(DType::Float32, {2, 64, 64});
  auto v = cube.mutable_values<float>();
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 977) * 0.25f;
  DataArray arr = DataArray::from_chunk(cube, {"time", "y", "x"}, {}, Attrs::object(), "data");
  ToZarrOptions o;
  o.mode = "w";
  o.zarr_format = 3;
  ZarrVariableEncoding enc;
  enc.chunks = DimSizes{{"time", 1}, {"y", 64}, {"x", 64}};
  json bytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
  enc.codecs = json::array({{{"name", "sharding_indexed"},
                             {"configuration", {{"chunk_shape", {1, 16, 16}},
                                                {"codecs", json::array({bytes, {{"name", "zstd"}, {"configuration", {{"level", 1}}}}})},
                                                {"index_location", "end"}}}}});
  o.encoding["data"] = enc;
  to_zarr(arr, (dir_.path() / "s.zarr").string(), o);
  const Indexers sel{{"time", std::int64_t{1}}, {"y", Slice{3, 9}}, {"x", Slice{40, 50}}};
  ComputeOptions unoptimised;
  unoptimised.optimize = false;
  DataArray expected = open_zarr((dir_.path() / "s.zarr").string())["data"].isel(sel).compute(unoptimised);
  const auto before = server_.stats().bytes_sent;
  DataArray got = open_zarr(server_.base_url() + "/stores/s.zarr")["data"].isel(sel).compute();
  const auto sent = server_.stats().bytes_sent - before;
  ASSERT_EQ(got.shape(), (Shape{6, 10}));
  auto g = got.values<float>(), e = expected.values<float>();
  ASSERT_EQ(std::vector<float>(g.begin(), g.end()), std::vector<float>(e.begin(), e.end()));
  for (std::int64_t y = 0; y < 6; ++y)
    for (std::int64_t x = 0; x < 10; ++x)
      EXPECT_EQ(g[static_cast<std::size_t>(y * 10 + x)], v[static_cast<std::size_t>((64 + 3 + y) * 64 + 40 + x)]);
  // Metadata (zarr.json) plus the index and two inner chunks: well under one shard file.
  EXPECT_LT(sent, fs::file_size(dir_.path() / "s.zarr/data/c/1/0/0") / 2 + fs::file_size(dir_.path() / "s.zarr/zarr.json") +
                      fs::file_size(dir_.path() / "s.zarr/data/zarr.json"));
}

}  // namespace
}  // namespace cubist::zarr
