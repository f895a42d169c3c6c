#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "cubist/cubist.hpp"

using namespace cubist;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A (t=6, y=5, x=4) cube with NaNs, including a pixel that is NaN at every time.
std::vector<double> cube_values() {
  std::vector<double> v(6 * 5 * 4);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<double>(i) * 0.37) * 10.0;
  for (std::size_t i = 0; i < v.size(); i += 7) v[i] = kNaN;
  for (int t = 0; t < 6; ++t) v[static_cast<std::size_t>(t * 20 + 2 * 4 + 1)] = kNaN;  // (y=2, x=1) all NaN
  return v;
}

// Reference: reduce over t with skipna, per (y, x).
std::vector<double> reference_over_t(const std::vector<double>& v, const std::string& op, bool skipna) {
  std::vector<double> out(20);
  for (int p = 0; p < 20; ++p) {
    std::vector<double> xs;
    bool any_nan = false;
    for (int t = 0; t < 6; ++t) {
      double x = v[static_cast<std::size_t>(t * 20 + p)];
      if (std::isnan(x)) any_nan = true;
      else xs.push_back(x);
    }
    double r;
    const double n = static_cast<double>(xs.size());
    double sum = 0;
    for (double x : xs) sum += x;
    if (op == "count") r = n;
    else if (!skipna && any_nan) r = kNaN;
    else if (op == "sum") r = sum;
    else if (xs.empty()) r = kNaN;
    else if (op == "mean") r = sum / n;
    else if (op == "min") r = *std::min_element(xs.begin(), xs.end());
    else if (op == "max") r = *std::max_element(xs.begin(), xs.end());
    else if (op == "var" || op == "std") {
      double m = sum / n, ss = 0;
      for (double x : xs) ss += (x - m) * (x - m);
      r = op == "var" ? ss / n : std::sqrt(ss / n);
    } else {  // median
      std::sort(xs.begin(), xs.end());
      r = xs.size() % 2 ? xs[xs.size() / 2] : 0.5 * (xs[xs.size() / 2 - 1] + xs[xs.size() / 2]);
    }
    out[static_cast<std::size_t>(p)] = r;
  }
  return out;
}

void expect_close(const std::vector<double>& want, std::span<const double> got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) EXPECT_TRUE(std::isnan(got[i])) << what << " at " << i;
    else EXPECT_NEAR(want[i], got[i], 1e-9 * std::max(1.0, std::fabs(want[i]))) << what << " at " << i;
  }
}
}  // namespace

