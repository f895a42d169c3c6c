// raster::TileDecoder over HTTP: a COG's tile bytes fetched by one range GET of net::HttpClient
// equal /vsicurl/'s, decoded tiles equal ReadBlock's; GDAL options the client would not honour send
// the bytes through /vsicurl/; a failing direct read falls back to ReadBlock exactly as a failing
// /vsicurl/ read did (its answer or its error, naming href and tile).
#include <gtest/gtest.h>

#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <gdal_priv.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>

#include "cubist/error.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "raster/raster.hpp"
#include "raster/tiff_tile_decoder.hpp"

using namespace cubist;
namespace fs = std::filesystem;

namespace {

// Sets a GDAL config option for this thread (where GDAL reads it) for a scope.
class ThreadOption {
 public:
  ThreadOption(const char* key, const char* value) : key_(key) { CPLSetThreadLocalConfigOption(key, value); }
  ~ThreadOption() { CPLSetThreadLocalConfigOption(key_, nullptr); }

 private:
  const char* key_;
};

struct Tile {
  int col, row;
  std::uint64_t offset, size;
};

class TileHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    raster::ensure_gdal();
    dir = fs::temp_directory_path() / ("cubist_tile_http_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    // Gradient plus noise, as a scene: tiles of tens of KiB, most beyond /vsicurl/'s first 16 KiB.
    const int w = 700, h = 530;
    GDALDatasetUniquePtr src(GetGDALDriverManager()->GetDriverByName("MEM")->Create("", w, h, 1, GDT_UInt16, nullptr));
    std::vector<std::uint16_t> v(static_cast<std::size_t>(w) * h);
    std::mt19937 rng(7);
    for (int r = 0; r < h; ++r)
      for (int c = 0; c < w; ++c) v[static_cast<std::size_t>(r) * w + c] = static_cast<std::uint16_t>(r * 40 + c * 9 + rng() % 700);
    EXPECT_EQ(src->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, w, h, v.data(), w, h, GDT_UInt16, 0, 0, nullptr), CE_None);
    cog = (dir / "scene.tif").string();
    const char* opts[] = {"BLOCKSIZE=256", "COMPRESS=DEFLATE", "PREDICTOR=YES", nullptr};
    GDALDatasetUniquePtr out(GetGDALDriverManager()->GetDriverByName("COG")->CreateCopy(
        cog.c_str(), src.get(), FALSE, const_cast<char**>(opts), nullptr, nullptr));
    ASSERT_TRUE(out);
    out.reset();
    local.reset(GDALDataset::Open(cog.c_str(), GDAL_OF_RASTER));
    ASSERT_TRUE(local);
    GDALRasterBand& band = *local->GetRasterBand(1);
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c)
        tiles.push_back({c, r, std::stoull(band.GetMetadataItem(fmt::format("BLOCK_OFFSET_{}_{}", c, r).c_str(), "TIFF")),
                         std::stoull(band.GetMetadataItem(fmt::format("BLOCK_SIZE_{}_{}", c, r).c_str(), "TIFF"))});
    std::ifstream in(cog, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  void TearDown() override {
    server.stop();
    local.reset();
    fs::remove_all(dir);
  }

  std::vector<std::uint16_t> read_block(GDALDataset& ds, const std::string& href, int col, int row) {
    std::vector<std::uint16_t> out(256 * 256);
    raster::read_block(*ds.GetRasterBand(1), href, col, row, reinterpret_cast<std::byte*>(out.data()));
    return out;
  }

  static GDALDatasetUniquePtr open_remote(const std::string& href) {
    return GDALDatasetUniquePtr(GDALDataset::Open(raster::gdal_path(href).c_str(), GDAL_OF_RASTER));
  }

  fs::path dir;
  std::string cog, bytes;
  GDALDatasetUniquePtr local;
  std::vector<Tile> tiles;
  net::HttpServer server;
};

}  // namespace

TEST(DirectHttpUrl, OnlyPlainVsicurlHttpPaths) {
  raster::ensure_gdal();
  EXPECT_EQ(raster::direct_http_url("/vsicurl/http://127.0.0.1:9/a.tif"), "http://127.0.0.1:9/a.tif");
  EXPECT_EQ(raster::direct_http_url("/vsicurl/https://example.org/a.tif?x=1"), "https://example.org/a.tif?x=1");
  for (const char* p : {"/tmp/a.tif", "/vsis3/bucket/a.tif", "/vsicurl?url=http%3A%2F%2F127.0.0.1%2Fa.tif",
                        "/vsicurl/ftp://127.0.0.1/a.tif", "/vsiaz/c/a.tif", "http://127.0.0.1/a.tif"})
    EXPECT_EQ(raster::direct_http_url(p), std::nullopt) << p;
}

