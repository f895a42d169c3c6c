// Constant chunks carried through elementwise layers (graph/constant_fold.hpp): a chunk computed
// only from constant chunks (and boolean inputs that do not change the result) is constant, and
// what it would have read is culled. Values are the same as computing it.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/expression.hpp"
#include "cubist/cubist.hpp"
#include "graph/constant_fold.hpp"
#include "graph/optimize.hpp"
#include "graph/task_graph.hpp"
#include "runtime/local_scheduler.hpp"

using namespace cubist;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// `a` (4 x 4 random, 2 x 2 chunks) whose chunks `constant` hold `value`.
DataArray random_with_constant(std::vector<std::int64_t> constant, double value) {
  auto a = random<double>({{"y", 4}, {"x", 4}}, {{"y", 2}, {"x", 2}}, 11);
  return DataArray::from_layer(graph::with_constant_chunks(*a.layer(), {std::move(constant), value}), a.dims());
}

// A boolean mask that varies in every chunk, as an in-memory source (like geometry_mask).
DataArray checker_mask() {
  std::vector<bool> v(16);
  for (std::size_t i = 0; i < 16; ++i) v[i] = (i + i / 4) % 2 == 0;
  return DataArray::from_vector(v, {{"y", 4}, {"x", 4}}).chunk({{"y", 2}, {"x", 2}});
}

std::size_t tasks_of_op(const graph::TaskGraph& tg, const std::string& op) {
  std::size_t n = 0;
  for (const auto& t : tg.tasks) n += tg.layers[t.layer]->op == op;
  return n;
}

graph::TaskGraph task_graph(const DataArray& a, bool fold) {
  graph::TaskGraphOptions o;
  o.fold_constants = fold;
  return graph::build_task_graph(graph::fuse_elementwise({a.layer()}), o);
}

// Every output chunk equal with and without folding (NaN where NaN).
void expect_same_chunks(const DataArray& a) {
  auto with = runtime::execute(task_graph(a, true));
  auto without = runtime::execute(task_graph(a, false));
  ASSERT_EQ(with[0].size(), without[0].size());
  for (std::size_t c = 0; c < with[0].size(); ++c) {
    auto w = with[0][c].values<double>();
    auto o = without[0][c].values<double>();
    ASSERT_EQ(w.size(), o.size());
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (std::isnan(o[i])) {
        EXPECT_TRUE(std::isnan(w[i])) << c << ":" << i;
      } else {
        EXPECT_EQ(w[i], o[i]) << c << ":" << i;
      }
    }
  }
}

}  // namespace

TEST(ConstantFold, NanInputsMakeNdviAndItsMaskConstant) {
  // The seed workflow's chain: NDVI of two bands whose chunk 0 no footprint reaches, masked by a
  // polygon mask that varies inside the chunk: NaN whatever the mask, so constant.
  auto red = random_with_constant({0}, kNaN);
  auto nir = random_with_constant({0, 3}, kNaN);
  auto ndvi = ((nir - red) / (nir + red)).where(checker_mask(), kNaN);
  auto folded = task_graph(ndvi, true);
  auto plain = task_graph(ndvi, false);
  EXPECT_EQ(tasks_of_op(folded, "elementwise"), 3u);
  EXPECT_EQ(tasks_of_op(plain, "elementwise"), 4u);
  // The mask's chunk 0 is no longer needed; nir's chunk 3 still is (red's is not constant there).
  EXPECT_EQ(tasks_of_op(folded, "literal") + tasks_of_op(folded, "gather") + 1,
            tasks_of_op(plain, "literal") + tasks_of_op(plain, "gather"));
  expect_same_chunks(ndvi);
}

TEST(ConstantFold, ResultsThatDependOnTheMaskAreComputed) {
  auto a = random_with_constant({0}, kNaN);
  auto zero_outside = a.where(checker_mask(), 0.0);  // NaN inside, 0 outside: varies with the mask
  auto tg = task_graph(zero_outside, true);
  EXPECT_EQ(tasks_of_op(tg, "elementwise"), 4u);
  expect_same_chunks(zero_outside);
}

