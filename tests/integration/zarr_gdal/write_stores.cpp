// Writes the stores GDAL and zarrita must read: the same small dataset as Zarr v2 (xarray's
// defaults: blosc lz4, consolidated) and as Zarr v3 (cubist's default codecs, gzip, and sharded),
// plus the expected values of every variable as .npy files for the checkers.
// Usage: zarr_gdal_write OUTDIR
#include <cubist/cubist.hpp>
#include <cubist/io.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "../npy_writer.hpp"

namespace cb = cubist;

namespace {

cb::Dataset sample() {
  // Sizes that the chunks do not divide, so edge chunks are partial.
  constexpr std::int64_t T = 3, Y = 37, X = 53;
  std::vector<float> temperature;
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t y = 0; y < Y; ++y)
      for (std::int64_t x = 0; x < X; ++x)
        temperature.push_back((x * 3 + y * 5 + t) % 17 == 0 ? NAN
                                                            : 273.15f + 0.25f * static_cast<float>(t * 1000 + y * 60 + x));
  std::vector<std::int16_t> elevation;
  for (std::int64_t y = 0; y < Y; ++y)
    for (std::int64_t x = 0; x < X; ++x) elevation.push_back(static_cast<std::int16_t>((y * 131 + x * 17) % 4000 - 500));
  std::vector<double> ys, xs;
  for (std::int64_t y = 0; y < Y; ++y) ys.push_back(5'200'000.0 - 10.0 * static_cast<double>(y));
  for (std::int64_t x = 0; x < X; ++x) xs.push_back(600'000.0 + 10.0 * static_cast<double>(x));
  cb::Coords coords{{"time", cb::date_range("time", "2023-05-01", T, "D")},
                    {"y", cb::Coordinate::from_vector("y", ys)},
                    {"x", cb::Coordinate::from_vector("x", xs)}};
  return cb::Dataset(
      {{"temperature", cb::DataArray::from_vector(temperature, {{"time", T}, {"y", Y}, {"x", X}}, {}, cb::Attrs{{"units", "K"}})
                           .chunk({{"time", 1}, {"y", 16}, {"x", 16}})},
       {"elevation", cb::DataArray::from_vector(elevation, {{"y", Y}, {"x", X}}, {}, cb::Attrs{{"units", "m"}})
                         .chunk({{"y", 10}, {"x", 20}})}},
      coords, cb::Attrs{{"title", "cubist store for GDAL and zarrita"}});
}

void write(const cb::Dataset& ds, const std::filesystem::path& path, int format, const nlohmann::json& codecs = nullptr) {
  cb::ToZarrOptions o;
  o.mode = "w";
  o.zarr_format = format;
  if (!codecs.is_null())
    for (const auto& n : ds.data_vars()) o.encoding[n].codecs = codecs;
  cb::to_zarr(ds, path.string(), o);
}

// Shards of (1, 32, 32) holding inner chunks of (1, 16, 16) (2-D variables: (32, 32) of (16, 16)),
// blosc inside, crc32c on the index: the layout issue 4 benchmarks.
void write_sharded(const cb::Dataset& ds, const std::filesystem::path& path) {
  cb::ToZarrOptions o;
  o.mode = "w";
  o.zarr_format = 3;
  for (const auto& n : ds.data_vars()) {
    const bool cube = ds[n].dims().size() == 3;
    o.encoding[n].chunks = cube ? cb::DimSizes{{"time", 1}, {"y", 32}, {"x", 32}} : cb::DimSizes{{"y", 32}, {"x", 32}};
    nlohmann::json inner = cube ? nlohmann::json{1, 16, 16} : nlohmann::json{16, 16};
    o.encoding[n].codecs = nlohmann::json::array(
        {{{"name", "sharding_indexed"},
          {"configuration",
           {{"chunk_shape", inner},
            {"codecs", {{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                        {{"name", "blosc"},
                         {"configuration",
                          {{"cname", "zstd"}, {"clevel", 3}, {"shuffle", "shuffle"}, {"typesize", cb::itemsize(ds[n].dtype())},
                           {"blocksize", 0}}}}}},
            {"index_codecs", {{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}, {{"name", "crc32c"}}}},
            {"index_location", "end"}}}}});
  }
  cb::to_zarr(ds, path.string(), o);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  try {
    const std::filesystem::path out = argv[1];
    std::filesystem::create_directories(out);
    const cb::Dataset ds = sample();
    write(ds, out / "v2.zarr", 2);
    write(ds, out / "v3.zarr", 3);
    write(ds, out / "v3_gzip.zarr", 3,
          nlohmann::json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                                 {{"name", "gzip"}, {"configuration", {{"level", 5}}}}}));
    write_sharded(ds, out / "v3_sharded.zarr");
    const cb::Dataset computed = ds.compute();
    for (const auto& n : computed.data_vars()) oracle::write_npy((out / (n + ".npy")).string(), computed[n].memory_chunk());
    for (const char* c : {"y", "x"}) oracle::write_npy((out / (std::string(c) + ".npy")).string(), computed.coords().at(c).values());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "zarr_gdal_write: %s\n", e.what());
    return 1;
  }
}
