#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "cubist/cubist.hpp"

using namespace cubist;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <class T> std::vector<T> vals(const DataArray& a) {
  auto v = a.compute().values<T>();
  return {v.begin(), v.end()};
}
}  // namespace

TEST(Elementwise, BroadcastsByDimensionName) {
  // a(y, x) + b(x, y): b is transposed to a's order; c(t) adds a new dimension at the end.
  auto a = DataArray::from_vector<double>({1, 2, 3, 4, 5, 6}, {{"y", 2}, {"x", 3}});
  auto b = DataArray::from_vector<double>({10, 40, 20, 50, 30, 60}, {{"x", 3}, {"y", 2}});
  auto c = DataArray::from_vector<double>({100, 200}, {{"t", 2}});
  auto r = (a + b).chunk({{"x", 2}});
  EXPECT_EQ(r.dims(), (std::vector<std::string>{"y", "x"}));
  EXPECT_EQ(vals<double>(r), (std::vector<double>{11, 22, 33, 44, 55, 66}));
  auto r2 = a * 2.0 + c;
  EXPECT_EQ(r2.dims(), (std::vector<std::string>{"y", "x", "t"}));
  auto v = vals<double>(r2);
  ASSERT_EQ(v.size(), 12u);
  EXPECT_EQ(v[0], 102);
  EXPECT_EQ(v[1], 202);
  EXPECT_EQ(v[11], 212);
}

TEST(Elementwise, MismatchedChunksAreUnified) {
  auto a = arange<double>("x", 0, 100).chunk({{"x", 7}});
  auto b = arange<double>("x", 0, 100).chunk({{"x", std::vector<std::int64_t>{50, 30, 20}}});
  auto r = vals<double>(a + b);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(r[static_cast<std::size_t>(i)], 2.0 * i);
}

TEST(Elementwise, TypePromotionMatchesNumpy) {
  auto i8 = DataArray::from_vector<std::int8_t>({1, 2}, {{"x", 2}});
  auto u8 = DataArray::from_vector<std::uint8_t>({1, 2}, {{"x", 2}});
  auto f32 = DataArray::from_vector<float>({1, 2}, {{"x", 2}});
  auto i32 = DataArray::from_vector<std::int32_t>({7, -7}, {{"x", 2}});
  EXPECT_EQ((i8 + 1.0).dtype(), DType::Int8);
  EXPECT_EQ((i8 + 1000.0).dtype(), DType::Int16);
  EXPECT_EQ((i8 + 1.5).dtype(), DType::Float64);
  EXPECT_EQ((i8 + u8).dtype(), DType::Int16);
  EXPECT_EQ((f32 * 2.0).dtype(), DType::Float32);
  EXPECT_EQ((f32 + i32).dtype(), DType::Float64);
  EXPECT_EQ((i32 / i32).dtype(), DType::Float64);
  EXPECT_EQ((f32 > 1.5).dtype(), DType::Bool);
  EXPECT_EQ(vals<std::int32_t>(floor_divide(i32, DataArray::from_vector<std::int32_t>({2, 2}, {{"x", 2}}))),
            (std::vector<std::int32_t>{3, -4}));
  EXPECT_EQ(vals<std::int32_t>(mod(i32, DataArray::from_vector<std::int32_t>({3, 3}, {{"x", 2}}))),
            (std::vector<std::int32_t>{1, 2}));
  // Integer overflow wraps as numpy does.
  auto big = DataArray::from_vector<std::int8_t>({127}, {{"x", 1}});
  EXPECT_EQ(vals<std::int8_t>(big + 1.0)[0], -128);
}

TEST(Elementwise, NaNHandling) {
  auto a = DataArray::from_vector<double>({1, kNaN, 3, kNaN}, {{"x", 4}}).chunk({{"x", 3}});
  auto isnull = vals<bool>(a.isnull());
  EXPECT_EQ(std::vector<int>(isnull.begin(), isnull.end()), (std::vector<int>{0, 1, 0, 1}));
  auto notnull = vals<bool>(a.notnull());
  EXPECT_EQ(std::vector<int>(notnull.begin(), notnull.end()), (std::vector<int>{1, 0, 1, 0}));
  EXPECT_EQ(vals<double>(a.fillna(-1)), (std::vector<double>{1, -1, 3, -1}));
  auto w = vals<double>(a.where(a > 1.5));
  EXPECT_TRUE(std::isnan(w[0]) && std::isnan(w[1]) && std::isnan(w[3]));
  EXPECT_EQ(w[2], 3);
  auto m = vals<double>(maximum(a, DataArray::from_vector<double>({2, 2, 2, 2}, {{"x", 4}})));
  EXPECT_EQ(m[0], 2);
  EXPECT_TRUE(std::isnan(m[1]));  // np.maximum propagates NaN
}

