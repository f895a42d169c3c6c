// raster::TileDecoder: tiles decoded without libtiff must equal GDALRasterBand::ReadBlock's bit for bit
// (DEFLATE with predictors 1, 2 and 3, every pixel type, edge tiles, COG layout, over HTTP), and
// everything it cannot decode (other codecs, big-endian, pixel interleaving, sparse, corrupt or
// truncated tiles, strips) goes to ReadBlock, whose answer or error (naming href and tile) stands.
#include <gtest/gtest.h>

#include <gdal_priv.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "cubist/error.hpp"
#include "net/http_server.hpp"
#include "raster/raster.hpp"
#include "raster/tiff_tile_decoder.hpp"
#include "raster/tile_cache.hpp"

using namespace cubist;
namespace fs = std::filesystem;

namespace {

// Smooth gradients plus noise (what predictors are for), over the type's whole range.
double pixel(int band, int r, int c, GDALDataType type) {
  const double v = std::sin(r * 0.05 + band) * 900 + c * 3.7 + ((r * 31 + c * 17) % 23) - 11;
  if (type == GDT_Byte) return std::fmod(std::abs(v), 256);
  if (type == GDT_UInt16 || type == GDT_UInt32 || type == GDT_UInt64) return std::abs(v) * 13;
  if (type == GDT_Float32 || type == GDT_Float64) return v / 7.0;
  return v * 5;  // signed: negatives too
}

class TileDecoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    raster::ensure_gdal();
    dir = fs::temp_directory_path() / ("cubist_tile_decoder_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  // A w x h raster of `bands` bands written by the GTiff (or COG) driver with `options`.
  std::string write(const std::string& name, GDALDataType type, int w, int h, std::vector<std::string> options,
                    int bands = 1, const char* driver = "GTiff") {
    const std::string file = (dir / name).string();
    GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
    GDALDatasetUniquePtr src(mem->Create("", w, h, bands, type, nullptr));
    std::vector<double> v(static_cast<std::size_t>(w) * static_cast<std::size_t>(h));
    for (int b = 1; b <= bands; ++b) {
      for (int r = 0; r < h; ++r)
        for (int c = 0; c < w; ++c) v[static_cast<std::size_t>(r * w + c)] = pixel(b, r, c, type);
      EXPECT_EQ(src->GetRasterBand(b)->RasterIO(GF_Write, 0, 0, w, h, v.data(), w, h, GDT_Float64, 0, 0, nullptr), CE_None);
    }
    std::vector<const char*> opts;
    for (const auto& o : options) opts.push_back(o.c_str());
    opts.push_back(nullptr);
    GDALDatasetUniquePtr out(GetGDALDriverManager()->GetDriverByName(driver)->CreateCopy(
        file.c_str(), src.get(), FALSE, const_cast<char**>(opts.data()), nullptr, nullptr));
    EXPECT_TRUE(out) << name;
    return file;
  }

  // Decodes every tile of every band both ways; returns how many went the direct way.
  static int compare_all_tiles(const std::string& file) {
    GDALDatasetUniquePtr ds(GDALDataset::Open(file.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
    EXPECT_TRUE(ds) << file;
    if (!ds) return -1;
    raster::TileDecoder decoder(file, *ds);
    int direct = 0;
    for (int b = 1; b <= ds->GetRasterCount(); ++b) {
      GDALRasterBand& band = *ds->GetRasterBand(b);
      int bx = 0, by = 0;
      band.GetBlockSize(&bx, &by);
      const std::size_t bytes = static_cast<std::size_t>(bx) * static_cast<std::size_t>(by) *
                                static_cast<std::size_t>(GDALGetDataTypeSizeBytes(band.GetRasterDataType()));
      std::vector<std::byte> want(bytes), got(bytes);
      for (int tr = 0; tr * by < band.GetYSize(); ++tr)
        for (int tc = 0; tc * bx < band.GetXSize(); ++tc) {
          raster::read_block(band, file, tc, tr, want.data());
          std::memset(got.data(), 0xA5, bytes);
          if (decoder.decode_direct(band, tc, tr, got.data())) {
            ++direct;
            EXPECT_EQ(std::memcmp(want.data(), got.data(), bytes), 0) << file << " band " << b << " tile " << tc << "," << tr;
          }
          std::memset(got.data(), 0x5A, bytes);
          decoder.decode(band, tc, tr, got.data());
          EXPECT_EQ(std::memcmp(want.data(), got.data(), bytes), 0) << file << " band " << b << " tile " << tc << "," << tr;
        }
    }
    return direct;
  }

  static int tile_count(int w, int h, int bx, int by, int bands = 1) {
    return ((w + bx - 1) / bx) * ((h + by - 1) / by) * bands;
  }

  fs::path dir;
};

}  // namespace

TEST_F(TileDecoderTest, DeflateTilesOfEveryTypeAndPredictorEqualReadBlock) {
  const std::vector<GDALDataType> types = {GDT_Byte, GDT_UInt16, GDT_Int16, GDT_UInt32, GDT_Int32,
                                           GDT_Float32, GDT_Float64, GDT_Int64, GDT_UInt64};
  for (GDALDataType type : types) {
    std::vector<std::string> predictors = {"1", "2"};
    if (type == GDT_Float32 || type == GDT_Float64) predictors.push_back("3");
    for (const auto& p : predictors) {
      // 200 x 150 in 64 x 48 tiles: partial tiles on the right and bottom edges.
      const std::string name = std::string(GDALGetDataTypeName(type)) + "_p" + p + ".tif";
      const auto file = write(name, type, 200, 150,
                              {"TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=48", "COMPRESS=DEFLATE", "PREDICTOR=" + p});
      EXPECT_EQ(compare_all_tiles(file), tile_count(200, 150, 64, 48)) << name;
    }
  }
}

TEST_F(TileDecoderTest, CogLayoutAndSeparateBandPlanesGoDirect) {
  // The COG driver's layout (tile leaders and trailers, overviews first), as the demo's data.
  const auto cog = write("cog.tif", GDT_UInt16, 700, 530, {"BLOCKSIZE=256", "COMPRESS=DEFLATE", "PREDICTOR=YES"}, 1, "COG");
  EXPECT_EQ(compare_all_tiles(cog), tile_count(700, 530, 256, 256));
  const auto planes = write("planes.tif", GDT_Int16, 130, 70,
                            {"TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64", "COMPRESS=DEFLATE", "PREDICTOR=2",
                             "INTERLEAVE=BAND"},
                            3);
  EXPECT_EQ(compare_all_tiles(planes), tile_count(130, 70, 64, 64, 3));
}

TEST_F(TileDecoderTest, OtherLayoutsFallBackToReadBlock) {
  const std::vector<std::string> tiled = {"TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), tiled.begin(), tiled.end());
    return extra;
  };
  // Each file is decoded by ReadBlock only (compare_all_tiles checks decode() against it).
  EXPECT_EQ(compare_all_tiles(write("lzw.tif", GDT_UInt16, 100, 90, with({"COMPRESS=LZW", "PREDICTOR=2"}))), 0);
  EXPECT_EQ(compare_all_tiles(write("raw.tif", GDT_UInt16, 100, 90, tiled)), 0);
  EXPECT_EQ(compare_all_tiles(write("big_endian.tif", GDT_UInt16, 100, 90,
                                    with({"COMPRESS=DEFLATE", "PREDICTOR=2", "ENDIANNESS=BIG"}))),
            0);
  EXPECT_EQ(compare_all_tiles(write("pixel.tif", GDT_Byte, 100, 90, with({"COMPRESS=DEFLATE", "INTERLEAVE=PIXEL"}), 3)), 0);
  EXPECT_EQ(compare_all_tiles(write("nbits.tif", GDT_UInt16, 100, 90, with({"COMPRESS=DEFLATE", "NBITS=12"}))), 0);
  // Strips: every full strip is direct (its rows are the image's), the short last one is ReadBlock's.
  EXPECT_EQ(compare_all_tiles(write("strips.tif", GDT_UInt16, 100, 90, {"BLOCKYSIZE=64", "COMPRESS=DEFLATE", "PREDICTOR=2"})),
            1);
}

TEST_F(TileDecoderTest, SparseTilesAreGdalsNodata) {
  const std::string file = (dir / "sparse.tif").string();
  {
    const char* opts[] = {"TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64", "COMPRESS=DEFLATE", "PREDICTOR=2", "SPARSE_OK=TRUE",
                          nullptr};
    GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(
        file.c_str(), 128, 128, 1, GDT_UInt16, const_cast<char**>(opts)));
    ds->GetRasterBand(1)->SetNoDataValue(7);
    std::vector<std::uint16_t> v(64 * 64, 1234);
    ASSERT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Write, 64, 0, 64, 64, v.data(), 64, 64, GDT_UInt16, 0, 0, nullptr), CE_None);
  }
  EXPECT_EQ(compare_all_tiles(file), 1);  // only the tile written has bytes in the file
  GDALDatasetUniquePtr ds(GDALDataset::Open(file.c_str(), GDAL_OF_RASTER));
  raster::TileDecoder decoder(file, *ds);
  std::vector<std::uint16_t> tile(64 * 64);
  decoder.decode(*ds->GetRasterBand(1), 0, 1, reinterpret_cast<std::byte*>(tile.data()));
  EXPECT_EQ(tile[0], 7);
  EXPECT_EQ(tile[64 * 64 - 1], 7);
}

