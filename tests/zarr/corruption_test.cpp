// Bad bytes never crash: every codec's chunks and every metadata file, mutated at random, either
// decode or throw a cubist::Error (run under ASan/UBSan in the sanitizer job).
#include <random>

#include "test_util.hpp"

using namespace cubist;
using namespace cubist::zarr;
using namespace cubist::zarr::testing;
using nlohmann::json;

namespace {
std::string mutate(std::string s, std::mt19937& rng) {
  if (s.empty()) return s;
  std::uniform_int_distribution<std::size_t> pos(0, s.size() - 1);
  switch (rng() % 4) {
    case 0:  // flip a few bytes
      for (int i = 0; i < 3; ++i) s[pos(rng)] = static_cast<char>(rng());
      break;
    case 1: s.resize(pos(rng)); break;                           // truncate
    case 2: s.insert(pos(rng), std::string(1 + rng() % 8, '\xff')); break;  // insert junk
    default: s[pos(rng)] ^= 0x01; break;                          // single bit
  }
  return s;
}
}  // namespace

TEST(ZarrCorruption, MutatedChunksThrowOrDecode) {
  std::vector<json> v2comps = {json{{"id", "blosc"}, {"cname", "lz4"}, {"clevel", 5}, {"shuffle", 1}},
                               json{{"id", "blosc"}, {"cname", "zstd"}, {"clevel", 3}, {"shuffle", 2}},
                               json{{"id", "zstd"}, {"level", 1}}, json{{"id", "lz4"}},
                               json{{"id", "zlib"}, {"level", 1}}, json{{"id", "gzip"}, {"level", 1}}, json()};
  std::mt19937 rng(1234);
  TempDir dir;
  auto store = open_directory_store(dir.path());
  int n = 0;
  auto hammer = [&](const std::shared_ptr<const ZarrArray>& a) {
    a->write_chunk({0, 0}, iota_chunk<float>(a->grid().chunk_shape({0, 0})));
    auto key = a->chunk_key({0, 0});
    std::string good(store->get(key)->as_string());
    for (int i = 0; i < 150; ++i) {
      store->set(key, mutate(good, rng));
      try {
        (void)a->read_chunk({0, 0});
      } catch (const Error&) {
      }
      ++n;
    }
  };
  for (const auto& c : v2comps) {
    auto m = default_array_metadata({"y", "x"}, {64, 64}, {32, 32}, DType::Float32);
    m.compressor = c;
    hammer(ZarrArray::from_metadata(store, "v2_" + std::to_string(n), m));
  }
  auto m3 = default_array_metadata({"y", "x"}, {64, 64}, {32, 32}, DType::Float32, json::object(), 3);
  m3.codecs = json::array({{{"name", "sharding_indexed"},
                            {"configuration", {{"chunk_shape", {8, 16}},
                                               {"codecs", json::array({{{"name", "bytes"}}, {{"name", "zstd"}}})},
                                               {"index_codecs", json::array({{{"name", "bytes"}}})}}}}});
  hammer(ZarrArray::from_metadata(store, "v3_shard", m3));  // index without checksum: offsets must be checked
  EXPECT_GT(n, 1000);
}

TEST(ZarrCorruption, MutatedMetadataThrowsCubistErrors) {
  std::mt19937 rng(99);
  auto zarray = dump_json(to_zarray(default_array_metadata({"y", "x"}, {64, 64}, {32, 32}, DType::Float32)));
  auto zjson = dump_json(to_zarr_json(default_array_metadata({"y", "x"}, {64, 64}, {32, 32}, DType::Float32, json::object(), 3)));
  for (int i = 0; i < 400; ++i) {
    try {
      auto j = parse_json(mutate(i % 2 ? zarray : zjson, rng), "x");
      if (i % 2) (void)parse_array_metadata_v2(j, json(), "x");
      else (void)parse_array_metadata_v3(j, "x");
    } catch (const Error&) {
    }
  }
}

TEST(ZarrCorruption, WrongJsonTypesAreValueErrors) {
  auto z = to_zarray(default_array_metadata({"y", "x"}, {64, 64}, {32, 32}, DType::Float32));
  z["filters"] = json::array({{{"id", 5}}});
  EXPECT_THROW(parse_array_metadata_v2(z, json(), "x"), ValueError);
  auto j = to_zarr_json(default_array_metadata({"y"}, {4}, {2}, DType::Float32, json::object(), 3));
  j["codecs"][1]["configuration"]["shuffle"] = 1;
  EXPECT_THROW(parse_array_metadata_v3(j, "x"), ValueError);
  j = to_zarr_json(default_array_metadata({"y"}, {4}, {2}, DType::Float32, json::object(), 3));
  j["chunk_key_encoding"]["configuration"] = 7;
  EXPECT_NO_THROW(parse_array_metadata_v3(j, "x"));
  TempDir dir;
  write_text(dir / ".zmetadata", R"({"metadata": {".zgroup": {"zarr_format": 2}, ".zattrs": {}, "a/.zarray": 5}})");
  EXPECT_THROW(ZarrGroup::open(dir.path().string()), Error);
}