TEST(DirectHttpUrl, GdalOptionsOurClientWouldNotHonourKeepVsicurl) {
  raster::ensure_gdal();
  const std::string http = "/vsicurl/http://127.0.0.1:9/a.tif", https = "/vsicurl/https://127.0.0.1:9/a.tif";
  for (const char* key : {"GDAL_HTTP_HEADERS", "GDAL_HTTP_HEADER_FILE", "GDAL_HTTP_USERPWD", "GDAL_HTTP_AUTH",
                          "GDAL_HTTP_BEARER", "GDAL_HTTP_PROXY", "GDAL_HTTPS_PROXY", "GDAL_HTTP_COOKIE",
                          "GDAL_HTTP_NETRC", "GDAL_HTTP_USERAGENT", "CPL_VSIL_CURL_USE_HEAD", "VSICURL_PC_URL_SIGNING"}) {
    ThreadOption option(key, "X");
    EXPECT_EQ(raster::direct_http_url(http), std::nullopt) << key;
    EXPECT_EQ(raster::direct_http_url(https), std::nullopt) << key;
  }
  {
    // Certificates matter for https only.
    ThreadOption option("GDAL_HTTP_UNSAFESSL", "YES");
    EXPECT_EQ(raster::direct_http_url(https), std::nullopt);
    EXPECT_EQ(raster::direct_http_url(http), "http://127.0.0.1:9/a.tif");
  }
  for (const char* key : {"GDAL_CURL_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"}) {
    // Another CA bundle than libcurl's: GDAL trusts other peers. The same one (as many systems set
    // in the environment): no difference.
    {
      ThreadOption option(key, "/somewhere/else.pem");
      EXPECT_EQ(raster::direct_http_url(https), std::nullopt) << key;
      EXPECT_EQ(raster::direct_http_url(http), "http://127.0.0.1:9/a.tif") << key;
    }
    if (!net::default_ca_bundle().empty()) {
      ThreadOption option(key, net::default_ca_bundle().c_str());
      EXPECT_EQ(raster::direct_http_url(https), "https://127.0.0.1:9/a.tif") << key;
    }
  }
  {
    // Retries and timeouts are the engine client's own policy (ensure_gdal sets GDAL's anyway).
    ThreadOption option("GDAL_HTTP_TIMEOUT", "5");
    EXPECT_EQ(raster::direct_http_url(http), "http://127.0.0.1:9/a.tif");
  }
  // Set globally, in the environment, or for this path only: the same.
  CPLSetConfigOption("GDAL_HTTP_COOKIE", "a=b");
  EXPECT_EQ(raster::direct_http_url(http), std::nullopt);
  CPLSetConfigOption("GDAL_HTTP_COOKIE", nullptr);
  ::setenv("GDAL_HTTP_HEADERS", "X-A: b", 1);
  EXPECT_EQ(raster::direct_http_url(http), std::nullopt);
  ::unsetenv("GDAL_HTTP_HEADERS");
  VSISetPathSpecificOption("/vsicurl/http://127.0.0.1:9/", "GDAL_HTTP_HEADERS", "X-A: b");
  EXPECT_EQ(raster::direct_http_url(http), std::nullopt);
  EXPECT_EQ(raster::direct_http_url("/vsicurl/http://127.0.0.1:8/a.tif"), "http://127.0.0.1:8/a.tif");
  VSIClearPathSpecificOptions("/vsicurl/http://127.0.0.1:9/");
  EXPECT_EQ(raster::direct_http_url(http), "http://127.0.0.1:9/a.tif");
}

