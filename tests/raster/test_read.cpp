// raster::probe and read_into on GeoTIFFs made here with GDAL: aligned windows, partial and no
// overlap, nodata, scale/offset, warped reads compared with the gdalwarp command, COGs over HTTP.
#include <gtest/gtest.h>

#include <gdal_priv.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <atomic>
#include <thread>

#include "cubist/error.hpp"
#include "net/http_server.hpp"
#include "raster/raster.hpp"
#include "raster/tile_cache.hpp"

using namespace cubist;
namespace fs = std::filesystem;

namespace {

const std::string kUtm32 = Crs::epsg(32632).wkt();

// 16 x 12 uint16 raster on a 10 m UTM 32N grid at (600000, 5000000); value = row * 100 + col + 1,
// except pixel (0, 0) which holds the nodata value 0.
class RasterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    raster::ensure_gdal();
    dir = fs::temp_directory_path() / ("cubist_raster_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    path = (dir / "src.tif").string();
    GDALDriver* gtiff = GetGDALDriverManager()->GetDriverByName("GTiff");
    const char* opts[] = {"TILED=YES", "BLOCKXSIZE=16", "BLOCKYSIZE=16", nullptr};
    GDALDatasetUniquePtr ds(gtiff->Create(path.c_str(), 16, 12, 1, GDT_UInt16, const_cast<char**>(opts)));
    double gt[6] = {600000, 10, 0, 5000000, 0, -10};
    ds->SetGeoTransform(gt);
    ds->SetProjection(kUtm32.c_str());
    std::vector<std::uint16_t> v(16 * 12);
    for (int r = 0; r < 12; ++r)
      for (int c = 0; c < 16; ++c) v[static_cast<std::size_t>(r * 16 + c)] = static_cast<std::uint16_t>(r * 100 + c + 1);
    v[0] = 0;
    ds->GetRasterBand(1)->SetNoDataValue(0);
    EXPECT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 16, 12, v.data(), 16, 12, GDT_UInt16, 0, 0, nullptr), CE_None);
  }
  void TearDown() override { fs::remove_all(dir); }

  static raster::Grid grid(double x0, double y0, double res, std::int64_t w, std::int64_t h, const std::string& wkt = kUtm32) {
    return raster::Grid{wkt, Affine{res, 0, x0, 0, -res, y0}, w, h};
  }
  static double expected(int row, int col) { return row == 0 && col == 0 ? NAN : row * 100 + col + 1; }

  fs::path dir;
  std::string path;
};

}  // namespace

TEST_F(RasterTest, Probe) {
  auto info = raster::probe(path);
  EXPECT_EQ(info.grid.width, 16);
  EXPECT_EQ(info.grid.height, 12);
  EXPECT_EQ(info.grid.transform.a, 10);
  EXPECT_EQ(info.grid.transform.f, 5000000);
  EXPECT_EQ(info.dtype, DType::UInt16);
  EXPECT_EQ(info.nodata, 0.0);
  EXPECT_EQ(info.band_count, 1);
  EXPECT_EQ(info.block_x, 16);
  EXPECT_EQ(info.overview_count, 0);
  EXPECT_TRUE(Crs::from_user_input(info.grid.crs_wkt).equals(Crs::epsg(32632)));
}

