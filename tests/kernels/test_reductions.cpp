// reduce_partial / reduce_combine / reduce_finalize against straightforward reference loops,
// run as the array layer will: chunked input, a tree of combines, one finalize per output chunk.
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

// numpy/xarray semantics, written the obvious way in long double.
double reference(Reduction r, std::vector<double> v, bool skipna, std::int64_t ddof) {
  const auto is_nan = [](double x) { return std::isnan(x); };
  if (r == Reduction::Count) return static_cast<double>(std::count_if(v.begin(), v.end(), [&](double x) { return !is_nan(x); }));
  if (skipna) v.erase(std::remove_if(v.begin(), v.end(), is_nan), v.end());
  else if (std::any_of(v.begin(), v.end(), is_nan)) return kNaN;
  const auto n = static_cast<long double>(v.size());
  long double sum = 0, prod = 1;
  for (double x : v) sum += x, prod *= x;
  switch (r) {
    case Reduction::Sum: return static_cast<double>(sum);
    case Reduction::Prod: return static_cast<double>(prod);
    case Reduction::Mean: return v.empty() ? kNaN : static_cast<double>(sum / n);
    case Reduction::Min: return v.empty() ? kNaN : *std::min_element(v.begin(), v.end());
    case Reduction::Max: return v.empty() ? kNaN : *std::max_element(v.begin(), v.end());
    case Reduction::Var:
    case Reduction::Std: {
      if (n - static_cast<long double>(ddof) <= 0) return kNaN;
      long double m2 = 0;
      for (double x : v) m2 += (x - sum / n) * (x - sum / n);
      const long double var = m2 / (n - static_cast<long double>(ddof));
      return static_cast<double>(r == Reduction::Std ? std::sqrt(var) : var);
    }
    case Reduction::Count: break;
  }
  return kNaN;
}

void expect_close(double got, double want, double tol) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << "got " << got << ", want NaN";
  } else if (std::isinf(want)) {
    EXPECT_EQ(got, want);
  } else {
    EXPECT_NEAR(got, want, tol * std::max(1.0, std::abs(want)));
  }
}

enum class Nulls { None, Some, AllSlice };

// Random data for `dt`; floats get NaNs as asked (AllSlice: the slice of output 0 is all NaN).
// For prod the values are mostly +-1 so products stay exact and within int64.
Chunk make_data(DType dt, const Shape& shape, const std::vector<int>& axes, Nulls nulls, bool for_prod, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u01(0, 1);
  const auto kept = kept_axes(shape.size(), axes);
  std::vector<double> v;
  for_each_index(shape, [&](const std::vector<std::int64_t>& idx) {
    double x;
    const double p = u01(rng);
    if (dt == DType::Bool) x = for_prod ? (p < 0.9) : (p < 0.5);
    else if (for_prod) x = p < 0.6 ? 1 : p < 0.8 ? (is_unsigned_integer(dt) ? 1 : -1) : p < 0.9 ? 2 : (is_float(dt) ? 0.5 : 1);
    else if (is_float(dt)) x = std::ldexp(std::round(std::ldexp(20 * p - 10, 10)), -10);  // exact in float32
    else if (is_unsigned_integer(dt)) x = std::floor(200 * p);
    else x = std::floor(201 * p) - 100;
    if (is_float(dt)) {
      bool slice0 = true;
      for (int a : kept) slice0 = slice0 && idx[static_cast<std::size_t>(a)] == 0;
      if ((nulls != Nulls::None && u01(rng) < 0.2) || (nulls == Nulls::AllSlice && slice0)) x = kNaN;
    }
    v.push_back(x);
  });
  Chunk c = Chunk::allocate(dt, shape);
  visit_dtype(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto out = c.mutable_values<T>();
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<T>(v[i]);
  });
  return c;
}

json params(Reduction r, const std::vector<int>& axes, bool skipna, std::int64_t ddof = 0) {
  return json{{"reduction", reduction_name(r)}, {"axes", axes}, {"skipna", skipna}, {"ddof", ddof}};
}

