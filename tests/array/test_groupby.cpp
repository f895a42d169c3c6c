// groupby(...) reductions and floor_time, against a brute-force reference with numpy's NaN rules
// (the xarray oracle in tests/integration checks the same against xarray itself).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <fmt/format.h>
#include <map>

#include "cubist/cubist.hpp"

using namespace cubist;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::int64_t kHour = 3'600'000'000'000;

// numpy's reduction of one group's values (nan* variants with skipna).
double reference(const std::string& op, std::vector<double> v, bool skipna, int ddof = 0) {
  const bool any_nan = std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); });
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  const double n = static_cast<double>(v.size());
  if (op == "count") return n;
  if (any_nan && !skipna) return kNaN;
  double sum = 0;
  for (double x : v) sum += x;
  if (op == "sum") return sum;
  if (v.empty()) return kNaN;
  if (op == "mean") return sum / n;
  if (op == "max") return *std::max_element(v.begin(), v.end());
  if (op == "min") return *std::min_element(v.begin(), v.end());
  if (op == "median") {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  }
  double m2 = 0;
  for (double x : v) m2 += (x - sum / n) * (x - sum / n);
  const double var = n - ddof > 0 ? m2 / (n - ddof) : kNaN;
  return op == "std" ? std::sqrt(var) : var;
}

// A (time=12, y=3) float64 cube with NaNs: the group of label 7 is NaN everywhere, y=1 is NaN
// for label 2 only, and the labels are unsorted so groups are not contiguous.
const std::vector<double> kLabels = {5, 2, 2, 7, 5, 9, 2, kNaN, 7, 1, 9, 5};
std::vector<double> cube() {
  std::vector<double> v;
  for (int t = 0; t < 12; ++t)
    for (int y = 0; y < 3; ++y) {
      double x = std::round(std::sin(t * 3.1 + y * 1.7) * 1000) / 100;
      if (kLabels[static_cast<std::size_t>(t)] == 7 || (kLabels[static_cast<std::size_t>(t)] == 2 && y == 1) || (t + y) % 5 == 0)
        x = kNaN;
      v.push_back(x);
    }
  return v;
}

