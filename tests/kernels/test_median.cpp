// Op "median" against numpy's median / nanmedian semantics.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "cubist/error.hpp"
#include "reduce_test_util.hpp"

namespace cubist::kernels {
namespace {

using namespace reduce_testing;
using nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Chunk median(const Chunk& in, const std::vector<int>& axes, bool skipna = true) {
  return run_op("median", json{{"axes", axes}, {"skipna", skipna}}, in.dtype(), in.shape(), median_dtype(in.dtype()),
                {in});
}

double reference(std::vector<double> v, bool skipna) {
  const bool any_nan = std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); });
  if (any_nan && !skipna) return kNaN;
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size();
  return m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
}

TEST(Median, KnownValues) {
  // Rows: odd count, even count, one NaN, all NaN.
  const Chunk a = make_chunk<double>(DType::Float64, {4, 4},
                                     {3, 1, 2, 9, 4, 1, 3, 2, 5, kNaN, 1, 3, kNaN, kNaN, kNaN, kNaN});
  const Chunk m = median(a, {1});
  ASSERT_EQ(m.shape(), (Shape{4}));
  auto v = m.values<double>();
  EXPECT_EQ(v[0], 2.5);  // np.median([3, 1, 2, 9])
  EXPECT_EQ(v[1], 2.5);
  EXPECT_EQ(v[2], 3);  // np.nanmedian([5, nan, 1, 3])
  EXPECT_TRUE(std::isnan(v[3]));
  const Chunk mp = median(a, {1}, false);
  auto p = mp.values<double>();
  EXPECT_EQ(p[0], 2.5);
  EXPECT_TRUE(std::isnan(p[2]));  // np.median propagates NaN
  const Chunk odd = make_chunk<double>(DType::Float64, {3}, {7, -1, 4});
  const Chunk r0 = median(odd, {0});
  EXPECT_EQ(r0.rank(), 0u);
  EXPECT_EQ(r0.values<double>()[0], 4);
}

TEST(Median, Dtypes) {
  const Chunk i = make_chunk<std::int16_t>(DType::Int16, {2, 2}, {1, 2, 4, 7});
  const Chunk mi = median(i, {0, 1});
  EXPECT_EQ(mi.dtype(), DType::Float64);
  EXPECT_EQ(mi.values<double>()[0], 3);  // np.median([1, 2, 4, 7]) == 3.0
  const Chunk b = make_bool_chunk({2}, {1, 0});
  EXPECT_EQ(median(b, {0}).values<double>()[0], 0.5);
  const Chunk f = make_chunk<float>(DType::Float32, {2}, {1.5f, 2.0f});
  const Chunk mf = median(f, {0});
  EXPECT_EQ(mf.dtype(), DType::Float32);
  EXPECT_EQ(mf.values<float>()[0], 1.75f);
  const Chunk t = make_chunk<std::int64_t>(DType::DateTime64, {1}, {0});
  EXPECT_THROW(median(t, {0}), TypeError);
}

TEST(Median, MatchesReferenceOnEveryAxisSet) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  const Shape shape{4, 5, 6, 3};
  for (const std::vector<int>& axes : std::vector<std::vector<int>>{{0}, {1}, {3}, {0, 2}, {1, 3}, {0, 1, 2, 3}, {2, 3}}) {
    for (DType dt : {DType::Float32, DType::Float64, DType::UInt8, DType::Int32}) {
      std::vector<double> v;
      for_each_index(shape, [&](const std::vector<std::int64_t>& idx) {
        double x = std::floor(u(rng) * 50);  // repeated values exercise ties
        if (is_float(dt) && (u(rng) < 0.25 || (idx[1] == 0 && axes.size() == 1))) x = kNaN;
        v.push_back(x);
      });
      Chunk a = Chunk::allocate(dt, shape);
      visit_dtype(dt, [&](auto tag) {
        using T = typename decltype(tag)::type;
        auto out = a.mutable_values<T>();
        for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<T>(v[i]);
      });
      const auto want = slices(a, axes);
      for (bool skipna : {true, false}) {
        SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " axes " << json(axes).dump() << " skipna " << skipna);
        const Chunk got = median(a, axes, skipna);
        ASSERT_EQ(got.size(), static_cast<std::int64_t>(want.size()));
        for (std::int64_t i = 0; i < got.size(); ++i) {
          const double w = reference(want[static_cast<std::size_t>(i)], skipna), g = value_at(got, i);
          if (std::isnan(w)) EXPECT_TRUE(std::isnan(g)) << "element " << i;
          else EXPECT_EQ(g, w) << "element " << i;
        }
      }
    }
  }
}

TEST(Median, BadParams) {
  const Chunk a = make_chunk<double>(DType::Float64, {3}, {1, 2, 3});
  EXPECT_THROW(median(a, {1}), ValueError);
  EXPECT_THROW(run_op("median", json{{"skipna", true}}, DType::Float64, {3}, DType::Float64, {a}), ValueError);
  EXPECT_THROW(run_op("median", json{{"axes", {0}}}, DType::Float64, {3}, DType::Float32, {a}), TypeError);
}

}  // namespace
}  // namespace cubist::kernels
