#include "raster/tiff_tile_decoder.hpp"

#include <cpl_vsi.h>
#include <fmt/format.h>
#include <libdeflate.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

// The SSE2 byte shifts and shuffles take immediates, which unoptimised builds (__NO_INLINE__) cannot
// pass through the intrinsics' inline functions: those builds use the scalar loop.
#if defined(__SSE2__) && !defined(__NO_INLINE__)
#define CUBIST_PREDICTOR_SSE2 1
#include <emmintrin.h>
#endif

#include "cubist/error.hpp"
#include "net/http_client.hpp"
#include "raster/raster.hpp"

namespace cubist::raster {
namespace {

std::atomic<std::int64_t> direct_decodes{0}, gdal_decodes{0}, http_reads{0};

// One client for every tile read: its kept-alive connections serve all datasets and threads.
const net::HttpClient& tile_client() {
  static const net::HttpClient client;
  return client;
}

// GDAL options (GDAL 3.6 cpl_http.cpp / cpl_vsil_curl.cpp, plus names later versions added) under
// which /vsicurl/ sends something else than a plain GET of the URL, or through another route.
// Any of them set: GDAL's /vsicurl/ reads the tile, as it always did.
// Not listed, because they do not change the bytes of a range GET: retries and timeouts (the
// client's own policy: 4 retries with backoff, 60 s per attempt; GDAL_HTTP_MAX_RETRY and
// GDAL_HTTP_RETRY_DELAY are set by ensure_gdal anyway), GDAL's caches, chunk size and range
// merging, HTTP/2 multiplexing, CPL_CURL_VERBOSE. The proxy environment variables (http_proxy,
// https_proxy, no_proxy) are read by libcurl itself, for both clients alike. /vsis3/, /vsiaz/,
// /vsigs/ and their signing options never come here: only "/vsicurl/http..." paths do.
constexpr const char* kGdalHttpOptionsWeDoNotHonour[] = {
    "GDAL_HTTP_HEADERS", "GDAL_HTTP_HEADER_FILE", "GDAL_HTTP_USERPWD", "GDAL_HTTP_AUTH", "GDAL_HTTP_BEARER",
    "GDAL_GSSAPI_DELEGATION", "GDAL_HTTP_NETRC", "GDAL_HTTP_NETRC_FILE", "GDAL_HTTP_COOKIE", "GDAL_HTTP_COOKIEFILE",
    "GDAL_HTTP_COOKIEJAR", "GDAL_HTTP_USERAGENT", "GDAL_HTTP_VERSION", "GDAL_HTTP_PROXY", "GDAL_HTTPS_PROXY",
    "GDAL_HTTP_PROXYUSERPWD", "GDAL_PROXY", "GDAL_PROXY_AUTH", "CPL_CURL_GZIP", "CPL_VSIL_CURL_USE_HEAD",
    "CPL_VSIL_CURL_USE_S3_REDIRECT", "VSICURL_PC_URL_SIGNING", "VSICURL_PC_COLLECTION", "VSICURL_PC_SAS_SIGN_HREF_URL",
    "VSICURL_PC_SAS_TOKEN_URL", "CPL_CURL_ENABLE_VSIMEM",
};
// The same for https:// only: which certificates GDAL trusts or presents.
constexpr const char* kGdalTlsOptionsWeDoNotHonour[] = {
    "GDAL_HTTP_UNSAFESSL", "GDAL_HTTP_SSL_VERIFYSTATUS", "GDAL_HTTP_USE_CAPI_STORE", "GDAL_HTTP_CAPATH",
    "GDAL_HTTP_SSLCERT", "GDAL_HTTP_SSLCERTTYPE", "GDAL_HTTP_SSLKEY", "GDAL_HTTP_KEYPASSWD",
};
// GDAL's CA bundle for https (which one wins depends on the GDAL version: any of them counts).
// Many systems set CURL_CA_BUNDLE or SSL_CERT_FILE to the distribution's bundle, which is
// libcurl's default too: only another file makes the trust differ.
constexpr const char* kGdalCaBundleOptions[] = {"GDAL_CURL_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"};

// ---- TIFF predictors (libtiff's tif_predict.c, done in registers) ----

// x[i] += x[i-1] along a row, modulo 2^bits (libtiff's horAcc8/16/32/64 with one sample per pixel).
template <class U>
void running_sum_scalar(U* x, std::size_t n, U sum) {
  for (std::size_t i = 0; i < n; ++i) {
    sum = static_cast<U>(sum + x[i]);
    x[i] = sum;
  }
}

#if defined(CUBIST_PREDICTOR_SSE2)
template <class U>
__m128i add_lanes(__m128i a, __m128i b) {
  if constexpr (sizeof(U) == 1) return _mm_add_epi8(a, b);
  else if constexpr (sizeof(U) == 2) return _mm_add_epi16(a, b);
  else if constexpr (sizeof(U) == 4) return _mm_add_epi32(a, b);
  else return _mm_add_epi64(a, b);
}

// Every lane set to the last lane of v.
template <class U>
__m128i broadcast_last(__m128i v) {
  if constexpr (sizeof(U) == 1) v = _mm_unpackhi_epi8(v, v);  // lane 7 of 16 bits = (v15, v15)
  if constexpr (sizeof(U) <= 2) v = _mm_shufflehi_epi16(v, 0xFF);
  if constexpr (sizeof(U) == 4) return _mm_shuffle_epi32(v, 0xFF);
  else return _mm_unpackhi_epi64(v, v);
}

// 16 bytes at a time: a log-step scan inside the register, then the previous block's last sum
// added to every lane. The only chain from block to block is that add and the broadcast.
template <class U>
void running_sum(U* x, std::size_t n) {
  constexpr std::size_t lanes = 16 / sizeof(U);
  __m128i carry = _mm_setzero_si128();
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i));
    v = add_lanes<U>(v, _mm_slli_si128(v, sizeof(U)));
    if constexpr (lanes >= 4) v = add_lanes<U>(v, _mm_slli_si128(v, 2 * sizeof(U)));
    if constexpr (lanes >= 8) v = add_lanes<U>(v, _mm_slli_si128(v, 4 * sizeof(U)));
    if constexpr (lanes >= 16) v = add_lanes<U>(v, _mm_slli_si128(v, 8));
    v = add_lanes<U>(v, carry);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(x + i), v);
    carry = broadcast_last<U>(v);
  }
  running_sum_scalar(x + i, n - i, i > 0 ? x[i - 1] : U{0});
}
#else
template <class U>
void running_sum(U* x, std::size_t n) {
  running_sum_scalar(x, n, U{0});
}
#endif

