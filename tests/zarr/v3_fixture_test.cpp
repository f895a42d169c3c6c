// Hand-made Zarr v3 stores, byte by byte from the spec, so reader bugs cannot hide behind a
// symmetric writer (zarr-python 2.13 cannot write v3; GDAL is not installed here).
#include <cstring>

#include "test_util.hpp"
#include "zarr/codecs.hpp"

using namespace cubist;
using namespace cubist::zarr;
using namespace cubist::zarr::testing;
using nlohmann::json;

namespace {
void put_u64(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
}  // namespace

TEST(ZarrV3Fixture, HandMadeShardWithEmptyInnerChunkAndConsolidatedGroup) {
  TempDir dir;
  auto root = dir / "v3.zarr";
  json arr = json::parse(R"({
    "zarr_format": 3, "node_type": "array", "shape": [4, 6], "data_type": "uint8",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4, 4]}},
    "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
    "fill_value": 255,
    "codecs": [{"name": "sharding_indexed", "configuration": {
        "chunk_shape": [2, 2],
        "codecs": [{"name": "bytes"}],
        "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
        "index_location": "end"}}],
    "dimension_names": ["y", "x"], "attributes": {"units": "counts"}})");
  write_text(root / "arr" / "zarr.json", arr.dump());
  json group = {{"zarr_format", 3}, {"node_type", "group"}, {"attributes", {{"title", "hand made"}}},
                {"consolidated_metadata", {{"kind", "inline"}, {"must_understand", false}, {"metadata", {{"arr", arr}}}}}};
  write_text(root / "zarr.json", group.dump());
  // value(y, x) = 10 y + x. Inner chunks stored out of order: (1,1), (0,0), (1,0); (0,1) empty.
  std::string shard = {22, 23, 32, 33, 0, 1, 10, 11, 20, 21, 30, 31};
  std::string index;
  put_u64(index, 4), put_u64(index, 4);               // (0,0)
  put_u64(index, ~0ull), put_u64(index, ~0ull);       // (0,1): empty
  put_u64(index, 8), put_u64(index, 4);               // (1,0)
  put_u64(index, 0), put_u64(index, 4);               // (1,1)
  put_u32(index, detail::crc32c(std::as_bytes(std::span(index.data(), index.size()))));
  write_text(root / "arr" / "c" / "0" / "0", shard + index);

  for (bool consolidated : {true, false}) {
    auto g = ZarrGroup::open(root.string(), OpenOptions{.consolidated = consolidated, .strict = true});
    EXPECT_EQ(g.zarr_format(), 3);
    EXPECT_EQ(g.consolidated(), consolidated);
    EXPECT_EQ(g.attributes()["title"], "hand made");
    auto a = g.array("arr");
    EXPECT_EQ(a->dims(), (std::vector<std::string>{"y", "x"}));
    EXPECT_EQ(a->metadata().attributes["units"], "counts");
    auto c = a->read_chunk({0, 0});
    auto v = c.values<std::uint8_t>();
    std::vector<int> got(v.begin(), v.end());
    EXPECT_EQ(got, (std::vector<int>{0, 1, 255, 255, 10, 11, 255, 255, 20, 21, 22, 23, 30, 31, 32, 33}));
    auto edge = a->read_chunk({0, 1});  // shard file missing: all fill, trimmed to (4, 2)
    EXPECT_EQ(edge.shape(), (Shape{4, 2}));
    for (auto x : edge.values<std::uint8_t>()) EXPECT_EQ(x, 255);
  }
  // An inner chunk pointing past the shard end is an error naming the key, not a crash.
  std::string bad_index;
  for (int i = 0; i < 4; ++i) put_u64(bad_index, 1000), put_u64(bad_index, 4);
  put_u32(bad_index, detail::crc32c(std::as_bytes(std::span(bad_index.data(), bad_index.size()))));
  write_text(root / "arr" / "c" / "0" / "0", shard + bad_index);
  auto a = ZarrArray::open(open_directory_store(root), "arr");
  expect_error<ValueError>([&] { a->read_chunk({0, 0}); }, {"arr/c/0/0", "outside the shard"});
}

TEST(ZarrV3Fixture, HandMadeBigEndianTransposedChunk) {
  TempDir dir;
  json arr = json::parse(R"({
    "zarr_format": 3, "node_type": "array", "shape": [2, 3], "data_type": "int16",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 3]}},
    "chunk_key_encoding": {"name": "default", "configuration": {"separator": "."}},
    "fill_value": 0,
    "codecs": [{"name": "transpose", "configuration": {"order": [1, 0]}},
               {"name": "bytes", "configuration": {"endian": "big"}}]})");
  write_text(dir / "zarr.json", arr.dump());
  // [[1, 2, 3], [-4, 5, 6]] transposed to (3, 2) is 1, -4, 2, 5, 3, 6; big-endian int16.
  write_text(dir / "c.0.0", std::string("\x00\x01\xff\xfc\x00\x02\x00\x05\x00\x03\x00\x06", 12));
  auto a = ZarrArray::open(open_directory_store(dir.path()), "");
  EXPECT_EQ(a->chunk_key({0, 0}), "c.0.0");
  auto c = a->read_chunk({0, 0});
  auto v = c.values<std::int16_t>();
  EXPECT_EQ(std::vector<std::int16_t>(v.begin(), v.end()), (std::vector<std::int16_t>{1, 2, 3, -4, 5, 6}));
  // Writing it back produces the same bytes.
  a->write_chunk({0, 0}, c);
  EXPECT_EQ(read_text(dir / "c.0.0"), std::string("\x00\x01\xff\xfc\x00\x02\x00\x05\x00\x03\x00\x06", 12));
}
