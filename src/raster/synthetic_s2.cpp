// Synthetic Sentinel-2 L2A scenes: see synthetic_s2.hpp for what is generated and why.
#include "raster/synthetic_s2.hpp"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <tuple>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "cubist/datetime.hpp"
#include "cubist/error.hpp"

namespace cubist::raster {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kGeneratorVersion = 1;  // bump when the pixels or the items change
constexpr double kPixel = 10.0;       // metres
constexpr double kScale = 0.0001, kOffset = -0.1;

void register_gdal_once() {
  static std::once_flag once;
  std::call_once(once, [] { GDALAllRegister(); });
}

std::string gdal_error() {
  const char* m = CPLGetLastErrorMsg();
  return (m && *m) ? m : "unknown GDAL error";
}

// ---------------------------------------------------------------- deterministic smooth noise
std::uint64_t mix(std::uint64_t z) {  // splitmix64 finaliser
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
double uniform(std::int64_t ix, std::int64_t iy, std::uint64_t seed) {
  std::uint64_t h = mix(seed ^ mix(static_cast<std::uint64_t>(ix) ^ mix(static_cast<std::uint64_t>(iy))));
  return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);
}
double smooth(double t) { return t * t * (3 - 2 * t); }

// Value noise on a lattice of `cell` metres, in world coordinates so neighbouring tiles agree.
double value_noise(double x, double y, double cell, std::uint64_t seed) {
  double fx = x / cell, fy = y / cell;
  double ix = std::floor(fx), iy = std::floor(fy);
  double tx = smooth(fx - ix), ty = smooth(fy - iy);
  auto i = static_cast<std::int64_t>(ix), j = static_cast<std::int64_t>(iy);
  double a = uniform(i, j, seed), b = uniform(i + 1, j, seed);
  double c = uniform(i, j + 1, seed), d = uniform(i + 1, j + 1, seed);
  return (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
}
double fbm(double x, double y, double cell, int octaves, std::uint64_t seed) {
  double sum = 0, norm = 0, amp = 1;
  for (int o = 0; o < octaves; ++o) {
    sum += amp * value_noise(x, y, cell, mix(seed + static_cast<std::uint64_t>(o)));
    norm += amp;
    amp *= 0.5;
    cell *= 0.5;
  }
  return sum / norm;
}

// ---------------------------------------------------------------- the scenes
struct Tile {
  std::string name;  // MGRS-like: "32TPT"
  int epsg = 32632;
  double x0 = 0, y0 = 0;  // top-left corner (metres)
};

struct Scene {
  std::string id, datetime, platform;
  const Tile* tile = nullptr;
  int date_index = 0;       // position in the season (drives green-up and snow melt)
  double season = 0;        // 0 at the first date, 1 at the last
  std::uint64_t seed = 0;   // per scene: noise and calibration differ between tiles of one day
  std::uint64_t cloud_seed = 0;  // per day: both tiles of one pass see the same clouds
  double cloud_fraction = 0;     // target
  std::string red_rel, nir_rel;  // paths relative to out_dir
  double cloud_cover = 0;        // measured, percent
};

struct Bounds {
  double minx = 0, miny = 0, maxx = 0, maxy = 0;
};

std::unique_ptr<OGRSpatialReference> srs_from_epsg(int epsg) {
  auto s = std::make_unique<OGRSpatialReference>();
  if (s->importFromEPSG(epsg) != OGRERR_NONE) throw ValueError(fmt::format("EPSG:{} is not known to PROJ", epsg));
  s->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return s;
}

std::unique_ptr<OGRCoordinateTransformation> transform(int from, int to) {
  auto a = srs_from_epsg(from), b = srs_from_epsg(to);
  std::unique_ptr<OGRCoordinateTransformation> t(OGRCreateCoordinateTransformation(a.get(), b.get()));
  if (!t) throw ValueError(fmt::format("no transformation from EPSG:{} to EPSG:{}: {}", from, to, gdal_error()));
  return t;
}

// The catchment's bounds in `epsg` (all its polygons' vertices, reprojected).
Bounds catchment_bounds(const fs::path& path, int epsg) {
  std::unique_ptr<GDALDataset> ds(
      GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
  if (!ds || ds->GetLayerCount() < 1)
    throw IOError(fmt::format("cannot read the catchment GeoJSON {}: {}", path.string(), gdal_error()));
  OGRLayer* layer = ds->GetLayer(0);
  auto wgs84 = srs_from_epsg(4326);  // GeoJSON coordinates are lon/lat (CRS84)
  auto target = srs_from_epsg(epsg);
  Bounds b{1e300, 1e300, -1e300, -1e300};
  bool any = false;
  layer->ResetReading();
  for (auto& feature : *layer) {
    OGRGeometry* g = feature->GetGeometryRef();
    if (!g) continue;
    std::unique_ptr<OGRGeometry> copy(g->clone());
    copy->assignSpatialReference(wgs84.get());
    if (copy->transformTo(target.get()) != OGRERR_NONE)
      throw ValueError(fmt::format("cannot reproject the catchment {} to EPSG:{}", path.string(), epsg));
    OGREnvelope e;
    copy->getEnvelope(&e);
    b = {std::min(b.minx, e.MinX), std::min(b.miny, e.MinY), std::max(b.maxx, e.MaxX), std::max(b.maxy, e.MaxY)};
    any = true;
  }
  if (!any) throw ValueError(fmt::format("the catchment GeoJSON {} has no geometry", path.string()));
  return b;
}

double snap(double v) { return std::floor(v / kPixel) * kPixel; }

// Two north/south tiles overlapping by ~9% (as MGRS tiles do), placed over the catchment; when a
// tile is narrower than the catchment it straddles the western boundary so clipping shows it.
std::vector<Tile> place_tiles(const Bounds& c32, const Bounds& c33, std::int64_t size) {
  const double tile_m = static_cast<double>(size) * kPixel;
  const double overlap_m = std::round(static_cast<double>(size) * 0.09) * kPixel;
  const double union_h = 2 * tile_m - overlap_m;
  const double cx = tile_m >= c32.maxx - c32.minx ? 0.5 * (c32.minx + c32.maxx) : c32.minx + 0.35 * tile_m;
  const double cy = 0.5 * (c32.miny + c32.maxy);
  const double left = snap(cx - tile_m / 2), top = snap(cy + union_h / 2);
  std::vector<Tile> tiles;
  tiles.push_back({"32TPT", 32632, left, top});
  tiles.push_back({"32TPS", 32632, left, top - (tile_m - overlap_m)});
  tiles.push_back({"33TUL", 32633, snap(0.5 * (c33.minx + c33.maxx) - tile_m / 2),
                   snap(0.5 * (c33.miny + c33.maxy) + tile_m / 2)});
  return tiles;
}

std::string iso_day(std::int64_t days) {
  std::int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  return fmt::format("{:04d}-{:02d}-{:02d}", y, m, d);
}

std::vector<Scene> plan_scenes(const std::vector<Tile>& tiles, const SyntheticS2Options& o) {
  const std::int64_t first = days_from_civil(2019, 2, 1);
  const int n = std::max(o.dates, 1);
  const std::int64_t step = n > 1 ? std::max<std::int64_t>(1, 55 / (n - 1)) : 5;
  // Seconds after 10:20 UTC: the southern tile is imaged a few seconds after the northern one.
  const char* tod[] = {"10:20:29.024000Z", "10:20:43.512000Z", "10:21:02.115000Z"};
  std::vector<Scene> scenes;
  auto add = [&](std::int64_t day, int index, const Tile& t, std::size_t tod_i) {
    Scene s;
    s.tile = &t;
    s.date_index = index;
    s.season = n > 1 ? std::clamp(static_cast<double>(index) / (n - 1), 0.0, 1.0) : 0.0;
    bool b = ((day - first) / step) % 2 != 0;
    s.platform = b ? "sentinel-2b" : "sentinel-2a";
    std::string ymd = iso_day(day);
    s.datetime = ymd + "T" + tod[tod_i];
    std::string compact = ymd.substr(0, 4) + ymd.substr(5, 2) + ymd.substr(8, 2);
    s.id = fmt::format("S2{}_{}_{}_0_L2A", b ? 'B' : 'A', t.name, compact);
    s.seed = mix(o.seed ^ mix(static_cast<std::uint64_t>(day) * 131 + static_cast<std::uint64_t>(t.epsg + t.name[4])));
    s.cloud_seed = mix(o.seed + static_cast<std::uint64_t>(day) * 7919);
    // Mostly clear days with some cloudy ones: 0..60 % cover.
    double u = uniform(day, 17, o.seed);
    s.cloud_fraction = u < 0.25 ? 0.0 : 0.6 * (u - 0.25) / 0.75;
    // Laid out as earth-search's bucket: sentinel-s2-l2a-cogs/<zone>/<band>/<square>/<year>/<month>/<id>/
    std::string dir = fmt::format("sentinel-s2-l2a-cogs/{}/{}/{}/{}/{}/{}", t.name.substr(0, 2), t.name.substr(2, 1),
                                  t.name.substr(3, 2), ymd.substr(0, 4), std::stoi(ymd.substr(5, 2)), s.id);
    s.red_rel = dir + "/B04.tif";
    s.nir_rel = dir + "/B08.tif";
    scenes.push_back(std::move(s));
  };
  for (int k = 0; k < n; ++k) {
    const std::int64_t day = first + k * step;
    add(day, k, tiles[0], 0);
    add(day, k, tiles[1], 1);
  }
  // Outside the seed's datetime range (filtered by `datetime`), and in EPSG:32633 on two days of
  // the range (filtered by `query: proj:epsg eq 32632`; they would otherwise merge into those days).
  for (std::int64_t day : {first - 5, first + 60}) {
    add(day, day < first ? 0 : n - 1, tiles[0], 0);
    add(day, day < first ? 0 : n - 1, tiles[1], 1);
  }
  for (int k : std::set<int>{n / 4, (3 * n) / 4}) add(first + k * step, k, tiles[2], 2);
  return scenes;
}

// ---------------------------------------------------------------- pixels
struct Reflectance {
  double red, nir;
};

// Land cover from smooth fields in world coordinates: lakes, towns, snow on high ground (melting
// through the season), vegetation greening up. NDVI spans about -0.35 (water) to 0.8.
Reflectance land_cover(double x, double y, double season, std::uint64_t seed) {
  double water = fbm(x, y, 3000, 2, seed ^ 0x1111);
  double urban = fbm(x, y, 1500, 2, seed ^ 0x2222);
  double elev = fbm(x, y, 6000, 3, seed ^ 0x3333);
  double veg = fbm(x, y, 900, 3, seed ^ 0x4444);
  if (water < 0.27) return {0.03, 0.015};
  if (elev > 0.6 + 0.12 * season) return {0.72, 0.68};
  if (urban > 0.72) return {0.14, 0.2};
  double v = std::clamp((veg - 0.25) * 2.0, 0.0, 1.0);
  return {0.09 - 0.06 * v, 0.18 + 0.3 * v + 0.06 * season * v};
}

std::uint16_t encode(double refl) {
  double stored = std::round((refl - kOffset) / kScale);
  return static_cast<std::uint16_t>(std::clamp(stored, 1.0, 65535.0));  // 0 is nodata
}

// Renders one scene into two in-memory bands and writes them as COGs. Fields are smooth at the
// 40 m scale, so they are evaluated on a coarse grid and interpolated bilinearly per pixel.
void render_scene(Scene& s, const SyntheticS2Options& o, const fs::path& out_dir) {
  constexpr std::int64_t kStep = 4;
  const std::int64_t n = o.size, nc = n / kStep + 2;
  const Tile& t = *s.tile;
  const std::uint64_t world_seed = mix(o.seed);
  std::vector<float> cred(static_cast<std::size_t>(nc * nc)), cnir(cred.size()), ccloud(cred.size());
  // Cloud threshold for the target fraction: fbm of 3 octaves is roughly N(0.5, 0.12).
  const double threshold = s.cloud_fraction <= 0 ? 2.0 : 0.5 + 0.12 * 1.6 * (0.5 - s.cloud_fraction) * 2.0;
  for (std::int64_t j = 0; j < nc; ++j)
    for (std::int64_t i = 0; i < nc; ++i) {
      double x = t.x0 + (static_cast<double>(i * kStep) + 0.5) * kPixel;
      double y = t.y0 - (static_cast<double>(j * kStep) + 0.5) * kPixel;
      Reflectance r = land_cover(x, y, s.season, world_seed + static_cast<std::uint64_t>(t.epsg));
      auto k = static_cast<std::size_t>(j * nc + i);
      cred[k] = static_cast<float>(r.red);
      cnir[k] = static_cast<float>(r.nir);
      ccloud[k] = static_cast<float>(fbm(x, y, 2500, 3, s.cloud_seed));
    }

  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDriver* cog = GetGDALDriverManager()->GetDriverByName("COG");
  if (!mem || !cog) throw IOError("GDAL lacks the MEM or COG driver (GDAL >= 3.1 is needed)");
  std::unique_ptr<GDALDataset> red(mem->Create("", static_cast<int>(n), static_cast<int>(n), 1, GDT_UInt16, nullptr));
  std::unique_ptr<GDALDataset> nir(mem->Create("", static_cast<int>(n), static_cast<int>(n), 1, GDT_UInt16, nullptr));
  if (!red || !nir) throw IOError(fmt::format("cannot allocate {}x{} scene {}: {}", n, n, s.id, gdal_error()));

  const double gain = 1.0 + 0.04 * (uniform(3, 5, s.seed) - 0.5);  // calibration differs per scene
  constexpr std::int64_t kRows = 128;
  std::vector<std::uint16_t> rbuf(static_cast<std::size_t>(kRows * n)), nbuf(rbuf.size());
  std::int64_t clouded = 0;
  for (std::int64_t r0 = 0; r0 < n; r0 += kRows) {
    const std::int64_t rows = std::min(kRows, n - r0);
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::int64_t row = r0 + r, j = row / kStep;
      const double ty = static_cast<double>(row % kStep) / kStep;
      for (std::int64_t col = 0; col < n; ++col) {
        const std::int64_t i = col / kStep;
        const double tx = static_cast<double>(col % kStep) / kStep;
        const auto k00 = static_cast<std::size_t>(j * nc + i), k01 = k00 + 1, k10 = k00 + static_cast<std::size_t>(nc),
                   k11 = k10 + 1;
        auto lerp = [&](const std::vector<float>& f) {
          return (f[k00] * (1 - tx) + f[k01] * tx) * (1 - ty) + (f[k10] * (1 - tx) + f[k11] * tx) * ty;
        };
        const auto idx = static_cast<std::size_t>(r * n + col);
        if (lerp(ccloud) > threshold) {
          rbuf[idx] = nbuf[idx] = 0;
          ++clouded;
          continue;
        }
        // Sensor noise, different in each scene (so overlapping tiles of one day differ).
        const double e1 = 0.008 * (uniform(row, col, s.seed) - 0.5), e2 = 0.008 * (uniform(col, row, s.seed) - 0.5);
        rbuf[idx] = encode(std::max(0.0, lerp(cred) * gain + e1));
        nbuf[idx] = encode(std::max(0.0, lerp(cnir) * gain + e2));
      }
    }
    for (auto [ds, buf] : {std::pair{red.get(), &rbuf}, std::pair{nir.get(), &nbuf}})
      if (ds->GetRasterBand(1)->RasterIO(GF_Write, 0, static_cast<int>(r0), static_cast<int>(n), static_cast<int>(rows),
                                         buf->data(), static_cast<int>(n), static_cast<int>(rows), GDT_UInt16, 0, 0,
                                         nullptr) != CE_None)
        throw IOError(fmt::format("cannot fill scene {}: {}", s.id, gdal_error()));
  }
  s.cloud_cover = std::round(10000.0 * static_cast<double>(clouded) / static_cast<double>(n * n)) / 100.0;

  auto srs = srs_from_epsg(t.epsg);
  double gt[6] = {t.x0, kPixel, 0, t.y0, 0, -kPixel};
  const std::string block_opt = "BLOCKSIZE=" + std::to_string(o.block);
  const char* cog_options[] = {"COMPRESS=DEFLATE", "PREDICTOR=2", block_opt.c_str(), "OVERVIEWS=AUTO", "NUM_THREADS=1",
                               nullptr};
  for (auto [ds, rel, band] : {std::tuple{red.get(), &s.red_rel, "B04"}, std::tuple{nir.get(), &s.nir_rel, "B08"}}) {
    ds->SetGeoTransform(gt);
    ds->SetSpatialRef(srs.get());
    GDALRasterBand* b = ds->GetRasterBand(1);
    b->SetNoDataValue(0);
    // Also in the GeoTIFF so GDAL-based readers (rioxarray's mask_and_scale) decode reflectance.
    b->SetScale(kScale);
    b->SetOffset(kOffset);
    b->SetDescription(band);
    fs::path path = out_dir / *rel;
    fs::create_directories(path.parent_path());
    fs::path part = path;
    part += ".part";
    std::unique_ptr<GDALDataset> out(
        cog->CreateCopy(part.c_str(), ds, FALSE, const_cast<char**>(cog_options), nullptr, nullptr));
    if (!out) throw IOError(fmt::format("cannot write the COG {}: {}", path.string(), gdal_error()));
    out.reset();
    fs::rename(part, path);
  }
}

// ---------------------------------------------------------------- STAC items (earth-search v1)
json footprint(const Tile& t, std::int64_t size, OGRCoordinateTransformation& to_wgs84, json& bbox) {
  const double w = static_cast<double>(size) * kPixel;
  std::vector<double> xs, ys;
  constexpr int kPerEdge = 8;  // densified: UTM edges are curves in lon/lat
  for (int e = 0; e < 4; ++e)
    for (int k = 0; k < kPerEdge; ++k) {
      double f = static_cast<double>(k) / kPerEdge;
      double corners[5][2] = {{0, 0}, {w, 0}, {w, -w}, {0, -w}, {0, 0}};
      xs.push_back(t.x0 + corners[e][0] + f * (corners[e + 1][0] - corners[e][0]));
      ys.push_back(t.y0 + corners[e][1] + f * (corners[e + 1][1] - corners[e][1]));
    }
  if (!to_wgs84.Transform(static_cast<int>(xs.size()), xs.data(), ys.data()))
    throw ValueError(fmt::format("cannot transform the footprint of tile {} to lon/lat", t.name));
  json ring = json::array();
  for (std::size_t i = 0; i < xs.size(); ++i) ring.push_back({xs[i], ys[i]});
  ring.push_back(ring[0]);
  auto [minx, maxx] = std::minmax_element(xs.begin(), xs.end());
  auto [miny, maxy] = std::minmax_element(ys.begin(), ys.end());
  bbox = {*minx, *miny, *maxx, *maxy};
  return {{"type", "Polygon"}, {"coordinates", json::array({ring})}};
}

json asset(const Scene& s, const std::string& rel, const char* band, const char* common, double wavelength,
           std::int64_t size) {
  const Tile& t = *s.tile;
  return {
      {"href", rel},
      {"type", "image/tiff; application=geotiff; profile=cloud-optimized"},
      {"title", fmt::format("{} ({}) - 10m", common == std::string("red") ? "Red" : "NIR 1", band)},
      {"eo:bands", json::array({{{"name", common}, {"common_name", common}, {"center_wavelength", wavelength}}})},
      {"gsd", 10},
      {"proj:shape", {size, size}},
      {"proj:transform", {kPixel, 0, t.x0, 0, -kPixel, t.y0}},
      {"raster:bands", json::array({{{"nodata", 0},
                                     {"data_type", "uint16"},
                                     {"bits_per_sample", 15},
                                     {"spatial_resolution", 10},
                                     {"scale", kScale},
                                     {"offset", kOffset}}})},
      {"roles", {"data", "reflectance"}},
  };
}

json make_item(const Scene& s, std::int64_t size, OGRCoordinateTransformation& to_wgs84) {
  const Tile& t = *s.tile;
  json bbox;
  json geometry = footprint(t, size, to_wgs84, bbox);
  json props = {
      {"datetime", s.datetime},
      {"platform", s.platform},
      {"constellation", "sentinel-2"},
      {"instruments", {"msi"}},
      {"eo:cloud_cover", s.cloud_cover},
      {"proj:epsg", t.epsg},
      {"proj:code", fmt::format("EPSG:{}", t.epsg)},
      {"mgrs:utm_zone", std::stoi(t.name.substr(0, 2))},
      {"mgrs:latitude_band", t.name.substr(2, 1)},
      {"mgrs:grid_square", t.name.substr(3, 2)},
      {"grid:code", "MGRS-" + t.name},
      {"s2:mgrs_tile", t.name},
      {"s2:processing_baseline", "04.00"},
      {"s2:product_type", "S2MSI2A"},
      {"created", "2023-01-01T00:00:00.000000Z"},
      {"updated", "2023-01-01T00:00:00.000000Z"},
  };
  return {
      {"type", "Feature"},
      {"stac_version", "1.0.0"},
      {"stac_extensions",
       {"https://stac-extensions.github.io/projection/v1.1.0/schema.json",
        "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
        "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
        "https://stac-extensions.github.io/mgrs/v1.0.0/schema.json"}},
      {"id", s.id},
      {"collection", "sentinel-2-l2a"},
      {"bbox", bbox},
      {"geometry", geometry},
      {"properties", props},
      {"assets",
       {{"red", asset(s, s.red_rel, "band 4", "red", 0.665, size)},
        {"nir", asset(s, s.nir_rel, "band 8", "nir", 0.842, size)}}},
      {"links", json::array()},
  };
}

json parameters(const SyntheticS2Options& o, const Bounds& b) {
  return {{"generator_version", kGeneratorVersion}, {"size", o.size},     {"block", o.block},
          {"dates", o.dates},                       {"seed", o.seed},     {"catchment_bounds_32632", {b.minx, b.miny, b.maxx, b.maxy}}};
}

// The earlier generation in out_dir when its parameters match and all its files exist.
bool try_reuse(const fs::path& manifest, const json& params, SyntheticS2Data& out) {
  std::ifstream in(manifest);
  if (!in) return false;
  json m = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (m.is_discarded() || !m.is_object() || m.value("parameters", json()) != params || !m.contains("items"))
    return false;
  const fs::path dir = manifest.parent_path();
  std::size_t files = 0;
  std::uint64_t bytes = 0;
  const json features = m["items"].value("features", json::array());
  for (const auto& item : features) {
    const json assets = item.value("assets", json::object());
    for (const auto& [name, a] : assets.items()) {
      std::error_code ec;
      auto sz = fs::file_size(dir / a.value("href", std::string()), ec);
      if (ec) return false;
      ++files;
      bytes += sz;
    }
  }
  out.items = std::move(m["items"]);
  out.files = files;
  out.bytes = bytes;
  out.reused = true;
  return true;
}

}  // namespace

SyntheticS2Options synthetic_s2_preset(std::string_view name) {
  SyntheticS2Options o;
  if (name == "small") {
    o.size = 1024;
    o.block = 512;
  } else if (name == "medium") {
    o.size = 4096;
    o.block = 1024;
  } else if (name == "full") {
    o.size = 10980;
    o.block = 1024;
  } else {
    throw ValueError(fmt::format("unknown demo size '{}' (expected small, medium or full)", name));
  }
  return o;
}

SyntheticS2Data generate_synthetic_s2(const SyntheticS2Options& o) {
  if (o.size < 16 || o.size > 20000) throw ValueError(fmt::format("synthetic tile size {} is not in [16, 20000]", o.size));
  if (o.block < 16 || o.block % 16 != 0) throw ValueError(fmt::format("COG block size {} is not a multiple of 16", o.block));
  if (o.dates < 1 || o.dates > 200) throw ValueError(fmt::format("synthetic date count {} is not in [1, 200]", o.dates));
  register_gdal_once();
  const Bounds c32 = catchment_bounds(o.catchment, 32632), c33 = catchment_bounds(o.catchment, 32633);
  const json params = parameters(o, c32);
  const fs::path manifest = o.out_dir / kSyntheticS2Manifest;
  SyntheticS2Data data;
  if (try_reuse(manifest, params, data)) return data;

  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec) throw IOError(fmt::format("cannot create the directory {}: {}", o.out_dir.string(), ec.message()));
  fs::remove(manifest, ec);