TEST_F(TileDecoderTest, CorruptAndTruncatedTilesAreErrorsNamingHrefAndTile) {
  const auto file = write("bad.tif", GDT_UInt16, 128, 128,
                          {"TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64", "COMPRESS=DEFLATE", "PREDICTOR=2"});
  std::uint64_t offset = 0, size = 0, last_offset = 0;
  {
    GDALDatasetUniquePtr ds(GDALDataset::Open(file.c_str(), GDAL_OF_RASTER));
    offset = std::stoull(ds->GetRasterBand(1)->GetMetadataItem("BLOCK_OFFSET_1_0", "TIFF"));
    size = std::stoull(ds->GetRasterBand(1)->GetMetadataItem("BLOCK_SIZE_1_0", "TIFF"));
    last_offset = std::stoull(ds->GetRasterBand(1)->GetMetadataItem("BLOCK_OFFSET_1_1", "TIFF"));
  }
  auto expect_error = [&](int col, int row) {
    GDALDatasetUniquePtr ds(GDALDataset::Open(file.c_str(), GDAL_OF_RASTER));
    ASSERT_TRUE(ds);
    raster::TileDecoder decoder(file, *ds);
    std::vector<std::uint16_t> tile(64 * 64);
    auto* dst = reinterpret_cast<std::byte*>(tile.data());
    EXPECT_FALSE(decoder.decode_direct(*ds->GetRasterBand(1), col, row, dst));
    try {
      decoder.decode(*ds->GetRasterBand(1), col, row, dst);
      ADD_FAILURE() << "no error for tile " << col << "," << row;
    } catch (const IOError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(file), std::string::npos) << what;
      EXPECT_NE(what.find(fmt::format("tile (col {}, row {})", col, row)), std::string::npos) << what;
    }
  };
  {
    // Garbage in the middle of tile (1, 0)'s deflate stream.
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset + size / 2));
    const std::string junk(16, '\xff');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  expect_error(1, 0);
  // Cut the file inside the last tile (the GTiff driver writes tiles in order, header first).
  ASSERT_GT(last_offset, offset);
  fs::resize_file(file, last_offset + 10);
  expect_error(1, 1);
}