TEST_F(RasterTest, AlignedWindowWithNodataAndScale) {
  // Target: rows 0..3, cols 0..4 shifted by (2, 1) pixels inside the raster.
  raster::Grid target = grid(600000 + 2 * 10, 5000000 - 1 * 10, 10, 5, 4);
  std::int64_t co = 0, ro = 0;
  ASSERT_TRUE(raster::aligned(grid(600000, 5000000, 10, 16, 12), target, co, ro));
  EXPECT_EQ(co, 2);
  EXPECT_EQ(ro, 1);
  Chunk out = Chunk::allocate(DType::Float64, {4, 5});
  raster::AssetRead a;
  a.href = path;
  a.scale = 0.5;
  a.offset = -1;
  ASSERT_TRUE(raster::read_into(a, target, NAN, out));
  auto v = out.values<double>();
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 5; ++c) EXPECT_EQ(v[static_cast<std::size_t>(r * 5 + c)], expected(r + 1, c + 2) * 0.5 - 1);
  // Nodata at (0, 0) becomes the fill value; rescale off gives raw values in float32.
  Chunk raw = Chunk::allocate(DType::Float32, {2, 2});
  a.rescale = false;
  ASSERT_TRUE(raster::read_into(a, grid(600000, 5000000, 10, 2, 2), NAN, raw));
  auto rv = raw.values<float>();
  EXPECT_TRUE(std::isnan(rv[0]));
  EXPECT_EQ(rv[1], 2.0f);
  EXPECT_EQ(rv[2], 101.0f);
  // Integer output goes through the generic path: nodata -> fill, values as stored.
  Chunk ints = Chunk::allocate(DType::Int32, {2, 2});
  ASSERT_TRUE(raster::read_into(a, grid(600000, 5000000, 10, 2, 2), -1, ints));
  EXPECT_EQ(ints.values<std::int32_t>()[0], -1);
  EXPECT_EQ(ints.values<std::int32_t>()[3], 102);
  // An explicit nodata overrides the file's.
  a.nodata = 2;
  ASSERT_TRUE(raster::read_into(a, grid(600000, 5000000, 10, 2, 2), -9, raw));
  EXPECT_EQ(raw.values<float>()[0], 0.0f);
  EXPECT_EQ(raw.values<float>()[1], -9.0f);
}

TEST_F(RasterTest, PartialAndNoOverlap) {
  // Two columns left of and one row above the raster: those pixels are fill.
  raster::Grid target = grid(600000 - 20, 5000000 + 10, 10, 4, 3);
  Chunk out = Chunk::allocate(DType::Float64, {3, 4});
  raster::AssetRead a;
  a.href = path;
  ASSERT_TRUE(raster::read_into(a, target, -1, out));
  auto v = out.values<double>();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) {
      double want = (r < 1 || c < 2 || (r == 1 && c == 2)) ? -1 : expected(r - 1, c - 2);
      EXPECT_EQ(v[static_cast<std::size_t>(r * 4 + c)], want) << r << "," << c;
    }
  // Entirely east of the raster: false and nothing written.
  Chunk none = Chunk::allocate(DType::Float64, {2, 2});
  std::fill(none.mutable_values<double>().begin(), none.mutable_values<double>().end(), 42.0);
  EXPECT_FALSE(raster::read_into(a, grid(600000 + 160, 5000000, 10, 2, 2), NAN, none));
  EXPECT_EQ(none.values<double>()[3], 42.0);
  // Known source grid (STAC proj:*): the no-overlap answer needs no file at all.
  raster::AssetRead ghost;
  ghost.href = (dir / "does_not_exist.tif").string();
  ghost.source_grid = grid(600000, 5000000, 10, 16, 12);
  EXPECT_FALSE(raster::read_into(ghost, grid(700000, 5000000, 10, 2, 2), NAN, none));
  EXPECT_THROW(raster::read_into(ghost, grid(600000, 5000000, 10, 2, 2), NAN, none), IOError);
}

