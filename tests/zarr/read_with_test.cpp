// Store::read_with: values lent to a callback. DirectoryStore maps files of 1 MiB and more and
// reads smaller ones; both must give exactly the stored bytes, and chunks decoded from a mapping
// must fail as clearly as read ones when their bytes are bad.
#include <cstdlib>
#include <optional>
#include <random>

#include "test_util.hpp"

using namespace cubist;
using namespace cubist::zarr;
using namespace cubist::zarr::testing;
using nlohmann::json;

namespace {
std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string read_whole(const Store& s, std::string_view key, bool* found = nullptr) {
  Bytes scratch;
  std::string got;
  int calls = 0;
  bool ok = s.read_with(key, scratch, [&](std::span<const std::byte> v) {
    ++calls;
    got.assign(reinterpret_cast<const char*>(v.data()), v.size());
  });
  EXPECT_EQ(calls, ok ? 1 : 0);
  if (found) *found = ok;
  return got;
}

// A float32 chunk of random bits (blosc cannot shrink it: the stored chunk stays above 1 MiB).
Chunk noise_chunk(Shape shape, unsigned seed) {
  Chunk c = Chunk::allocate(DType::Float32, std::move(shape));
  std::mt19937 rng(seed);
  for (auto& v : c.mutable_values<float>()) v = static_cast<float>(rng() % 1000003) * 0.5f;
  return c;
}

bool same_values(const Chunk& a, const Chunk& b) {
  auto x = a.values<float>(), y = b.values<float>();
  return x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin());
}
}  // namespace

TEST(ZarrReadWith, DirectoryStoreLendsSmallAndMappedValuesExactly) {
  TempDir dir;
  auto s = open_directory_store(dir.path());
  // Below, at and above the mapping threshold, plus an empty value.
  for (std::size_t n : {std::size_t{0}, std::size_t{7}, std::size_t{(1u << 20) - 1}, std::size_t{1u << 20},
                        std::size_t{(3u << 20) + 5}}) {
    const auto value = random_bytes(n, static_cast<unsigned>(n));
    s->set("v/" + std::to_string(n), value);
    bool found = false;
    EXPECT_EQ(read_whole(*s, "v/" + std::to_string(n), &found), value) << n << " bytes";
    EXPECT_TRUE(found);
  }
  bool found = true;
  EXPECT_EQ(read_whole(*s, "v/absent", &found), "");
  EXPECT_FALSE(found);
  Bytes scratch;
  EXPECT_FALSE(s->read_with("v", scratch, [](auto) { ADD_FAILURE() << "a directory is not a key"; }));
  EXPECT_THROW(s->read_with("../escape", scratch, [](auto) {}), ValueError);
}

TEST(ZarrReadWith, ExceptionsFromTheCallbackLeaveTheStoreUsable) {
  TempDir dir;
  auto s = open_directory_store(dir.path());
  const auto big = random_bytes(2u << 20, 3);
  s->set("big", big);
  Bytes scratch;
  for (int i = 0; i < 3; ++i)
    EXPECT_THROW(s->read_with("big", scratch, [](auto) { throw ValueError("from the callback"); }), ValueError);
  EXPECT_EQ(read_whole(*s, "big"), big);
}

TEST(ZarrReadWith, BigChunksRoundTripAndBadBytesNameTheChunk) {
  TempDir dir;
  auto store = open_directory_store(dir.path());
  // (1024, 512) float32 = 2 MiB per chunk: stored above the mapping threshold.
  for (const json& compressor : {json(), json{{"id", "blosc"}, {"cname", "lz4"}, {"clevel", 5}, {"shuffle", 1}},
                                 json{{"id", "zstd"}, {"level", 1}}}) {
    auto m = default_array_metadata({"y", "x"}, {2048, 1024}, {1024, 512}, DType::Float32);
    m.compressor = compressor;
    const std::string name = compressor.is_null() ? "raw" : compressor.value("cname", compressor["id"].get<std::string>());
    auto a = ZarrArray::from_metadata(store, name, m);
    const Chunk c = noise_chunk({1024, 512}, 11);
    a->write_chunk({1, 0}, c);
    const auto key = a->chunk_key({1, 0});
    const std::string good(store->get(key)->as_string());
    ASSERT_GE(good.size(), std::size_t{1} << 20) << name << ": the chunk must be big enough to be mapped";
    EXPECT_TRUE(same_values(a->read_chunk({1, 0}), c)) << name;
    // Truncated by a byte.
    store->set(key, std::string_view(good).substr(0, good.size() - 1));
    expect_error<ValueError>([&] { (void)a->read_chunk({1, 0}); }, {"chunk", key});
    // A valid encoding of fewer elements (another array's chunk at this key): wrong decoded size.
    auto small_meta = default_array_metadata({"y", "x"}, {2048, 1024}, {1024, 500}, DType::Float32);
    small_meta.compressor = compressor;
    auto small = ZarrArray::from_metadata(store, name + "_small", small_meta);
    small->write_chunk({0, 0}, noise_chunk({1024, 500}, 12));
    store->set(key, store->get(small->chunk_key({0, 0}))->as_string());
    expect_error<ValueError>([&] { (void)a->read_chunk({1, 0}); }, {"chunk", key});
    // Restored: read again from the (new) mapping.
    store->set(key, good);
    EXPECT_TRUE(same_values(a->read_chunk({1, 0}), c)) << name;
  }
}