TEST_F(TileHttpTest, RangeGetBytesEqualVsicurlsAndTilesEqualReadBlock) {
  server.mount_directory("/data", dir.string());
  server.start();
  const std::string href = server.base_url() + "/data/scene.tif";
  ASSERT_EQ(raster::direct_http_url(raster::gdal_path(href)), href);
  net::HttpClient client;
  VSILFILE* fp = VSIFOpenL(raster::gdal_path(href).c_str(), "rb");
  ASSERT_NE(fp, nullptr);
  for (const Tile& t : tiles) {
    std::vector<std::byte> direct(t.size), vsi(t.size);
    ASSERT_EQ(client.get_range_into(href, t.offset, t.size, direct.data()), t.size);
    ASSERT_EQ(VSIFSeekL(fp, t.offset, SEEK_SET), 0);
    ASSERT_EQ(VSIFReadL(vsi.data(), 1, t.size, fp), t.size);
    EXPECT_EQ(direct, vsi) << t.col << "," << t.row;
    EXPECT_EQ(std::memcmp(direct.data(), bytes.data() + t.offset, t.size), 0);
  }
  VSIFCloseL(fp);

  auto remote = open_remote(href);
  ASSERT_TRUE(remote);
  raster::TileDecoder decoder(href, *remote);
  const auto before = raster::tile_decode_stats();
  const auto requests = server.stats().range_requests;
  std::vector<std::uint16_t> got(256 * 256);
  for (const Tile& t : tiles) {
    ASSERT_TRUE(decoder.decode_direct(*remote->GetRasterBand(1), t.col, t.row, reinterpret_cast<std::byte*>(got.data())));
    EXPECT_EQ(got, read_block(*local, cog, t.col, t.row)) << t.col << "," << t.row;
  }
  const auto after = raster::tile_decode_stats();
  EXPECT_EQ(after.http_reads - before.http_reads, static_cast<std::int64_t>(tiles.size()));
  EXPECT_EQ(server.stats().range_requests - requests, tiles.size());  // one GET per tile
  // And GDAL's own reading of the same remote file agrees (bit for bit, every tile).
  for (const Tile& t : tiles) EXPECT_EQ(read_block(*remote, href, t.col, t.row), read_block(*local, cog, t.col, t.row));
}

TEST_F(TileHttpTest, WithGdalHeadersSetTheBytesComeThroughVsicurlWithThem) {
  // A server that wants a header GDAL_HTTP_HEADERS adds: only /vsicurl/ sends it.
  server.route("GET", "/private/(\\w+)\\.tif", [this](const net::ServerRequest& r) {
    auto key = r.headers.find("x-cubist-key");
    std::smatch m;
    const std::string range = r.headers.count("range") ? r.headers.at("range") : "";
    if (!std::regex_match(range, m, std::regex(R"(bytes=(\d+)-(\d+))")))
      return net::ServerResponse{200, bytes, "image/tiff"};
    const std::uint64_t a = std::stoull(m[1]), b = std::min<std::uint64_t>(std::stoull(m[2]), bytes.size() - 1);
    // The header (GDAL's first read, from 0) is public, the tiles are not.
    if (a > 0 && (key == r.headers.end() || key->second != "open sesame"))
      return net::ServerResponse{403, "key missing", "text/plain"};
    net::ServerResponse res{206, bytes.substr(a, b - a + 1), "image/tiff"};
    res.headers.emplace_back("Content-Range", fmt::format("bytes {}-{}/{}", a, b, bytes.size()));
    return res;
  });
  server.start();
  std::vector<std::uint16_t> got(256 * 256);
  const Tile& t = tiles.back();
  {
    ThreadOption option("GDAL_HTTP_HEADERS", "X-Cubist-Key: open sesame");
    const std::string href = server.base_url() + "/private/with.tif";
    EXPECT_EQ(raster::direct_http_url(raster::gdal_path(href)), std::nullopt);
    auto remote = open_remote(href);
    ASSERT_TRUE(remote);
    raster::TileDecoder decoder(href, *remote);
    const auto before = raster::tile_decode_stats();
    ASSERT_TRUE(decoder.decode_direct(*remote->GetRasterBand(1), t.col, t.row, reinterpret_cast<std::byte*>(got.data())));
    EXPECT_EQ(got, read_block(*local, cog, t.col, t.row));
    EXPECT_EQ(raster::tile_decode_stats().http_reads, before.http_reads);
  }
  // Without the option nobody sends the key: the direct GET is refused, so is ReadBlock's.
  const std::string href = server.base_url() + "/private/without.tif";
  auto remote = open_remote(href);
  ASSERT_TRUE(remote);
  raster::TileDecoder decoder(href, *remote);
  EXPECT_FALSE(decoder.decode_direct(*remote->GetRasterBand(1), t.col, t.row, reinterpret_cast<std::byte*>(got.data())));
  EXPECT_THROW(decoder.decode(*remote->GetRasterBand(1), t.col, t.row, reinterpret_cast<std::byte*>(got.data())),
               IOError);
}