TEST_F(RasterTest, WarpedReadsMatchGdalwarp) {
  struct Case {
    std::string name, srs;
    raster::Grid target;
    const char* resampling;
    raster::Resampling r;
  };
  // A 15 m grid in the same CRS, and a 12 m grid in UTM 33N (to the west of its zone, still valid).
  Bounds b33 = transform_bounds({600000, 4999880, 600160, 5000000}, Crs::epsg(32632), Crs::epsg(32633));
  const std::string utm33 = Crs::epsg(32633).wkt();
  std::vector<Case> cases = {
      {"resampled", "EPSG:32632", grid(600003, 5000004, 15, 10, 8), "near", raster::Resampling::Nearest},
      {"bilinear", "EPSG:32632", grid(600003, 5000004, 15, 10, 8), "bilinear", raster::Resampling::Bilinear},
      {"reprojected", "EPSG:32633", grid(std::floor(b33.minx), std::ceil(b33.maxy), 12, 16, 14, utm33), "near",
       raster::Resampling::Nearest},
  };
  for (const auto& cs : cases) {
    const auto& t = cs.target.transform;
    auto out_tif = (dir / (cs.name + ".tif")).string();
    std::string cmd = "gdalwarp -q -overwrite -t_srs " + cs.srs + " -te " + std::to_string(t.c) + " " +
                      std::to_string(t.f + t.e * static_cast<double>(cs.target.height)) + " " +
                      std::to_string(t.c + t.a * static_cast<double>(cs.target.width)) + " " + std::to_string(t.f) +
                      " -ts " + std::to_string(cs.target.width) + " " + std::to_string(cs.target.height) + " -r " +
                      cs.resampling + " -ot Float64 -wt Float64 -dstnodata nan " + path + " " + out_tif;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    GDALDatasetUniquePtr ref(GDALDataset::Open(out_tif.c_str(), GDAL_OF_RASTER));
    ASSERT_TRUE(ref);
    std::vector<double> want(static_cast<std::size_t>(cs.target.width * cs.target.height));
    ASSERT_EQ(ref->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, static_cast<int>(cs.target.width),
                                              static_cast<int>(cs.target.height), want.data(),
                                              static_cast<int>(cs.target.width), static_cast<int>(cs.target.height),
                                              GDT_Float64, 0, 0, nullptr),
              CE_None);
    raster::AssetRead a;
    a.href = path;
    a.resampling = cs.r;
    Chunk out = Chunk::allocate(DType::Float64, {cs.target.height, cs.target.width});
    ASSERT_TRUE(raster::read_into(a, cs.target, NAN, out)) << cs.name;
    auto v = out.values<double>();
    std::size_t valid = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      if (std::isnan(want[i])) {
        EXPECT_TRUE(std::isnan(v[i])) << cs.name << " pixel " << i;
      } else {
        ++valid;
        EXPECT_NEAR(v[i], want[i], 1e-9) << cs.name << " pixel " << i;
      }
    }
    EXPECT_GT(valid, want.size() / 3) << cs.name;
  }
}

TEST_F(RasterTest, ErrorsNameTheHref) {
  raster::AssetRead a;
  a.href = (dir / "missing.tif").string();
  Chunk out = Chunk::allocate(DType::Float64, {2, 2});
  auto target = grid(600000, 5000000, 10, 2, 2);
  try {
    raster::read_into(a, target, NAN, out);
    FAIL();
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find(a.href), std::string::npos);
  }
  auto text = (dir / "notes.tif").string();
  std::ofstream(text) << "not a tiff";
  EXPECT_THROW(raster::probe(text), IOError);
  a.href = path;
  a.band = 3;
  try {
    raster::read_into(a, target, NAN, out);
    FAIL();
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("band 3 out of range"), std::string::npos) << e.what();
  }
  a.band = 1;
  Chunk wrong = Chunk::allocate(DType::Float64, {3, 2});
  EXPECT_THROW(raster::read_into(a, target, NAN, wrong), ValueError);
  EXPECT_THROW(raster::resampling_from_string("sharpest"), ValueError);
}

TEST(GdalPath, Schemes) {
  EXPECT_EQ(raster::gdal_path("https://example.org/a.tif"), "/vsicurl/https://example.org/a.tif");
  EXPECT_EQ(raster::gdal_path("http://127.0.0.1:8080/a.tif"), "/vsicurl/http://127.0.0.1:8080/a.tif");
  EXPECT_EQ(raster::gdal_path("file:///data/a.tif"), "/data/a.tif");
  EXPECT_EQ(raster::gdal_path("/data/a.tif"), "/data/a.tif");
}

