// Groups: writing with modes, metadata last, consolidated or not, v2 and v3; reading them back.
#include <cstring>

#include "test_util.hpp"

using namespace cubist;
using namespace cubist::zarr;
using namespace cubist::zarr::testing;
using nlohmann::json;

namespace {
void write_dataset(const std::filesystem::path& path, WriteMode mode, int fmt, bool consolidated = true) {
  ZarrWriter w(path.string(), mode, fmt, consolidated);
  auto t = w.create_array("time", default_array_metadata({"time"}, {3}, {3}, DType::Int64,
                                                         json{{"units", "days since 2000-01-01"}, {"calendar", "proleptic_gregorian"}}, fmt));
  auto d = w.create_array("data", default_array_metadata({"time", "y"}, {3, 5}, {1, 2}, DType::Float32, json{{"long_name", "d"}}, fmt));
  t->write_chunk(0, iota_chunk<std::int64_t>({3}));
  for (std::int64_t i = 0; i < d->grid().total_chunks(); ++i) d->write_chunk(i, iota_chunk<float>(d->grid().chunk_shape(i), i));
  w.set_attributes(json{{"title", "test"}});
  // Before commit nothing advertises the store.
  EXPECT_FALSE(std::filesystem::exists(path / ".zmetadata"));
  EXPECT_FALSE(std::filesystem::exists(path / ".zgroup"));
  EXPECT_FALSE(std::filesystem::exists(path / "zarr.json"));
  w.commit();
}
}  // namespace

TEST(ZarrGroup, WriteThenOpenV2AndV3) {
  for (int fmt : {2, 3})
    for (bool consolidated : {true, false})
      for (std::optional<bool> use : {std::optional<bool>(), std::optional<bool>(false)}) {
        TempDir dir;
        write_dataset(dir / "x.zarr", WriteMode::Overwrite, fmt, consolidated);
        auto g = ZarrGroup::open((dir / "x.zarr").string(), OpenOptions{.consolidated = use, .strict = false});
        EXPECT_EQ(g.zarr_format(), fmt);
        EXPECT_EQ(g.consolidated(), consolidated && !use.has_value());
        EXPECT_EQ(g.array_names(), (std::vector<std::string>{"data", "time"}));
        EXPECT_EQ(g.attributes(), (json{{"title", "test"}}));
        auto d = g.array("data");
        EXPECT_EQ(d->dims(), (std::vector<std::string>{"time", "y"}));
        EXPECT_EQ(d->shape(), (Shape{3, 5}));
        EXPECT_EQ(d->metadata().attributes, (json{{"long_name", "d"}}));
        auto c = d->read_chunk({2, 2});
        EXPECT_EQ(c.values<float>()[0], 8.0f);
        EXPECT_EQ(g.array("time")->metadata().attributes["units"], "days since 2000-01-01");
        expect_error<KeyError>([&] { g.array("nope"); }, {"nope"});
      }
}

TEST(ZarrGroup, ConsolidatedRequiredButAbsent) {
  TempDir dir;
  write_dataset(dir / "x.zarr", WriteMode::Overwrite, 2, false);
  expect_error<ValueError>([&] { ZarrGroup::open((dir / "x.zarr").string(), OpenOptions{.consolidated = true, .strict = false}); }, {".zmetadata"});
  expect_error<KeyError>([&] { ZarrGroup::open((dir / "none.zarr").string()); }, {"none.zarr"});
}

TEST(ZarrGroup, Modes) {
  TempDir dir;
  auto p = dir / "x.zarr";
  write_dataset(p, WriteMode::CreateOnly, 2);
  expect_error<Error>([&] { ZarrWriter(p.string(), WriteMode::CreateOnly); }, {"x.zarr", "w-"});
  // "w" replaces everything, stale chunks included.
  write_text(p / "data" / "9.9", "stale");
  write_dataset(p, WriteMode::Overwrite, 2);
  EXPECT_FALSE(std::filesystem::exists(p / "data" / "9.9"));
  // "w" refuses to wipe a directory that is not a Zarr store.
  write_text(dir / "home" / "precious.txt", "keep me");
  expect_error<Error>([&] { ZarrWriter((dir / "home").string(), WriteMode::Overwrite); }, {"not a Zarr store"});
  EXPECT_TRUE(std::filesystem::exists(dir / "home" / "precious.txt"));
  expect_error<ValueError>([] { parse_write_mode("r+"); }, {"r+"});
}