template <class U>
void horizontal_rows(std::byte* tile, std::size_t width, std::size_t rows) {
  U* x = reinterpret_cast<U*>(tile);
  for (std::size_t r = 0; r < rows; ++r) running_sum(x + r * width, width);
}

// Predictor 3 (floating point): each row holds the bytes of its samples split into planes, most
// significant byte first, then differenced byte by byte (libtiff's fpAcc, on a little-endian host).
void floating_point_rows(std::byte* tile, std::size_t width, std::size_t rows, std::size_t bytes) {
  thread_local std::vector<std::uint8_t> planes;
  const std::size_t row_bytes = width * bytes;
  planes.resize(row_bytes);
  for (std::size_t r = 0; r < rows; ++r) {
    auto* row = reinterpret_cast<std::uint8_t*>(tile) + r * row_bytes;
    running_sum(row, row_bytes);
    std::memcpy(planes.data(), row, row_bytes);
    for (std::size_t b = 0; b < bytes; ++b) {
      const std::uint8_t* plane = planes.data() + (bytes - 1 - b) * width;
      for (std::size_t i = 0; i < width; ++i) row[i * bytes + b] = plane[i];
    }
  }
}

bool parse_u64(const char* text, std::uint64_t& value) {
  if (!text) return false;
  const std::string_view s(text);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc() && end == s.data() + s.size();
}

struct FreeDecompressor {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

libdeflate_decompressor* thread_decompressor() {
  thread_local std::unique_ptr<libdeflate_decompressor, FreeDecompressor> d(libdeflate_alloc_decompressor());
  return d.get();
}

// Quiets GDAL's error handler for a scope and keeps the last message.
class QuietErrors {
 public:
  QuietErrors() {
    CPLErrorReset();
    CPLPushErrorHandler(CPLQuietErrorHandler);
  }
  ~QuietErrors() { CPLPopErrorHandler(); }
  std::string message() const { return CPLGetLastErrorMsg(); }
};

}  // namespace

