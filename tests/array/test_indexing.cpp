// isel / sel / transpose against positions and values computed here with plain loops, over
// several chunkings (regular, irregular, one chunk per element, one chunk).
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <optional>

#include "cubist/cubist.hpp"
#include "graph/layer.hpp"

namespace cubist {
namespace {

using Positions = std::vector<std::int64_t>;

// A (t, y, x) float64 cube whose value at (t, y, x) is 100*t + 10*y + x, with a datetime t, a
// float x coordinate and a 2-d coordinate on (y, x).
constexpr std::int64_t kT = 7, kY = 5, kX = 6;

DataArray cube() {
  std::vector<double> v(kT * kY * kX);
  for (std::int64_t t = 0; t < kT; ++t)
    for (std::int64_t y = 0; y < kY; ++y)
      for (std::int64_t x = 0; x < kX; ++x) v[static_cast<std::size_t>((t * kY + y) * kX + x)] = 100.0 * t + 10.0 * y + x;
  std::vector<double> xs, yx;
  for (std::int64_t x = 0; x < kX; ++x) xs.push_back(0.5 * static_cast<double>(x));
  for (std::int64_t i = 0; i < kY * kX; ++i) yx.push_back(static_cast<double>(i));
  Chunk yxc = Chunk::allocate(DType::Float64, {kY, kX});
  std::copy(yx.begin(), yx.end(), yxc.mutable_values<double>().begin());
  Coords coords{{"t", date_range("t", "2020-01-01", kT, "D")},
                {"x", Coordinate::from_vector("x", xs)},
                {"cell", Coordinate({"y", "x"}, yxc)}};
  return DataArray::from_vector(v, {{"t", kT}, {"y", kY}, {"x", kX}}, coords, Attrs{{"units", "K"}}, "temp");
}

std::vector<ChunkSpec> chunkings() {
  return {
      ChunkSpec{{"t", -1}, {"y", -1}, {"x", -1}},
      ChunkSpec{{"t", 3}, {"y", 2}, {"x", 4}},
      ChunkSpec{{"t", 1}, {"y", 1}, {"x", 1}},
      ChunkSpec{{"t", std::vector<std::int64_t>{1, 4, 2}}, {"y", std::vector<std::int64_t>{2, 3}},
                {"x", std::vector<std::int64_t>{5, 1}}},
  };
}

// Expected values: axis a keeps positions sel[a] (all when nullopt); dropped axes hold one position.
std::vector<double> expected(const std::array<std::optional<Positions>, 3>& sel) {
  auto axis = [&](std::size_t a, std::int64_t n) {
    if (sel[a]) return *sel[a];
    Positions p(static_cast<std::size_t>(n));
    std::iota(p.begin(), p.end(), 0);
    return p;
  };
  std::vector<double> out;
  for (auto t : axis(0, kT))
    for (auto y : axis(1, kY))
      for (auto x : axis(2, kX)) out.push_back(100.0 * static_cast<double>(t) + 10.0 * static_cast<double>(y) + static_cast<double>(x));
  return out;
}

std::string fmt_day(std::int64_t day) {  // label of day `day` after 2020-01-01
  return format_datetime(datetime_ns("2020-01-01") + day * 86'400'000'000'000);
}

std::vector<double> values_of(const DataArray& a) {
  auto r = a.compute();
  auto v = r.values<double>();
  return {v.begin(), v.end()};
}

TEST(Isel, IntegerDropsTheDimAndLeavesScalarCoords) {
  for (const auto& spec : chunkings()) {
    DataArray a = cube().chunk(spec).isel({{"t", 2}, {"x", -1}});
    EXPECT_EQ(a.dims(), (std::vector<std::string>{"y"}));
    EXPECT_EQ(a.name(), "temp");
    EXPECT_EQ(a.attrs().at("units"), "K");
    EXPECT_EQ(values_of(a), expected({Positions{2}, std::nullopt, Positions{5}}));
    ASSERT_TRUE(a.coords().contains("t"));
    EXPECT_TRUE(a.coords().at("t").dims().empty());
    EXPECT_EQ(a.coords().at("t").format_value(0), "2020-01-03");
    EXPECT_TRUE(a.coords().at("x").dims().empty());
    EXPECT_DOUBLE_EQ(a.coords().at("x").numeric_value(0), 2.5);
    EXPECT_EQ(a.coords().at("cell").dims(), (std::vector<std::string>{"y"}));
    EXPECT_DOUBLE_EQ(a.coords().at("cell").numeric_value(3), 3 * kX + 5);
  }
}

TEST(Isel, SlicesFollowPythonSemantics) {
  struct Case {
    Slice s;
    Positions want;  // on an axis of 7
  };
  const std::vector<Case> cases = {
      {{1, 5, 1}, {1, 2, 3, 4}},
      {{std::nullopt, std::nullopt, 2}, {0, 2, 4, 6}},
      {{-3, std::nullopt, 1}, {4, 5, 6}},
      {{std::nullopt, -2, 1}, {0, 1, 2, 3, 4}},
      {{std::nullopt, std::nullopt, -1}, {6, 5, 4, 3, 2, 1, 0}},
      {{-2, std::nullopt, -2}, {5, 3, 1}},
      {{5, 1, -2}, {5, 3}},
      {{-100, 100, 3}, {0, 3, 6}},
      {{100, -100, -3}, {6, 3, 0}},
      {{4, 2, 1}, {}},
      {{2, 4, -1}, {}},
      {{7, std::nullopt, 1}, {}},
  };
  for (const auto& spec : chunkings())
    for (const auto& c : cases) {
      SCOPED_TRACE(testing::Message() << "slice " << c.s.start.value_or(-999) << ":" << c.s.stop.value_or(-999) << ":"
                                      << c.s.step << " chunks " << cube().chunk(spec).chunks().to_string());
      DataArray a = cube().chunk(spec).isel({{"t", c.s}, {"y", Slice{1, std::nullopt, 2}}});
      EXPECT_EQ(a.sizes(), (DimSizes{{"t", static_cast<std::int64_t>(c.want.size())}, {"y", 2}, {"x", kX}}));
      EXPECT_EQ(values_of(a), expected({c.want, Positions{1, 3}, std::nullopt}));
      // The datetime index coordinate follows the data.
      const auto& t = a.coords().at("t");
      ASSERT_EQ(t.size(), static_cast<std::int64_t>(c.want.size()));
      for (std::size_t k = 0; k < c.want.size(); ++k)
        EXPECT_EQ(t.format_value(static_cast<std::int64_t>(k)), fmt_day(c.want[k]));
    }
}

TEST(Isel, StepOneSliceKeepsInputChunkBoundaries) {
  DataArray a = arange<double>("x", 0, 12, 1, 4);  // chunks (4, 4, 4)
  DataArray s = a.isel({{"x", Slice{2, 10}}});
  EXPECT_EQ(s.chunks().chunks(0), (std::vector<std::int64_t>{2, 4, 2}));
  DataArray r = a.isel({{"x", Slice{std::nullopt, std::nullopt, -3}}});  // 11 8 5 2
  EXPECT_EQ(r.chunks().chunks(0), (std::vector<std::int64_t>{2, 1, 1}));  // 11 and 8 share a chunk
  EXPECT_EQ(values_of(r), (std::vector<double>{11, 8, 5, 2}));
  DataArray l = a.isel({{"x", Positions{0, 1, 5, 6, 2}}});
  EXPECT_EQ(l.chunks().chunks(0), (std::vector<std::int64_t>{2, 2, 1}));
}

TEST(Isel, ListsKeepOrderRepeatsAndNegatives) {
  for (const auto& spec : chunkings()) {
    DataArray a = cube().chunk(spec).isel({{"x", Positions{5, 0, 0, -1, 3, -6}}, {"t", Positions{6, 1, 1}}});
    EXPECT_EQ(values_of(a), expected({Positions{6, 1, 1}, std::nullopt, Positions{5, 0, 0, 5, 3, 0}}));
    const auto& x = a.coords().at("x");
    EXPECT_DOUBLE_EQ(x.numeric_value(0), 2.5);
    EXPECT_DOUBLE_EQ(x.numeric_value(1), 0.0);
    EXPECT_DOUBLE_EQ(x.numeric_value(4), 1.5);
    const auto& cell = a.coords().at("cell");
    EXPECT_EQ(cell.shape(), (Shape{kY, 6}));
    EXPECT_DOUBLE_EQ(cell.numeric_value(6 + 4), 1 * kX + 3);  // (y=1, x=3)
  }
}

TEST(Isel, ThenMean) {
  for (const auto& spec : chunkings()) {
    DataArray m = cube().chunk(spec).isel({{"t", Slice{1, 6, 2}}, {"x", Positions{4, 1}}}).mean("t").compute();
    ASSERT_EQ(m.dims(), (std::vector<std::string>{"y", "x"}));
    auto v = m.values<double>();
    for (std::int64_t y = 0; y < kY; ++y)
      for (std::size_t k = 0; k < 2; ++k) {
        const double x = k == 0 ? 4 : 1;
        double sum = 0;
        for (std::int64_t t : {1, 3, 5}) sum += 100.0 * static_cast<double>(t) + 10.0 * static_cast<double>(y) + x;
        EXPECT_DOUBLE_EQ(v[static_cast<std::size_t>(y) * 2 + k], sum / 3);
      }
  }
}

TEST(Isel, RandomDataAgainstLoops) {
  DataArray r = random<float>({{"a", 37}, {"b", 23}}, {{"a", 8}, {"b", 5}}, 7);
  DataArray whole = r.compute();
  auto all = whole.values<float>();
  DataArray s = r.isel({{"a", Slice{-3, 2, -4}}, {"b", Positions{22, 0, 11, 11}}}).compute();
  auto v = s.values<float>();
  std::size_t k = 0;
  for (std::int64_t a = 34; a > 2; a -= 4)
    for (std::int64_t b : {22, 0, 11, 11}) EXPECT_EQ(v[k++], all[static_cast<std::size_t>(a * 23 + b)]);
  EXPECT_EQ(k, v.size());
}

TEST(Isel, NoChangeReturnsTheSameLayer) {
  DataArray a = cube().chunk({{"t", 2}});
  EXPECT_EQ(a.isel({{"t", Slice{}}, {"x", Positions{0, 1, 2, 3, 4, 5}}}).layer(), a.layer());
  EXPECT_EQ(a.isel({{"t", Slice{-100, 100}}}).layer(), a.layer());
}

TEST(Isel, EmptySelection) {
  DataArray a = cube().chunk({{"t", 2}}).isel({{"t", Slice{5, 2}}});
  EXPECT_EQ(a.size("t"), 0);
  DataArray r = a.compute();
  EXPECT_EQ(r.size(), 0);
  EXPECT_EQ(r.shape(), (Shape{0, kY, kX}));
}

TEST(Isel, Errors) {
  DataArray a = cube();
  EXPECT_THROW(a.isel({{"z", 0}}), DimensionError);
  EXPECT_THROW(a.isel({{"t", 7}}), ValueError);
  EXPECT_THROW(a.isel({{"t", -8}}), ValueError);
  EXPECT_THROW(a.isel({{"x", Positions{0, 6}}}), ValueError);
  EXPECT_THROW(a.isel({{"x", Slice{0, 3, 0}}}), ValueError);
  EXPECT_THROW(a.isel({{"x", 0}, {"x", 1}}), DimensionError);
  try {
    a.isel({{"t", 9}});
    FAIL();
  } catch (const ValueError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("'t'"), std::string::npos) << m;
    EXPECT_NE(m.find("9"), std::string::npos) << m;
    EXPECT_NE(m.find("7"), std::string::npos) << m;
  }
  try {
    a.isel({{"lat", 0}});
    FAIL();
  } catch (const DimensionError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("'lat'"), std::string::npos) << m;
    EXPECT_NE(m.find("t, y, x"), std::string::npos) << m;
  }
}

