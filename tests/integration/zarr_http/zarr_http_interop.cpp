// A store written by Debian's xarray, served over HTTP by net::HttpServer: cubist's open_zarr
// over the URL must give exactly what it gives on the local directory (values bit for bit, dims,
// attrs, coords, the fill value for a deleted chunk), and `cubist info URL` must print what
// `cubist info PATH` prints, apart from the location.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "cubist/cubist.hpp"
#include "cubist/io.hpp"
#include "../../zarr/expect_identical.hpp"
#include "net/http_server.hpp"

namespace cubist {
namespace {

namespace fs = std::filesystem;
using test_support::expect_identical;

// stdout of a command, and its exit status.
std::pair<std::string, int> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {"", -1};
  std::array<char, 4096> buf;
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = ::pclose(p);
  return {out, status};
}

bool python_has_xarray() {
  return std::system(ORACLE_PYTHON " -c 'import xarray, zarr, pandas, dask' >/dev/null 2>&1") == 0;
}

TEST(ZarrHttpInterop, XarrayStoreOverHttpReadsAsLocal) {
  if (!python_has_xarray()) GTEST_SKIP() << ORACLE_PYTHON " lacks xarray/zarr/pandas/dask";
  const fs::path dir = WORK_DIR;
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto [deleted, rc] = run(std::string(ORACLE_PYTHON " " WRITE_SCRIPT " ") + dir.string());
  ASSERT_EQ(rc, 0) << "xarray failed to write the store";
  ASSERT_EQ(deleted, "data/2.1.0\n");
  ASSERT_FALSE(fs::exists(dir / "xarray.zarr" / "data" / "2.1.0"));

  net::HttpServer server;
  server.mount_directory("/public", dir.string());
  server.start();
  const std::string url = server.base_url() + "/public/xarray.zarr";
  const std::string local = (dir / "xarray.zarr").string();

  Dataset remote = open_zarr(url);
  Dataset here = open_zarr(local);
  EXPECT_EQ(remote.data_vars(), (std::vector<std::string>{"counts", "data", "f32"}));
  expect_identical(remote, here);
  // The deleted chunk (time 2, y 10..19, x 0..15) is all fill value, i.e. NaN.
  Chunk hole = remote["data"].isel({{"time", 2}, {"y", Slice{10, 20}}, {"x", Slice{0, 16}}}).compute().memory_chunk().contiguous();
  for (double v : hole.values<double>()) ASSERT_TRUE(std::isnan(v));
  EXPECT_EQ(server.stats().range_requests, 0u);
  std::printf("served %llu requests, %llu bytes read\n", static_cast<unsigned long long>(server.stats().requests),
              static_cast<unsigned long long>(server.stats().bytes_sent));

  // The command line, as a user would call it.
  auto [info_remote, rc1] = run(std::string(CUBIST_CLI " info ") + url);
  auto [info_local, rc2] = run(std::string(CUBIST_CLI " info ") + local);
  ASSERT_EQ(rc1, 0) << info_remote;
  ASSERT_EQ(rc2, 0) << info_local;
  ASSERT_NE(info_remote.find(url), std::string::npos) << info_remote;
  info_remote.replace(info_remote.find(url), url.size(), local);
  EXPECT_EQ(info_remote, info_local);
  EXPECT_NE(info_local.find("data"), std::string::npos);

  // A wrong URL is one clear line and a non-zero exit, not a crash.
  auto [missing, rc3] = run(std::string(CUBIST_CLI " info ") + server.base_url() + "/public/nothing.zarr 2>&1");
  EXPECT_NE(rc3, 0);
  EXPECT_NE(missing.find("nothing.zarr"), std::string::npos) << missing;
  server.stop();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cubist

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
