// Geospatial helpers (the jobs of pyproj, geopandas and rioxarray): coordinate reference systems,
// GeoJSON polygons, reprojection, and CRS / nodata / clip on DataArrays.
// Implemented with PROJ and GDAL/OGR; none of their headers leak into this one.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cubist/data_array.hpp"

namespace cubist {

// A coordinate reference system. Axis order is always x/east first (longitude, latitude for
// geographic CRSs), as geopandas and rioxarray use it.
class Crs {
 public:
  Crs() = default;  // empty: "no CRS"
  // "EPSG:32632", "epsg:4326", "OGC:CRS84", WKT (1 or 2), PROJJSON; throws ValueError naming the input.
  static Crs from_user_input(const std::string& text);
  static Crs epsg(int code);

  bool empty() const { return wkt_.empty(); }
  const std::string& wkt() const { return wkt_; }  // WKT2 (2019): keeps everything PROJ knows
  std::string wkt1_gdal() const;                   // WKT1 as GDAL/rasterio write it (rioxarray's crs_wkt)
  std::optional<int> to_epsg() const { return epsg_; }
  std::string to_string() const;  // "EPSG:32632" when identified, else the WKT
  bool equals(const Crs& other) const;
  bool is_geographic() const { return geographic_; }
  // CF grid-mapping attributes as pyproj's CRS.to_cf() writes them (crs_wkt, ellipsoid, projection).
  nlohmann::json to_cf() const;

 private:
  std::string wkt_;
  std::string id_;  // "AUTHORITY:CODE" when identified
  std::optional<int> epsg_;
  bool geographic_ = false;
};

struct Bounds {
  double minx = 0, miny = 0, maxx = 0, maxy = 0;
};

// x = a*col + b*row + c; y = d*col + e*row + f (rasterio / affine order).
struct Affine {
  double a = 1, b = 0, c = 0, d = 0, e = 1, f = 0;
  std::array<double, 6> to_gdal() const { return {c, a, b, f, d, e}; }
  static Affine from_gdal(const std::array<double, 6>& gt) { return {gt[1], gt[2], gt[0], gt[4], gt[5], gt[3]}; }
};

using Position = std::array<double, 2>;    // x, y
using Ring = std::vector<Position>;        // closed: first == last, >= 4 positions
using Polygon = std::vector<Ring>;         // exterior ring, then holes

// A Polygon or MultiPolygon (holes allowed) in a CRS.
class Geometry {
 public:
  Geometry() = default;
  Geometry(std::vector<Polygon> polygons, Crs crs);
  // A GeoJSON geometry object (Polygon or MultiPolygon); `where` prefixes error messages
  // ("catchment.geojson: features[0].geometry").
  static Geometry from_geojson(const nlohmann::json& geometry, Crs crs, const std::string& where);
  nlohmann::json to_geojson() const;  // a MultiPolygon, or a Polygon when there is one polygon

  const Crs& crs() const { return crs_; }
  const std::vector<Polygon>& polygons() const { return polygons_; }
  Bounds bounds() const;
  // The vertices transformed to `crs` (what geopandas' to_crs does: edges are not densified).
  Geometry to_crs(const Crs& crs) const;
  bool intersects(const Bounds& box) const;  // shares any point with the closed box
  bool contains(const Bounds& box) const;    // the whole box is inside

 private:
  std::vector<Polygon> polygons_;
  Crs crs_;
};

// GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection -> its polygon geometries, in
// CRS84 unless a legacy "crs" member names another. Errors name the file / where and the JSON path.
std::vector<Geometry> read_geojson(const std::string& path);
std::vector<Geometry> parse_geojson(const nlohmann::json& doc, const std::string& where);

// The bounding box of `b` in `to`, densifying each edge with `densify` points (as rasterio).
Bounds transform_bounds(const Bounds& b, const Crs& from, const Crs& to, int densify = 21);

// --- rioxarray on DataArrays (dims named "y" and "x", 1-d pixel-centre coordinates)

// Adds the scalar int64 "spatial_ref" coordinate with rioxarray's attributes (crs_wkt,
// spatial_ref, CF grid mapping, GeoTransform from the x/y coordinates) and grid_mapping in attrs.
DataArray write_crs(const DataArray& da, const Crs& crs);
std::optional<Crs> crs_of(const DataArray& da);  // from spatial_ref (or a "crs" attribute)
Affine transform_of(const DataArray& da);        // from the 1-d x/y pixel-centre coordinates
// rioxarray's write_nodata(value, encoded=False): the _FillValue attribute.
DataArray set_nodata(const DataArray& da, double nodata);
std::optional<double> nodata_of(const DataArray& da);

struct ClipOptions {
  bool all_touched = false;  // as GDAL rasterize: every pixel the polygons touch, not only centres inside
  bool drop = true;          // crop to the rows/columns the polygons cover
  std::optional<Crs> crs;    // the geometries' CRS when they carry none
};

// rioxarray's rio.clip: geometries reprojected to the array's CRS, cropped (lazily) to the pixels
// they cover, pixels outside -> nodata (NaN for floats). Chunks entirely outside the polygons are
// constant and never read. Throws ValueError ("no data found in bounds") when the polygons miss.
DataArray clip(const DataArray& da, const std::vector<Geometry>& geometries, const ClipOptions& options = {});


// --- rioxarray's rio.reproject (rasterio.warp) as a lazy operation

// A destination pixel grid: transform of pixel (0, 0) and its size.
struct GridSpec {
  Affine transform;
  std::int64_t width = 0, height = 0;
};

// rasterio.warp.calculate_default_transform: GDAL's suggested warp output for a `width` x `height`
// grid covering `bounds` in `src`, anchored at its upper-left corner; `resolution` (x, y; positive)
// keeps that corner and scales the size by ceil, `shape` (height, width) fixes the size instead.
GridSpec calculate_default_transform(const Crs& src, const Crs& dst, std::int64_t width, std::int64_t height,
                                     const Bounds& bounds, std::optional<std::array<double, 2>> resolution = std::nullopt,
                                     std::optional<std::array<std::int64_t, 2>> shape = std::nullopt);

struct ReprojectOptions {
  std::optional<std::array<double, 2>> resolution;     // (x, y) pixel size in the target CRS's units
  std::optional<std::array<std::int64_t, 2>> shape;    // (height, width) of the output
  std::optional<Affine> transform;                     // the output grid (with `shape`, else the input's shape)
  // GDAL's algorithms by rasterio's names: nearest, bilinear, cubic, cubic_spline, lanczos, average,
  // mode, min, max, med, q1, q3, sum, rms.
  std::string resampling = "nearest";
  // Pixels no source pixel covers. Default: the input's nodata, else NaN for floats (rioxarray 0.13
  // uses the dtype's maximum there) and rioxarray's per-dtype value for integers (255, -32768, ...).
  std::optional<double> nodata;
  double error_threshold = 0.125;  // rasterio's `tolerance` (source pixels) of GDAL's approximate transformer; 0: exact
  std::optional<std::array<std::int64_t, 2>> chunks;  // (y, x) output chunk sizes; default: the input's largest
};

// rioxarray's rio.reproject, lazily: the output grid as rioxarray computes it, then one task per
// output chunk that warps (GDAL) only the input chunks that chunk's footprint needs; chunks whose
// footprint misses the input are constant (nodata) and read nothing. Dims other than y/x are kept
// (each (y, x) plane is warped as a band). x/y coordinates, spatial_ref and _FillValue as rioxarray.
DataArray reproject(const DataArray& da, const Crs& dst_crs, const ReprojectOptions& options = {});

}  // namespace cubist
