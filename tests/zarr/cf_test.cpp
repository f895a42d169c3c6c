#include <cmath>

#include "test_util.hpp"

using namespace cubist;
using namespace cubist::zarr;
using namespace cubist::zarr::testing;
using nlohmann::json;

TEST(ZarrCF, ParsesTimeUnits) {
  auto t = cf::parse_time_units("days since 2000-01-01");
  EXPECT_EQ(t.ns_per_unit, 86400LL * 1000000000LL);
  EXPECT_EQ(t.epoch_ns, 946684800LL * 1000000000LL);
  auto h = cf::parse_time_units("hours since 1970-01-01 00:00:00", "proleptic_gregorian");
  EXPECT_EQ(h.epoch_ns, 0);
  EXPECT_EQ(h.ns_per_unit, 3600LL * 1000000000LL);
  EXPECT_EQ(cf::parse_time_units("seconds since 1970-01-02T00:00:01Z").epoch_ns, 86401LL * 1000000000LL);
  EXPECT_EQ(cf::parse_time_units("minutes since 1970-01-01 01:00:00+01:00").epoch_ns, 0);
  EXPECT_EQ(cf::parse_time_units("milliseconds since 1969-12-31 23:59:59.5").epoch_ns, -500000000LL);
  expect_error<ValueError>([] { cf::parse_time_units("days since 2000-01-01", "noleap"); }, {"noleap"});
  expect_error<ValueError>([] { cf::parse_time_units("fortnights since 2000-01-01"); }, {"fortnights"});
  expect_error<ValueError>([] { cf::parse_time_units("days since yesterday"); }, {"yesterday"});
  EXPECT_TRUE(cf::is_time_variable(json{{"units", "days since 2000-01-01"}}));
  EXPECT_FALSE(cf::is_time_variable(json{{"units", "K"}}));
}

TEST(ZarrCF, DecodeEncodeTimes) {
  auto t = cf::parse_time_units("days since 2000-01-01");
  auto enc = iota_chunk<std::int64_t>({3});
  auto dec = cf::decode_times(enc, t);
  EXPECT_EQ(dec.dtype(), DType::DateTime64);
  EXPECT_EQ(dec.values<std::int64_t>()[2], t.epoch_ns + 2 * t.ns_per_unit);
  auto back = cf::encode_times(dec, t);
  EXPECT_EQ(back.values<std::int64_t>()[2], 2);
  auto f = iota_chunk<double>({3}, 0.5);
  f.mutable_values<double>()[1] = NAN;
  auto fd = cf::decode_times(f, t);
  EXPECT_EQ(fd.values<std::int64_t>()[0], t.epoch_ns + t.ns_per_unit / 2);
  EXPECT_EQ(fd.values<std::int64_t>()[1], kNaT);
  std::vector<double> fills{2.0};
  EXPECT_EQ(cf::decode_times(enc, t, fills).values<std::int64_t>()[2], kNaT);
  auto h = cf::parse_time_units("hours since 2000-01-01");
  dec.mutable_values<std::int64_t>()[1] += 1;  // not a whole hour
  expect_error<ValueError>([&] { cf::encode_times(dec, h); }, {"hours"});
}

TEST(ZarrCF, InferUnitsLikeXarray) {
  const std::int64_t day = 86400LL * 1000000000LL, base = 946684800LL * 1000000000LL;
  std::vector<std::int64_t> daily{base, base + day, base + 3 * day};
  EXPECT_EQ(cf::infer_time_units(daily), "days since 2000-01-01 00:00:00");
  std::vector<std::int64_t> hourly{base + day / 24, base + day / 2};
  EXPECT_EQ(cf::infer_time_units(hourly), "hours since 2000-01-01 01:00:00");
  std::vector<std::int64_t> ns{base, base + 1};
  EXPECT_EQ(cf::infer_time_units(ns), "nanoseconds since 2000-01-01 00:00:00");
  EXPECT_EQ(cf::format_timestamp(-1), "1969-12-31 23:59:59.999999999");
}

