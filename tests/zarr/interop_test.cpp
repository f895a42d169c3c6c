// Interop with Debian's zarr-python 2.13 / xarray, both ways (skipped when /usr/bin/python3 lacks them).
//  * write_fixtures.py writes stores with every dtype and codec; cubist must read identical values.
//  * cubist writes v2 stores; verify_cubist_stores.py reads them with zarr and xarray.open_zarr.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "test_util.hpp"
#include "zarr/layout.hpp"

using namespace cubist;
using namespace cubist::zarr;
using namespace cubist::zarr::testing;
using nlohmann::json;

namespace {

const std::filesystem::path kScripts = std::filesystem::path(CUBIST_SOURCE_DIR) / "tests" / "integration" / "zarr";
constexpr const char* kPython = "/usr/bin/python3";

bool python_has_zarr() {
  static const bool ok = std::system("/usr/bin/python3 -c 'import zarr, xarray, numcodecs' >/dev/null 2>&1") == 0;
  return ok;
}

int run(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// The whole array as one C-order chunk, assembled from read_chunk calls.
Chunk read_full(const ZarrArray& a, bool cf_decode) {
  const auto& g = a.grid();
  Chunk full;
  for (std::int64_t i = 0; i < g.total_chunks(); ++i) {
    Chunk c = a.read_chunk(i);
    if (cf_decode) {
      const auto& m = a.metadata();
      auto d = cf::decoding_for(m.attributes, m.fill_value, m.dtype);
      if (cf::is_time_variable(m.attributes))
        c = cf::decode_times(c, cf::parse_time_units(m.attributes["units"].get<std::string>(),
                                                     m.attributes.value("calendar", std::string("standard"))),
                             d.fill_values);
      else
        c = cf::apply_decoding(c, d);
    }
    if (full.empty()) full = Chunk::allocate(c.dtype(), a.shape());
    auto idx = g.unravel(i);
    Shape off(idx.size());
    for (std::size_t k = 0; k < idx.size(); ++k) off[k] = g.offset(k, idx[k]);
    detail::copy_block(static_cast<std::byte*>(full.mutable_raw()), a.shape(), off,
                       const_cast<std::byte*>(static_cast<const std::byte*>(c.raw())), c.shape(), itemsize(c.dtype()), false);
  }
  return full;
}

std::string read_file(const std::filesystem::path& p) { return read_text(p); }

// NaN-aware equality; returns the first differing element index or -1.
std::int64_t first_difference(const Chunk& got, const std::string& expected) {
  if (got.nbytes() != expected.size()) return 0;
  std::int64_t bad = -1;
  visit_dtype(got.dtype(), [&]<class T>(TypeTag<T>) {
    const T* g = static_cast<const T*>(got.raw());
    for (std::int64_t i = 0; i < got.size() && bad < 0; ++i) {
      T e;
      std::memcpy(&e, expected.data() + static_cast<std::size_t>(i) * sizeof(T), sizeof(T));
      bool same = g[i] == e;
      if constexpr (std::is_floating_point_v<T>) same = same || (std::isnan(g[i]) && std::isnan(e));
      if (!same) bad = i;
    }
  });
  return bad;
}

void write_raw(const std::filesystem::path& p, const Chunk& c) {
  std::ofstream f(p, std::ios::binary);
  f.write(static_cast<const char*>(c.raw()), static_cast<std::streamsize>(c.nbytes()));
}

}  // namespace

TEST(ZarrInterop, ReadsStoresWrittenByZarrPythonAndXarray) {
  if (!python_has_zarr()) GTEST_SKIP() << "/usr/bin/python3 lacks zarr/xarray";
  TempDir dir;
  ASSERT_EQ(run(std::string(kPython) + " " + (kScripts / "write_fixtures.py").string() + " " + dir.path().string() + " >/dev/null"), 0);
  auto manifest = json::parse(read_file(dir / "manifest.json"));
  ASSERT_GT(manifest.size(), 100u);
  std::map<std::string, ZarrGroup> groups;
  int checked = 0;
  for (const auto& e : manifest) {
    auto store = e["store"].get<std::string>(), name = e["array"].get<std::string>();
    SCOPED_TRACE(store + "/" + name);
    if (!groups.count(store)) groups.emplace(store, ZarrGroup::open((dir / store).string()));
    const auto& g = groups.at(store);
    EXPECT_EQ(g.consolidated(), store.find("consolidated") != std::string::npos);
    auto a = g.array(name);
    EXPECT_EQ(a->shape(), e["shape"].get<Shape>());
    if (e.contains("dims") && !e["dims"].is_null()) {
      EXPECT_EQ(a->dims(), e["dims"].get<std::vector<std::string>>());
    }
    bool decode = e["kind"] == "xarray";
    Chunk full = read_full(*a, decode);
    EXPECT_EQ(dtype_name(full.dtype()), e["dtype"].get<std::string>());
    auto expected = read_file(dir / e["expected"].get<std::string>());
    auto diff = first_difference(full, expected);
    EXPECT_EQ(diff, -1) << "values differ at element " << diff;
    if (e.contains("attrs")) {
      for (const auto& [k, v] : e["attrs"].items()) EXPECT_EQ(a->metadata().attributes.value(k, json()), v) << k;
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(manifest.size()));
  EXPECT_EQ(groups.at("xr_plain.zarr").attributes()["title"], "xarray fixture");
}

TEST(ZarrInterop, StoresWrittenByCubistOpenInZarrPythonAndXarray) {
  if (!python_has_zarr()) GTEST_SKIP() << "/usr/bin/python3 lacks zarr/xarray";
  TempDir dir;
  std::filesystem::create_directories(dir / "expected");
  json manifest = json::array();
  for (bool consolidated : {true, false}) {
    std::string store = consolidated ? "cubist_consolidated.zarr" : "cubist_plain.zarr";
    ZarrWriter w((dir / store).string(), WriteMode::Overwrite, 2, consolidated);
    w.set_attributes(json{{"title", "written by cubist"}, {"n", 3}});
    const Shape shape{5, 6, 7}, chunks{2, 4, 3};
    auto add = [&](const std::string& name, ArrayMetadata m, const Chunk& values, bool skip_last_chunk = false) {
      auto a = w.create_array(name, m);
      Chunk expect = values;
      for (std::int64_t i = 0; i < a->grid().total_chunks(); ++i) {
        auto idx = a->grid().unravel(i);
        Shape off(idx.size());
        for (std::size_t k = 0; k < idx.size(); ++k) off[k] = a->grid().offset(k, idx[k]);
        Chunk c = Chunk::allocate(m.dtype, a->grid().chunk_shape(idx));
        detail::copy_block(static_cast<std::byte*>(values.mutable_raw()), values.shape(), off, static_cast<std::byte*>(c.mutable_raw()),
                           c.shape(), itemsize(m.dtype), true);
        if (skip_last_chunk && i == a->grid().total_chunks() - 1) {
          // Not written: readers see the fill value there.
          std::vector<std::byte> fill(itemsize(m.dtype));
          auto fv = cf::fill_value_as_double(m.fill_value).value_or(0.0);
          visit_dtype(m.dtype, [&]<class T>(TypeTag<T>) { T v = static_cast<T>(fv); std::memcpy(fill.data(), &v, sizeof v); });
          auto* p = static_cast<std::byte*>(c.mutable_raw());
          for (std::int64_t k = 0; k < c.size(); ++k) std::memcpy(p + k * static_cast<std::int64_t>(fill.size()), fill.data(), fill.size());
          detail::copy_block(static_cast<std::byte*>(expect.mutable_raw()), values.shape(), off, p, c.shape(), itemsize(m.dtype), false);
          continue;
        }
        a->write_chunk(idx, c);
      }
      auto file = "expected/" + store + "-" + name + ".bin";
      write_raw(dir / file, expect);
      manifest.push_back({{"store", store}, {"array", name}, {"expected", file}, {"dtype", dtype_name(m.dtype)},
                          {"shape", m.shape}, {"dims", m.dimension_names}, {"consolidated", consolidated},
                          {"attrs", m.attributes}});
    };
    std::vector<std::string> dims{"time", "y", "x"};
    // Float data in the default (xarray) encoding, with NaNs and a missing chunk.
    auto data = iota_chunk<float>(shape, 0.5);
    data.mutable_values<float>()[3] = NAN;
    add("data", default_array_metadata(dims, shape, chunks, DType::Float32, json{{"long_name", "data"}, {"units", "K"}}), data, true);
    // Every numeric dtype with the default encoding.
    for (DType t : {DType::Bool, DType::Int8, DType::Int16, DType::Int32, DType::Int64, DType::UInt8, DType::UInt16,
                    DType::UInt32, DType::UInt64, DType::Float64}) {
      Chunk c = Chunk::allocate(t, shape);
      visit_dtype(t, [&]<class T>(TypeTag<T>) {
        auto v = c.mutable_values<T>();
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(std::is_same_v<T, bool> ? (i % 3 == 0) : (i * 7 % 101));
      });
      add(std::string("dtype_") + std::string(dtype_name(t)), default_array_metadata(dims, shape, chunks, t), c);
    }
    // Every compressor and layout variant.
    std::vector<std::pair<std::string, json>> comps = {
        {"none", json()}, {"zstd", {{"id", "zstd"}, {"level", 3}}}, {"lz4", {{"id", "lz4"}, {"acceleration", 1}}},
        {"zlib", {{"id", "zlib"}, {"level", 5}}}, {"gzip", {{"id", "gzip"}, {"level", 5}}}};
    for (std::string cname : {"lz4", "lz4hc", "zstd", "zlib", "blosclz"})
      for (int sh : {0, 1, 2})
        comps.push_back({"blosc_" + cname + "_" + std::to_string(sh),
                         {{"id", "blosc"}, {"cname", cname}, {"clevel", 5}, {"shuffle", sh}, {"blocksize", 0}}});
    for (const auto& [cn, comp] : comps) {
      auto m = default_array_metadata(dims, shape, chunks, DType::Float32);
      m.compressor = comp;
      add("codec_" + cn, m, data);
    }
    auto f_order = default_array_metadata(dims, shape, chunks, DType::Int32);
    f_order.order = 'F';
    f_order.big_endian = true;
    f_order.fill_value = -7;
    add("f_order_be", f_order, iota_chunk<std::int32_t>(shape), true);
    auto nested = default_array_metadata(dims, shape, chunks, DType::Float64);
    nested.dimension_separator = '/';
    add("nested", nested, iota_chunk<double>(shape, -3));
    // A CF time coordinate, encoded as xarray does.
    Chunk times = Chunk::allocate(DType::DateTime64, {5});
    auto tunits_str = std::string("days since 2000-01-01");
    auto tu = cf::parse_time_units(tunits_str);
    for (int i = 0; i < 5; ++i) times.mutable_values<std::int64_t>()[static_cast<std::size_t>(i)] = tu.epoch_ns + i * 2 * tu.ns_per_unit;
    auto units = cf::infer_time_units(times.values<std::int64_t>());
    auto encoded = cf::encode_times(times, cf::parse_time_units(units));
    add("time", default_array_metadata({"time"}, {5}, {5}, DType::Int64, json{{"units", units}, {"calendar", "proleptic_gregorian"}}),
        encoded);
    write_raw(dir / ("expected/" + store + "-time-decoded.bin"), times);
    add("y", default_array_metadata({"y"}, {6}, {6}, DType::Float64), iota_chunk<double>({6}, 100));
    add("x", default_array_metadata({"x"}, {7}, {7}, DType::Int32), iota_chunk<std::int32_t>({7}));
    w.commit();
  }
  std::ofstream(dir / "manifest.json") << manifest.dump(1);
  int rc = run(std::string(kPython) + " " + (kScripts / "verify_cubist_stores.py").string() + " " + dir.path().string());
  EXPECT_EQ(rc, 0) << "zarr-python/xarray disagree with what cubist wrote (see output above)";
}