TEST(GdalSetup, SetsCogOptions) {
  raster::ensure_gdal();
  EXPECT_STREQ(CPLGetConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", ""), "EMPTY_DIR");
  EXPECT_STREQ(CPLGetConfigOption("GDAL_HTTP_MERGE_CONSECUTIVE_RANGES", ""), "YES");
}

TEST_F(RasterTest, CogOverHttpWithRangeRequests) {
  // A COG of the same pixels served on 127.0.0.1: read through /vsicurl/ with range requests.
  auto cog = (dir / "cog.tif").string();
  {
    GDALDatasetUniquePtr src(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER));
    const char* opts[] = {"BLOCKSIZE=16", "COMPRESS=DEFLATE", nullptr};
    GDALDatasetUniquePtr out(GetGDALDriverManager()->GetDriverByName("COG")->CreateCopy(
        cog.c_str(), src.get(), FALSE, const_cast<char**>(opts), nullptr, nullptr));
    ASSERT_TRUE(out);
  }
  net::HttpServer server;
  server.mount_directory("/data", dir.string());
  server.start();
  raster::AssetRead a;
  a.href = server.base_url() + "/data/cog.tif";
  auto info = raster::probe(a.href);
  EXPECT_EQ(info.grid.width, 16);
  EXPECT_EQ(info.block_x, 16);
  raster::Grid target = grid(600000 + 3 * 10, 5000000 - 2 * 10, 10, 6, 5);
  Chunk out = Chunk::allocate(DType::Float64, {5, 6});
  ASSERT_TRUE(raster::read_into(a, target, NAN, out));
  auto v = out.values<double>();
  for (int r = 0; r < 5; ++r)
    for (int c = 0; c < 6; ++c) EXPECT_EQ(v[static_cast<std::size_t>(r * 6 + c)], expected(r + 2, c + 3));
  EXPECT_GT(server.stats().range_requests, 0u);
  a.href = server.base_url() + "/data/missing.tif";
  try {
    raster::read_into(a, target, NAN, out);
    FAIL();
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find(a.href), std::string::npos) << e.what();
  }
}

TEST_F(RasterTest, ThreadsReadTheSameFileConcurrently) {
  // Each thread has its own dataset handles; every window must come back right.
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      raster::AssetRead a;
      a.href = path;
      for (int i = 0; i < 50; ++i) {
        const int col = (k * 3 + i) % 12, row = (k + i) % 9;
        Chunk out = Chunk::allocate(DType::Float32, {3, 4});
        raster::read_into(a, grid(600000 + 10.0 * col, 5000000 - 10.0 * row, 10, 4, 3), NAN, out);
        auto v = out.values<float>();
        for (int r = 0; r < 3; ++r)
          for (int c = 0; c < 4; ++c) {
            double want = expected(row + r, col + c);
            float got = v[static_cast<std::size_t>(r * 4 + c)];
            if (!(std::isnan(want) ? std::isnan(got) : got == static_cast<float>(want))) ++bad[static_cast<std::size_t>(k)];
          }
      }
      raster::release_thread_resources();
    });
  for (auto& t : threads) t.join();
  for (int k = 0; k < 4; ++k) EXPECT_EQ(bad[static_cast<std::size_t>(k)], 0) << "thread " << k;
}

namespace {

// A 700 x 530 uint16 GeoTIFF in 256 x 256 deflate tiles (partial tiles on the right and bottom
// edges), value = (row * 7 + col * 3) % 5000 + 1 except nodata 0 on every 97th pixel.
std::uint16_t tiled_value(std::int64_t r, std::int64_t c) {
  if ((r * 700 + c) % 97 == 0) return 0;
  return static_cast<std::uint16_t>((r * 7 + c * 3) % 5000 + 1);
}
void write_tiled(const std::string& file, std::uint16_t bias = 0) {
  GDALDriver* gtiff = GetGDALDriverManager()->GetDriverByName("GTiff");
  const char* opts[] = {"TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "COMPRESS=DEFLATE", "PREDICTOR=2", nullptr};
  GDALDatasetUniquePtr ds(gtiff->Create(file.c_str(), 700, 530, 1, GDT_UInt16, const_cast<char**>(opts)));
  double gt[6] = {600000, 10, 0, 5000000, 0, -10};
  ds->SetGeoTransform(gt);
  ds->SetProjection(kUtm32.c_str());
  std::vector<std::uint16_t> v(700 * 530);
  for (std::int64_t r = 0; r < 530; ++r)
    for (std::int64_t c = 0; c < 700; ++c) {
      const std::uint16_t x = tiled_value(r, c);
      v[static_cast<std::size_t>(r * 700 + c)] = x == 0 ? 0 : static_cast<std::uint16_t>(x + bias);
    }
  ds->GetRasterBand(1)->SetNoDataValue(0);
  ASSERT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 700, 530, v.data(), 700, 530, GDT_UInt16, 0, 0, nullptr), CE_None);
}

