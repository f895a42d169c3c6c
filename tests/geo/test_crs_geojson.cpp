// Crs parsing, GeoJSON parsing (errors with JSON paths), reprojection and bounds against pyproj.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "cubist/error.hpp"
#include "cubist/geo.hpp"
#include "test_data.hpp"

using namespace cubist;

namespace {

std::string catchment_path() { return test_data_path("catchment_outline.geojson"); }

std::string error_of(const nlohmann::json& doc, const std::string& where = "catchment.geojson") {
  try {
    parse_geojson(doc, where);
  } catch (const ValueError& e) {
    return e.what();
  }
  return "(no error)";
}

nlohmann::json square(double x0, double y0, double s) {
  return {{"type", "Polygon"},
          {"coordinates", {{{x0, y0}, {x0 + s, y0}, {x0 + s, y0 + s}, {x0, y0 + s}, {x0, y0}}}}};
}

}  // namespace

TEST(Crs, ParsesEpsgCrs84WktAndProjjson) {
  Crs utm = Crs::from_user_input("EPSG:32632");
  EXPECT_EQ(utm.to_epsg(), 32632);
  EXPECT_EQ(utm.to_string(), "EPSG:32632");
  EXPECT_FALSE(utm.is_geographic());
  EXPECT_TRUE(utm.equals(Crs::epsg(32632)));
  EXPECT_FALSE(utm.equals(Crs::epsg(32633)));
  // Round trips through WKT2, WKT1 and the lower-case form.
  EXPECT_TRUE(Crs::from_user_input(utm.wkt()).equals(utm));
  EXPECT_EQ(Crs::from_user_input(utm.wkt1_gdal()).to_epsg(), 32632);
  EXPECT_EQ(Crs::from_user_input("epsg:4326").to_epsg(), 4326);
  Crs crs84 = Crs::from_user_input("OGC:CRS84");
  EXPECT_TRUE(crs84.is_geographic());
  EXPECT_NE(crs84.to_string().find("CRS84"), std::string::npos);
  // PROJJSON
  const std::string projjson =
      R"({"type": "GeographicCRS", "name": "WGS 84", "datum": {"type": "GeodeticReferenceFrame", "name": "World Geodetic System 1984",
      "ellipsoid": {"name": "WGS 84", "semi_major_axis": 6378137, "inverse_flattening": 298.257223563}},
      "coordinate_system": {"subtype": "ellipsoidal", "axis": [
      {"name": "Geodetic latitude", "abbreviation": "Lat", "direction": "north", "unit": "degree"},
      {"name": "Geodetic longitude", "abbreviation": "Lon", "direction": "east", "unit": "degree"}]},
      "id": {"authority": "EPSG", "code": 4326}})";
  EXPECT_EQ(Crs::from_user_input(projjson).to_epsg(), 4326);
  EXPECT_TRUE(Crs().empty());
}

TEST(Crs, BadInputIsOneClearError) {
  EXPECT_THROW(Crs::from_user_input("EPSG:99999999"), ValueError);
  EXPECT_THROW(Crs::from_user_input("not a crs"), ValueError);
  EXPECT_THROW(Crs::from_user_input(""), ValueError);
  EXPECT_THROW(Crs::from_user_input("/etc/passwd"), ValueError);  // never read a file
  EXPECT_THROW(Crs::epsg(-1), ValueError);
  try {
    Crs::from_user_input("EPSG:nope");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("EPSG:nope"), std::string::npos);
  }
}

TEST(Crs, CfAttributesAsPyproj) {
  // pyproj 3.4.1: CRS.from_user_input(rasterio CRS EPSG:32632).to_cf()
  auto cf = Crs::epsg(32632).to_cf();
  EXPECT_EQ(cf["grid_mapping_name"], "transverse_mercator");
  EXPECT_EQ(cf["longitude_of_central_meridian"], 9.0);
  EXPECT_EQ(cf["false_easting"], 500000.0);
  EXPECT_EQ(cf["scale_factor_at_central_meridian"], 0.9996);
  EXPECT_EQ(cf["semi_major_axis"], 6378137.0);
  EXPECT_NEAR(cf["semi_minor_axis"].get<double>(), 6356752.314245179, 1e-6);
  EXPECT_EQ(cf["reference_ellipsoid_name"], "WGS 84");
  EXPECT_EQ(cf["projected_crs_name"], "WGS 84 / UTM zone 32N");
  EXPECT_EQ(cf["horizontal_datum_name"], "World Geodetic System 1984");
  EXPECT_EQ(cf["crs_wkt"].get<std::string>().rfind("PROJCS[\"WGS 84 / UTM zone 32N\"", 0), 0u);
  EXPECT_EQ(Crs::from_user_input("OGC:CRS84").to_cf()["grid_mapping_name"], "latitude_longitude");
}