TEST(Elementwise, WhereAndAstype) {
  auto a = DataArray::from_vector<std::int16_t>({-2, 5, 9}, {{"x", 3}});
  auto w = a.where(a > 0.0);  // int data with NaN fill -> float64, as xarray
  EXPECT_EQ(w.dtype(), DType::Float64);
  auto v = vals<double>(w);
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_EQ(v[1], 5);
  auto f = DataArray::from_vector<double>({1.7, -1.7, kNaN}, {{"x", 3}}).astype(DType::Int32);
  auto fi = vals<std::int32_t>(f);
  EXPECT_EQ(fi[0], 1);
  EXPECT_EQ(fi[1], -1);
  EXPECT_EQ(fi[2], std::numeric_limits<std::int32_t>::min());  // numpy's NaN -> int result
  auto x = where(a > 0.0, a, DataArray::from_vector<std::int16_t>({0, 0, 0}, {{"x", 3}}));
  EXPECT_EQ(vals<std::int16_t>(x), (std::vector<std::int16_t>{0, 5, 9}));
}

TEST(Elementwise, WhereSelectsEveryElementSizeBitForBit) {
  // Over more than one evaluation block (2048) and a tail: each element is x's or y's exactly
  // (-0.0 and NaN payloads included), for 1-, 2-, 4- and 8-byte elements.
  const std::int64_t n = 2048 + 77;
  std::vector<bool> cond(static_cast<std::size_t>(n));
  std::vector<double> xd(cond.size()), yd(cond.size());
  for (std::size_t i = 0; i < cond.size(); ++i) {
    cond[i] = (i * 7 + i / 3) % 5 < 2;
    xd[i] = i % 11 == 0 ? -0.0 : static_cast<double>(i);
    yd[i] = i % 13 == 0 ? kNaN : -static_cast<double>(i);
  }
  auto c = DataArray::from_vector(cond, {{"x", n}}).chunk({{"x", 1000}});
  auto check = [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> x(cond.size()), y(cond.size());
    for (std::size_t i = 0; i < cond.size(); ++i) {
      x[i] = static_cast<T>(std::isnan(xd[i]) ? 0 : xd[i]);
      y[i] = std::is_floating_point_v<T> ? static_cast<T>(yd[i]) : static_cast<T>(i * 3);
    }
    auto r = vals<T>(where(c, DataArray::from_vector(x, {{"x", n}}), DataArray::from_vector(y, {{"x", n}})));
    ASSERT_EQ(r.size(), cond.size());
    for (std::size_t i = 0; i < cond.size(); ++i) {
      const T want = cond[i] ? x[i] : y[i];
      EXPECT_EQ(std::memcmp(&r[i], &want, sizeof(T)), 0) << i;
    }
  };
  check(std::uint8_t{});
  check(std::int16_t{});
  check(float{});
  check(double{});
  auto b = vals<bool>(where(c, c, DataArray::from_vector(std::vector<bool>(cond.size(), true), {{"x", n}})));
  for (std::size_t i = 0; i < cond.size(); ++i) EXPECT_TRUE(b[i]);
}

TEST(Elementwise, KeepsCoordinatesAndNames) {
  auto a = DataArray::from_vector<double>({1, 2}, {{"time", 2}}, {}, {{"units", "K"}}, "temp")
               .assign_coords("time", Coordinate::datetimes("time", {"2020-01-01", "2020-01-02"}));
  auto r = a * 2.0;
  EXPECT_EQ(r.name(), "temp");
  EXPECT_TRUE(r.coords().contains("time"));
  EXPECT_TRUE(r.attrs().empty());  // arithmetic drops attrs, as xarray's default
  EXPECT_EQ(a.astype(DType::Float32).attrs()["units"], "K");
}

TEST(Elementwise, ClearErrors) {
  auto a = DataArray::from_vector<double>({1, 2, 3}, {{"x", 3}});
  auto b = DataArray::from_vector<double>({1, 2}, {{"x", 2}});
  EXPECT_THROW(a + b, DimensionError);
  try {
    (void)(a + b);
  } catch (const DimensionError& e) {
    EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos);
  }
  auto t = DataArray::from_chunk(Coordinate::datetimes("x", {"2020-01-01", "2020-01-02", "2020-01-03"}).values(), {"x"});
  EXPECT_THROW(t + 1.0, TypeError);
  auto flag = a > 1.0;
  EXPECT_THROW(flag - flag, TypeError);
  EXPECT_THROW(a.where(a), TypeError);  // condition must be bool
  EXPECT_THROW(a & a, TypeError);
  EXPECT_THROW(DataArray::from_vector<double>({1, 2}, {{"x", 3}}), ValueError);
  EXPECT_THROW(DataArray::from_vector<double>({1, 2}, {{"x", 1}, {"x", 2}}), DimensionError);
  EXPECT_NO_THROW(a.values<double>());           // from_vector data is in memory
  EXPECT_THROW((a + 1.0).values<double>(), ValueError);  // lazy: compute() first
}