// Reads the window of `h` x `w` pixels at (row, col) of the tiled file as float64 (scale 0.0001,
// offset -0.1, as Sentinel-2 L2A) and counts the pixels that differ from the file's values.
int tiled_mismatches(const std::string& file, std::int64_t row, std::int64_t col, std::int64_t h, std::int64_t w,
                     std::uint16_t bias = 0) {
  raster::AssetRead a;
  a.href = file;
  a.scale = 0.0001;
  a.offset = -0.1;
  Chunk out = Chunk::allocate(DType::Float64, {h, w});
  raster::Grid target{kUtm32, Affine{10, 0, 600000 + 10.0 * static_cast<double>(col), 0, -10, 5000000 - 10.0 * static_cast<double>(row)}, w, h};
  if (!raster::read_into(a, target, NAN, out)) return static_cast<int>(h * w);
  int bad = 0;
  auto v = out.values<double>();
  for (std::int64_t r = 0; r < h; ++r)
    for (std::int64_t c = 0; c < w; ++c) {
      const std::int64_t sr = row + r, sc = col + c;
      const double got = v[static_cast<std::size_t>(r * w + c)];
      double want = NAN;
      if (sr >= 0 && sr < 530 && sc >= 0 && sc < 700 && tiled_value(sr, sc) != 0)
        want = static_cast<double>(tiled_value(sr, sc) + bias) * 0.0001 + -0.1;
      if (std::isnan(want) ? !std::isnan(got) : got != want) ++bad;
    }
  return bad;
}

}  // namespace

TEST_F(RasterTest, TiledReadsDecodeEachTileOnceThroughTheSharedCache) {
  const std::string file = (dir / "tiled.tif").string();
  write_tiled(file);
  raster::clear_tile_cache();
  // Crosses tile rows and columns (tiles (0..1, 0..2)), odd sizes.
  EXPECT_EQ(tiled_mismatches(file, 200, 250, 101, 333), 0);
  auto s = raster::tile_cache_stats();
  EXPECT_EQ(s.decoded, 6);
  EXPECT_EQ(s.hits, 0);
  // The chunk below shares tile row 1: only tile row 2 (the partial bottom edge) is new.
  EXPECT_EQ(tiled_mismatches(file, 301, 250, 229, 333), 0);
  s = raster::tile_cache_stats();
  EXPECT_EQ(s.decoded, 9);
  EXPECT_EQ(s.hits, 3);
  // Partial windows over the right and bottom edges and outside the raster.
  EXPECT_EQ(tiled_mismatches(file, 500, 650, 64, 80), 0);
  EXPECT_EQ(tiled_mismatches(file, -10, -3, 20, 20), 0);
  // Nothing kept with capacity 0, and the values are still right.
  raster::set_tile_cache_capacity(0);
  EXPECT_EQ(tiled_mismatches(file, 0, 0, 530, 700), 0);
  EXPECT_EQ(raster::tile_cache_stats().bytes, 0u);
  raster::set_tile_cache_capacity(std::size_t{64} << 20);
}

TEST_F(RasterTest, TiledReadsFromThreadsAgreeAndShareTiles) {
  const std::string file = (dir / "tiled.tif").string();
  write_tiled(file);
  raster::clear_tile_cache();
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (int i = 0; i < 12; ++i) bad[static_cast<std::size_t>(k)] += tiled_mismatches(file, (k * 53 + i * 37) % 400, (k * 91 + i * 61) % 600, 130, 100);
      raster::release_thread_resources();
    });
  for (auto& t : threads) t.join();
  for (int k = 0; k < 4; ++k) EXPECT_EQ(bad[static_cast<std::size_t>(k)], 0) << "thread " << k;
  const auto s = raster::tile_cache_stats();
  EXPECT_LE(s.decoded, 9);  // the file has 3 x 3 tiles: each decoded once for all threads
  EXPECT_GT(s.hits, 0);
}