TEST(ZarrGroup, AWriteThatDiedIsNotAStoreButCanBeOverwritten) {
  TempDir dir;
  auto p = dir / "x.zarr";
  {  // chunks written, commit() never reached
    ZarrWriter w(p.string(), WriteMode::Overwrite);
    auto d = w.create_array("data", default_array_metadata({"y"}, {4}, {2}, DType::Float32));
    d->write_chunk(0, iota_chunk<float>({2}));
  }
  EXPECT_TRUE(std::filesystem::exists(p / ".cubist-incomplete"));
  expect_error<KeyError>([&] { ZarrGroup::open(p.string()); }, {"x.zarr"});
  expect_error<Error>([&] { ZarrWriter(p.string(), WriteMode::CreateOnly); }, {"w-"});
  expect_error<Error>([&] { ZarrWriter(p.string(), WriteMode::Append); }, {"not a Zarr store"});
  write_dataset(p, WriteMode::Overwrite, 2);
  EXPECT_FALSE(std::filesystem::exists(p / ".cubist-incomplete"));
  EXPECT_FALSE(std::filesystem::exists(p / "data" / "0"));  // the dead write's chunk is gone
  EXPECT_EQ(ZarrGroup::open(p.string()).array_names(), (std::vector<std::string>{"data", "time"}));
  // Appending to a finished store leaves no marker behind either.
  ZarrWriter(p.string(), WriteMode::Append).commit();
  EXPECT_FALSE(std::filesystem::exists(p / ".cubist-incomplete"));
}

TEST(ZarrGroup, AppendAlongADimension) {
  TempDir dir;
  auto p = dir / "x.zarr";
  write_dataset(p, WriteMode::Overwrite, 2);
  {
    ZarrWriter w(p.string(), WriteMode::Append);
    auto more = default_array_metadata({"time", "y"}, {2, 5}, {1, 2}, DType::Float32);
    auto d = w.append_array("data", "time", more);
    EXPECT_EQ(d->shape(), (Shape{5, 5}));
    for (std::int64_t t = 3; t < 5; ++t)
      for (std::int64_t j = 0; j < 3; ++j) d->write_chunk({t, j}, iota_chunk<float>(d->grid().chunk_shape({t, j}), 100));
    auto bad_dims = default_array_metadata({"time", "x"}, {2, 5}, {1, 2}, DType::Float32);
    expect_error<DimensionError>([&] { w.append_array("data", "time", bad_dims); }, {"dims"});
    auto bad_dtype = default_array_metadata({"time", "y"}, {2, 5}, {1, 2}, DType::Int16);
    expect_error<TypeError>([&] { w.append_array("data", "time", bad_dtype); }, {"int16"});
    auto bad_extent = default_array_metadata({"time", "y"}, {2, 4}, {1, 2}, DType::Float32);
    expect_error<DimensionError>([&] { w.append_array("data", "time", bad_extent); }, {"'y'", "4"});
    expect_error<ValueError>([&] { w.create_array("data", more); }, {"already exists"});
    w.commit();
  }
  auto g = ZarrGroup::open(p.string());
  EXPECT_EQ(g.array("data")->shape(), (Shape{5, 5}));
  EXPECT_EQ(g.array("data")->read_chunk({4, 0}).values<float>()[0], 100.0f);
  EXPECT_EQ(g.array("data")->read_chunk({1, 0}).values<float>()[0], 3.0f);
}

TEST(ZarrGroup, UnsupportedDtypesAreSkippedUnlessStrict) {
  TempDir dir;
  auto p = dir / "x.zarr";
  write_dataset(p, WriteMode::Overwrite, 2, false);
  write_text(p / "names" / ".zarray",
             R"({"chunks":[2],"compressor":null,"dtype":"<U5","fill_value":"","filters":null,"order":"C","shape":[2],"zarr_format":2})");
  write_text(p / "names" / ".zattrs", R"({"_ARRAY_DIMENSIONS":["n"]})");
  auto g = ZarrGroup::open(p.string());
  ASSERT_EQ(g.skipped().size(), 1u);
  EXPECT_EQ(g.skipped()[0].name, "names");
  EXPECT_NE(g.skipped()[0].reason.find("<U5"), std::string::npos);
  // Fixed-width strings are not ZarrArrays but stay readable (string coordinates), even when strict.
  auto strict = ZarrGroup::open(p.string(), OpenOptions{.consolidated = std::nullopt, .strict = true});
  EXPECT_EQ(strict.string_array_names(), std::vector<std::string>{"names"});
  EXPECT_EQ(strict.read_strings("names").values, (std::vector<std::string>{"", ""}));  // no chunk: numpy's empty strings
  write_text(p / "objs" / ".zarray",
             R"({"chunks":[2],"compressor":null,"dtype":"|O","fill_value":0,"filters":null,"order":"C","shape":[2],"zarr_format":2})");
  EXPECT_THROW(ZarrGroup::open(p.string(), OpenOptions{.consolidated = std::nullopt, .strict = true}), TypeError);
}