TEST(ConstantFold, ValuesOtherThanTheLayersOwnConstantAreComputed) {
  auto a = random_with_constant({0, 1}, 2.0);
  auto b = a * 3.0;  // chunks 0 and 1 fold to 6
  auto own = DataArray::from_layer(graph::with_constant_chunks(*b.layer(), {{1}, 5.0}), b.dims());
  auto tg = graph::build_task_graph({own.layer()}, {});
  // Chunk 1 is the layer's own 5; chunk 0 would fold to 6, which the layer's one value cannot say.
  EXPECT_EQ(tasks_of_op(tg, "elementwise"), 3u);
  auto r = runtime::execute(tg);
  EXPECT_EQ(r[0][0].values<double>()[0], 6.0);
  EXPECT_EQ(r[0][1].values<double>()[0], 5.0);
}

TEST(ConstantFold, FoldsFollowTheKernelsExactly) {
  using core::ExprOp;
  core::Expression e;
  auto x = e.input(0, DType::Float64);
  auto y = e.input(1, DType::Float64);
  auto m = e.input(2, DType::Bool);
  e.result = e.binary(ExprOp::Minimum, x, y, DType::Float64);
  EXPECT_TRUE(std::isnan(*graph::fold_expression(e, {kNaN, 1.0, true})));
  EXPECT_EQ(*graph::fold_expression(e, {-0.0, 0.0, true}), 0.0);  // the kernel keeps a on ties
  EXPECT_TRUE(std::signbit(*graph::fold_expression(e, {-0.0, 0.0, true})));
  e.result = e.binary(ExprOp::Ne, x, y, DType::Bool);
  EXPECT_EQ(*graph::fold_expression(e, {kNaN, kNaN, true}), 1.0);
  e.result = e.where(m, x, y, DType::Float64);
  EXPECT_EQ(*graph::fold_expression(e, {4.0, 4.0, std::nullopt}), 4.0);  // same either way
  EXPECT_FALSE(graph::fold_expression(e, {4.0, 5.0, std::nullopt}));    // depends on the mask
  EXPECT_FALSE(graph::fold_expression(e, {std::nullopt, 4.0, true}));   // a float input varies
  e.result = e.binary(ExprOp::Pow, x, y, DType::Float64);
  EXPECT_FALSE(graph::fold_expression(e, {2.0, 3.0, true}));  // not reproduced here
  core::Expression f;
  f.result = f.binary(ExprOp::Add, f.input(0, DType::Float32), f.input(1, DType::Float32), DType::Float32);
  EXPECT_FALSE(graph::fold_expression(f, {1.0, 2.0}));  // float32 rounding: left to the kernel
}

namespace {

// (time 4, x 4) random in (1, 2) chunks; chunks (t, 0) for t in `nan_times` are NaN constants.
DataArray stack_with_nan_times(const std::vector<std::int64_t>& nan_times) {
  auto a = random<double>({{"time", 4}, {"x", 4}}, {{"time", 1}, {"x", 2}}, 5);
  std::vector<std::int64_t> chunks;
  for (auto t : nan_times) chunks.push_back(t * 2);
  return DataArray::from_layer(graph::with_constant_chunks(*a.layer(), {std::move(chunks), kNaN}), a.dims());
}

}  // namespace

TEST(ConstantFold, MinMaxGroupsOfConstantChunksAreConstant) {
  // A daily max where no item of day 0 reaches x chunk 0: that group's state and result chunks
  // are NaN without merging anything; day 1 has one NaN and one varying chunk: computed.
  auto a = stack_with_nan_times({0, 1, 2});
  const auto day = Coordinate::from_vector<std::int64_t>("time", {0, 0, 1, 1});
  auto daily = a.groupby(day).max();
  auto folded = task_graph(daily, true);
  auto plain = task_graph(daily, false);
  EXPECT_EQ(tasks_of_op(plain, "group_partial"), 4u);
  EXPECT_EQ(tasks_of_op(folded, "group_partial"), 3u);
  EXPECT_EQ(tasks_of_op(folded, "reduce_finalize"), 3u);
  expect_same_chunks(daily);
  expect_same_chunks(a.groupby(day).min());
  // A sum depends on how many values merge (and skipna sums of NaN are 0): never folded this way.
  EXPECT_EQ(tasks_of_op(task_graph(a.groupby(day).sum(), true), "group_partial"), 4u);
  expect_same_chunks(a.groupby(day).sum());
}