DataArray cube_array(const std::vector<double>& v) {
  Coords c;
  c.set("label", Coordinate::from_vector("time", kLabels));
  c.set("y", Coordinate::from_vector("y", std::vector<std::int64_t>{10, 20, 30}));
  c.set("time_index", Coordinate::from_vector("time", std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  return DataArray::from_vector(v, {{"time", 12}, {"y", 3}}, c, {{"units", "1"}}, "v");
}

DataArray run(const GroupBy& g, const std::string& op, std::optional<bool> skipna, int ddof = 0) {
  ReduceOptions o;
  o.skipna = skipna;
  o.ddof = ddof;
  return op == "count" ? g.count() : g.reduce(op, o);
}

void expect_same(double expected, double actual, const std::string& what) {
  if (std::isnan(expected)) EXPECT_TRUE(std::isnan(actual)) << what << ": expected NaN, got " << actual;
  else EXPECT_NEAR(expected, actual, 1e-9 * (1 + std::abs(expected))) << what;
}

}  // namespace

TEST(FloorTime, FixedFrequencies) {
  const auto t = Coordinate::datetimes("time", {"2020-03-04T17:45:12.5", "NaT", "1969-12-31T23:30", "2020-03-04"});
  auto at = [](const Coordinate& c, std::size_t i) { return c.values().values<std::int64_t>()[i]; };
  EXPECT_EQ(at(floor_time(t, "D"), 0), datetime_ns("2020-03-04"));
  EXPECT_EQ(at(floor_time(t, "day"), 0), datetime_ns("2020-03-04"));
  EXPECT_EQ(at(floor_time(t, "D"), 1), kNaT);
  EXPECT_EQ(at(floor_time(t, "D"), 2), datetime_ns("1969-12-31"));  // floors, not truncates, before 1970
  EXPECT_EQ(at(floor_time(t, "D"), 3), datetime_ns("2020-03-04"));
  EXPECT_EQ(at(floor_time(t, "h"), 0), datetime_ns("2020-03-04T17:00"));
  EXPECT_EQ(at(floor_time(t, "H"), 2), datetime_ns("1969-12-31T23:00"));
  EXPECT_EQ(at(floor_time(t, "min"), 0), datetime_ns("2020-03-04T17:45"));
  EXPECT_EQ(at(floor_time(t, "s"), 0), datetime_ns("2020-03-04T17:45:12"));
  EXPECT_EQ(at(floor_time(t, "6h"), 0), datetime_ns("2020-03-04T12:00"));
  EXPECT_EQ(at(floor_time(t, "15min"), 0), datetime_ns("2020-03-04T17:45"));
  EXPECT_EQ(floor_time(t, "D").dims(), t.dims());
}

TEST(FloorTime, MonthAndYearStarts) {
  const auto t = Coordinate::datetimes("t", {"2020-02-29T23:59", "1969-07-20T20:17", "NaT", "2021-01-01"});
  auto at = [](const Coordinate& c, std::size_t i) { return c.values().values<std::int64_t>()[i]; };
  for (const char* f : {"MS", "M", "month"}) {
    const auto m = floor_time(t, f);
    EXPECT_EQ(at(m, 0), datetime_ns("2020-02-01")) << f;
    EXPECT_EQ(at(m, 1), datetime_ns("1969-07-01")) << f;
    EXPECT_EQ(at(m, 2), kNaT) << f;
    EXPECT_EQ(at(m, 3), datetime_ns("2021-01-01")) << f;
  }
  for (const char* f : {"YS", "Y", "year"}) {
    const auto y = floor_time(t, f);
    EXPECT_EQ(at(y, 0), datetime_ns("2020-01-01")) << f;
    EXPECT_EQ(at(y, 1), datetime_ns("1969-01-01")) << f;
    EXPECT_EQ(at(y, 2), kNaT) << f;
  }
}

TEST(FloorTime, BadInput) {
  const auto t = Coordinate::datetimes("t", {"2020-01-01"});
  EXPECT_THROW(floor_time(t, "W"), ValueError);
  EXPECT_THROW(floor_time(t, ""), ValueError);
  EXPECT_THROW(floor_time(t, "0h"), ValueError);
  EXPECT_THROW(floor_time(Coordinate::from_vector("t", std::vector<double>{1.0}), "D"), TypeError);
  EXPECT_THROW(floor_time(Coordinate::strings("t", {"a"}), "D"), TypeError);
}

TEST(GroupBy, EveryReductionMatchesReferenceOnEveryChunking) {
  const auto v = cube();
  const DataArray base = cube_array(v);
  using V = std::vector<std::int64_t>;
  // One chunk, one position per chunk, several groups per chunk, and irregular chunks whose
  // boundaries cut through groups.
  const std::vector<ChunkSpec> chunkings = {ChunkSpec{{"time", -1}}, ChunkSpec{{"time", 1}, {"y", 2}},
                                            ChunkSpec{{"time", 4}}, ChunkSpec{{"time", V{5, 1, 2, 4}}, {"y", 1}}};
  // Groups in label order 1, 2, 5, 7, 9; the NaN label belongs to none.
  const std::vector<double> sorted = {1, 2, 5, 7, 9};
  for (const auto& spec : chunkings)
    for (const std::string op : {"max", "min", "mean", "median", "sum", "count", "std", "var"})
      for (std::optional<bool> skipna : {std::optional<bool>{}, std::optional<bool>{true}, std::optional<bool>{false}})
        for (int ddof : {0, 1}) {
          if (ddof == 1 && op != "std" && op != "var") continue;
          const DataArray r = run(base.chunk(spec).groupby("label"), op, skipna, ddof).compute();
          ASSERT_EQ(r.dims(), (std::vector<std::string>{"label", "y"}));
          ASSERT_EQ(r.shape(), (Shape{5, 3}));
          ASSERT_EQ(r.dtype(), op == "count" ? DType::Int64 : DType::Float64);
          for (std::size_t k = 0; k < sorted.size(); ++k)
            for (int y = 0; y < 3; ++y) {
              std::vector<double> vals;
              for (std::size_t t = 0; t < 12; ++t)
                if (kLabels[t] == sorted[k]) vals.push_back(v[t * 3 + static_cast<std::size_t>(y)]);
              const double expected = reference(op, vals, skipna.value_or(true), ddof);
              const double actual = op == "count" ? static_cast<double>(r.values<std::int64_t>()[k * 3 + static_cast<std::size_t>(y)])
                                                  : r.values<double>()[k * 3 + static_cast<std::size_t>(y)];
              expect_same(expected, actual,
                          fmt::format("{} skipna={} ddof={} group {} y {} chunks {}", op,
                                      skipna ? (*skipna ? "true" : "false") : "default", ddof, sorted[k], y,
                                      base.chunk(spec).chunks().to_string()));
            }
        }
}

TEST(GroupBy, LabelsCoordinatesAndAttrs) {
  const DataArray r = cube_array(cube()).chunk({{"time", 5}}).groupby("label").max();
  EXPECT_EQ(r.name(), "v");
  EXPECT_EQ(r.attrs(), (Attrs{{"units", "1"}}));  // groupby reductions keep attrs, as xarray's
  EXPECT_TRUE(r.coords().contains("y"));
  EXPECT_FALSE(r.coords().contains("time_index"));  // along the grouped dim: reduced away
  const Coordinate& labels = r.coords().at("label");
  EXPECT_EQ(labels.dims(), (std::vector<std::string>{"label"}));
  ASSERT_EQ(labels.dtype(), DType::Float64);
  const auto lv = labels.values().values<double>();
  EXPECT_EQ(std::vector<double>(lv.begin(), lv.end()), (std::vector<double>{1, 2, 5, 7, 9}));
  // All-NaN group (label 7) with skipna gives NaN; without skipna a NaN anywhere propagates.
  const auto rv = r.compute().values<double>();
  EXPECT_TRUE(std::isnan(rv[3 * 3 + 0]));
  EXPECT_FALSE(std::isnan(rv[0]));
}

TEST(GroupBy, FlooredTimesKeepTheDimensionName) {
  // Two acquisitions on some days, unsorted, one NaT: the seed workflow's daily composite.
  const auto times = Coordinate::datetimes(
      "time", {"2021-06-03T10:20", "2021-06-01T10:30", "2021-06-03T10:21", "NaT", "2021-06-01T10:31", "2021-06-02T10:00"});
  std::vector<float> v;
  for (int t = 0; t < 6; ++t)
    for (int x = 0; x < 2; ++x) v.push_back(t == 2 && x == 1 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(t * 10 + x));
  Coords c;
  c.set("time", times);
  c.set("id", Coordinate::strings("time", {"a", "b", "c", "d", "e", "f"}));
  c.set("x", Coordinate::from_vector("x", std::vector<double>{0.5, 1.5}));
  const DataArray a = DataArray::from_vector(v, {{"time", 6}, {"x", 2}}, c, {}, "ndvi").chunk({{"time", 1}});
  const DataArray r = a.groupby(floor_time(a.coords().at("time"), "D")).max(ReduceOptions{true, 0}).compute();
  EXPECT_EQ(r.dims(), (std::vector<std::string>{"time", "x"}));
  EXPECT_EQ(r.dtype(), DType::Float32);
  const auto t = r.coords().at("time").values().values<std::int64_t>();
  EXPECT_EQ(std::vector<std::int64_t>(t.begin(), t.end()),
            (std::vector<std::int64_t>{datetime_ns("2021-06-01"), datetime_ns("2021-06-02"), datetime_ns("2021-06-03")}));
  EXPECT_FALSE(r.coords().contains("id"));
  EXPECT_TRUE(r.coords().contains("x"));
  const auto rv = r.values<float>();
  EXPECT_EQ(std::vector<float>(rv.begin(), rv.end()), (std::vector<float>{40, 41, 50, 51, 20, 1}));
  // Month starts put everything in one group.
  const DataArray m = a.groupby(floor_time(a.coords().at("time"), "MS")).count().compute();
  EXPECT_EQ(m.shape(), (Shape{1, 2}));
  EXPECT_EQ(m.values<std::int64_t>()[0], 5);
  EXPECT_EQ(m.values<std::int64_t>()[1], 4);
}

TEST(GroupBy, GroupedAxisNotFirstAndStringLabels) {
  std::vector<double> v;
  for (int y = 0; y < 2; ++y)
    for (int b = 0; b < 5; ++b) v.push_back(y * 100 + b);
  Coords c;
  c.set("kind", Coordinate::strings("band", {"vis", "nir", "vis", "swir", "nir"}));
  const DataArray a = DataArray::from_vector(v, {{"y", 2}, {"band", 5}}, c).chunk({{"band", 2}});
  const DataArray r = a.groupby("kind").sum().compute();
  EXPECT_EQ(r.dims(), (std::vector<std::string>{"y", "kind"}));
  EXPECT_EQ(r.coords().at("kind").string_values(), (std::vector<std::string>{"nir", "swir", "vis"}));
  const auto rv = r.values<double>();
  EXPECT_EQ(std::vector<double>(rv.begin(), rv.end()), (std::vector<double>{1 + 4, 3, 0 + 2, 101 + 104, 103, 100 + 102}));
  const DataArray med = a.groupby("kind").median().compute();
  EXPECT_EQ(med.values<double>()[0], 2.5);
}

TEST(GroupBy, IntegerDtypesFollowTheReductions) {
  const std::vector<std::int16_t> v = {3, -4, 10, 7, -2, 5};
  Coords c;
  c.set("g", Coordinate::from_vector("t", std::vector<std::int64_t>{1, 0, 1, 0, 1, 0}));
  const DataArray a = DataArray::from_vector(v, {{"t", 6}}, c).chunk({{"t", 4}});
  const GroupBy g = a.groupby("g");
  EXPECT_EQ(g.sum().dtype(), DType::Int64);
  EXPECT_EQ(g.mean().dtype(), DType::Float64);
  EXPECT_EQ(g.median().dtype(), DType::Float64);
  EXPECT_EQ(g.std().dtype(), DType::Float64);
  EXPECT_EQ(g.count().dtype(), DType::Int64);
  EXPECT_EQ(g.max().dtype(), DType::Int16);
  auto ints = [](const DataArray& r) {
    const auto x = r.compute().values<std::int64_t>();
    return std::vector<std::int64_t>(x.begin(), x.end());
  };
  EXPECT_EQ(ints(g.sum()), (std::vector<std::int64_t>{8, 11}));
  EXPECT_EQ(ints(g.count()), (std::vector<std::int64_t>{3, 3}));
  const auto mx = g.max().compute().values<std::int16_t>();
  EXPECT_EQ(mx[0], 7);
  EXPECT_EQ(mx[1], 10);
  EXPECT_DOUBLE_EQ(g.mean().compute().values<double>()[1], 11.0 / 3);
  EXPECT_DOUBLE_EQ(g.median().compute().values<double>()[0], 5);
  const std::vector<std::uint8_t> u = {250, 250, 250};
  const DataArray au = DataArray::from_vector(u, {{"t", 3}}, {{"g", Coordinate::from_vector("t", std::vector<int>{1, 1, 1})}});
  EXPECT_EQ(au.groupby("g").sum().dtype(), DType::UInt64);
  EXPECT_EQ(au.groupby("g").sum().compute().values<std::uint64_t>()[0], 750u);
}

TEST(GroupBy, DatetimeDataMinMaxCount) {
  Chunk d = Chunk::allocate(DType::DateTime64, {4});
  auto dv = d.mutable_values<std::int64_t>();
  dv[0] = datetime_ns("2020-01-01");
  dv[1] = kNaT;
  dv[2] = datetime_ns("2020-01-05");
  dv[3] = datetime_ns("2020-01-02");
  const DataArray a = DataArray::from_chunk(d, {"t"}, {{"g", Coordinate::from_vector("t", std::vector<int>{1, 1, 2, 2})}});
  // Datetimes do not skip NaT by default (xarray skips NaN by default only for floats).
  EXPECT_EQ(a.groupby("g").max().compute().values<std::int64_t>()[0], kNaT);
  EXPECT_EQ(a.groupby("g").max(ReduceOptions{true, 0}).compute().values<std::int64_t>()[0], datetime_ns("2020-01-01"));
  EXPECT_EQ(a.groupby("g").min().compute().values<std::int64_t>()[1], datetime_ns("2020-01-02"));
  EXPECT_EQ(a.groupby("g").count().compute().values<std::int64_t>()[0], 1);
  EXPECT_THROW(a.groupby("g").mean(), TypeError);
  EXPECT_THROW(a.groupby("g").median(), TypeError);
}

TEST(GroupBy, OutputChunksFollowTheGroupsAndTasksStayFew) {
  // 12 days of 2 acquisitions, chunks of 4 positions: every chunk holds two whole days, so each
  // chunk gives one task and one output chunk of two groups; chunks of 3 cut days in half.
  std::vector<std::int64_t> ns;
  for (int i = 0; i < 24; ++i) ns.push_back(datetime_ns("2022-01-01") + (i / 2) * 24 * kHour + (i % 2) * kHour);
  const auto times = Coordinate::datetimes_ns("time", ns);
  std::vector<double> v(24 * 2);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  const DataArray a = DataArray::from_vector(v, {{"time", 24}, {"x", 2}}, {{"time", times}});
  const DataArray by4 = a.chunk({{"time", 4}}).groupby(floor_time(times, "D")).mean();
  EXPECT_EQ(by4.chunks().chunks(0), (std::vector<std::int64_t>(6, 2)));
  const DataArray by3 = a.chunk({{"time", 3}}).groupby(floor_time(times, "D")).max();
  EXPECT_EQ(by3.chunks().chunks(0), (std::vector<std::int64_t>{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}));
  const auto r = by3.compute().values<double>();
  for (int d = 0; d < 12; ++d) EXPECT_EQ(r[static_cast<std::size_t>(d * 2)], (d * 2 + 1) * 2.0);
  // Median gathers a chunk's extent of positions at most per task.
  const DataArray med = a.chunk({{"time", 4}}).groupby(floor_time(times, "D")).median();
  EXPECT_EQ(med.chunks().chunks(0), (std::vector<std::int64_t>(6, 2)));
  EXPECT_DOUBLE_EQ(med.compute().values<double>()[2], (4 + 6) / 2.0);
}

TEST(GroupBy, BadInput) {
  const DataArray a = cube_array(cube());
  EXPECT_THROW(a.groupby("nope"), KeyError);
  EXPECT_THROW(a.groupby(Coordinate::from_vector("time", std::vector<int>{1, 2})), ValueError);
  EXPECT_THROW(a.groupby(Coordinate::from_vector("z", std::vector<int>{1, 2, 3})), DimensionError);
  EXPECT_THROW(a.groupby(Coordinate({"time", "y"}, Chunk::zeros(DType::Float64, {12, 3}))), ValueError);
  EXPECT_THROW(a.groupby(Coordinate::from_vector("time", std::vector<double>(12, kNaN))), ValueError);
  EXPECT_THROW(a.groupby("label").reduce("mode"), ValueError);
  EXPECT_THROW(a.groupby("label").std(ReduceOptions{std::nullopt, -1}), ValueError);
  Coords c;
  c.set("y", Coordinate::from_vector("time", std::vector<int>(12, 1)));  // a coord named like another dim
  const DataArray b = DataArray::from_vector(cube(), {{"time", 12}, {"y", 3}}, c);
  EXPECT_THROW(b.groupby("y"), ValueError);
}