std::optional<DirectTileFormat> direct_tile_format(GDALRasterBand& band, bool little_endian_file) {
  if constexpr (std::endian::native != std::endian::little) return std::nullopt;
  if (!little_endian_file) return std::nullopt;
  GDALDataset* ds = band.GetDataset();
  if (!ds || !ds->GetDriver() || std::string_view(ds->GetDriver()->GetDescription()) != "GTiff") return std::nullopt;
  auto item = [](GDALMajorObject& o, const char* key) {
    const char* v = o.GetMetadataItem(key, "IMAGE_STRUCTURE");
    return std::string(v ? v : "");
  };
  // Both TIFF deflate codes (8 and 32946) are zlib streams; GDAL names both DEFLATE.
  if (item(*ds, "COMPRESSION") != "DEFLATE") return std::nullopt;
  if (ds->GetRasterCount() > 1 && item(*ds, "INTERLEAVE") != "BAND") return std::nullopt;  // one band per tile
  if (!item(band, "NBITS").empty()) return std::nullopt;  // bits per sample other than the type's
  const GDALDataType type = band.GetRasterDataType();
  if (GDALDataTypeIsComplex(type)) return std::nullopt;
  DirectTileFormat f;
  f.sample_bytes = GDALGetDataTypeSizeBytes(type);
  if (f.sample_bytes != 1 && f.sample_bytes != 2 && f.sample_bytes != 4 && f.sample_bytes != 8) return std::nullopt;
  // GDAL (3.6 and later) reports the predictor of a GeoTIFF as PREDICTOR when it is not 1.
  const std::string predictor = item(*ds, "PREDICTOR");
  if (predictor.empty() || predictor == "1") f.predictor = 1;
  else if (predictor == "2") f.predictor = 2;
  else if (predictor == "3" && GDALDataTypeIsFloating(type)) f.predictor = 3;
  else return std::nullopt;
  band.GetBlockSize(&f.block_x, &f.block_y);
  if (f.block_x <= 0 || f.block_y <= 0) return std::nullopt;
  return f;
}

void undo_predictor(const DirectTileFormat& f, std::byte* tile) {
  const auto width = static_cast<std::size_t>(f.block_x), rows = static_cast<std::size_t>(f.block_y);
  if (f.predictor == 2) {
    switch (f.sample_bytes) {
      case 1: horizontal_rows<std::uint8_t>(tile, width, rows); break;
      case 2: horizontal_rows<std::uint16_t>(tile, width, rows); break;
      case 4: horizontal_rows<std::uint32_t>(tile, width, rows); break;
      case 8: horizontal_rows<std::uint64_t>(tile, width, rows); break;
      default: break;
    }
  } else if (f.predictor == 3) {
    floating_point_rows(tile, width, rows, static_cast<std::size_t>(f.sample_bytes));
  }
}

void read_block(GDALRasterBand& band, const std::string& href, int col, int row, std::byte* dst) {
  QuietErrors quiet;
  const CPLErr err = band.ReadBlock(col, row, dst);
  if (err != CE_None)
    throw IOError(fmt::format("{}: band {} tile (col {}, row {}): read failed: {}", href, band.GetBand(), col, row,
                              quiet.message()));
  gdal_decodes.fetch_add(1, std::memory_order_relaxed);
}

TileDecoder::TileDecoder(std::string href, GDALDataset& dataset) : href_(std::move(href)), dataset_(dataset) {}

TileDecoder::~TileDecoder() {
  if (file_) VSIFCloseL(static_cast<VSILFILE*>(file_));
}

std::optional<std::string> direct_http_url(const std::string& gdal_path) {
  constexpr std::string_view prefix = "/vsicurl/";
  if (gdal_path.rfind(prefix, 0) != 0) return std::nullopt;  // includes "/vsicurl?url=...&options"
  std::string url = gdal_path.substr(prefix.size());
  if (!net::is_http_url(url)) return std::nullopt;
  auto set = [&](const char* option) { return VSIGetPathSpecificOption(gdal_path.c_str(), option, nullptr) != nullptr; };
  if (std::any_of(std::begin(kGdalHttpOptionsWeDoNotHonour), std::end(kGdalHttpOptionsWeDoNotHonour), set))
    return std::nullopt;
  const bool https = url[4] == 's' || url[4] == 'S';
  if (!https) return url;
  if (std::any_of(std::begin(kGdalTlsOptionsWeDoNotHonour), std::end(kGdalTlsOptionsWeDoNotHonour), set))
    return std::nullopt;
  for (const char* option : kGdalCaBundleOptions) {
    const char* bundle = VSIGetPathSpecificOption(gdal_path.c_str(), option, nullptr);
    if (bundle && (net::default_ca_bundle().empty() || bundle != net::default_ca_bundle())) return std::nullopt;
  }
  return url;
}

