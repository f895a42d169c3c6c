// A skipna min/max group_partial does not read the NaN constant chunks of its input
// (graph::ignores_constant_input, build_task_graph): the NDVI daily max of a day with one item
// that misses the chunk merges only the other item's chunk. Values stay those of reading them all;
// without skipna (a NaN wins) they are read. Also the block-wise merge of time-step runs against a
// brute-force reference (numpy's rules: NaN skipped or propagated, the first of equal values kept).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "cubist/cubist.hpp"
#include "graph/constant_fold.hpp"
#include "graph/optimize.hpp"
#include "graph/task_graph.hpp"
#include "runtime/local_scheduler.hpp"

using namespace cubist;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// (time 4, x 4) random with NaNs, in (time_chunk, 2) chunks; chunks `nan_chunks` are NaN constants.
DataArray stack_with_nan_chunks(std::int64_t time_chunk, std::vector<std::int64_t> nan_chunks) {
  auto r = random<double>({{"time", 4}, {"x", 4}}, {{"time", time_chunk}, {"x", 2}}, 9);
  auto a = r.where(r < 0.8, kNaN);
  return DataArray::from_layer(graph::with_constant_chunks(*a.layer(), {std::move(nan_chunks), kNaN}), a.dims());
}

graph::TaskGraph task_graph(const DataArray& a, bool fold) {
  graph::TaskGraphOptions o;
  o.fold_constants = fold;
  return graph::build_task_graph(graph::fuse_elementwise({a.layer()}), o);
}

// Dependencies of each group_partial task, in task order.
std::vector<std::uint32_t> group_partial_deps(const graph::TaskGraph& tg) {
  std::vector<std::uint32_t> out;
  for (const auto& t : tg.tasks)
    if (tg.layers[t.layer]->op == "group_partial") out.push_back(t.dep_end - t.dep_begin);
  return out;
}

// Every output chunk bit for bit equal with and without folding and skipping.
void expect_bit_identical(const DataArray& a) {
  auto with = runtime::execute(task_graph(a, true));
  auto without = runtime::execute(task_graph(a, false));
  ASSERT_EQ(with[0].size(), without[0].size());
  for (std::size_t c = 0; c < with[0].size(); ++c) {
    auto w = with[0][c].values<double>();
    auto o = without[0][c].values<double>();
    ASSERT_EQ(w.size(), o.size());
    for (std::size_t i = 0; i < w.size(); ++i)
      EXPECT_EQ(std::memcmp(&w[i], &o[i], sizeof(double)), 0) << c << ":" << i << " " << w[i] << " vs " << o[i];
  }
}

}  // namespace

TEST(SkipConstantInputs, SkipnaMaxDoesNotReadNaNChunksOfAGroup) {
  // Time steps 0, 1 are day 0, 2, 3 day 1; chunk (time 2, x 0) is a NaN constant: day 1's x 0
  // state merges time 3 only. Day 0 reads both.
  auto a = stack_with_nan_chunks(1, {4});
  const auto day = Coordinate::from_vector<std::int64_t>("time", {0, 0, 1, 1});
  for (bool max : {true, false}) {
    auto daily = max ? a.groupby(day).max() : a.groupby(day).min();
    EXPECT_EQ(group_partial_deps(task_graph(daily, false)), (std::vector<std::uint32_t>{2, 2, 2, 2}));
    auto skipped = group_partial_deps(task_graph(daily, true));
    ASSERT_EQ(skipped.size(), 4u);
    EXPECT_EQ(skipped[0] + skipped[1] + skipped[2] + skipped[3], 7u);  // one NaN chunk not read
    expect_bit_identical(daily);
  }
}

