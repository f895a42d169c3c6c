// Metadata parsing: every field, and errors that name the file and the field.
#include <cmath>

#include "test_util.hpp"

using namespace cubist;
using namespace cubist::zarr;
using namespace cubist::zarr::testing;
using nlohmann::json;

namespace {
json good_zarray() {
  return json::parse(R"({"chunks": [2, 3], "compressor": {"blocksize": 0, "clevel": 5, "cname": "lz4", "id": "blosc",
    "shuffle": 1}, "dtype": "<f4", "fill_value": "NaN", "filters": null, "order": "C", "shape": [4, 6], "zarr_format": 2})");
}
json good_zarr_json() {
  return json::parse(R"({"zarr_format": 3, "node_type": "array", "shape": [4, 6], "data_type": "int16",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 3]}},
    "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}}, "fill_value": -1,
    "codecs": [{"name": "bytes", "configuration": {"endian": "big"}}], "attributes": {"units": "m"},
    "dimension_names": ["y", null]})");
}
}  // namespace

TEST(ZarrMetadata, ParsesV2) {
  auto m = parse_array_metadata_v2(good_zarray(), json{{"_ARRAY_DIMENSIONS", {"y", "x"}}, {"units", "K"}}, "s/.zarray");
  EXPECT_EQ(m.shape, (Shape{4, 6}));
  EXPECT_EQ(m.chunks, (Shape{2, 3}));
  EXPECT_EQ(m.dtype, DType::Float32);
  EXPECT_FALSE(m.big_endian);
  EXPECT_EQ(m.dimension_names, (std::vector<std::string>{"y", "x"}));
  EXPECT_EQ(m.attributes, (json{{"units", "K"}}));
  EXPECT_EQ(m.fill_value, "NaN");
  auto z = good_zarray();
  z["dtype"] = ">i8";
  z["fill_value"] = nullptr;
  z["order"] = "F";
  z["dimension_separator"] = "/";
  auto b = parse_array_metadata_v2(z, json(), "s/.zarray");
  EXPECT_EQ(b.dtype, DType::Int64);
  EXPECT_TRUE(b.big_endian);
  EXPECT_EQ(b.order, 'F');
  EXPECT_EQ(b.dimension_separator, '/');
  // Round trip of the serialised form.
  auto again = parse_array_metadata_v2(to_zarray(b), to_zattrs(b), "x");
  EXPECT_EQ(to_zarray(again), to_zarray(b));
  for (auto [s, t] : std::vector<std::pair<std::string, DType>>{{"|b1", DType::Bool}, {"|u1", DType::UInt8}, {"<u8", DType::UInt64},
                                                                {"<M8[ns]", DType::DateTime64}, {">f8", DType::Float64}}) {
    z["dtype"] = s;
    EXPECT_EQ(parse_array_metadata_v2(z, json(), "x").dtype, t) << s;
  }
}

TEST(ZarrMetadata, FillValues) {
  auto z = good_zarray();
  for (json f : {json("NaN"), json("Infinity"), json("-Infinity"), json(1.5), json(nullptr), json(0)})
    EXPECT_NO_THROW(parse_array_metadata_v2((z["fill_value"] = f, z), json(), "x")) << f;
  z["dtype"] = "<i2";
  z["fill_value"] = "NaN";
  expect_error<ValueError>([&] { parse_array_metadata_v2(z, json(), "s/v/.zarray"); }, {"s/v/.zarray", "fill_value"});
  z["fill_value"] = 70000;
  expect_error<ValueError>([&] { parse_array_metadata_v2(z, json(), "s/v/.zarray"); }, {"fill_value", "out of range"});
  EXPECT_EQ(*cf::fill_value_as_double(json("-Infinity")), -INFINITY);
  EXPECT_TRUE(std::isnan(*cf::fill_value_as_double(json("NaN"))));
}