  const std::vector<Tile> tiles = place_tiles(c32, c33, o.size);
  std::vector<Scene> scenes = plan_scenes(tiles, o);

  // Scenes are independent: one per worker thread at a time (GDAL datasets are not shared).
  const unsigned threads = std::max(1u, o.threads ? o.threads : std::thread::hardware_concurrency());
  std::atomic<std::size_t> next{0};
  std::size_t done = 0;
  std::mutex mu;
  std::string first_error;
  auto work = [&] {
    for (std::size_t i = next++; i < scenes.size(); i = next++) {
      try {
        render_scene(scenes[i], o, o.out_dir);
      } catch (const std::exception& e) {
        std::lock_guard lock(mu);
        if (first_error.empty()) first_error = e.what();
        next = scenes.size();
        return;
      }
      std::lock_guard lock(mu);
      ++done;
      if (o.progress) o.progress(done, scenes.size());
    }
  };
  std::vector<std::thread> pool;
  for (unsigned k = 1; k < std::min<std::size_t>(threads, scenes.size()); ++k) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  if (!first_error.empty()) throw IOError(first_error);

  json features = json::array();
  std::map<int, std::unique_ptr<OGRCoordinateTransformation>> to_wgs84;
  for (const Scene& s : scenes) {
    auto& tr = to_wgs84[s.tile->epsg];
    if (!tr) tr = transform(s.tile->epsg, 4326);
    features.push_back(make_item(s, o.size, *tr));
    for (const auto* rel : {&s.red_rel, &s.nir_rel}) {
      data.bytes += fs::file_size(o.out_dir / *rel);
      ++data.files;
    }
  }
  data.items = {{"type", "FeatureCollection"}, {"features", features}};

  // The manifest last: a generation interrupted before this point is regenerated next time.
  fs::path part = manifest;
  part += ".part";
  {
    std::ofstream out(part);
    out << json{{"parameters", params}, {"items", data.items}}.dump(1) << '\n';
    if (!out) throw IOError(fmt::format("cannot write {}", part.string()));
  }
  fs::rename(part, manifest);
  return data;
}

}  // namespace cubist::raster