// Runs the tree on `arr` and compares every output with the reference.
void check(const Chunk& arr, Reduction r, const std::vector<int>& axes, bool skipna, std::int64_t ddof,
           const Shape& chunk, std::size_t fan_in = 2) {
  SCOPED_TRACE(::testing::Message() << reduction_name(r) << " of " << dtype_name(arr.dtype()) << " "
                                    << shape_to_string(arr.shape()) << " axes " << json(axes).dump() << " skipna "
                                    << skipna << " ddof " << ddof << " chunks " << shape_to_string(chunk));
  const Chunk got = tree_reduce(arr, params(r, axes, skipna, ddof), chunk, fan_in);
  const auto want = slices(arr, axes);
  ASSERT_EQ(got.size(), static_cast<std::int64_t>(want.size()));
  const double tol = got.dtype() == DType::Float32 ? 2e-6 : 1e-12;
  for (std::int64_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "output element " << i);
    expect_close(value_at(got, i), reference(r, want[static_cast<std::size_t>(i)], skipna, ddof), tol);
  }
}

const std::vector<Reduction> kAll{Reduction::Sum, Reduction::Mean,  Reduction::Min,   Reduction::Max,
                                  Reduction::Var, Reduction::Std,   Reduction::Count, Reduction::Prod};
const std::vector<DType> kTypes{DType::Float32, DType::Float64, DType::Int16, DType::UInt8, DType::Bool, DType::Int64};

void check_all(const Shape& shape, const Shape& chunk, const std::vector<std::vector<int>>& axis_sets) {
  unsigned seed = 1;
  for (DType dt : kTypes)
    for (const auto& axes : axis_sets)
      for (Nulls nulls : {Nulls::None, Nulls::Some, Nulls::AllSlice}) {
        if (!is_float(dt) && nulls != Nulls::None) continue;
        const Chunk data = make_data(dt, shape, axes, nulls, false, seed++);
        const Chunk prod_data = make_data(dt, shape, axes, nulls, true, seed++);
        for (Reduction r : kAll)
          for (bool skipna : {true, false})
            for (std::int64_t ddof : {0, 1}) {
              if (ddof && r != Reduction::Var && r != Reduction::Std) continue;
              check(r == Reduction::Prod ? prod_data : data, r, axes, skipna, ddof, chunk);
            }
      }
}

TEST(Reductions, Rank3EveryAxisSet) {
  check_all({5, 4, 7}, {2, 3, 3}, {{0}, {1}, {2}, {0, 1}, {1, 2}, {0, 2}, {0, 1, 2}, {}});
}

TEST(Reductions, Rank4NonAdjacentAxes) {
  check_all({3, 4, 5, 6}, {2, 3, 2, 4}, {{1, 3}, {0, 2}, {0, 3}});
}

TEST(Reductions, SingleChunkAndWideFanIn) {
  const Chunk a = make_data(DType::Float32, {6, 5, 4}, {0, 2}, Nulls::Some, false, 99);
  for (Reduction r : kAll) {
    check(a, r, {0, 2}, true, 0, {6, 5, 4});        // one chunk: one partial, one combine
    check(a, r, {0, 2}, true, 0, {1, 5, 1}, 32);    // 24 partials into one combine
    check(a, r, {0, 2}, false, 0, {1, 2, 1}, 3);    // three levels of combines
  }
}

// Rows longer than the kernels' column tile and the lanes of the horizontal loops.
TEST(Reductions, LongRowsCrossTilesAndLanes) {
  for (DType dt : {DType::Float32, DType::Float64, DType::Int16}) {
    const Chunk a = make_data(dt, {3, 4, 4500}, {0}, is_float(dt) ? Nulls::Some : Nulls::None, false, 7);
    for (Reduction r : {Reduction::Sum, Reduction::Mean, Reduction::Var, Reduction::Max, Reduction::Count}) {
      check(a, r, {0}, true, 0, {2, 4, 4500});
      check(a, r, {0, 1}, true, 0, {3, 3, 4500});
      check(a, r, {2}, true, 0, {3, 4, 3000});
      check(a, r, {2}, false, 1, {3, 4, 4500});
    }
  }
}

