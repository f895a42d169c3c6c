// open_zarr / to_zarr: round trips cubist -> cubist (v2, v3, several dtypes, NaN, datetime coords,
// irregular chunks), laziness (only computed chunks are read), write modes, CF decoding, and
// interop both ways with Debian's xarray (skipped when /usr/bin/python3 lacks it).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "cubist/cubist.hpp"
#include "cubist/io.hpp"
#include "cubist/zarr.hpp"

namespace cubist {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A fresh directory per test, removed afterwards.
class ZarrIo : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / fmt_name(info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  static std::string fmt_name(const std::string& test) { return "cubist_zarr_io_" + std::to_string(::getpid()) + "_" + test; }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

// The flat values of any array as JSON (NaN -> null, datetime64 -> int64 ns, NaT -> null): one
// schema shared with xarray_interop.py so both sides compare the same things.
json flat_values(const Chunk& c) {
  json out = json::array();
  visit_dtype(c.dtype(), [&]<class T>(TypeTag<T>) {
    for (T v : c.values<T>()) {
      if constexpr (std::is_floating_point_v<T>) {
        out.push_back(std::isnan(v) ? json() : json(static_cast<double>(v)));
      } else if constexpr (std::is_same_v<T, bool>) {
        out.push_back(v);
      } else {
        if (c.dtype() == DType::DateTime64 && static_cast<std::int64_t>(v) == kNaT) out.push_back(json());
        else out.push_back(v);
      }
    }
  });
  return out;
}

json describe_var(const std::vector<std::string>& dims, const Chunk& values, const Attrs& attrs) {
  return {{"dims", dims}, {"dtype", std::string(dtype_name(values.dtype()))}, {"attrs", attrs},
          {"shape", values.shape()}, {"values", flat_values(values)}};
}

json describe(const Dataset& lazy) {
  Dataset ds = lazy.compute();
  json out = {{"attrs", ds.attrs()}, {"data_vars", json::object()}, {"coords", json::object()}};
  for (const auto& n : ds.data_vars()) out["data_vars"][n] = describe_var(ds[n].dims(), ds[n].memory_chunk(), ds[n].attrs());
  for (const auto& [n, c] : ds.coords()) out["coords"][n] = describe_var(c.dims(), c.values(), c.attrs());
  return out;
}

// Field-by-field comparison with messages naming the variable (NaN == NaN via null).
void expect_same(const json& got, const json& want) {
  EXPECT_EQ(got["attrs"], want["attrs"]) << "dataset attrs";
  for (const char* kind : {"data_vars", "coords"}) {
    std::vector<std::string> g, w;
    for (const auto& [k, v] : got[kind].items()) g.push_back(k);
    for (const auto& [k, v] : want[kind].items()) w.push_back(k);
    EXPECT_EQ(g, w) << kind;
    for (const auto& [name, wv] : want[kind].items()) {
      if (!got[kind].contains(name)) continue;
      const auto& gv = got[kind][name];
      for (const char* f : {"dims", "dtype", "shape", "attrs", "values"}) EXPECT_EQ(gv[f], wv[f]) << kind << " '" << name << "' " << f;
    }
  }
}

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

constexpr std::int64_t kT = 4, kY = 5, kX = 6;

// The seed's test.zarr at small scale, plus variables of other dtypes.
Dataset seed_like(const ChunkSpec& chunks = ChunkSpec{{"time", ChunkSize(std::vector<std::int64_t>{1, 3})}, {"y", 2}}) {
  std::vector<double> data;
  std::vector<float> f32;
  std::vector<std::int32_t> i32;
  std::vector<std::uint8_t> u8;
  std::vector<std::int64_t> i64;
  for (std::int64_t t = 0; t < kT; ++t)
    for (std::int64_t y = 0; y < kY; ++y)
      for (std::int64_t x = 0; x < kX; ++x) {
        double v = static_cast<double>(t * 100 + y * 10 + x) + 0.25;
        data.push_back((t + y + x) % 7 == 0 ? std::nan("") : v);
        if (t == 0) {
          f32.push_back(static_cast<float>(v) / 3.0f);
          i32.push_back(static_cast<std::int32_t>(y * 1000 - x * 77));
          u8.push_back(static_cast<std::uint8_t>(y * 40 + x));
          i64.push_back((y - 2) * 123456789012LL + x);
        }
      }
  std::vector<double> ys, xs;
  for (std::int64_t y = 0; y < kY; ++y) ys.push_back(50.0 - 0.25 * static_cast<double>(y));
  for (std::int64_t x = 0; x < kX; ++x) xs.push_back(7.0 + 0.5 * static_cast<double>(x));
  Coords coords{{"time", date_range("time", "2020-01-01", kT, "D")},
                {"y", Coordinate::from_vector("y", ys, Attrs{{"units", "degrees_north"}})},
                {"x", Coordinate::from_vector("x", xs)}};
  DimSizes yx{{"y", kY}, {"x", kX}};
  std::vector<std::uint8_t> mask_bytes;
  for (auto v : u8) mask_bytes.push_back(v % 3 == 0);
  Chunk mask = Chunk::allocate(DType::Bool, {kY, kX});
  std::transform(mask_bytes.begin(), mask_bytes.end(), mask.mutable_values<bool>().begin(), [](auto b) { return b != 0; });
  // A datetime64 data variable (CF-encoded like the time coordinate), with a NaT.
  std::vector<std::int64_t> when_ns;
  for (std::int64_t y = 0; y < kY; ++y) when_ns.push_back(y == 3 ? kNaT : datetime_ns("2019-12-30T06:00") + y * 3'600'000'000'000);
  Chunk when = Chunk::allocate(DType::DateTime64, {kY});
  std::copy(when_ns.begin(), when_ns.end(), when.mutable_values<std::int64_t>().begin());
  auto d = DataArray::from_vector(data, {{"time", kT}, {"y", kY}, {"x", kX}}, {}, Attrs{{"units", "K"}, {"long_name", "test data"}})
               .chunk(chunks);
  return Dataset({{"data", d},
                  {"f32", DataArray::from_vector(f32, yx)},
                  {"i32", DataArray::from_vector(i32, yx, {}, Attrs{{"flag", true}})},
                  {"u8", DataArray::from_vector(u8, yx).chunk({{"x", 4}})},
                  {"i64", DataArray::from_vector(i64, yx)},
                  {"mask", DataArray::from_chunk(mask, {"y", "x"})},
                  {"when", DataArray::from_chunk(when, {"y"}, {}, Attrs{{"long_name", "acquired"}})}},
                 coords, Attrs{{"title", "seed-like"}, {"version", 3}, {"ratio", 0.5}, {"tags", {"a", "b"}}});
}

ToZarrOptions mode(const std::string& m, int format = 2) {
  ToZarrOptions o;
  o.mode = m;
  o.zarr_format = format;
  return o;
}

TEST_F(ZarrIo, RoundTripV2) {
  Dataset ds = seed_like();
  to_zarr(ds, path("a.zarr"), mode("w"));
  EXPECT_TRUE(fs::exists(dir_ / "a.zarr" / ".zmetadata"));
  Dataset back = open_zarr(path("a.zarr"));
  expect_same(describe(back), describe(ds));
  EXPECT_NE(back.repr().find("data"), std::string::npos);
  // Irregular time chunks (1, 3) are written on a regular grid of the first size, as xarray asks.
  EXPECT_EQ(back["data"].chunks().chunks(0), (std::vector<std::int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(back["data"].chunks().chunks(1), (std::vector<std::int64_t>{2, 2, 1}));
  // The time coordinate is CF-encoded as xarray does.
  auto zattrs = read_json(dir_ / "a.zarr" / "time" / ".zattrs");
  EXPECT_EQ(zattrs["units"], "days since 2020-01-01 00:00:00");
  EXPECT_EQ(zattrs["calendar"], "proleptic_gregorian");
  EXPECT_EQ(read_json(dir_ / "a.zarr" / "time" / ".zarray")["dtype"], "<i8");
  EXPECT_EQ(read_json(dir_ / "a.zarr" / "data" / ".zattrs")["_ARRAY_DIMENSIONS"], json({"time", "y", "x"}));
}

TEST_F(ZarrIo, RoundTripV3) {
  Dataset ds = seed_like();
  to_zarr(ds, path("a.zarr"), mode("w", 3));
  EXPECT_TRUE(fs::exists(dir_ / "a.zarr" / "zarr.json"));
  EXPECT_FALSE(fs::exists(dir_ / "a.zarr" / ".zmetadata"));
  expect_same(describe(open_zarr(path("a.zarr"))), describe(ds));
  // Unconsolidated reads find the same thing.
  ZarrOpenOptions unconsolidated;
  unconsolidated.consolidated = false;
  expect_same(describe(open_zarr(path("a.zarr"), unconsolidated)), describe(ds));
}

TEST_F(ZarrIo, LazyComputationRoundTripsAndEncodingOverrides) {
  // A lazy, computed-on-write variable with an explicit encoding (chunks, zstd, float32 storage).
  DataArray lazy = (arange("x", 0, 10, 1, DType::Float64, 3) * 2.5 + 1).rename("ramp");
  ToZarrOptions o = mode("w");
  o.encoding["ramp"].chunks = DimSizes{{"x", 4}};
  o.encoding["ramp"].compressor = json{{"id", "zstd"}, {"level", 3}};
  o.encoding["ramp"].dtype = DType::Float32;
  to_zarr(lazy, path("r.zarr"), o);
  auto za = read_json(dir_ / "r.zarr" / "ramp" / ".zarray");
  EXPECT_EQ(za["chunks"], json({4}));
  EXPECT_EQ(za["compressor"]["id"], "zstd");
  EXPECT_EQ(za["dtype"], "<f4");
  Dataset back = open_zarr(path("r.zarr"));
  auto v = back["ramp"].compute().values<float>();
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(v[i], static_cast<float>(static_cast<double>(i) * 2.5 + 1));
}

TEST_F(ZarrIo, UnnamedDataArrayUsesXarraysName) {
  to_zarr(DataArray::from_vector(std::vector<double>{1, 2, 3}, {{"x", 3}}), path("u.zarr"), mode("w"));
  Dataset back = open_zarr(path("u.zarr"));
  EXPECT_EQ(back.data_vars(), (std::vector<std::string>{"__xarray_dataarray_variable__"}));
}

TEST_F(ZarrIo, OpenIsLazyAndReadsOnlyComputedChunks) {
  to_zarr(seed_like({{"time", 1}}), path("a.zarr"), mode("w"));
  // Corrupt the stored chunks of time steps 1..3: opening and computing time 0 must not read them.
  for (int t = 1; t < kT; ++t)
    for (const auto& e : fs::directory_iterator(dir_ / "a.zarr" / "data"))
      if (e.path().filename().string().starts_with(std::to_string(t) + ".")) std::ofstream(e.path(), std::ios::binary) << "garbage";
  Dataset ds = open_zarr(path("a.zarr"));
  EXPECT_FALSE(ds["data"].in_memory());
  DataArray first = ds["data"].isel({{"time", std::int64_t{0}}}).compute();
  EXPECT_EQ(first.values<double>()[1], 1.25);
  EXPECT_THROW(ds["data"].isel({{"time", std::int64_t{2}}}).compute(), Error);
  // Reductions read every chunk: the corrupt ones are reported, naming the op.
  try {
    (void)ds["data"].mean().compute();
    FAIL() << "reading a corrupt chunk must fail";
  } catch (const TaskError& e) {
    EXPECT_EQ(e.op(), "zarr_read");
  }
}

TEST_F(ZarrIo, FailedWriteIsNeverAdvertised) {
  to_zarr(seed_like({{"time", 1}}), path("src.zarr"), mode("w"));
  std::ofstream(dir_ / "src.zarr" / "data" / "3.0.0", std::ios::binary) << "garbage";
  Dataset src = open_zarr(path("src.zarr"));
  EXPECT_THROW(to_zarr(src, path("dst.zarr"), mode("w")), TaskError);
  for (const char* k : {".zmetadata", ".zgroup", "data/.zarray"}) EXPECT_FALSE(fs::exists(dir_ / "dst.zarr" / k)) << k;
  EXPECT_THROW(open_zarr(path("dst.zarr")), Error);
}

TEST_F(ZarrIo, WriteModes) {
  Dataset ds = seed_like();
  to_zarr(ds, path("m.zarr"));  // default "w-" on a new path
  try {
    to_zarr(ds, path("m.zarr"), mode("w-"));
    FAIL() << "w- must refuse an existing store";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.zarr"), std::string::npos) << e.what();
  }
  EXPECT_THROW(to_zarr(ds, path("m.zarr"), mode("x")), ValueError);
  // Overwriting the store a lazy dataset still reads from would destroy its input.
  EXPECT_THROW(to_zarr(open_zarr(path("m.zarr")), path("m.zarr"), mode("w")), ValueError);
  EXPECT_TRUE(open_zarr(path("m.zarr")).contains("data"));
  ToZarrOptions bad = mode("w");
  bad.append_dim = "time";
  EXPECT_THROW(to_zarr(ds, path("m.zarr"), bad), ValueError);
  // "w" replaces the store, dropping variables that are not written again.
  to_zarr(ds.drop_vars({"i64"}), path("m.zarr"), mode("w"));
  EXPECT_FALSE(open_zarr(path("m.zarr")).contains("i64"));
  EXPECT_FALSE(fs::exists(dir_ / "m.zarr" / "i64"));
  // "a" without append_dim adds new variables.
  to_zarr(Dataset({{"extra", DataArray::from_vector(std::vector<std::int16_t>{1, 2, 3, 4, 5, 6}, {{"x", kX}})}}, {}),
          path("m.zarr"), mode("a"));
  Dataset back = open_zarr(path("m.zarr"));
  EXPECT_EQ(back.attrs(), ds.attrs());  // appends keep the group's attributes
  EXPECT_TRUE(back.contains("extra"));
  EXPECT_TRUE(back.contains("data"));
}

TEST_F(ZarrIo, AppendAlongTime) {
  Dataset ds = seed_like({{"time", 3}});  // 3 does not divide 4: appends merge a partial chunk
  to_zarr(ds.isel({{"time", Slice{0, 2}}}), path("t.zarr"), mode("w"));
  ToZarrOptions a = mode("a");
  a.append_dim = "time";
  to_zarr(ds.isel({{"time", Slice{2, 3}}}).drop_vars({"f32", "i32", "u8", "i64", "mask", "when"}), path("t.zarr"), a);
  to_zarr(ds.isel({{"time", Slice{3, 4}}}).drop_vars({"f32", "i32", "u8", "i64", "mask", "when"}), path("t.zarr"), a);
  expect_same(describe(open_zarr(path("t.zarr"))), describe(ds));
  // Mismatches are refused with the variable named.
  Dataset wrong_dtype({{"data", ds["data"].isel({{"time", Slice{0, 1}}}).astype(DType::Float32)}}, {});
  EXPECT_THROW(to_zarr(wrong_dtype, path("t.zarr"), a), TypeError);
  Dataset wrong_size({{"data", ds["data"].isel({{"time", Slice{0, 1}}, {"x", Slice{0, 3}}})}}, {});
  EXPECT_THROW(to_zarr(wrong_size, path("t.zarr"), a), DimensionError);
  EXPECT_EQ(open_zarr(path("t.zarr"))["data"].size("time"), kT);  // refused appends changed nothing
}

TEST_F(ZarrIo, RegionWrites) {
  Dataset ds = seed_like({{"time", 3}, {"y", 2}});
  to_zarr(ds, path("r.zarr"), mode("w"));
  // Overwrite time steps [1, 3) of `data` (and the labels with them) with doubled values.
  Dataset part({{"data", ds["data"].isel({{"time", Slice{1, 3}}}) * 2.0}}, {});
  part = Dataset({{"data", part["data"].chunk({{"time", 1}})}}, ds.isel({{"time", Slice{1, 3}}}).coords());
  ToZarrOptions o = mode("a");
  o.region["time"] = Slice{1, 3};
  to_zarr(part, path("r.zarr"), o);
  auto want = ds["data"].compute().values<double>();
  auto got = open_zarr(path("r.zarr"))["data"].compute().values<double>();
  const std::size_t step = static_cast<std::size_t>(kY * kX);
  for (std::size_t i = 0; i < want.size(); ++i) {
    double w = (i >= step && i < 3 * step) ? want[i] * 2.0 : want[i];
    if (std::isnan(w)) EXPECT_TRUE(std::isnan(got[i])) << i;
    else EXPECT_EQ(got[i], w) << i;
  }
  expect_same(describe(open_zarr(path("r.zarr")).drop_vars({"data"})), describe(ds.drop_vars({"data"})));
  // A region that does not match the data, or a variable the store lacks, is refused.
  o.region["time"] = Slice{0, 3};
  EXPECT_THROW(to_zarr(part, path("r.zarr"), o), DimensionError);
  o.region["time"] = Slice{1, 3};
  EXPECT_THROW(to_zarr(Dataset({{"new", part["data"]}}, {}), path("r.zarr"), o), KeyError);
}

TEST_F(ZarrIo, MaskAndScaleAsXarray) {
  // int16 stored with a fill value and scale/offset attributes: decoded to float32 with NaN.
  std::vector<std::int16_t> raw{-9999, 0, 10, 250, -9999, 7};
  DataArray v = DataArray::from_vector(raw, {{"x", 6}}, {}, Attrs{{"scale_factor", 0.5}, {"add_offset", 10.0}, {"long_name", "t"}}, "t");
  ToZarrOptions o = mode("w");
  o.encoding["t"].fill_value = -9999;
  to_zarr(v, path("s.zarr"), o);
  Dataset back = open_zarr(path("s.zarr"));
  DataArray t = back["t"].compute();
  EXPECT_EQ(t.dtype(), DType::Float32);
  EXPECT_EQ(t.attrs(), (Attrs{{"long_name", "t"}}));  // CF keys move to the encoding, as in xarray
  auto got = t.values<float>();
  std::vector<float> want{NAN, 10.0f, 15.0f, 135.0f, NAN, 13.5f};
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) EXPECT_TRUE(std::isnan(got[i])) << i;
    else EXPECT_EQ(got[i], want[i]) << i;
  }
  // Decoding fuses with the read: one execution unit per chunk.
  ComputeStats stats;
  (void)back["t"].compute({}, &stats);
  EXPECT_EQ(stats.units, 1u);
  // Without mask_and_scale the raw integers and their attributes come back.
  ZarrOpenOptions no_mask;
  no_mask.mask_and_scale = false;
  DataArray rawback = open_zarr(path("s.zarr"), no_mask)["t"].compute();
  EXPECT_EQ(rawback.dtype(), DType::Int16);
  EXPECT_EQ(rawback.values<std::int16_t>()[0], -9999);
}

TEST_F(ZarrIo, SkipsUnsupportedVariablesUnlessStrict) {
  to_zarr(seed_like(), path("s.zarr"), mode("w"));
  fs::create_directories(dir_ / "s.zarr" / "names");
  std::ofstream(dir_ / "s.zarr" / "names" / ".zarray")
      << R"({"chunks":[6],"compressor":null,"dtype":"<U5","fill_value":"","filters":null,"order":"C","shape":[6],"zarr_format":2})";
  std::ofstream(dir_ / "s.zarr" / "names" / ".zattrs") << R"({"_ARRAY_DIMENSIONS":["x"]})";
  fs::remove(dir_ / "s.zarr" / ".zmetadata");  // the new array is only visible unconsolidated
  testing::internal::CaptureStderr();
  Dataset ds = open_zarr(path("s.zarr"));
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("'names'"), std::string::npos) << err;
  EXPECT_FALSE(ds.contains("names"));
  EXPECT_TRUE(ds.contains("data"));
  ZarrOpenOptions strict;
  strict.strict = true;
  EXPECT_THROW(open_zarr(path("s.zarr"), strict), TypeError);
}

TEST_F(ZarrIo, BadInputErrorsNameTheInput) {
  try {
    (void)open_zarr(path("missing.zarr"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.zarr"), std::string::npos) << e.what();
  }
  ToZarrOptions o = mode("w");
  o.encoding["nope"].chunks = DimSizes{{"x", 2}};
  EXPECT_THROW(to_zarr(seed_like(), path("b.zarr"), o), KeyError);
}

// --- interop with xarray -----------------------------------------------------------------------

const fs::path kScript = fs::path(CUBIST_SOURCE_DIR) / "tests" / "integration" / "zarr_io" / "xarray_interop.py";

bool python_has_xarray() {
  static const bool ok = std::system("/usr/bin/python3 -c 'import xarray, zarr, pandas' >/dev/null 2>&1") == 0;
  return ok;
}

int run(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST_F(ZarrIo, InteropReadsWhatXarrayWrote) {
  if (!python_has_xarray()) GTEST_SKIP() << "/usr/bin/python3 lacks xarray/zarr";
  ASSERT_EQ(run("/usr/bin/python3 " + kScript.string() + " write " + dir_.string() + " >/dev/null"), 0);
  for (const char* store : {"seed.zarr", "seed_unconsolidated.zarr", "cf.zarr"}) {
    SCOPED_TRACE(store);
    expect_same(describe(open_zarr(path(store))), read_json(dir_ / (std::string(store) + ".json")));
  }
  // The seed workflow on it: lazy means over x and time.
  Dataset ds = open_zarr(path("seed.zarr"));
  EXPECT_EQ(ds["data"].mean("x").mean("time").compute().shape(), (Shape{kY}));
}

TEST_F(ZarrIo, InteropXarrayReadsWhatCubistWrote) {
  if (!python_has_xarray()) GTEST_SKIP() << "/usr/bin/python3 lacks xarray/zarr";
  Dataset ds = seed_like();
  // A non-index coordinate and a lazily computed variable too.
  std::vector<double> lat(static_cast<std::size_t>(kY * kX));
  std::iota(lat.begin(), lat.end(), 40.0);
  Chunk latc = Chunk::allocate(DType::Float64, {kY, kX});
  std::copy(lat.begin(), lat.end(), latc.mutable_values<double>().begin());
  Coords coords = ds.coords();
  coords.set("lat", Coordinate({"y", "x"}, latc, Attrs{{"units", "degrees_north"}}));
  ds = Dataset({{"data", ds["data"]}, {"f32", ds["f32"]}, {"i32", ds["i32"]}, {"u8", ds["u8"]}, {"i64", ds["i64"]},
                {"mask", ds["mask"]}, {"when", ds["when"]},
                {"ndvi", (ds["data"] - 100.0) / (ds["data"] + 100.0)}},
               coords, ds.attrs());
  to_zarr(ds, path("c.zarr"), mode("w"));
  std::ofstream(dir_ / "c.json") << describe(ds).dump();
  EXPECT_EQ(run("/usr/bin/python3 " + kScript.string() + " verify " + path("c.zarr") + " " + (dir_ / "c.json").string()), 0);
}

}  // namespace
}  // namespace cubist

namespace cubist {
namespace {

TEST_F(ZarrIo, OpenOptionsAndTimeEncoding) {
  ToZarrOptions o = mode("w");
  o.encoding["time"].units = "hours since 2019-12-31";
  to_zarr(seed_like(), path("o.zarr"), o);
  EXPECT_EQ(read_json(dir_ / "o.zarr" / "time" / ".zattrs")["units"], "hours since 2019-12-31");
  ZarrOpenOptions raw;
  raw.decode_times = false;
  Dataset undecoded = open_zarr(path("o.zarr"), raw);
  const Coordinate& t = undecoded.coords().at("time");
  EXPECT_EQ(t.dtype(), DType::Int64);
  EXPECT_EQ(t.values().values<std::int64_t>()[1], 48);  // 2020-01-02 is 48 hours after the reference
  EXPECT_EQ(t.attrs()["units"], "hours since 2019-12-31");
  EXPECT_EQ(open_zarr(path("o.zarr")).coords().at("time").format_value(1), "2020-01-02");
  ZarrOpenOptions chunked;
  chunked.chunks = ChunkSpec{{"time", 2}, {"y", -1}};
  Dataset c = open_zarr(path("o.zarr"), chunked);
  EXPECT_EQ(c["data"].chunks().chunks(0), (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(c["data"].chunks().chunks(1), (std::vector<std::int64_t>{kY}));
  expect_same(describe(c), describe(seed_like()));
  ZarrOpenOptions drop;
  drop.drop_variables = {"i64", "x"};
  Dataset d = open_zarr(path("o.zarr"), drop);
  EXPECT_FALSE(d.contains("i64"));
  EXPECT_FALSE(d.coords().contains("x"));
  EXPECT_TRUE(d.contains("data"));
}

TEST_F(ZarrIo, ScalarAndEmptyVariables) {
  Chunk scalar = Chunk::allocate(DType::Float64, {});
  scalar.mutable_values<double>()[0] = 3.5;
  DataArray s = DataArray::from_chunk(scalar, {}, {}, Attrs{{"units", "m"}});
  DataArray empty = DataArray::from_vector(std::vector<float>{}, {{"t", 0}, {"x", 3}});
  Dataset ds({{"s", s}, {"e", empty}}, {});
  to_zarr(ds, path("z.zarr"), mode("w"));
  Dataset back = open_zarr(path("z.zarr"));
  EXPECT_EQ(back["s"].compute().values<double>()[0], 3.5);
  EXPECT_EQ(back["s"].attrs(), (Attrs{{"units", "m"}}));
  EXPECT_EQ(back["e"].shape(), (Shape{0, 3}));
  EXPECT_EQ(back["e"].compute().size(), 0);
}

}  // namespace
}  // namespace cubist

// --- string coordinates and CF packing on write ------------------------------------------------
namespace cubist {
namespace {

const fs::path kPackingScript =
    fs::path(CUBIST_SOURCE_DIR) / "tests" / "integration" / "zarr_io" / "strings_and_packing.py";

// refl (band, x) in float32 with values whose packing hits rounding ties, a NaN and a negative.
const std::vector<float> kRefl{1.25f, 1.75f, 2.25f, NAN, -3.0f, 0.3f};
constexpr double kScale = 0.5, kOffset = 1.0;
constexpr int kFill = -9999;

Dataset strings_and_packing_dataset() {
  Coords coords;
  coords.set("band", Coordinate::strings("band", {"red", "nir"}));
  coords.set("x", Coordinate::from_vector<std::int64_t>("x", {10, 20, 30}));
  coords.set("label", Coordinate::strings("x", {"a", "b\u00e9", "ccc"}));
  DataArray refl = DataArray::from_vector(kRefl, {{"band", 2}, {"x", 3}}, {}, Attrs{{"long_name", "reflectance"}}, "refl");
  return Dataset({{"refl", refl}}, coords);
}

ToZarrOptions packing_options() {
  ToZarrOptions o = mode("w");
  auto& e = o.encoding["refl"];
  e.dtype = DType::Int16;
  e.scale_factor = kScale;
  e.add_offset = kOffset;
  e.fill_value = kFill;
  return o;
}

void expect_strings_and_packing(const Dataset& back) {
  ASSERT_TRUE(back.coords().contains("band"));
  EXPECT_EQ(back.coords().at("band").string_values(), (std::vector<std::string>{"red", "nir"}));
  ASSERT_TRUE(back.coords().contains("label"));
  EXPECT_EQ(back.coords().at("label").string_values(), (std::vector<std::string>{"a", "b\u00e9", "ccc"}));
  EXPECT_EQ(back.coords().at("label").dims(), std::vector<std::string>{"x"});
  DataArray r = back["refl"].compute();
  EXPECT_EQ(r.dtype(), DType::Float32);
  // Unpacked: round((x - 1) / 0.5) * 0.5 + 1, ties to even; NaN stays missing.
  std::vector<float> want{1.0f, 2.0f, 2.0f, NAN, -3.0f, 0.5f};
  auto got = r.values<float>();
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) EXPECT_TRUE(std::isnan(got[i])) << i;
    else EXPECT_EQ(got[i], want[i]) << i;
  }
  EXPECT_EQ(r.attrs(), (Attrs{{"long_name", "reflectance"}}));
}

TEST_F(ZarrIo, StringCoordinatesAndPackingRoundTrip) {
  to_zarr(strings_and_packing_dataset(), path("p.zarr"), packing_options());
  auto zattrs = json::parse(std::ifstream(dir_ / "p.zarr" / "refl" / ".zattrs"));
  EXPECT_EQ(zattrs["scale_factor"], kScale);
  EXPECT_EQ(zattrs["add_offset"], kOffset);
  EXPECT_EQ(zattrs["coordinates"], "label");
  expect_strings_and_packing(open_zarr(path("p.zarr")));
  // The stored integers: ties rounded to even, NaN as the fill value.
  ZarrOpenOptions raw;
  raw.mask_and_scale = false;
  DataArray packed = open_zarr(path("p.zarr"), raw)["refl"].compute();
  ASSERT_EQ(packed.dtype(), DType::Int16);
  auto p = packed.values<std::int16_t>();
  EXPECT_EQ(std::vector<std::int16_t>(p.begin(), p.end()), (std::vector<std::int16_t>{0, 2, 2, kFill, -8, -1}));
  // Values that do not fit the stored type, or NaN without a fill value, are refused, naming the store.
  ToZarrOptions tight = packing_options();
  tight.encoding["refl"].scale_factor = 1e-6;
  EXPECT_THROW(to_zarr(strings_and_packing_dataset(), path("q.zarr"), tight), Error);
  ToZarrOptions nofill = packing_options();
  nofill.encoding["refl"].fill_value.reset();
  EXPECT_THROW(to_zarr(strings_and_packing_dataset(), path("r.zarr"), nofill), Error);
  // Zarr v3 has no fixed-width strings here: the coordinate is left out with a warning, data written.
  testing::internal::CaptureStderr();
  ToZarrOptions v3 = packing_options();
  v3.zarr_format = 3;
  to_zarr(strings_and_packing_dataset(), path("v3.zarr"), v3);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("'band'"), std::string::npos);
  EXPECT_FALSE(open_zarr(path("v3.zarr")).coords().contains("band"));
}

json packing_spec() {
  json refl = json::array();
  for (int b = 0; b < 2; ++b) {
    json row = json::array();
    for (int x = 0; x < 3; ++x) {
      float v = kRefl[static_cast<std::size_t>(b * 3 + x)];
      row.push_back(std::isnan(v) ? json() : json(static_cast<double>(v)));
    }
    refl.push_back(row);
  }
  return {{"band", {"red", "nir"}}, {"label", {"a", "b\u00e9", "ccc"}}, {"x", {10, 20, 30}}, {"refl", refl},
          {"scale_factor", kScale}, {"add_offset", kOffset}, {"fill_value", kFill}, {"dtype", "int16"}};
}

TEST_F(ZarrIo, InteropStringCoordinatesAndPacking) {
  if (!python_has_xarray()) GTEST_SKIP() << "/usr/bin/python3 lacks xarray/zarr";
  std::ofstream(dir_ / "spec.json") << packing_spec().dump();
  const std::string script = "/usr/bin/python3 " + kPackingScript.string() + " ";
  // xarray writes, cubist reads.
  ASSERT_EQ(run(script + "write " + (dir_ / "spec.json").string() + " " + path("x.zarr")), 0);
  expect_strings_and_packing(open_zarr(path("x.zarr")));
  // cubist writes, xarray reads (and compares the packed integers with its own encoding).
  to_zarr(strings_and_packing_dataset(), path("c.zarr"), packing_options());
  EXPECT_EQ(run(script + "verify " + (dir_ / "spec.json").string() + " " + path("c.zarr") + " " + path("scratch.zarr")), 0);
}

}  // namespace
}  // namespace cubist