// ----------------------------------------------------------------------------------------------
// sel

DataArray line(std::vector<double> labels, int chunk = 2) {
  std::vector<double> v(labels.size());
  std::iota(v.begin(), v.end(), 0.0);  // the value is the position
  const auto n = static_cast<std::int64_t>(labels.size());
  return DataArray::from_vector(v, {{"x", n}}, {{"x", Coordinate::from_vector("x", labels)}}).chunk({{"x", chunk}});
}

std::vector<double> positions(const DataArray& a) { return values_of(a); }

TEST(Sel, NumericExactListsAndSlices) {
  DataArray a = line({10, 20, 30, 40, 50, 60});
  DataArray one = a.sel({{"x", 30}});
  EXPECT_EQ(one.ndim(), 0u);
  EXPECT_EQ(positions(one), (std::vector<double>{2}));
  EXPECT_EQ(positions(a.sel({{"x", std::vector<Label>{60, 10, 10}}})), (std::vector<double>{5, 0, 0}));
  EXPECT_EQ(positions(a.sel({{"x", LabelSlice{20, 50}}})), (std::vector<double>{1, 2, 3, 4}));  // inclusive
  EXPECT_EQ(positions(a.sel({{"x", LabelSlice{15, 41}}})), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(positions(a.sel({{"x", LabelSlice{std::nullopt, 25}}})), (std::vector<double>{0, 1}));
  EXPECT_EQ(positions(a.sel({{"x", LabelSlice{55, std::nullopt}}})), (std::vector<double>{5}));
  EXPECT_EQ(a.sel({{"x", LabelSlice{70, 80}}}).size("x"), 0);
  DataArray s = a.sel({{"x", LabelSlice{20, 40}}});
  EXPECT_DOUBLE_EQ(s.coords().at("x").numeric_value(0), 20);
}

TEST(Sel, DecreasingAndUnsortedLabels) {
  DataArray d = line({60, 50, 40, 30, 20, 10}, 4);
  EXPECT_EQ(positions(d.sel({{"x", LabelSlice{55, 25}}})), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(positions(d.sel({{"x", LabelSlice{std::nullopt, 40}}})), (std::vector<double>{0, 1, 2}));
  DataArray u = line({30, 10, 60, 20, 50, 40}, 3);
  EXPECT_EQ(positions(u.sel({{"x", LabelSlice{10, 50}}})), (std::vector<double>{1, 2, 3, 4}));
  EXPECT_THROW(u.sel({{"x", LabelSlice{15, 50}}}), KeyError);
  EXPECT_EQ(positions(u.sel({{"x", 20}})), (std::vector<double>{3}));
}

TEST(Sel, RepeatedLabelKeepsTheDim) {
  DataArray a = line({1, 2, 2, 3});
  DataArray r = a.sel({{"x", 2}});
  EXPECT_EQ(r.dims(), (std::vector<std::string>{"x"}));
  EXPECT_EQ(positions(r), (std::vector<double>{1, 2}));
}

TEST(Sel, Nearest) {
  DataArray a = line({10, 20, 30, 40});
  SelOptions near{SelOptions::Method::Nearest, std::nullopt};
  EXPECT_EQ(positions(a.sel({{"x", 26}}, near)), (std::vector<double>{2}));
  EXPECT_EQ(positions(a.sel({{"x", -100}}, near)), (std::vector<double>{0}));
  EXPECT_EQ(positions(a.sel({{"x", 1e9}}, near)), (std::vector<double>{3}));
  EXPECT_EQ(positions(a.sel({{"x", 25}}, near)), (std::vector<double>{2}));  // ties go up, as pandas
  EXPECT_EQ(positions(a.sel({{"x", std::vector<Label>{39, 11, 31}}}, near)), (std::vector<double>{3, 0, 2}));
  SelOptions tight{SelOptions::Method::Nearest, 2.0};
  EXPECT_EQ(positions(a.sel({{"x", 21.5}}, tight)), (std::vector<double>{1}));
  EXPECT_THROW(a.sel({{"x", 25}}, tight), KeyError);
  EXPECT_THROW(a.sel({{"x", LabelSlice{10, 20}}}, near), ValueError);
}

DataArray daily(std::int64_t n = 60, int chunk = 7) {
  std::vector<double> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0.0);
  return DataArray::from_vector(v, {{"time", n}}, {{"time", date_range("time", "2020-01-01", n, "D")}}).chunk({{"time", chunk}});
}

std::vector<double> range(double lo, double hi) {  // lo..hi inclusive
  std::vector<double> r;
  for (double v = lo; v <= hi; ++v) r.push_back(v);
  return r;
}

TEST(Sel, DatetimeStrings) {
  DataArray a = daily();
  DataArray day = a.sel({{"time", "2020-01-05"}});
  EXPECT_EQ(day.ndim(), 0u);
  EXPECT_EQ(positions(day), (std::vector<double>{4}));
  EXPECT_EQ(day.coords().at("time").format_value(0), "2020-01-05");
  // A month on daily labels selects the month and keeps the dim (pandas' partial strings).
  DataArray feb = a.sel({{"time", "2020-02"}});
  EXPECT_EQ(feb.dims(), (std::vector<std::string>{"time"}));
  EXPECT_EQ(positions(feb), range(31, 59));  // 2020 is a leap year: 29 days
  EXPECT_EQ(positions(a.sel({{"time", "2020"}})), range(0, 59));
  // Slices are inclusive and a coarse stop runs to the end of its period.
  EXPECT_EQ(positions(a.sel({{"time", LabelSlice{"2020-01-30", "2020-02-02"}}})), range(29, 32));
  EXPECT_EQ(positions(a.sel({{"time", LabelSlice{"2020-02", "2020-02"}}})), range(31, 59));
  EXPECT_EQ(positions(a.sel({{"time", LabelSlice{"2020-02-27T12:00", std::nullopt}}})), range(58, 59));
  EXPECT_EQ(positions(a.sel({{"time", std::vector<Label>{"2020-01-03", "2020-01-01"}}})), (std::vector<double>{2, 0}));
  EXPECT_THROW(a.sel({{"time", "2020-03-05"}}), KeyError);
  EXPECT_THROW(a.sel({{"time", "2021-01"}}), KeyError);
  EXPECT_THROW(a.sel({{"time", 5}}), TypeError);
  EXPECT_THROW(a.sel({{"time", "05/01/2020"}}), ValueError);
  SelOptions near{SelOptions::Method::Nearest, std::nullopt};
  EXPECT_EQ(positions(a.sel({{"time", "2020-01-05T13:00"}}, near)), (std::vector<double>{5}));
}

TEST(Sel, DecreasingDatetimesTakeWholePeriods) {
  // Labels run from 2020-02-29 back to 2020-01-01; value k sits at day 59 - k.
  std::vector<std::int64_t> ns;
  for (std::int64_t k = 0; k < 60; ++k) ns.push_back(datetime_ns("2020-01-01") + (59 - k) * 86'400'000'000'000);
  std::vector<double> v(60);
  std::iota(v.begin(), v.end(), 0.0);
  DataArray a = DataArray::from_vector(v, {{"time", 60}}, {{"time", Coordinate::datetimes_ns("time", ns)}}).chunk({{"time", 9}});
  EXPECT_EQ(positions(a.sel({{"time", LabelSlice{"2020-02", "2020-01-30"}}})), range(0, 30));  // Feb 29 .. Jan 30
  EXPECT_EQ(positions(a.sel({{"time", LabelSlice{"2020-01-03", std::nullopt}}})), range(57, 59));
  EXPECT_EQ(positions(a.sel({{"time", "2020-01"}})), range(29, 59));
}

TEST(Sel, DatetimeDayOnHourlyLabelsSelectsTheDay) {
  const std::int64_t n = 72;
  std::vector<double> v(n);
  std::iota(v.begin(), v.end(), 0.0);
  DataArray a = DataArray::from_vector(v, {{"time", n}}, {{"time", date_range("time", "2020-01-01", n, "h")}}).chunk({{"time", 10}});
  EXPECT_EQ(positions(a.sel({{"time", "2020-01-02"}})), range(24, 47));
  EXPECT_EQ(a.sel({{"time", "2020-01-02T05"}}).ndim(), 0u);
  EXPECT_EQ(positions(a.sel({{"time", LabelSlice{"2020-01-01T22", "2020-01-02T01"}}})), range(22, 25));
}

TEST(Sel, StringLabels) {
  std::vector<double> v{0, 1, 2, 3};
  DataArray a = DataArray::from_vector(v, {{"band", 4}}, {{"band", Coordinate::strings("band", {"blue", "green", "nir", "red"})}});
  EXPECT_EQ(positions(a.sel({{"band", "nir"}})), (std::vector<double>{2}));
  EXPECT_EQ(positions(a.sel({{"band", std::vector<Label>{"red", "nir"}}})), (std::vector<double>{3, 2}));
  EXPECT_EQ(positions(a.sel({{"band", LabelSlice{"c", "nir"}}})), (std::vector<double>{1, 2}));
  EXPECT_EQ(a.sel({{"band", "nir"}}).coords().at("band").format_value(0), "nir");
  EXPECT_THROW(a.sel({{"band", "swir"}}), KeyError);
  EXPECT_THROW(a.sel({{"band", 1}}), TypeError);
  EXPECT_THROW(a.sel({{"band", "nir"}}, {SelOptions::Method::Nearest, std::nullopt}), TypeError);
}

TEST(Sel, Errors) {
  DataArray a = cube();
  EXPECT_THROW(a.sel({{"y", 1}}), KeyError);  // no coordinate along y
  try {
    a.sel({{"y", 1}});
  } catch (const KeyError& e) {
    EXPECT_NE(std::string(e.what()).find("no coordinate for dimension 'y'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(a.sel({{"z", 1}}), DimensionError);
  EXPECT_THROW(a.sel({{"x", "a"}}), TypeError);
  try {
    a.sel({{"x", 0.7}});
    FAIL();
  } catch (const KeyError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("0.7"), std::string::npos) << m;
    EXPECT_NE(m.find("'x'"), std::string::npos) << m;
  }
}

TEST(Sel, OnTheCubeThenMean) {
  for (const auto& spec : chunkings()) {
    DataArray m = cube()
                      .chunk(spec)
                      .sel({{"t", LabelSlice{"2020-01-02", "2020-01-04"}}, {"x", std::vector<Label>{2.5, 0.5}}})
                      .mean({"t", "y"})
                      .compute();
    auto v = m.values<double>();
    ASSERT_EQ(v.size(), 2u);
    for (std::size_t k = 0; k < 2; ++k) {
      double x = k == 0 ? 5 : 1, sum = 0;
      for (int t = 1; t <= 3; ++t)
        for (int y = 0; y < kY; ++y) sum += 100.0 * t + 10.0 * y + x;
      EXPECT_DOUBLE_EQ(v[k], sum / (3 * kY));
    }
  }
}

// ----------------------------------------------------------------------------------------------
// transpose

TEST(Transpose, EveryPermutationAndChunking) {
  const std::vector<std::string> names{"t", "y", "x"};
  const std::array<std::int64_t, 3> ext{kT, kY, kX};
  for (const auto& spec : chunkings()) {
    std::vector<std::size_t> perm{0, 1, 2};
    do {
      std::vector<std::string> order{names[perm[0]], names[perm[1]], names[perm[2]]};
      DataArray a = cube().chunk(spec).transpose(order);
      EXPECT_EQ(a.dims(), order);
      auto v = values_of(a);
      std::size_t k = 0;
      std::array<std::int64_t, 3> idx{};
      for (idx[perm[0]] = 0; idx[perm[0]] < ext[perm[0]]; ++idx[perm[0]])
        for (idx[perm[1]] = 0; idx[perm[1]] < ext[perm[1]]; ++idx[perm[1]])
          for (idx[perm[2]] = 0; idx[perm[2]] < ext[perm[2]]; ++idx[perm[2]])
            EXPECT_EQ(v[k++], 100.0 * static_cast<double>(idx[0]) + 10.0 * static_cast<double>(idx[1]) + static_cast<double>(idx[2]));
      EXPECT_TRUE(a.coords().contains("cell"));
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
}

TEST(Transpose, LargeTilesAndSmallTypes) {
  const std::int64_t ny = 131, nx = 77;
  std::vector<std::int8_t> v(ny * nx);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::int8_t>(i * 7 % 251);
  DataArray a = DataArray::from_vector(v, {{"y", ny}, {"x", nx}}).chunk({{"y", 100}, {"x", 40}});
  DataArray t = a.transpose({"x", "y"}).compute();
  auto r = t.values<std::int8_t>();
  for (std::int64_t x = 0; x < nx; ++x)
    for (std::int64_t y = 0; y < ny; ++y) ASSERT_EQ(r[static_cast<std::size_t>(x * ny + y)], v[static_cast<std::size_t>(y * nx + x)]);
  // Back again.
  DataArray back = a.transpose({"x", "y"}).transpose({"y", "x"}).compute();
  auto b = back.values<std::int8_t>();
  EXPECT_EQ(std::vector<std::int8_t>(b.begin(), b.end()), v);
}

TEST(Transpose, Errors) {
  DataArray a = cube();
  EXPECT_EQ(a.transpose({"t", "y", "x"}).layer(), a.layer());
  EXPECT_THROW(a.transpose({"t", "y"}), DimensionError);
  EXPECT_THROW(a.transpose({"t", "y", "y"}), DimensionError);
  EXPECT_THROW(a.transpose({"t", "y", "z"}), DimensionError);
}

}  // namespace
}  // namespace cubist