// Hand-checked against numpy 1.24 / xarray.
TEST(Reductions, KnownValues) {
  const Chunk a = make_chunk<double>(DType::Float64, {2, 3}, {1, 2, 4, kNaN, kNaN, kNaN});
  auto reduce = [&](const json& p) {  // a copy: a span would outlive its chunk
    const Chunk c = tree_reduce(a, p, {2, 3});
    return std::vector<double>(c.values<double>().begin(), c.values<double>().end());
  };
  auto sum = reduce(params(Reduction::Sum, {1}, true));
  EXPECT_EQ(sum[0], 7);
  EXPECT_EQ(sum[1], 0);  // nansum of all-NaN is 0 (min_count=None)
  auto prod = reduce(params(Reduction::Prod, {1}, true));
  EXPECT_EQ(prod[1], 1);
  auto var = reduce(params(Reduction::Var, {1}, true, 1));
  EXPECT_DOUBLE_EQ(var[0], 7.0 / 3.0);  // np.var([1,2,4], ddof=1)
  EXPECT_TRUE(std::isnan(var[1]));
  auto std0 = reduce(params(Reduction::Std, {0, 1}, true));
  EXPECT_DOUBLE_EQ(std0[0], std::sqrt(14.0 / 9.0));
  auto mn = reduce(params(Reduction::Min, {0}, true));
  EXPECT_EQ(mn[0], 1);
  EXPECT_EQ(mn[2], 4);
  auto mx = reduce(params(Reduction::Max, {0}, false));
  EXPECT_TRUE(std::isnan(mx[0]));
  const Chunk cnt = tree_reduce(a, params(Reduction::Count, {0, 1}, false), {1, 2});
  EXPECT_EQ(cnt.dtype(), DType::Int64);
  EXPECT_EQ(cnt.rank(), 0u);
  EXPECT_EQ(cnt.values<std::int64_t>()[0], 3);

  // [inf, -inf] sums to NaN even with skipna: a NaN partial must not be skipped when combining.
  const Chunk inf = make_chunk<double>(DType::Float64, {2}, {INFINITY, -INFINITY});
  EXPECT_TRUE(std::isnan(tree_reduce(inf, params(Reduction::Sum, {0}, true), {1}).values<double>()[0]));
  // ddof >= n gives NaN (nanvar), never inf or a negative variance.
  const Chunk two = make_chunk<double>(DType::Float64, {2}, {1, 2});
  EXPECT_TRUE(std::isnan(tree_reduce(two, params(Reduction::Var, {0}, true, 3), {1}).values<double>()[0]));
}

TEST(Reductions, ResultDtypes) {
  auto info = [](Reduction r, DType d) { return reduction_info(r, d); };
  EXPECT_EQ(info(Reduction::Sum, DType::Int16).result_dtype, DType::Int64);
  EXPECT_EQ(info(Reduction::Sum, DType::Bool).result_dtype, DType::Int64);
  EXPECT_EQ(info(Reduction::Sum, DType::UInt8).result_dtype, DType::UInt64);
  EXPECT_EQ(info(Reduction::Sum, DType::Float32).result_dtype, DType::Float32);
  EXPECT_EQ(info(Reduction::Sum, DType::Float32).state_dtype, DType::Float64);
  EXPECT_EQ(info(Reduction::Prod, DType::UInt16).result_dtype, DType::UInt64);
  EXPECT_EQ(info(Reduction::Mean, DType::Int32).result_dtype, DType::Float64);
  EXPECT_EQ(info(Reduction::Mean, DType::Float32).result_dtype, DType::Float32);
  EXPECT_EQ(info(Reduction::Mean, DType::Float32).fields, 2);
  EXPECT_EQ(info(Reduction::Var, DType::Bool).result_dtype, DType::Float64);
  EXPECT_EQ(info(Reduction::Std, DType::Float32).fields, 3);
  EXPECT_EQ(info(Reduction::Min, DType::UInt8).result_dtype, DType::UInt8);
  EXPECT_EQ(info(Reduction::Max, DType::DateTime64).state_dtype, DType::DateTime64);
  EXPECT_EQ(info(Reduction::Count, DType::DateTime64).result_dtype, DType::Int64);
  EXPECT_THROW(info(Reduction::Mean, DType::DateTime64), TypeError);
  EXPECT_THROW(info(Reduction::Sum, DType::DateTime64), TypeError);
  EXPECT_THROW(info(Reduction::Var, DType::DateTime64), TypeError);
  for (Reduction r : kAll) EXPECT_EQ(parse_reduction(reduction_name(r)), r);
  EXPECT_THROW(parse_reduction("average"), ValueError);
}