bool TileDecoder::read_tile_bytes(std::uint64_t offset, std::size_t size, std::vector<std::byte>& raw) {
  if (!http_url_) http_url_ = direct_http_url(dataset_.GetDescription());
  if (!*http_url_) return read_raw(offset, size, raw);
  raw.resize(size);
  try {
    if (tile_client().get_range_into(**http_url_, offset, size, raw.data()) != size) return false;
  } catch (const Error&) {
    return false;  // as a failed VSI read: ReadBlock then decides (and names the error)
  }
  http_reads.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool TileDecoder::read_raw(std::uint64_t offset, std::size_t size, std::vector<std::byte>& raw) {
  if (!file_ && !file_failed_) {
    // The path GDAL opened, so /vsicurl/ shares its cached header bytes and configuration.
    QuietErrors quiet;
    file_ = VSIFOpenL(dataset_.GetDescription(), "rb");
    file_failed_ = file_ == nullptr;
  }
  if (!file_) return false;
  raw.resize(size);
  QuietErrors quiet;
  auto* fp = static_cast<VSILFILE*>(file_);
  return VSIFSeekL(fp, offset, SEEK_SET) == 0 && VSIFReadL(raw.data(), 1, size, fp) == size;
}

const std::optional<DirectTileFormat>& TileDecoder::format_of(GDALRasterBand& band) {
  const auto index = static_cast<std::size_t>(band.GetBand() - 1);
  if (formats_.size() <= index) formats_.resize(index + 1);
  auto& slot = formats_[index];
  if (!slot) {
    if (!little_endian_) {
      // "II" starts a little-endian TIFF, "MM" a big-endian one (whose samples libtiff swaps).
      std::vector<std::byte> head;
      little_endian_ = read_raw(0, 2, head) && head[0] == std::byte{'I'} && head[1] == std::byte{'I'};
    }
    slot = direct_tile_format(band, *little_endian_);
  }
  return *slot;
}

bool TileDecoder::decode_direct(GDALRasterBand& band, int col, int row, std::byte* dst) {
  const auto& format = format_of(band);
  if (!format) return false;
  std::uint64_t offset = 0, size = 0;
  // No offset: a sparse tile (GDAL fills it with nodata or zero) or one past the grid.
  if (!parse_u64(band.GetMetadataItem(fmt::format("BLOCK_OFFSET_{}_{}", col, row).c_str(), "TIFF"), offset) ||
      !parse_u64(band.GetMetadataItem(fmt::format("BLOCK_SIZE_{}_{}", col, row).c_str(), "TIFF"), size))
    return false;
  // Deflate grows incompressible data by a few bytes per 64 KiB block: a larger tile is not one
  // this path should trust.
  const std::size_t tile_bytes = format->tile_bytes();
  if (offset == 0 || size == 0 || size > tile_bytes + tile_bytes / 8 + 4096) return false;
  thread_local std::vector<std::byte> raw;
  if (!read_tile_bytes(offset, static_cast<std::size_t>(size), raw)) return false;
  libdeflate_decompressor* d = thread_decompressor();
  // Exactly a tile's bytes, or libtiff decides (it also accepts longer streams, cut to the tile).
  if (!d || libdeflate_zlib_decompress(d, raw.data(), static_cast<std::size_t>(size), dst, tile_bytes, nullptr) !=
                LIBDEFLATE_SUCCESS)
    return false;
  undo_predictor(*format, dst);
  direct_decodes.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool direct_decoding_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("CUBIST_TILE_DECODER");
    if (!v || std::string_view(v) == "direct") return true;
    if (std::string_view(v) == "gdal") return false;
    throw ValueError(fmt::format("CUBIST_TILE_DECODER='{}': expected 'direct' (the default) or 'gdal'", v));
  }();
  return enabled;
}

void TileDecoder::decode(GDALRasterBand& band, int col, int row, std::byte* dst) {
  if (!direct_decoding_enabled() || !decode_direct(band, col, row, dst)) read_block(band, href_, col, row, dst);
}

void close_idle_tile_connections() { tile_client().close_idle_connections(); }

TileDecodeStats tile_decode_stats() {
  return {direct_decodes.load(std::memory_order_relaxed), gdal_decodes.load(std::memory_order_relaxed),
          http_reads.load(std::memory_order_relaxed)};
}

}  // namespace cubist::raster