TEST(ZarrMetadata, V2ErrorsNameFileAndField) {
  struct Case {
    const char* field;
    json value;
    const char* expect;
  };
  std::vector<Case> cases = {
      {"shape", json("x"), "'shape'"},          {"chunks", json({2}), "'chunks'"},
      {"chunks", json({0, 1}), "'chunks'"},     {"order", json("K"), "'order'"},
      {"zarr_format", json(3), "zarr_format"},  {"dimension_separator", json("-"), "dimension_separator"},
      {"filters", json::array({{{"id", "delta"}}}), "delta"}, {"compressor", json{{"id", "bz2"}}, "unknown codec 'bz2'"},
      {"compressor", json{{"id", "blosc"}, {"cname", "snappy"}}, "snappy"},
  };
  for (const auto& c : cases) {
    auto z = good_zarray();
    z[c.field] = c.value;
    expect_error<ValueError>([&] { parse_array_metadata_v2(z, json(), "store/v/.zarray"); }, {"store/v/.zarray", c.expect});
  }
  for (const char* field : {"shape", "chunks", "dtype", "fill_value", "zarr_format"}) {
    auto z = good_zarray();
    z.erase(field);
    if (std::string(field) == "dtype") {
      expect_error<ValueError>([&] { parse_array_metadata_v2(z, json(), "st/.zarray"); }, {"st/.zarray", field, "missing"});
    } else {
      expect_error<ValueError>([&] { parse_array_metadata_v2(z, json(), "st/.zarray"); }, {"st/.zarray", field});
    }
  }
  for (const char* dt : {"<U5", "|O", "<c8", "<f2", "<M8[s]", "|S3"}) {
    auto z = good_zarray();
    z["dtype"] = dt;
    expect_error<TypeError>([&] { parse_array_metadata_v2(z, json(), "st/.zarray"); }, {"st/.zarray", "dtype", dt});
  }
  expect_error<ValueError>([] { parse_json(R"({"zarr_format": 2, "shape": [1)", "st/v/.zarray"); }, {"st/v/.zarray", "malformed"});
  expect_error<ValueError>([] { parse_array_metadata_v2(json::array(), json(), "st/.zarray"); }, {"st/.zarray", "object"});
}

TEST(ZarrMetadata, ParsesV3) {
  auto m = parse_array_metadata_v3(good_zarr_json(), "s/zarr.json");
  EXPECT_EQ(m.dtype, DType::Int16);
  EXPECT_EQ(m.dimension_names, (std::vector<std::string>{"y", "dim_1"}));
  EXPECT_EQ(m.attributes["units"], "m");
  EXPECT_EQ(m.chunk_key_encoding, "default");
  auto again = parse_array_metadata_v3(to_zarr_json(m), "x");
  EXPECT_EQ(to_zarr_json(again), to_zarr_json(m));
}

TEST(ZarrMetadata, V3ErrorsNameFileAndField) {
  auto bad = [](auto edit, std::initializer_list<std::string_view> parts) {
    auto z = good_zarr_json();
    edit(z);
    try {
      parse_array_metadata_v3(z, "st/a/zarr.json");
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("st/a/zarr.json"), std::string::npos) << msg;
      for (auto p : parts) EXPECT_NE(msg.find(p), std::string::npos) << msg;
    }
  };
  bad([](json& z) { z["data_type"] = "complex64"; }, {"complex64"});
  bad([](json& z) { z["codecs"] = json::array({{{"name", "bytes"}}, {{"name", "lzma"}}}); }, {"unknown codec 'lzma'"});
  bad([](json& z) { z["codecs"] = json::array({{{"name", "zstd"}}}); }, {"zstd", "array->bytes"});
  bad([](json& z) { z["chunk_grid"]["name"] = "rectilinear"; }, {"chunk_grid"});
  bad([](json& z) { z["chunk_key_encoding"]["name"] = "weird"; }, {"chunk_key_encoding"});
  bad([](json& z) { z.erase("fill_value"); }, {"fill_value", "missing"});
  bad([](json& z) { z["dimension_names"] = {"a"}; }, {"dimension_names"});
  bad([](json& z) { z["storage_transformers"] = json::array({{{"name", "x"}}}); }, {"storage_transformers"});
  bad([](json& z) { z["codecs"][0]["configuration"]["endian"] = "middle"; }, {"endian"});
  bad([](json& z) {
    z["codecs"] = json::array({{{"name", "sharding_indexed"}, {"configuration", {{"chunk_shape", {3, 3}}}}}});
  }, {"sharding_indexed", "divide"});
}

TEST(ZarrMetadata, DumpMatchesZarrPython) {
  auto m = default_array_metadata({"y", "x"}, {4, 6}, {2, 3}, DType::Float32);
  EXPECT_EQ(dump_json(to_zarray(m)), R"({
    "chunks": [
        2,
        3
    ],
    "compressor": {
        "blocksize": 0,
        "clevel": 5,
        "cname": "lz4",
        "id": "blosc",
        "shuffle": 1
    },
    "dtype": "<f4",
    "fill_value": "NaN",
    "filters": null,
    "order": "C",
    "shape": [
        4,
        6
    ],
    "zarr_format": 2
})");
}

TEST(ZarrMetadata, TaskParameterRoundTrip) {
  for (int fmt : {2, 3}) {
    auto m = default_array_metadata({"t", "y"}, {4, 6}, {2, 3}, DType::UInt16, json{{"a", 1}}, fmt);
    auto back = metadata_from_json(json::parse(metadata_to_json(m).dump()));
    EXPECT_EQ(metadata_to_json(back), metadata_to_json(m));
    EXPECT_EQ(back.dimension_names, m.dimension_names);
  }
}