// numpy wraps integer sums and products modulo 2^64.
TEST(Reductions, IntegerOverflowWraps) {
  const Chunk a = make_chunk<std::int64_t>(DType::Int64, {2}, {INT64_MAX, 1});
  EXPECT_EQ(tree_reduce(a, params(Reduction::Sum, {0}, true), {1}).values<std::int64_t>()[0], INT64_MIN);
  const Chunk b = make_chunk<std::int32_t>(DType::Int32, {3}, {1 << 30, 1 << 30, 8});
  EXPECT_EQ(tree_reduce(b, params(Reduction::Prod, {0}, true), {1}).values<std::int64_t>()[0], INT64_MIN);  // 2^63
  const Chunk b2 = make_chunk<std::int32_t>(DType::Int32, {3}, {1 << 30, 1 << 30, 16});
  EXPECT_EQ(tree_reduce(b2, params(Reduction::Prod, {0}, true), {2}).values<std::int64_t>()[0], 0);  // 2^64
  const Chunk c = make_chunk<std::uint8_t>(DType::UInt8, {3}, {255, 255, 255});
  EXPECT_EQ(tree_reduce(c, params(Reduction::Sum, {0}, true), {2}).values<std::uint64_t>()[0], 765u);
}

// Chan's combine and the two-pass chunk variance keep precision where sum-of-squares would not
// (it would be off by ~100 here: mean/std is 3e9). Combining many tiny chunks loses a little to
// the rounding of means near 1e9 (dask's tree has the same limit), hence 1e-6.
TEST(Reductions, VarianceIsNumericallyRobust) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> v(4000);
  for (auto& x : v) x = 1e9 + u(rng);
  const Chunk a = make_chunk<double>(DType::Float64, {4000}, v);
  const double want = reference(Reduction::Var, v, true, 0);
  for (std::int64_t c : {4000, 1000, 7, 1}) {
    const double got = tree_reduce(a, params(Reduction::Var, {0}, true), {c}, 16).values<double>()[0];
    EXPECT_NEAR(got, want, 1e-6 * want) << "chunk " << c;
  }
}

TEST(Reductions, DateTimeMinMaxCount) {
  const std::int64_t t0 = 1577836800000000000;  // 2020-01-01
  // (2, 4): row 0 has a NaT, row 1 is all NaT.
  std::vector<std::int64_t> v{t0 + 5, kNaT, t0 - 3, t0 + 9, kNaT, kNaT, kNaT, kNaT};
  const Chunk a = make_chunk<std::int64_t>(DType::DateTime64, {2, 4}, v);
  auto run = [&](Reduction r, bool skipna, const Shape& chunk) {
    Chunk c = tree_reduce(a, params(r, {1}, skipna), chunk);
    EXPECT_EQ(c.dtype(), r == Reduction::Count ? DType::Int64 : DType::DateTime64);
    auto s = c.values<std::int64_t>();
    return std::vector<std::int64_t>(s.begin(), s.end());
  };
  for (const Shape& chunk : {Shape{2, 4}, Shape{1, 1}, Shape{2, 3}}) {
    EXPECT_EQ(run(Reduction::Min, true, chunk), (std::vector<std::int64_t>{t0 - 3, kNaT}));
    EXPECT_EQ(run(Reduction::Max, true, chunk), (std::vector<std::int64_t>{t0 + 9, kNaT}));
    EXPECT_EQ(run(Reduction::Min, false, chunk), (std::vector<std::int64_t>{kNaT, kNaT}));
    EXPECT_EQ(run(Reduction::Max, false, chunk), (std::vector<std::int64_t>{kNaT, kNaT}));
    EXPECT_EQ(run(Reduction::Count, true, chunk), (std::vector<std::int64_t>{3, 0}));
  }
  // Without NaT, skipna=false is plain min/max (the extreme non-NaT start value never leaks).
  const Chunk b = make_chunk<std::int64_t>(DType::DateTime64, {3}, {t0, t0 - 1, t0 + 1});
  EXPECT_EQ(tree_reduce(b, params(Reduction::Max, {0}, false), {1}).values<std::int64_t>()[0], t0 + 1);
  EXPECT_EQ(tree_reduce(b, params(Reduction::Min, {0}, false), {2}).values<std::int64_t>()[0], t0 - 1);
  EXPECT_THROW(tree_reduce(b, params(Reduction::Mean, {0}, true), {1}), TypeError);
}