TEST(ZarrCF, MaskingAndScaling) {
  auto d = cf::decoding_for(json{{"scale_factor", 0.5}, {"add_offset", 10}}, json(-1), DType::Int16);
  EXPECT_EQ(d.decoded_dtype, DType::Float32);  // masked to float32 first, then scaled in float32, as xarray
  auto raw = iota_chunk<std::int16_t>({3}, -1);
  auto out = cf::apply_decoding(raw, d);
  auto v = out.values<float>();
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_EQ(v[1], 10.0);
  EXPECT_EQ(v[2], 10.5);
  EXPECT_EQ(cf::decoding_for(json{{"scale_factor", 2}}, json(), DType::Int16).decoded_dtype, DType::Float32);
  EXPECT_EQ(cf::decoding_for(json{{"add_offset", 2}}, json(), DType::Int16).decoded_dtype, DType::Float64);
  EXPECT_EQ(cf::decoding_for(json::object(), json(0), DType::Int32).decoded_dtype, DType::Float64);
  EXPECT_EQ(cf::decoding_for(json::object(), json(0), DType::UInt8).decoded_dtype, DType::Float32);
  EXPECT_TRUE(cf::decoding_for(json::object(), json("NaN"), DType::Float32).identity());
  auto m = cf::decoding_for(json{{"missing_value", {7, 8}}}, json(), DType::Float32);
  EXPECT_EQ(m.fill_values, (std::vector<double>{7, 8}));
}

namespace cubist::zarr {
namespace {

TEST(CfEncoding, ComputeDtypeFollowsXarray) {
  EXPECT_EQ(cf::encoding_for(DType::Float32, DType::Int16, 0.1, 5.0, std::nullopt).compute_dtype, DType::Float32);
  EXPECT_EQ(cf::encoding_for(DType::Float64, DType::Int16, 0.1, std::nullopt, std::nullopt).compute_dtype, DType::Float64);
  EXPECT_EQ(cf::encoding_for(DType::Int16, DType::Int8, 2.0, std::nullopt, std::nullopt).compute_dtype, DType::Float32);
  EXPECT_EQ(cf::encoding_for(DType::Int16, DType::Int8, 2.0, 1.0, std::nullopt).compute_dtype, DType::Float64);
  EXPECT_EQ(cf::encoding_for(DType::Int32, std::nullopt, 2.0, std::nullopt, std::nullopt).stored_dtype, DType::Float64);
  EXPECT_THROW(cf::encoding_for(DType::Float32, DType::Int16, 0.0, std::nullopt, std::nullopt), ValueError);
  EXPECT_THROW(cf::encoding_for(DType::DateTime64, DType::Int16, 1.0, std::nullopt, std::nullopt), TypeError);
}

TEST(CfEncoding, PacksRoundingHalfToEvenWithFill) {
  Chunk x = Chunk::allocate(DType::Float32, {6});
  const float in[] = {1.25f, 1.75f, 2.25f, NAN, -3.0f, 0.3f};
  std::copy(std::begin(in), std::end(in), x.mutable_values<float>().begin());
  auto e = cf::encoding_for(DType::Float32, DType::Int16, 0.5, 1.0, -9999.0);
  Chunk p = cf::apply_encoding(x, e);
  ASSERT_EQ(p.dtype(), DType::Int16);
  auto v = p.values<std::int16_t>();
  EXPECT_EQ(std::vector<std::int16_t>(v.begin(), v.end()), (std::vector<std::int16_t>{0, 2, 2, -9999, -8, -1}));
  // Through JSON (the task parameter) the same.
  auto e2 = cf::encoding_from_json(cf::encoding_to_json(e), "test");
  Chunk p2 = cf::apply_encoding(x, e2);
  EXPECT_TRUE(std::equal(v.begin(), v.end(), p2.values<std::int16_t>().begin()));
  // Out of range, NaN without fill: one clear error each.
  auto tight = cf::encoding_for(DType::Float32, DType::Int8, 0.001, std::nullopt, -1.0);
  expect_error<ValueError>([&] { (void)cf::apply_encoding(x, tight); }, {"does not fit", "int8"});
  auto nofill = cf::encoding_for(DType::Float32, DType::Int16, 0.5, std::nullopt, std::nullopt);
  expect_error<ValueError>([&] { (void)cf::apply_encoding(x, nofill); }, {"NaN", "_FillValue"});
  // Float storage keeps NaN (scaled only).
  auto f = cf::encoding_for(DType::Float64, DType::Float32, 2.0, std::nullopt, std::nullopt);
  Chunk d = Chunk::allocate(DType::Float64, {2});
  d.mutable_values<double>()[0] = 3.0;
  d.mutable_values<double>()[1] = NAN;
  Chunk q = cf::apply_encoding(d, f);
  EXPECT_EQ(q.values<float>()[0], 1.5f);
  EXPECT_TRUE(std::isnan(q.values<float>()[1]));
  EXPECT_THROW(cf::encoding_from_json(nlohmann::json{{"compute_dtype", "int8"}, {"stored_dtype", "int8"}}, "t"), ValueError);
  EXPECT_THROW(cf::encoding_from_json(nlohmann::json{{"scale_factor", "x"}}, "t"), ValueError);
}

}  // namespace
}  // namespace cubist::zarr