TEST(ZarrGroup, FixedWidthStringsRoundTrip) {
  TempDir dir;
  auto p = dir / "s.zarr";
  ZarrWriter w(p.string(), WriteMode::Overwrite);
  StringArray a;
  a.dims = {"band"};
  a.shape = {3};
  a.values = {"red", "nir", "b\u00e9"};  // UTF-8 in, UCS-4 '<U3' on disk
  a.attributes = {{"long_name", "band name"}};
  EXPECT_TRUE(w.write_strings("band", a));
  w.commit();
  auto za = nlohmann::json::parse(read_text(p / "band" / ".zarray"));
  EXPECT_EQ(za["dtype"], "<U3");
  EXPECT_TRUE(za["fill_value"].is_null());
  auto g = ZarrGroup::open(p.string());
  EXPECT_TRUE(g.consolidated());
  auto back = g.read_strings("band");
  EXPECT_EQ(back.values, a.values);
  EXPECT_EQ(back.dims, a.dims);
  EXPECT_EQ(back.attributes, a.attributes);
  // Append mode keeps them (and their consolidated metadata).
  ZarrWriter again(p.string(), WriteMode::Append);
  EXPECT_FALSE(again.write_strings("band", a));
  again.commit();
  EXPECT_EQ(ZarrGroup::open(p.string()).read_strings("band").values, a.values);
  // Bytes ('|S') and big-endian UCS-4, several chunks, as numpy lays them out.
  write_text(p / "s" / ".zarray",
             R"({"chunks":[2],"compressor":null,"dtype":"|S2","fill_value":null,"filters":null,"order":"C","shape":[3],"zarr_format":2})");
  write_text(p / "s" / ".zattrs", R"({"_ARRAY_DIMENSIONS":["x"]})");
  write_text(p / "s" / "0", std::string("ab\0\0", 4) + std::string());
  write_text(p / "s" / "1", std::string("c\0\0\0", 4));
  write_text(p / "u" / ".zarray",
             R"({"chunks":[1],"compressor":null,"dtype":">U2","fill_value":null,"filters":null,"order":"C","shape":[1],"zarr_format":2})");
  write_text(p / "u" / ".zattrs", R"({"_ARRAY_DIMENSIONS":["x"]})");
  write_text(p / "u" / "0", std::string("\0\0\0z\0\0\0\0", 8));
  auto g2 = ZarrGroup::open(p.string(), OpenOptions{.consolidated = false, .strict = false});
  EXPECT_EQ(g2.read_strings("s").values, (std::vector<std::string>{"ab", "", "c"}));
  EXPECT_EQ(g2.read_strings("u").values, (std::vector<std::string>{"z"}));
  // A corrupt chunk names its key.
  write_text(p / "u" / "0", "xyz");
  expect_error<ValueError>([&] { (void)g2.read_strings("u"); }, {"u/0"});
}

TEST(ZarrGroup, TruncatedMetadataNamesTheFile) {
  TempDir dir;
  auto p = dir / "x.zarr";
  write_dataset(p, WriteMode::Overwrite, 2, true);
  auto text = read_text(p / ".zmetadata");
  write_text(p / ".zmetadata", text.substr(0, text.size() / 2));
  expect_error<ValueError>([&] { ZarrGroup::open(p.string()); }, {".zmetadata", "malformed"});
  EXPECT_NO_THROW(ZarrGroup::open(p.string(), OpenOptions{.consolidated = false, .strict = false}));
  auto za = read_text(p / "data" / ".zarray");
  write_text(p / "data" / ".zarray", za.substr(0, 20));
  expect_error<ValueError>([&] { ZarrGroup::open(p.string(), OpenOptions{.consolidated = false, .strict = false}); }, {"data/.zarray"});
}

TEST(ZarrGroup, DescribeLikeXarray) {
  TempDir dir;
  write_dataset(dir / "x.zarr", WriteMode::Overwrite, 2);
  auto text = describe_group(ZarrGroup::open((dir / "x.zarr").string()));
  for (std::string_view part : {"zarr v2, consolidated", "Dimensions:  (time: 3, y: 5)", "* time", "(time, y) float32 60 B",
                                "chunks=(1, 2)", "blosc(blocksize=0, clevel=5, cname=lz4, shuffle=1)", "title: test"})
    EXPECT_NE(text.find(part), std::string::npos) << part << " not in\n" << text;
}