TEST_F(TileHttpTest, FailingReadsFallBackToReadBlockAsVsicurlReadsDid) {
  // Serves the COG; ranges that touch the target tile's bytes (after the header) are answered
  // according to the mode in the path, to everyone or only to the engine's client.
  const Tile target = tiles[4];  // the middle tile: far past the first 16 KiB GDAL reads on open
  ASSERT_GT(target.offset, 16384u);
  server.route("GET", "/m/(\\w+)/(\\w+)/scene\\.tif", [&](const net::ServerRequest& r) {
    const std::string mode = r.matches[1];
    std::smatch m;
    const std::string range = r.headers.count("range") ? r.headers.at("range") : "";
    if (!std::regex_match(range, m, std::regex(R"(bytes=(\d+)-(\d+))")))
      return net::ServerResponse{200, bytes, "image/tiff"};
    const std::uint64_t a = std::stoull(m[1]), b = std::min<std::uint64_t>(std::stoull(m[2]), bytes.size() - 1);
    const bool ours = r.headers.count("user-agent") && r.headers.at("user-agent").rfind("cubist/", 0) == 0;
    const bool touches = a > 0 && a < target.offset + target.size && b >= target.offset;
    std::uint64_t last = b, total = bytes.size();
    if (touches && (mode != "ours404" || ours)) {
      if (mode == "all404" || mode == "ours404") return net::ServerResponse{404, "gone", "text/plain"};
      if (mode == "all500") return net::ServerResponse{500, "broken", "text/plain"};
      if (mode == "short") {  // the file cut in the middle of the tile since it was opened
        total = target.offset + target.size / 2;
        if (a >= total) {
          net::ServerResponse res{416, "Range Not Satisfiable", "text/plain"};
          res.headers.emplace_back("Content-Range", fmt::format("bytes */{}", total));
          return res;
        }
        last = std::min(b, total - 1);
      }
    }
    net::ServerResponse res{206, bytes.substr(a, last - a + 1), "image/tiff"};
    res.headers.emplace_back("Content-Range", fmt::format("bytes {}-{}/{}", a, last, total));
    return res;
  });
  server.start();
  const auto want = read_block(*local, cog, target.col, target.row);
  struct Outcome {
    bool direct = false, decoded = false;
    std::string error;
    std::vector<std::uint16_t> tile;
  };
  // One fresh URL per run: /vsicurl/ caches what it fetched by URL.
  auto run = [&](const std::string& mode, const std::string& run_name) {
    const std::string href = server.base_url() + "/m/" + mode + "/" + run_name + "/scene.tif";
    auto remote = open_remote(href);
    EXPECT_TRUE(remote) << href;
    Outcome o;
    if (!remote) return o;
    raster::TileDecoder decoder(href, *remote);
    std::vector<std::uint16_t> tile(256 * 256);
    o.direct = decoder.decode_direct(*remote->GetRasterBand(1), target.col, target.row, reinterpret_cast<std::byte*>(tile.data()));
    try {
      decoder.decode(*remote->GetRasterBand(1), target.col, target.row, reinterpret_cast<std::byte*>(tile.data()));
      o.decoded = true;
      o.tile = tile;
    } catch (const IOError& e) {
      o.error = e.what();
      EXPECT_NE(o.error.find(href), std::string::npos) << o.error;
      EXPECT_NE(o.error.find(fmt::format("tile (col {}, row {})", target.col, target.row)), std::string::npos) << o.error;
    }
    return o;
  };
  // GDAL's retries on 500 are its own business; quick here.
  ThreadOption retries("GDAL_HTTP_MAX_RETRY", "0");
  for (const std::string mode : {"all404", "all500", "short"}) {
    const Outcome direct = run(mode, "direct");
    Outcome vsi;
    {
      ThreadOption option("GDAL_HTTP_HEADERS", "X-Nothing: 1");  // the /vsicurl/ path, as before
      vsi = run(mode, "vsi");
    }
    EXPECT_FALSE(direct.direct) << mode;
    EXPECT_FALSE(vsi.direct) << mode;
    EXPECT_EQ(direct.decoded, vsi.decoded) << mode << ": " << direct.error << " / " << vsi.error;
    EXPECT_FALSE(direct.decoded) << mode;
  }
  // Only the engine's GETs fail: the tile is ReadBlock's, through /vsicurl/.
  const auto before = raster::tile_decode_stats();
  const Outcome fallback = run("ours404", "direct");
  EXPECT_FALSE(fallback.direct);
  ASSERT_TRUE(fallback.decoded) << fallback.error;
  EXPECT_EQ(fallback.tile, want);
  EXPECT_EQ(raster::tile_decode_stats().gdal, before.gdal + 1);
  // And a healthy tile of the same server still goes the direct way.
  const Outcome healthy = run("none", "direct");
  EXPECT_TRUE(healthy.direct);
  EXPECT_EQ(healthy.tile, want);
}