TEST(GeoJson, ReadsTheCatchment) {
  auto geoms = read_geojson(catchment_path());
  ASSERT_EQ(geoms.size(), 1u);
  ASSERT_EQ(geoms[0].polygons().size(), 1u);
  EXPECT_EQ(geoms[0].polygons()[0][0].size(), 154u);
  EXPECT_TRUE(geoms[0].crs().equals(Crs::from_user_input("OGC:CRS84")));
  Bounds b = geoms[0].bounds();  // from the file's coordinates (python: min/max of the ring)
  EXPECT_DOUBLE_EQ(b.minx, 11.020833333333357);
  EXPECT_DOUBLE_EQ(b.miny, 46.653599378797765);
  EXPECT_DOUBLE_EQ(b.maxx, 11.366666666666694);
  EXPECT_DOUBLE_EQ(b.maxy, 46.954166666666694);
}

TEST(GeoJson, ToCrsMatchesPyproj) {
  auto g = read_geojson(catchment_path())[0];
  auto utm = g.to_crs(Crs::epsg(32632));
  EXPECT_EQ(utm.crs().to_epsg(), 32632);
  // pyproj 3.4.1 / PROJ 9.1.1: Transformer.from_crs("OGC:CRS84", "EPSG:32632", always_xy=True)
  // of the first vertex (11.075, 46.729166666666693) -> (658546.3989437919, 5177158.928030431).
  EXPECT_NEAR(utm.polygons()[0][0][0][0], 658546.3989437919, 1e-6);
  EXPECT_NEAR(utm.polygons()[0][0][0][1], 5177158.928030431, 1e-6);
  // Bounds of the transformed vertices (what geopandas' to_crs().total_bounds gives).
  Bounds b = utm.bounds();
  EXPECT_NEAR(b.minx, 654288.7501033258, 1e-6);
  EXPECT_NEAR(b.miny, 5168935.522343301, 1e-6);
  EXPECT_NEAR(b.maxx, 680580.3906045856, 1e-6);
  EXPECT_NEAR(b.maxy, 5202349.3919596765, 1e-6);
  // And back.
  auto back = utm.to_crs(Crs::from_user_input("OGC:CRS84"));
  EXPECT_NEAR(back.polygons()[0][0][0][0], 11.075, 1e-9);
  EXPECT_NEAR(back.polygons()[0][0][0][1], 46.729166666666693, 1e-9);
}

TEST(GeoJson, TransformBoundsMatchesPyproj) {
  // pyproj: Transformer(...).transform_bounds(10, 46, 12, 47, densify_pts=21)
  Bounds b = transform_bounds({10.0, 46.0, 12.0, 47.0}, Crs::from_user_input("OGC:CRS84"), Crs::epsg(32632));
  EXPECT_NEAR(b.minx, 576025.3120989332, 1e-3);
  EXPECT_NEAR(b.miny, 5094533.591105094, 1e-3);
  EXPECT_NEAR(b.maxx, 732293.3584792521, 1e-3);
  EXPECT_NEAR(b.maxy, 5209532.848132165, 1e-3);
  Bounds same = transform_bounds({1, 2, 3, 4}, Crs::epsg(32632), Crs::epsg(32632));
  EXPECT_EQ(same.maxy, 4);
}

