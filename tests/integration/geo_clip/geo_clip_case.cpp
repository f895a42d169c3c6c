// Writes a small (time, y, x) cube on a UTM 32N grid around the catchment with to_zarr, and
// cubist's clip of it to the catchment (centre rule and all_touched), for check_clip.py to
// compare with rioxarray. Usage: geo_clip_case OUT_DIR CATCHMENT_GEOJSON
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cubist/cubist.hpp"
#include "cubist/geo.hpp"
#include "graph/layer.hpp"

using namespace cubist;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: geo_clip_case OUT_DIR CATCHMENT_GEOJSON\n";
    return 2;
  }
  try {
    const std::string out = argv[1];
    // 500 m pixels over the catchment's UTM bounds (654289..680580 E, 5168936..5202349 N) plus a margin.
    const std::int64_t nt = 3, ny = 80, nx = 64;
    std::vector<double> xs, ys, v(static_cast<std::size_t>(nt * ny * nx));
    for (std::int64_t i = 0; i < nx; ++i) xs.push_back(650250.0 + 500.0 * static_cast<double>(i));
    for (std::int64_t i = 0; i < ny; ++i) ys.push_back(5205750.0 - 500.0 * static_cast<double>(i));
    for (std::size_t i = 0; i < v.size(); ++i)
      v[i] = (i % 97 == 0) ? NAN : std::sin(static_cast<double>(i) * 0.01) * 100.0;
    auto da = DataArray::from_vector(v, {{"time", nt}, {"y", ny}, {"x", nx}},
                                     {{"time", Coordinate::datetimes("time", {"2019-02-01", "2019-02-06", "2019-02-11"})},
                                      {"y", Coordinate::from_vector("y", ys)},
                                      {"x", Coordinate::from_vector("x", xs)}});
    da = write_crs(da.chunk({{"time", 1}, {"y", 16}, {"x", 16}}), Crs::epsg(32632));
    to_zarr(Dataset({{"data", da}}), out + "/cube.zarr");

    auto geoms = read_geojson(argv[2]);
    auto clipped = clip(da, geoms);
    ComputeStats stats;
    to_zarr(Dataset({{"data", clipped}}), out + "/clipped.zarr");
    ClipOptions touched;
    touched.all_touched = true;
    to_zarr(Dataset({{"data", clip(da, geoms, touched)}}), out + "/clipped_touched.zarr");
    // The chunks of the crop window that lie entirely outside the catchment are never read.
    std::printf("clipped shape (%lld, %lld, %lld), %zu of %lld chunks constant\n",
                static_cast<long long>(clipped.shape()[0]), static_cast<long long>(clipped.shape()[1]),
                static_cast<long long>(clipped.shape()[2]),
                clipped.layer()->constant ? clipped.layer()->constant->chunks.size() : 0,
                static_cast<long long>(clipped.chunks().total_chunks()));
    if (!clipped.layer()->constant) {
      std::cerr << "expected chunks outside the catchment to be constant\n";
      return 1;
    }
  } catch (const std::exception& e) {
    std::cerr << "geo_clip_case: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
