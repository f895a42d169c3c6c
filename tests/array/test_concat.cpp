// concat against values computed here with plain loops: chunks, coordinates, dtype promotion,
// dimension order, errors naming the dimension, and that the layer passes chunks on uncopied.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cubist/cubist.hpp"
#include "graph/layer.hpp"
#include "../test_support/error_of.hpp"

namespace cubist {
namespace {

// A (time, x) float64 array of `nt` steps starting at day `day0`, value 100*(day0 + t) + x.
DataArray series(int day0, std::int64_t nt, std::int64_t nx = 3) {
  std::vector<double> v;
  std::vector<std::int64_t> ns;
  for (std::int64_t t = 0; t < nt; ++t) {
    ns.push_back((day0 + t) * 86'400'000'000'000LL);
    for (std::int64_t x = 0; x < nx; ++x) v.push_back(100.0 * static_cast<double>(day0 + t) + static_cast<double>(x));
  }
  std::vector<double> xs;
  for (std::int64_t x = 0; x < nx; ++x) xs.push_back(static_cast<double>(x) * 10);
  Coords c{{"time", Coordinate::datetimes_ns("time", ns)}, {"x", Coordinate::from_vector("x", xs)}};
  return DataArray::from_vector(v, {{"time", nt}, {"x", nx}}, c, Attrs{{"units", "K"}}, "v");
}

TEST(Concat, JoinsValuesCoordsAndChunksAlongTheDimension) {
  const DataArray a = series(0, 4).chunk({{"time", 3}, {"x", 2}});
  const DataArray b = series(4, 3).chunk({{"time", 2}, {"x", 2}});
  const DataArray r = concat({a, b}, "time");
  EXPECT_EQ(r.dims(), (std::vector<std::string>{"time", "x"}));
  EXPECT_EQ(r.shape(), (Shape{7, 3}));
  EXPECT_EQ(r.chunks().chunks(0), (std::vector<std::int64_t>{3, 1, 2, 1}));
  EXPECT_EQ(r.chunks().chunks(1), (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(r.name(), "v");
  EXPECT_EQ(r.attrs().at("units"), "K");
  const auto t = r.coords().at("time").values().values<std::int64_t>();
  for (std::int64_t i = 0; i < 7; ++i) EXPECT_EQ(t[static_cast<std::size_t>(i)], i * 86'400'000'000'000LL);
  EXPECT_TRUE(r.coords().at("x").equals(a.coords().at("x")));
  const auto v = r.compute().values<double>();
  for (std::int64_t i = 0; i < 7; ++i)
    for (std::int64_t x = 0; x < 3; ++x) EXPECT_EQ(v[static_cast<std::size_t>(i * 3 + x)], 100.0 * static_cast<double>(i) + static_cast<double>(x));
}

TEST(Concat, PassesChunksOnWithoutCopying) {
  const DataArray a = series(0, 2).chunk({{"time", 1}}).persist();
  const DataArray b = series(2, 2).chunk({{"time", 1}}).persist();
  const DataArray r = concat({a, b, a}, "time");
  EXPECT_EQ(r.layer()->op, "concat");
  EXPECT_EQ(r.layer()->inputs.size(), 3u);
  EXPECT_EQ(r.chunks().chunks(0), (std::vector<std::int64_t>{1, 1, 1, 1, 1, 1}));
  // The persisted inputs' chunk buffers are the result's: nothing was copied.
  const auto& in = *b.layer()->literal;
  const DataArray p = r.persist();
  const auto& out = *p.layer()->literal;
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[2].raw(), in[0].raw());
  EXPECT_EQ(out[3].raw(), in[1].raw());
}

TEST(Concat, OtherDimensionsAreAlignedByNameAndRechunkedToTheCommonRefinement) {
  const DataArray a = series(0, 2, 5).chunk({{"x", 2}});
  const DataArray b = series(2, 2, 5).chunk({{"x", 3}}).transpose({"x", "time"});
  const DataArray r = concat({a, b}, "time");
  EXPECT_EQ(r.dims(), (std::vector<std::string>{"time", "x"}));
  EXPECT_EQ(r.chunks().chunks(1), (std::vector<std::int64_t>{2, 1, 1, 1}));
  const auto v = r.compute().values<double>();
  for (std::int64_t i = 0; i < 4; ++i)
    for (std::int64_t x = 0; x < 5; ++x) EXPECT_EQ(v[static_cast<std::size_t>(i * 5 + x)], 100.0 * static_cast<double>(i) + static_cast<double>(x));
}

TEST(Concat, PromotesDtypes) {
  const DataArray f = series(0, 1).astype(DType::Float32);
  const DataArray i = series(1, 2).astype(DType::Int16);
  const DataArray r = concat({i, f}, "time");
  EXPECT_EQ(r.dtype(), DType::Float32);
  EXPECT_EQ(r.compute().values<float>()[0], 100.0f);
  EXPECT_EQ(concat({i, i}, "time").dtype(), DType::Int16);
}

TEST(Concat, StringLabelsAndScalarCoordinates) {
  std::vector<double> v{1, 2, 3, 4};
  const DataArray a = DataArray::from_vector(v, {{"band", 2}, {"x", 2}}, Coords{{"band", Coordinate::strings("band", {"red", "nir"})}});
  DataArray b = DataArray::from_vector(std::vector<double>{5, 6}, {{"band", 1}, {"x", 2}}, Coords{{"band", Coordinate::strings("band", {"ndvi"})}});
  const Coordinate scalar_a({}, Chunk::zeros(DType::Int64, {}));
  Chunk one = Chunk::allocate(DType::Int64, {});
  one.mutable_values<std::int64_t>()[0] = 7;
  const DataArray r = concat({a.assign_coords("tile", scalar_a), b.assign_coords("tile", Coordinate({}, one))}, "band");
  EXPECT_EQ(r.coords().at("band").string_values(), (std::vector<std::string>{"red", "nir", "ndvi"}));
  // Differing scalar coordinates become one along the dimension, as xarray does.
  const Coordinate& tile = r.coords().at("tile");
  EXPECT_EQ(tile.dims(), (std::vector<std::string>{"band"}));
  EXPECT_EQ(std::vector<std::int64_t>(tile.values().values<std::int64_t>().begin(), tile.values().values<std::int64_t>().end()),
            (std::vector<std::int64_t>{0, 0, 7}));
  const auto out = r.compute().values<double>();
  EXPECT_EQ(std::vector<double>(out.begin(), out.end()), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  // Equal scalar coordinates stay scalar.
  EXPECT_TRUE(concat({a.assign_coords("tile", scalar_a), b.assign_coords("tile", scalar_a)}, "band").coords().at("tile").dims().empty());
}

TEST(Concat, EmptyInputsContributeNothing) {
  const DataArray a = series(0, 3);
  const DataArray none = a.isel({{"time", std::vector<std::int64_t>{}}});
  const DataArray r = concat({none, a, none}, "time");
  EXPECT_EQ(r.shape(), (Shape{3, 3}));
  EXPECT_EQ(r.compute().values<double>()[4], 101.0);
}

using test_support::error_of;

TEST(Concat, ErrorsNameTheDimensionOrCoordinate) {
  const DataArray a = series(0, 2, 3), b = series(2, 2, 4);
  EXPECT_NE(error_of([&] { concat({a, b}, "time"); }).find("dimension 'x' has size 3 in array 0 but 4 in array 1"), std::string::npos);
  const DataArray shifted = series(2, 2).assign_coords("x", Coordinate::from_vector("x", std::vector<double>{1, 2, 3}));
  EXPECT_NE(error_of([&] { concat({a, shifted}, "time"); }).find("labels of dimension 'x' differ"), std::string::npos);
  EXPECT_NE(error_of([&] { concat({a, a}, "band"); }).find("no dimension 'band'"), std::string::npos);
  EXPECT_NE(error_of([&] { concat({a, a.isel({{"x", std::int64_t{0}}})}, "time"); }).find("no dimension 'x'"), std::string::npos);
  EXPECT_NE(error_of([&] { concat({}, "time"); }).find("no arrays"), std::string::npos);
  const DataArray extra = series(2, 2).assign_coords("platform", Coordinate::strings("time", {"A", "B"}));
  EXPECT_NE(error_of([&] { concat({a, extra}, "time"); }).find("coordinate 'platform' is in array 1 but not in array 0"), std::string::npos);
  EXPECT_THROW(concat({a, a}, "band"), DimensionError);
}

}  // namespace
}  // namespace cubist
