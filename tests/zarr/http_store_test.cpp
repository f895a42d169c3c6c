// Zarr over HTTP: stores written by cubist, served by net::HttpServer from a directory, opened by
// URL, must read exactly as the same store opened from disk; missing chunks are fill values;
// groups without consolidated metadata and all writes are refused with a clear error; a server
// error on a chunk surfaces as a TaskError naming the chunk's URL.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "cubist/cubist.hpp"
#include "cubist/io.hpp"
#include "cubist/zarr.hpp"
#include "expect_identical.hpp"
#include "net/http_server.hpp"

namespace cubist {
namespace {

namespace fs = std::filesystem;
using test_support::expect_identical;

class ZarrHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("cubist_zarr_http_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    server_.stop();
    if (!HasFailure()) fs::remove_all(dir_);
  }
  // Starts serving dir_ at /stores; call after adding any routes that must take precedence.
  void serve() {
    server_.mount_directory("/stores", dir_.string());
    server_.start();
  }
  std::string local(const std::string& name) const { return (dir_ / name).string(); }
  std::string url(const std::string& name) const { return server_.base_url() + "/stores/" + name; }

  fs::path dir_;
  net::HttpServer server_;
};

// A float64 cube with NaN holes over several chunks, a float32 and an int16 variable, coords.
Dataset sample() {
  constexpr std::int64_t T = 3, Y = 7, X = 9;
  std::vector<double> v;
  for (std::int64_t i = 0; i < T * Y * X; ++i) v.push_back(i % 11 == 0 ? std::nan("") : 0.5 * static_cast<double>(i) - 40);
  std::vector<float> f;
  std::vector<std::int16_t> s;
  for (std::int64_t i = 0; i < Y * X; ++i) {
    f.push_back(static_cast<float>(i) / 7.0f);
    s.push_back(static_cast<std::int16_t>(i * 97 - 3000));
  }
  std::vector<double> ys, xs;
  for (std::int64_t y = 0; y < Y; ++y) ys.push_back(45.0 + 0.1 * static_cast<double>(y));
  for (std::int64_t x = 0; x < X; ++x) xs.push_back(6.0 + 0.2 * static_cast<double>(x));
  Coords coords{{"time", date_range("time", "2021-06-01", T, "D")},
                {"y", Coordinate::from_vector("y", ys)},
                {"x", Coordinate::from_vector("x", xs)}};
  DimSizes yx{{"y", Y}, {"x", X}};
  return Dataset({{"data", DataArray::from_vector(v, {{"time", T}, {"y", Y}, {"x", X}}, {}, Attrs{{"units", "K"}})
                               .chunk({{"time", 1}, {"y", 4}, {"x", 4}})},
                  {"f32", DataArray::from_vector(f, yx).chunk({{"y", 3}})},
                  {"i16", DataArray::from_vector(s, yx)}},
                 coords, Attrs{{"title", "served over http"}});
}

ToZarrOptions write_mode(int format, bool consolidated = true) {
  ToZarrOptions o;
  o.mode = "w";
  o.zarr_format = format;
  o.consolidated = consolidated;
  return o;
}

TEST_F(ZarrHttp, CubistV2StoreReadsIdenticallyOverHttp) {
  to_zarr(sample(), local("a.zarr"), write_mode(2));
  // A chunk that was never written (or deleted) is the fill value on both paths.
  ASSERT_TRUE(fs::remove(dir_ / "a.zarr" / "data" / "1.0.1"));
  serve();
  Dataset remote = open_zarr(url("a.zarr"));
  expect_identical(remote, open_zarr(local("a.zarr")));
  auto v = remote["data"].isel({{"time", 1}, {"y", 0}, {"x", 4}}).compute().values<double>();
  EXPECT_TRUE(std::isnan(v[0])) << "missing chunk must read as the NaN fill value";
  EXPECT_GT(server_.stats().requests, 10u);
  EXPECT_EQ(server_.stats().range_requests, 0u);  // whole-key GETs only
}

TEST_F(ZarrHttp, CubistV3StoreReadsIdenticallyOverHttp) {
  to_zarr(sample(), local("b.zarr"), write_mode(3));
  serve();
  expect_identical(open_zarr(url("b.zarr")), open_zarr(local("b.zarr")));
  // The same summary as `cubist info` prints, apart from where the store is.
  std::string remote = zarr::describe_group(zarr::ZarrGroup::open(url("b.zarr")));
  std::string here = zarr::describe_group(zarr::ZarrGroup::open(local("b.zarr")));
  remote.replace(remote.find(url("b.zarr")), url("b.zarr").size(), local("b.zarr"));
  EXPECT_EQ(remote, here);
}

TEST_F(ZarrHttp, GroupWithoutConsolidatedMetadataIsRefusedClearly) {
  to_zarr(sample(), local("v2.zarr"), write_mode(2, false));
  to_zarr(sample(), local("v3.zarr"), write_mode(3, false));
  serve();
  for (const std::string name : {"v2.zarr", "v3.zarr"}) {
    try {
      open_zarr(url(name));
      FAIL() << "expected an error for " << name;
    } catch (const IOError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(url(name)), std::string::npos) << msg;
      EXPECT_NE(msg.find("consolidated metadata"), std::string::npos) << msg;
      EXPECT_NE(msg.find("no directory listing"), std::string::npos) << msg;
    }
  }
  // A single array needs no listing: it opens by its own metadata.
  auto a = zarr::ZarrArray::open(zarr::open_store(url("v3.zarr")), "f32");
  EXPECT_EQ(a->shape(), (Shape{7, 9}));
  EXPECT_THROW(open_zarr(url("nothing.zarr")), Error);
}