TEST_F(RasterTest, AReplacedFileIsNotReadFromTheOldTiles) {
  const std::string file = (dir / "tiled.tif").string();
  write_tiled(file);
  raster::clear_tile_cache();
  std::thread([&] {
    EXPECT_EQ(tiled_mismatches(file, 0, 0, 100, 100), 0);
    raster::release_thread_resources();
  }).join();
  fs::remove(file);
  write_tiled(file, 7);  // other values (and so another size): a fresh handle must see them
  std::thread([&] {
    EXPECT_EQ(tiled_mismatches(file, 0, 0, 100, 100, 7), 0);
    raster::release_thread_resources();
  }).join();
}

TEST(TileCache, TilesReadInFullGoBeforeTilesStillWanted) {
  raster::clear_tile_cache();
  raster::set_tile_cache_capacity(3 * 100);
  int decodes = 0;
  auto get = [&](std::int64_t col, std::int64_t pixels) {
    return raster::cached_tile(raster::TileKey{"test", col, 0}, 100, [&](std::byte*) { ++decodes; },
                               raster::TileUse{pixels, 64});
  };
  get(0, 32);  // half read: a neighbouring window wants the rest
  get(1, 64);  // read in full
  get(2, 64);
  get(3, 16);  // evicts 1 (done, least recently used), not 0 (older, but still wanted)
  get(4, 16);  // evicts 2
  EXPECT_EQ(decodes, 5);
  get(0, 32);  // the rest of tile 0: served from the cache, and now done
  EXPECT_EQ(decodes, 5);
  get(5, 16);  // evicts 0 (done) before 3 and 4
  get(3, 16);
  get(4, 16);
  EXPECT_EQ(decodes, 6);
  get(0, 64);
  EXPECT_EQ(decodes, 7);
  raster::set_tile_cache_capacity(std::size_t{64} << 20);
  raster::clear_tile_cache();
}

TEST(TileCache, LeastRecentlyUsedGoFirstAndFailuresAreNotKept) {
  raster::clear_tile_cache();
  raster::set_tile_cache_capacity(3 * 100);
  int decodes = 0;
  auto get = [&](std::int64_t col) {
    return raster::cached_tile(raster::TileKey{"test", col, 0}, 100, [&](std::byte* p) {
      ++decodes;
      p[0] = static_cast<std::byte>(col);
    });
  };
  for (std::int64_t c : {0, 1, 2, 0, 3}) EXPECT_EQ((*get(c))[0], static_cast<std::byte>(c));  // 3 evicts 1, not 0
  EXPECT_EQ(decodes, 4);
  get(0);
  get(2);
  EXPECT_EQ(decodes, 4);
  get(1);
  EXPECT_EQ(decodes, 5);
  EXPECT_EQ(raster::tile_cache_stats().bytes, 300u);
  EXPECT_THROW(raster::cached_tile(raster::TileKey{"test", 9, 0}, 100, [](std::byte*) { throw IOError("broken tile"); }),
               IOError);
  auto again = raster::cached_tile(raster::TileKey{"test", 9, 0}, 100, [](std::byte* p) { p[0] = std::byte{9}; });
  EXPECT_EQ((*again)[0], std::byte{9});
  // Threads asking for one tile at once: it is decoded once, all get it.
  raster::clear_tile_cache();
  std::atomic<int> slow_decodes{0};
  std::vector<std::thread> threads;
  std::vector<int> seen(6, 0);
  for (int k = 0; k < 6; ++k)
    threads.emplace_back([&, k] {
      auto t = raster::cached_tile(raster::TileKey{"test", 42, 1}, 100, [&](std::byte* p) {
        ++slow_decodes;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        p[0] = std::byte{42};
      });
      seen[static_cast<std::size_t>(k)] = static_cast<int>((*t)[0]);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(slow_decodes.load(), 1);
  for (int v : seen) EXPECT_EQ(v, 42);
  raster::set_tile_cache_capacity(std::size_t{64} << 20);
  raster::clear_tile_cache();
}