class ReduceOverTime : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(ReduceOverTime, MatchesReferenceForEveryChunking) {
  const auto& [op, tchunk] = GetParam();
  auto v = cube_values();
  auto a = DataArray::from_vector<double>(v, {{"time", 6}, {"y", 5}, {"x", 4}}).chunk({{"time", tchunk}, {"y", 2}, {"x", 3}});
  for (bool skipna : {true, false}) {
    ReduceOptions o;
    o.skipna = skipna;
    auto r = op == "count" ? a.count("time") : a.reduce(op, "time", o);
    EXPECT_EQ(r.dims(), (std::vector<std::string>{"y", "x"}));
    auto c = r.compute();
    if (op == "count") {
      auto counts = c.values<std::int64_t>();
      auto want = reference_over_t(v, op, true);
      for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(static_cast<double>(counts[i]), want[i]);
    } else {
      expect_close(reference_over_t(v, op, skipna), c.values<double>(), op + (skipna ? " skipna" : " noskip"));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllOps, ReduceOverTime,
                         ::testing::Combine(::testing::Values("mean", "sum", "min", "max", "var", "std", "count", "median"),
                                            ::testing::Values(1, 2, 4, 6)));

TEST(Reductions, SeveralDimsAndAllDims) {
  auto v = cube_values();
  auto a = DataArray::from_vector<double>(v, {{"time", 6}, {"y", 5}, {"x", 4}}).chunk({{"time", 1}, {"y", 2}, {"x", 1}});
  auto r = a.mean({"time", "x"}).compute();
  ASSERT_EQ(r.dims(), std::vector<std::string>{"y"});
  for (int y = 0; y < 5; ++y) {
    double s = 0, n = 0;
    for (int t = 0; t < 6; ++t)
      for (int x = 0; x < 4; ++x) {
        double val = v[static_cast<std::size_t>(t * 20 + y * 4 + x)];
        if (!std::isnan(val)) s += val, n += 1;
      }
    EXPECT_NEAR(r.values<double>()[static_cast<std::size_t>(y)], s / n, 1e-12);
  }
  auto all = a.sum().compute();
  EXPECT_TRUE(all.dims().empty());
  double total = 0;
  for (double x : v)
    if (!std::isnan(x)) total += x;
  EXPECT_NEAR(all.values<double>()[0], total, 1e-9);
  EXPECT_EQ(a.max({"x", "y", "time"}).compute().values<double>().size(), 1u);
}

TEST(Reductions, DtypesFollowXarray) {
  auto i = DataArray::from_vector<std::int16_t>({1, 2, 3, 4}, {{"x", 4}}).chunk({{"x", 3}});
  EXPECT_EQ(i.sum().dtype(), DType::Int64);
  EXPECT_EQ(i.mean().dtype(), DType::Float64);
  EXPECT_EQ(i.max().dtype(), DType::Int16);
  EXPECT_EQ(i.count().dtype(), DType::Int64);
  EXPECT_EQ(i.median().dtype(), DType::Float64);
  EXPECT_DOUBLE_EQ(i.median().compute().values<double>()[0], 2.5);
  EXPECT_EQ(i.sum().compute().values<std::int64_t>()[0], 10);
  auto f = random<float>({{"x", 1000}}, {{"x", 64}}, 5);
  EXPECT_EQ(f.mean().dtype(), DType::Float32);
  EXPECT_NEAR(f.mean().compute().values<float>()[0], 0.5f, 0.05f);
  auto b = (f > 0.5);
  EXPECT_EQ(b.sum().dtype(), DType::Int64);
}

TEST(Reductions, DdofAndAllNaN) {
  auto a = DataArray::from_vector<double>({1, 2, 3, 4, kNaN, kNaN}, {{"x", 2}, {"y", 3}}).chunk({{"y", 1}});
  ReduceOptions o;
  o.ddof = 1;
  auto var = a.var("y", o).compute().values<double>();
  EXPECT_NEAR(var[0], 1.0, 1e-12);          // var([1,2,3], ddof=1)
  EXPECT_TRUE(std::isnan(var[1]));          // one value, ddof=1 -> NaN
  auto sum = a.sum("x").compute().values<double>();
  EXPECT_EQ(sum[1], 2.0);
  auto mean_allnan = DataArray::from_vector<double>({kNaN, kNaN}, {{"x", 2}}).mean().compute().values<double>();
  EXPECT_TRUE(std::isnan(mean_allnan[0]));
  auto sum_allnan = DataArray::from_vector<double>({kNaN, kNaN}, {{"x", 2}}).sum().compute().values<double>();
  EXPECT_EQ(sum_allnan[0], 0.0);  // xarray: sum of all-NaN with skipna is 0
}

TEST(Reductions, LargeFanInTree) {
  auto a = ones<double>({{"x", 5000}}, {{"x", 1}});
  EXPECT_DOUBLE_EQ((a + 1.0).sum().compute().values<double>()[0], 10000.0);
}

TEST(Reductions, Errors) {
  auto a = DataArray::from_vector<double>({1, 2}, {{"x", 2}});
  EXPECT_THROW(a.mean("time"), DimensionError);
  EXPECT_THROW(a.mean({"x", "x"}), DimensionError);
  EXPECT_THROW(a.reduce("mode", "x"), ValueError);
  auto t = DataArray::from_chunk(Coordinate::datetimes("x", {"2020-01-01", "2020-01-02"}).values(), {"x"});
  EXPECT_THROW(t.mean(), TypeError);
  EXPECT_NO_THROW(t.max());
  ReduceOptions o;
  o.ddof = -1;
  EXPECT_THROW(a.var("x", o), ValueError);
}

TEST(Reductions, InMemoryDataIsReducedThroughZeroCopyViews) {
  // from_chunk(...).chunk(...) slices the buffer without copying; results equal the copied path.
  auto base = random<float>({{"t", 9}, {"y", 33}, {"x", 17}}, {{"t", 9}, {"y", 33}, {"x", 17}}, 4).compute();
  auto views = base.chunk({{"t", -1}, {"y", 8}, {"x", 5}});
  auto copies = random<float>({{"t", 9}, {"y", 33}, {"x", 17}}, {{"t", 9}, {"y", 8}, {"x", 5}}, 4);
  for (const char* op : {"mean", "sum", "max", "std"}) {
    auto a = views.where(views > 0.1f).reduce(op, "t").compute().values<float>();
    auto b = copies.where(copies > 0.1f).reduce(op, "t").compute().values<float>();
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-6) << op << " at " << i;
  }
  auto m = views.median("y").compute().values<float>();  // median packs views into copies
  EXPECT_EQ(m.size(), 9u * 17u);
}