TEST_F(ZarrHttp, WritesAreRefused) {
  to_zarr(sample(), local("a.zarr"), write_mode(2));
  serve();
  auto store = zarr::open_store(url("a.zarr"));
  try {
    store->set("data/0.0.0", std::string_view("x"));
    FAIL() << "expected IOError";
  } catch (const IOError& e) {
    EXPECT_EQ(std::string(e.what()), "zarr: cannot write 'data/0.0.0' to '" + url("a.zarr") +
                                         "': Zarr stores over HTTP are read-only");
  }
  EXPECT_THROW(store->erase("data/.zarray"), IOError);
  EXPECT_THROW(to_zarr(sample(), url("a.zarr"), write_mode(2)), IOError);
  EXPECT_THROW(to_zarr(sample(), url("new.zarr"), write_mode(3)), IOError);
  EXPECT_TRUE(fs::exists(dir_ / "a.zarr" / "data" / "0.0.0"));
}

TEST_F(ZarrHttp, ServerErrorOnAChunkIsATaskErrorNamingIt) {
  to_zarr(sample(), local("a.zarr"), write_mode(2));
  server_.route("GET", "/stores/a\\.zarr/data/2\\.1\\.0", [](const net::ServerRequest&) {
    return net::ServerResponse{500, "disk on fire", "text/plain"};
  });
  serve();
  Dataset remote = open_zarr(url("a.zarr"));
  // Other chunks are fine.
  EXPECT_NO_THROW(remote["data"].isel({{"time", 0}}).compute());
  try {
    remote["data"].sum().compute();
    FAIL() << "expected TaskError";
  } catch (const TaskError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.op(), "zarr_read") << msg;
    EXPECT_NE(msg.find("HTTP 500 from GET " + url("a.zarr/data/2.1.0")), std::string::npos) << msg;
    EXPECT_NE(msg.find("disk on fire"), std::string::npos) << msg;
  }
}

TEST(ZarrHttpStore, OnlyHttpSchemesAndValidKeys) {
  EXPECT_THROW(zarr::open_store("ftp://127.0.0.1/a.zarr"), ValueError);
  auto s = zarr::open_store("http://127.0.0.1:9/a.zarr/");
  EXPECT_EQ(s->describe(), "http://127.0.0.1:9/a.zarr");
  EXPECT_THROW(s->get("../secret"), ValueError);  // never leaves the store's URL
  EXPECT_THROW(s->get("/etc/passwd"), ValueError);
}

}  // namespace
}  // namespace cubist
