// Every codec round-trips through a real array, and corrupt input is an error, never a crash.
#include <cstring>

#include "test_util.hpp"
#include "zarr/codecs.hpp"

using namespace cubist;
using namespace cubist::zarr;
using namespace cubist::zarr::testing;
using nlohmann::json;

namespace {

// Writes every chunk of a (7, 10) float32 array with chunks (4, 3) and reads them back.
void round_trip(ArrayMetadata m) {
  TempDir dir;
  auto store = open_directory_store(dir.path());
  auto a = ZarrArray::from_metadata(store, "v", m);
  const auto& g = a->grid();
  for (std::int64_t i = 0; i < g.total_chunks(); ++i) {
    auto c = iota_chunk<float>(g.chunk_shape(i), 100.0 * static_cast<double>(i));
    a->write_chunk(i, c);
  }
  auto reopened = ZarrArray::from_metadata(store, "v", m);
  for (std::int64_t i = 0; i < g.total_chunks(); ++i) {
    auto expect = iota_chunk<float>(g.chunk_shape(i), 100.0 * static_cast<double>(i));
    auto got = reopened->read_chunk(i);
    ASSERT_EQ(got.shape(), expect.shape());
    ASSERT_EQ(std::memcmp(got.raw(), expect.raw(), expect.nbytes()), 0) << "chunk " << i << " of " << m.compressor.dump()
                                                                         << m.codecs.dump();
  }
}

ArrayMetadata v2(json compressor) {
  auto m = default_array_metadata({"y", "x"}, {7, 10}, {4, 3}, DType::Float32);
  m.compressor = std::move(compressor);
  return m;
}

ArrayMetadata v3(json codecs) {
  auto m = default_array_metadata({"y", "x"}, {7, 10}, {4, 3}, DType::Float32, json::object(), 3);
  m.codecs = std::move(codecs);
  return m;
}

const json kBytesLE = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};

}  // namespace

TEST(ZarrCodecs, V2BloscEveryCompressorAndShuffle) {
  for (std::string cname : {"lz4", "lz4hc", "zstd", "zlib", "blosclz"})
    for (int shuffle : {-1, 0, 1, 2})
      round_trip(v2({{"id", "blosc"}, {"cname", cname}, {"clevel", 5}, {"shuffle", shuffle}, {"blocksize", 0}}));
}

TEST(ZarrCodecs, V2OtherCompressors) {
  round_trip(v2(json()));
  round_trip(v2({{"id", "zstd"}, {"level", 3}}));
  round_trip(v2({{"id", "lz4"}, {"acceleration", 1}}));
  round_trip(v2({{"id", "zlib"}, {"level", 6}}));
  round_trip(v2({{"id", "gzip"}, {"level", 5}}));
}

TEST(ZarrCodecs, V3Codecs) {
  round_trip(v3(json::array({kBytesLE})));
  round_trip(v3(json::array({{{"name", "bytes"}, {"configuration", {{"endian", "big"}}}}})));
  round_trip(v3(json::array({{{"name", "transpose"}, {"configuration", {{"order", {1, 0}}}}}, kBytesLE})));
  round_trip(v3(json::array({kBytesLE, {{"name", "gzip"}, {"configuration", {{"level", 5}}}}})));
  round_trip(v3(json::array({kBytesLE, {{"name", "zstd"}, {"configuration", {{"level", 3}, {"checksum", true}}}}})));
  round_trip(v3(json::array({kBytesLE, {{"name", "crc32c"}}})));
  for (std::string shuffle : {"noshuffle", "shuffle", "bitshuffle"})
    round_trip(v3(json::array({kBytesLE, {{"name", "blosc"}, {"configuration", {{"cname", "zstd"}, {"clevel", 3}, {"shuffle", shuffle}, {"typesize", 4}, {"blocksize", 0}}}}})));
  // Chained compressors plus a checksum, decoded through views.
  round_trip(v3(json::array({kBytesLE, {{"name", "zstd"}, {"configuration", {{"level", 1}}}}, {{"name", "gzip"}, {"configuration", {{"level", 1}}}}, {{"name", "crc32c"}}})));
}

TEST(ZarrCodecs, Crc32cKnownValue) {
  std::string_view s = "123456789";
  EXPECT_EQ(detail::crc32c(std::as_bytes(std::span(s.data(), s.size()))), 0xE3069283u);
}

TEST(ZarrCodecs, CorruptChunksAreErrorsNamingTheKey) {
  for (json comp : {json{{"id", "blosc"}, {"cname", "lz4"}, {"clevel", 5}, {"shuffle", 1}}, json{{"id", "zstd"}, {"level", 1}},
                    json{{"id", "lz4"}}, json{{"id", "zlib"}, {"level", 1}}, json{{"id", "gzip"}, {"level", 1}}, json()}) {
    TempDir dir;
    auto store = open_directory_store(dir.path());
    auto a = ZarrArray::from_metadata(store, "v", v2(comp));
    a->write_chunk({0, 0}, iota_chunk<float>({4, 3}));
    auto good = store->get("v/0.0");
    // Truncated, garbage, and empty chunk files.
    std::vector<std::string> bad = {std::string(good->as_string().substr(0, good->size() / 2)), std::string(64, '\x7f'), ""};
    for (const auto& b : bad) {
      store->set("v/0.0", b);
      expect_error<ValueError>([&] { a->read_chunk({0, 0}); }, {"v/0.0"});
    }
  }
}

TEST(ZarrCodecs, DecodedSizeMismatchNamesTheChunk) {
  TempDir dir;
  auto store = open_directory_store(dir.path());
  auto big = ZarrArray::from_metadata(store, "v", v2({{"id", "zstd"}, {"level", 1}}));
  auto small_meta = v2({{"id", "zstd"}, {"level", 1}});
  small_meta.chunks = {2, 3};
  auto small = ZarrArray::from_metadata(store, "w", small_meta);
  small->write_chunk({0, 0}, iota_chunk<float>({2, 3}));
  store->set("v/0.0", store->get("w/0.0")->span());
  expect_error<ValueError>([&] { big->read_chunk({0, 0}); }, {"v/0.0", "expected 48"});
}