TEST_F(TileDecoderTest, CogOverHttpIsDecodedFromRangeRequests) {
  const auto cog = write("http.tif", GDT_UInt16, 300, 200, {"BLOCKSIZE=128", "COMPRESS=DEFLATE", "PREDICTOR=YES"}, 1, "COG");
  net::HttpServer server;
  server.mount_directory("/data", dir.string());
  server.start();
  const std::string href = server.base_url() + "/data/http.tif";
  GDALDatasetUniquePtr local(GDALDataset::Open(cog.c_str(), GDAL_OF_RASTER));
  GDALDatasetUniquePtr remote(GDALDataset::Open(raster::gdal_path(href).c_str(), GDAL_OF_RASTER));
  ASSERT_TRUE(remote);
  raster::TileDecoder decoder(href, *remote);
  const auto before = server.stats().range_requests;
  std::vector<std::uint16_t> want(128 * 128), got(128 * 128);
  for (int tr = 0; tr < 2; ++tr)
    for (int tc = 0; tc < 3; ++tc) {
      raster::read_block(*local->GetRasterBand(1), cog, tc, tr, reinterpret_cast<std::byte*>(want.data()));
      ASSERT_TRUE(decoder.decode_direct(*remote->GetRasterBand(1), tc, tr, reinterpret_cast<std::byte*>(got.data())));
      EXPECT_EQ(want, got) << tc << "," << tr;
    }
  EXPECT_GT(server.stats().range_requests, before);
}

