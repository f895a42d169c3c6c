// Writes a small (time, y, x) cube on a UTM 32N grid with to_zarr, and cubist's reproject of it
// (to EPSG:4326 and UTM 31N; nearest, bilinear, cubic, average; default and coarser resolutions)
// for check_reproject.py to compare with rioxarray.
// The cases are listed in cases.json. Usage: geo_reproject_case OUT_DIR
#include <cmath>
#include <fstream>
#include <iostream>

#include "cubist/cubist.hpp"
#include "cubist/geo.hpp"
#include "graph/layer.hpp"

using namespace cubist;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: geo_reproject_case OUT_DIR\n";
    return 2;
  }
  try {
    const std::string out = argv[1];
    // 200 m pixels over 70 x 90 pixels west of the 6°E zone border, NaN holes.
    const std::int64_t nt = 2, ny = 70, nx = 90;
    std::vector<double> xs, ys, v(static_cast<std::size_t>(nt * ny * nx));
    for (std::int64_t i = 0; i < nx; ++i) xs.push_back(300100.0 + 200.0 * static_cast<double>(i));
    for (std::int64_t i = 0; i < ny; ++i) ys.push_back(5250100.0 - 200.0 * static_cast<double>(i));
    for (std::size_t i = 0; i < v.size(); ++i)
      v[i] = (i % 89 == 5) ? NAN : std::sin(static_cast<double>(i % 4000) * 0.013) * 100.0 + static_cast<double>(i / 6300);
    auto da = DataArray::from_vector(v, {{"time", nt}, {"y", ny}, {"x", nx}},
                                     {{"time", Coordinate::datetimes("time", {"2019-02-01", "2019-02-06"})},
                                      {"y", Coordinate::from_vector("y", ys)},
                                      {"x", Coordinate::from_vector("x", xs)}});
    da = write_crs(da.chunk({{"time", 1}, {"y", 16}, {"x", 16}}), Crs::epsg(32632));
    to_zarr(Dataset({{"data", da}}), out + "/cube.zarr");

    struct Case {
      std::string name, crs, resampling;
      std::optional<std::array<double, 2>> resolution;
    };
    const std::vector<Case> cases = {
        {"wgs84_nearest", "EPSG:4326", "nearest", std::nullopt},
        {"wgs84_bilinear", "EPSG:4326", "bilinear", std::nullopt},
        {"wgs84_cubic", "EPSG:4326", "cubic", std::nullopt},
        {"utm31_nearest", "EPSG:32631", "nearest", std::nullopt},
        {"utm31_bilinear", "EPSG:32631", "bilinear", std::nullopt},
        {"utm31_bilinear_150m", "EPSG:32631", "bilinear", std::array<double, 2>{150, 150}},
        {"utm31_average_500m", "EPSG:32631", "average", std::array<double, 2>{500, 500}},
        {"utm31_bilinear_500m", "EPSG:32631", "bilinear", std::array<double, 2>{500, 500}},
    };
    nlohmann::json list = nlohmann::json::array();
    for (const auto& c : cases) {
      ReprojectOptions o;
      o.resampling = c.resampling;
      o.resolution = c.resolution;
      o.chunks = std::array<std::int64_t, 2>{23, 17};  // edge chunks everywhere
      DataArray r = reproject(da, Crs::from_user_input(c.crs), o);
      to_zarr(Dataset({{"data", r}}), out + "/" + c.name + ".zarr");
      const auto& layer = *r.layer();
      std::cout << c.name << ": shape (" << r.shape()[0] << ", " << r.shape()[1] << ", " << r.shape()[2] << "), "
                << (layer.constant ? layer.constant->chunks.size() : 0) << " of " << r.chunks().total_chunks()
                << " chunks constant\n";
      nlohmann::json j = {{"name", c.name}, {"crs", c.crs}, {"resampling", c.resampling}};
      if (c.resolution) j["resolution"] = {(*c.resolution)[0], (*c.resolution)[1]};
      list.push_back(j);
    }
    std::ofstream(out + "/cases.json") << list.dump(1);
  } catch (const std::exception& e) {
    std::cerr << "geo_reproject_case: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