TEST(SkipConstantInputs, WithoutSkipnaTheNaNChunkIsReadAndWins) {
  auto a = stack_with_nan_chunks(1, {4});
  const auto day = Coordinate::from_vector<std::int64_t>("time", {0, 0, 1, 1});
  auto daily = a.groupby(day).max(ReduceOptions{false, 0});
  EXPECT_EQ(group_partial_deps(task_graph(daily, true)), (std::vector<std::uint32_t>{2, 2, 2, 2}));
  expect_bit_identical(daily);
  auto v = daily.compute().values<double>();  // (day 2, x 4): day 1's x 0..1 are NaN
  EXPECT_TRUE(std::isnan(v[4]) && std::isnan(v[5]));
  // A constant that is not NaN is a value like any other: read.
  auto r = random<double>({{"time", 4}, {"x", 4}}, {{"time", 1}, {"x", 2}}, 9);
  auto two = DataArray::from_layer(graph::with_constant_chunks(*r.layer(), {{4}, 2.0}), r.dims());
  EXPECT_EQ(group_partial_deps(task_graph(two.groupby(day).max(), true)), (std::vector<std::uint32_t>{2, 2, 2, 2}));
}

TEST(SkipConstantInputs, GroupsLeftWithoutValuesStayNaN) {
  // Chunks of two time steps across day boundaries (days 0, 1, 1, 2): the NaN chunk (time 0..1,
  // x 0) holds all of day 0 and part of day 1 at x 0.
  auto a = stack_with_nan_chunks(2, {0});
  const auto day = Coordinate::from_vector<std::int64_t>("time", {0, 1, 1, 2});
  auto daily = a.groupby(day).max();
  expect_bit_identical(daily);
  auto v = daily.compute().values<double>();  // (day 3, x 4)
  EXPECT_TRUE(std::isnan(v[0]) && std::isnan(v[1]));
}

TEST(SkipConstantInputs, BlockwiseMergeOfTimeStepsMatchesNumpysRules) {
  // 7 time steps of 5000 values (blocks of the merge end inside the run), NaNs, and +0 / -0 ties
  // whose first must win; days {0,0,0,1,1,1,1}.
  const std::int64_t nt = 7, nx = 5000;
  std::vector<double> v(static_cast<std::size_t>(nt * nx));
  for (std::int64_t t = 0; t < nt; ++t)
    for (std::int64_t x = 0; x < nx; ++x) {
      const std::int64_t h = (x * 31 + t * 17) % 13;
      v[static_cast<std::size_t>(t * nx + x)] = h < 3 ? kNaN : h < 6 ? (t % 2 ? -0.0 : 0.0) : static_cast<double>(h % 5) - 2;
    }
  const std::vector<std::int64_t> days{0, 0, 0, 1, 1, 1, 1};
  auto a = DataArray::from_vector(v, {{"time", nt}, {"x", nx}}).chunk({{"time", 1}, {"x", nx}});
  const auto day = Coordinate::from_vector<std::int64_t>("time", days);
  for (bool skipna : {true, false})
    for (bool max : {true, false}) {
      auto g = a.groupby(day);
      auto got = (max ? g.max(ReduceOptions{skipna, 0}) : g.min(ReduceOptions{skipna, 0})).compute().values<double>();
      ASSERT_EQ(got.size(), static_cast<std::size_t>(2 * nx));
      for (std::int64_t d = 0; d < 2; ++d)
        for (std::int64_t x = 0; x < nx; ++x) {
          double ref = kNaN;
          bool seen = false, null = false;
          for (std::int64_t t = 0; t < nt; ++t) {
            if (days[static_cast<std::size_t>(t)] != d) continue;
            const double e = v[static_cast<std::size_t>(t * nx + x)];
            if (std::isnan(e)) {
              null = true;
              continue;
            }
            if (!seen || (max ? e > ref : e < ref)) ref = e;
            seen = true;
          }
          if (!skipna && null) ref = kNaN;
          const double g2 = got[static_cast<std::size_t>(d * nx + x)];
          ASSERT_EQ(std::memcmp(&g2, &ref, sizeof(double)) == 0 || (std::isnan(g2) && std::isnan(ref)), true)
              << "skipna " << skipna << " max " << max << " day " << d << " x " << x << ": " << g2 << " vs " << ref;
        }
    }
}