TEST(Reductions, ProtocolShapes) {
  const Chunk a = make_data(DType::Float32, {4, 3, 5}, {}, Nulls::None, false, 5);
  const Chunk part = run_op("reduce_partial", params(Reduction::Var, {0, 2}, true), DType::Float32, {8, 3, 10},
                            DType::Float64, {a});
  EXPECT_EQ(part.shape(), (Shape{3, 1, 3, 1}));
  const Chunk comb = run_op("reduce_combine", params(Reduction::Var, {0, 2}, true), DType::Float64, {3, 2, 3, 2},
                            DType::Float64, {part, part, part});
  EXPECT_EQ(comb.shape(), part.shape());
  const Chunk fin = run_op("reduce_finalize", params(Reduction::Var, {0, 2}, true), DType::Float64, {3, 1, 3, 1},
                           DType::Float32, {comb});
  EXPECT_EQ(fin.shape(), (Shape{3}));
  EXPECT_EQ(fin.dtype(), DType::Float32);
  // Combining a chunk's state with itself keeps its variance (same mean, doubled count and M2).
  const Chunk once = run_op("reduce_finalize", params(Reduction::Var, {0, 2}, true), DType::Float64, {3, 1, 3, 1},
                            DType::Float32, {part});
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(fin.values<float>()[i], once.values<float>()[i], 1e-5);
}

TEST(Reductions, BadParams) {
  const Shape shape{4, 5};
  auto prep = [&](std::string_view op, const json& p, DType in = DType::Float32, DType out = DType::Float64,
                  Shape in_shape = {4, 5}) {
    OpSignature sig;
    sig.out_dtype = out;
    sig.input_dtypes = {in};
    sig.input_shapes = {in_shape};
    return OpRegistry::instance().get(op).prepare(p, sig);
  };
  EXPECT_NO_THROW(prep("reduce_partial", params(Reduction::Sum, {0, 1}, true)));
  EXPECT_THROW(prep("reduce_partial", json{{"axes", {0}}}), ValueError);                        // no reduction
  EXPECT_THROW(prep("reduce_partial", json{{"reduction", "avg"}, {"axes", {0}}}), ValueError);  // unknown
  EXPECT_THROW(prep("reduce_partial", json{{"reduction", "sum"}}), ValueError);                 // no axes
  EXPECT_THROW(prep("reduce_partial", params(Reduction::Sum, {2}, true)), ValueError);          // out of range
  EXPECT_THROW(prep("reduce_partial", params(Reduction::Sum, {-1}, true)), ValueError);
  EXPECT_THROW(prep("reduce_partial", params(Reduction::Sum, {1, 0}, true)), ValueError);       // unsorted
  EXPECT_THROW(prep("reduce_partial", params(Reduction::Sum, {0, 0}, true)), ValueError);       // duplicate
  EXPECT_THROW(prep("reduce_partial", json{{"reduction", "sum"}, {"axes", {0}}, {"skipna", "yes"}}), ValueError);
  EXPECT_THROW(prep("reduce_partial", json{{"reduction", "var"}, {"axes", {0}}, {"ddof", 0.5}}), ValueError);
  EXPECT_THROW(prep("reduce_partial", params(Reduction::Mean, {0}, true), DType::DateTime64), TypeError);
  EXPECT_THROW(prep("reduce_partial", params(Reduction::Sum, {0}, true), DType::Float32, DType::Float32), TypeError);
  try {
    prep("reduce_partial", params(Reduction::Sum, {3}, true));
    ADD_FAILURE();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("axis 3 is out of range for a rank-2 array"), std::string::npos) << e.what();
  }
  // combine/finalize take the state (rank R + 1) and check its dtype and field count.
  EXPECT_NO_THROW(prep("reduce_combine", params(Reduction::Mean, {1}, true), DType::Float64, DType::Float64, {2, 4, 5}));
  EXPECT_THROW(prep("reduce_combine", params(Reduction::Mean, {2}, true), DType::Float64, DType::Float64, {2, 4, 5}),
               ValueError);
  EXPECT_THROW(prep("reduce_combine", params(Reduction::Mean, {1}, true), DType::Float64, DType::Float64, {3, 4, 5}),
               ValueError);
  EXPECT_THROW(prep("reduce_combine", params(Reduction::Count, {1}, true), DType::Float64, DType::Float64, {1, 4, 5}),
               TypeError);
  EXPECT_NO_THROW(prep("reduce_finalize", params(Reduction::Mean, {1}, true), DType::Float64, DType::Float32, {2, 4, 5}));
  EXPECT_THROW(prep("reduce_finalize", params(Reduction::Mean, {1}, true), DType::Float64, DType::Int64, {2, 4, 5}),
               TypeError);
  EXPECT_THROW(prep("reduce_finalize", params(Reduction::Min, {1}, true), DType::Float64, DType::Float32, {1, 4, 5}),
               TypeError);
}

}  // namespace
}  // namespace cubist::kernels