TEST(ZarrReadWith, BigShardsDecodeInPlaceAndTruncatedOnesNameTheShard) {
  TempDir dir;
  auto store = open_directory_store(dir.path());
  auto m = default_array_metadata({"y", "x"}, {1024, 1024}, {1024, 1024}, DType::Float32, json::object(), 3);
  m.codecs = json::array({{{"name", "sharding_indexed"},
                           {"configuration", {{"chunk_shape", {128, 256}},
                                              {"codecs", json::array({{{"name", "bytes"}}, {{"name", "zstd"}}})},
                                              {"index_codecs", json::array({{{"name", "bytes"}}, {{"name", "crc32c"}}})}}}}});
  auto a = ZarrArray::from_metadata(store, "shards", m);
  const Chunk c = noise_chunk({1024, 1024}, 5);
  a->write_chunk({0, 0}, c);
  const auto key = a->chunk_key({0, 0});
  const std::string good(store->get(key)->as_string());
  ASSERT_GE(good.size(), std::size_t{1} << 20);
  EXPECT_TRUE(same_values(a->read_chunk({0, 0}), c));
  store->set(key, std::string_view(good).substr(0, good.size() / 2));  // index lost
  expect_error<ValueError>([&] { (void)a->read_chunk({0, 0}); }, {"chunk", key});
  std::string bad = good;
  bad[bad.size() - 20] = static_cast<char>(bad[bad.size() - 20] ^ 0x5a);  // the index fails its checksum
  store->set(key, bad);
  expect_error<ValueError>([&] { (void)a->read_chunk({0, 0}); }, {"chunk", key});
}

// CUBIST_ZARR_MMAP=0 (for file systems where a chunk file may be truncated in place, which would
// SIGBUS a reader of its mapping) reads big values into the caller's buffer; other values than
// 0 and 1 are refused with the variable's name.
TEST(ZarrReadWith, MappingCanBeTurnedOffAndTheSettingIsValidated) {
  const char* before = std::getenv("CUBIST_ZARR_MMAP");
  struct Restore {
    std::optional<std::string> value;
    ~Restore() {
      if (value) ::setenv("CUBIST_ZARR_MMAP", value->c_str(), 1);
      else ::unsetenv("CUBIST_ZARR_MMAP");
    }
  } restore{before ? std::optional<std::string>(before) : std::nullopt};
  TempDir dir;
  const auto value = random_bytes(std::size_t{2} << 20, 11);
  open_directory_store(dir.path())->set("big", std::as_bytes(std::span(value.data(), value.size())));
  auto lent_from_scratch = [&] {
    Bytes scratch;
    bool from_scratch = false;
    EXPECT_TRUE(open_directory_store(dir.path())->read_with("big", scratch, [&](std::span<const std::byte> v) {
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(v.data()), v.size()), value);
      from_scratch = v.data() == scratch.data();
    }));
    return from_scratch;
  };
  ::setenv("CUBIST_ZARR_MMAP", "0", 1);
  EXPECT_TRUE(lent_from_scratch());
  ::setenv("CUBIST_ZARR_MMAP", "1", 1);
  EXPECT_FALSE(lent_from_scratch());  // mapped
  ::unsetenv("CUBIST_ZARR_MMAP");
  EXPECT_FALSE(lent_from_scratch());
  ::setenv("CUBIST_ZARR_MMAP", "no", 1);
  expect_error<ValueError>([&] { open_directory_store(dir.path()); }, {"CUBIST_ZARR_MMAP", "'no'"});
}