TEST(ConstantFold, MinMaxReductionTreesOfConstantChunksAreConstant) {
  // x chunk 0 is NaN at every time: the max over time (partial, combine, finalize) is NaN there,
  // with skipna or not; x chunk 1 is computed.
  auto a = stack_with_nan_times({0, 1, 2, 3});
  for (bool skipna : {true, false}) {
    auto m = a.max({"time"}, ReduceOptions{skipna});
    auto folded = task_graph(m, true);
    EXPECT_EQ(tasks_of_op(folded, "reduce_partial"), 4u) << skipna;
    EXPECT_EQ(tasks_of_op(task_graph(m, false), "reduce_partial"), 8u) << skipna;
    expect_same_chunks(m);
  }
}

TEST(ConstantFold, RechunksOfConstantChunksAreConstant) {
  // Rows of 4: rows 0 and 1 read chunks 0 and 1 (both NaN): constant, nothing assembled; rows 2
  // and 3 read chunks 2 (NaN) and 3 (varies): assembled.
  auto a = random_with_constant({0, 1, 2}, kNaN);
  auto rows = a.chunk({{"y", 1}, {"x", 4}});
  auto folded = task_graph(rows, true);
  EXPECT_EQ(tasks_of_op(task_graph(rows, false), "gather"), 4u);
  EXPECT_EQ(tasks_of_op(folded, "gather"), 2u);
  expect_same_chunks(rows);
  // A selection inside the constant chunks, and a transpose of them, fold too.
  auto corner = a.isel({{"y", Slice{0, 2}}});
  EXPECT_EQ(tasks_of_op(task_graph(corner, true), "gather"), 0u);
  expect_same_chunks(corner);
  auto t = a.transpose({"x", "y"});
  EXPECT_EQ(tasks_of_op(task_graph(t, true), "transpose"), 1u);
  expect_same_chunks(t);
}

TEST(ConstantFold, ConcatsCarryEachInputsConstantChunks) {
  // One value per layer: the NaN chunks of the first input fold; the 7s of the second cannot be
  // said by the same layer and are computed (handed on), with identical values either way.
  auto a = random_with_constant({0, 1}, kNaN);
  auto b = random_with_constant({2, 3}, 7.0);
  auto both = concat({a, b}, "y");
  auto folded = task_graph(both, true);
  EXPECT_EQ(tasks_of_op(task_graph(both, false), "concat"), 8u);
  EXPECT_EQ(tasks_of_op(folded, "concat"), 6u);
  expect_same_chunks(both);
  // Mixed values within one output chunk: not constant.
  auto mixed = concat({random_with_constant({0, 1, 2, 3}, 1.0), random_with_constant({0, 1, 2, 3}, 2.0)}, "y")
                   .chunk({{"y", 8}, {"x", 4}});
  EXPECT_EQ(tasks_of_op(task_graph(mixed, true), "gather"), 1u);
  expect_same_chunks(mixed);
}

TEST(ConstantFold, FullSourcesAreConstantThroughConcatAndRechunk) {
  // openEO's reindex: steps without data joined in as full(NaN) blocks, then rechunked. The
  // rechunked chunks lying only in the NaN steps are constant: nothing filled, copied or assembled.
  auto data = random<double>({{"time", 2}, {"x", 4}}, {{"time", 1}, {"x", 2}}, 3);
  auto none = full({{"time", 4}, {"x", 4}}, kNaN, DType::Float64, {{"time", 1}, {"x", 2}});
  auto joined = concat({data, none}, "time").chunk({{"time", 2}, {"x", 4}});
  auto folded = task_graph(joined, true);
  EXPECT_EQ(tasks_of_op(task_graph(joined, false), "gather"), 3u);
  EXPECT_EQ(tasks_of_op(folded, "gather"), 1u);
  EXPECT_EQ(tasks_of_op(folded, "concat"), 4u);  // only data's chunks are handed on
  expect_same_chunks(joined);
  // Integers beyond 2^53 are not folded (constant chunks are made from a double).
  auto zero = full({{"x", 4}}, 0.0, DType::Int64, {{"x", 2}});
  EXPECT_TRUE(graph::fold_constant_chunks({zero.layer().get()})[0].any);
  auto big = full({{"x", 4}}, std::ldexp(1.0, 60), DType::Int64, {{"x", 2}});
  EXPECT_FALSE(graph::fold_constant_chunks({big.layer().get()})[0].any);
}