TEST(TiffPredictor, RunningSumsMatchTheDefinitionAtEveryWidth) {
  // Widths with and without a tail after the 16-byte blocks, every sample width, wrapping sums.
  std::mt19937_64 rng(7);
  for (int bytes : {1, 2, 4, 8})
    for (int width : {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100}) {
      raster::DirectTileFormat f;
      f.sample_bytes = bytes;
      f.predictor = 2;
      f.block_x = width;
      f.block_y = 3;
      std::vector<std::byte> tile(f.tile_bytes()), want;
      for (auto& b : tile) b = static_cast<std::byte>(rng());
      want = tile;
      for (int r = 0; r < 3; ++r)
        for (int i = 1; i < width; ++i) {
          auto* row = want.data() + static_cast<std::size_t>(r * width * bytes);
          std::uint64_t prev = 0, cur = 0;
          std::memcpy(&prev, row + (i - 1) * bytes, static_cast<std::size_t>(bytes));
          std::memcpy(&cur, row + i * bytes, static_cast<std::size_t>(bytes));
          cur += prev;  // little-endian: the low `bytes` bytes are the sum modulo 2^(8 bytes)
          std::memcpy(row + i * bytes, &cur, static_cast<std::size_t>(bytes));
        }
      raster::undo_predictor(f, tile.data());
      EXPECT_EQ(tile, want) << bytes << " bytes, width " << width;
    }
}

TEST(TileCacheSize, CubistTileCacheMbIsAWholeNumberOfMegabytes) {
  const char* saved = std::getenv("CUBIST_TILE_CACHE_MB");
  const std::string keep = saved ? saved : "";
  ::unsetenv("CUBIST_TILE_CACHE_MB");
  EXPECT_EQ(raster::tile_cache_capacity_from_env(), std::size_t{64} << 20);
  ::setenv("CUBIST_TILE_CACHE_MB", "0", 1);
  EXPECT_EQ(raster::tile_cache_capacity_from_env(), 0u);
  ::setenv("CUBIST_TILE_CACHE_MB", "48", 1);
  EXPECT_EQ(raster::tile_cache_capacity_from_env(), std::size_t{48} << 20);
  for (const char* bad : {"", "abc", "12MB", "-1", " 8", "8 ", "1.5", "+4", "99999999999999999999", "1000000000"}) {
    ::setenv("CUBIST_TILE_CACHE_MB", bad, 1);
    try {
      raster::tile_cache_capacity_from_env();
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("CUBIST_TILE_CACHE_MB='") + bad + "'"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
  if (saved) ::setenv("CUBIST_TILE_CACHE_MB", keep.c_str(), 1);
  else ::unsetenv("CUBIST_TILE_CACHE_MB");
}

TEST_F(TileDecoderTest, ABadTileCacheSizeFailsTheFirstTiledRead) {
  // In a fresh process (the cache reads the variable once, when first used).
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto file = write("cache.tif", GDT_UInt16, 128, 128, {"TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64"});
  EXPECT_EXIT(
      {
        ::setenv("CUBIST_TILE_CACHE_MB", "lots", 1);
        raster::AssetRead a;
        a.href = file;
        Chunk out = Chunk::allocate(DType::Float64, {64, 64});
        try {
          raster::read_into(a, raster::Grid{"", Affine{1, 0, 0, 0, 1, 0}, 64, 64}, NAN, out);
        } catch (const ValueError& e) {
          std::fprintf(stderr, "%s\n", e.what());
          std::_Exit(3);
        }
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(3), "CUBIST_TILE_CACHE_MB='lots': expected a whole number of MiB");
}