TEST(GeoJson, ShapesAndLegacyCrs) {
  EXPECT_EQ(parse_geojson(square(0, 0, 1), "x").size(), 1u);
  nlohmann::json multi = {{"type", "MultiPolygon"},
                          {"coordinates", {square(0, 0, 1)["coordinates"], square(5, 5, 1)["coordinates"]}}};
  auto m = parse_geojson(multi, "x");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].polygons().size(), 2u);
  EXPECT_EQ(m[0].bounds().maxx, 6);
  // A hole.
  nlohmann::json holed = square(0, 0, 10);
  holed["coordinates"].push_back(square(4, 4, 2)["coordinates"][0]);
  auto h = parse_geojson(holed, "x")[0];
  EXPECT_EQ(h.polygons()[0].size(), 2u);
  EXPECT_TRUE(h.intersects({0.5, 0.5, 1, 1}));
  EXPECT_TRUE(h.contains({0.5, 0.5, 1, 1}));
  EXPECT_FALSE(h.contains({4.5, 4.5, 5, 5}));    // inside the hole
  EXPECT_FALSE(h.intersects({4.5, 4.5, 5, 5}));  // inside the hole
  EXPECT_TRUE(h.intersects({3, 3, 5, 5}));
  EXPECT_FALSE(h.intersects({20, 20, 30, 30}));
  // FeatureCollection with a legacy crs member; a null-geometry feature contributes nothing.
  nlohmann::json fc = {{"type", "FeatureCollection"},
                       {"crs", {{"type", "name"}, {"properties", {{"name", "urn:ogc:def:crs:EPSG::32632"}}}}},
                       {"features",
                        {{{"type", "Feature"}, {"properties", nlohmann::json::object()}, {"geometry", square(6e5, 5e6, 100)}},
                         {{"type", "Feature"}, {"properties", nlohmann::json::object()}, {"geometry", nullptr}}}}};
  auto f = parse_geojson(fc, "x");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].crs().to_epsg(), 32632);
  // to_geojson round trip
  auto again = parse_geojson(f[0].to_geojson(), "y");
  EXPECT_EQ(again[0].polygons(), f[0].polygons());
}

TEST(GeoJson, ErrorsNameTheFileAndJsonPath) {
  nlohmann::json three = {{"type", "FeatureCollection"},
                          {"features",
                           {{{"type", "Feature"},
                             {"geometry", {{"type", "Polygon"}, {"coordinates", {{{0, 0}, {1, 0}, {0, 0}}}}}}}}}};
  EXPECT_EQ(error_of(three), "catchment.geojson: features[0].geometry.coordinates[0]: ring has 3 positions, needs >= 4");
  nlohmann::json open_ring = {{"type", "Polygon"}, {"coordinates", {{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}}};
  EXPECT_EQ(error_of(open_ring), "catchment.geojson: coordinates[0]: ring is not closed (first and last positions differ)");
  nlohmann::json bad_pos = {{"type", "MultiPolygon"}, {"coordinates", {{{{0, 0}, {1, "a"}, {1, 1}, {0, 0}}}}}};
  EXPECT_EQ(error_of(bad_pos), "catchment.geojson: coordinates[0][0][1]: position coordinates must be numbers");
  EXPECT_EQ(error_of({{"type", "Point"}, {"coordinates", {0, 0}}}),
            "catchment.geojson: type: 'Point' is not a polygon: expected Polygon, MultiPolygon, Feature or FeatureCollection");
  EXPECT_EQ(error_of({{"type", "FeatureCollection"}, {"features", {1}}}), "catchment.geojson: features[0]: expected a Feature");
  EXPECT_EQ(error_of({{"coordinates", 1}}), "catchment.geojson: (root): missing \"type\"");
  EXPECT_EQ(error_of({{"type", "FeatureCollection"}, {"features", nlohmann::json::array()}}),
            "catchment.geojson: no Polygon or MultiPolygon geometry found");
  nlohmann::json bad_crs = square(0, 0, 1);
  bad_crs["crs"] = {{"type", "name"}, {"properties", {{"name", "EPSG:nope"}}}};
  EXPECT_NE(error_of(bad_crs).find("catchment.geojson: crs: "), std::string::npos);
}

TEST(GeoJson, FileErrors) {
  auto dir = std::filesystem::temp_directory_path() / "cubist_geojson_test";
  std::filesystem::create_directories(dir);
  auto bad = (dir / "bad.geojson").string();
  std::ofstream(bad) << "{\"type\": ";
  try {
    read_geojson(bad);
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(bad + ": not valid JSON", 0), 0u) << e.what();
  }
  EXPECT_THROW(read_geojson((dir / "missing.geojson").string()), IOError);
  std::filesystem::remove_all(dir);
}
