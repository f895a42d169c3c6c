// Ops "group_partial" and "group_median" run directly, the way the groupby graph runs them:
// group_partial per input chunk -> reduce_combine -> reduce_finalize (no axis reduced away).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "cubist/error.hpp"
#include "reduce_test_util.hpp"

namespace cubist::kernels {
namespace {

using namespace reduce_testing;
using nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Runs a registered op as one task: output chunk `index` at `out_offset` of shape `out_shape`,
// one input chunk at `in_offset` of an input of full shape `in_full`.
Chunk run_task(std::string_view name, const json& params, const Chunk& in, const Shape& in_full,
               const std::vector<std::int64_t>& in_offset, DType out_dtype, const Shape& out_full,
               const std::vector<std::int64_t>& index, const std::vector<std::int64_t>& out_offset, const Shape& out_shape) {
  const OpDef& op = OpRegistry::instance().get(name);
  OpSignature sig;
  sig.out_dtype = out_dtype;
  sig.out_shape = out_full;
  sig.input_dtypes = {in.dtype()};
  sig.input_shapes = {in_full};
  auto prepared = op.prepare(params, sig);
  std::vector<TaskInput> tin{TaskInput{&in, 0, in_offset}};
  TaskContext ctx;
  ctx.prepared = prepared.get();
  ctx.out_dtype = out_dtype;
  ctx.chunk_index = index;
  ctx.out_offset = out_offset;
  ctx.out_shape = out_shape;
  ctx.inputs = tin;
  return op.run(ctx);
}

json group_params(const std::string& r, const std::vector<std::int64_t>& group_of, const json& pair_groups, bool skipna = true) {
  return json{{"reduction", r}, {"axes", json::array({0})}, {"skipna", skipna}, {"ddof", 0}, {"group_of", group_of}, {"pair_groups", pair_groups}};
}

// A (6, 2) float64 array; positions 0..5 belong to groups {1, 0, 1, -, 0, 2}. Group 2 is NaN.
const std::vector<std::int64_t> kGroupOf = {1, 0, 1, -1, 0, 2};
Chunk data() { return make_chunk<double>(DType::Float64, {6, 2}, {1, 2, 3, kNaN, 5, 6, 7, 8, kNaN, 10, kNaN, kNaN}); }

// The whole pipeline over input chunks of `rows` positions, one state chunk per (chunk, group range).
Chunk grouped(const std::string& r, std::int64_t rows, bool skipna) {
  const Chunk a = data();
  const ReductionInfo info = reduction_info(parse_reduction(r), DType::Float64);
  const json pairs = json::array({{0, 3}});  // one range holding every group, one state per input chunk
  const Shape state_full{info.fields, 3 * ((6 + rows - 1) / rows), 2};
  std::vector<Chunk> states;
  for (std::int64_t c = 0; c * rows < 6; ++c) {
    const std::int64_t n = std::min<std::int64_t>(rows, 6 - c * rows);
    const Chunk part = slice(a, {c * rows, 0}, {n, 2});
    // Every range must appear in pair_groups once per chunk: the test lists it once and reuses
    // output index 0, which is what the array layer does for a range found in every chunk.
    states.push_back(run_task("group_partial", group_params(r, kGroupOf, pairs, skipna), part, {6, 2}, {c * rows, 0},
                              info.state_dtype, state_full, {0, 0, 0}, {0, 0, 0}, {info.fields, 3, 2}));
    EXPECT_EQ(states.back().shape(), (Shape{info.fields, 3, 2}));
  }
  const json sp{{"reduction", r}, {"axes", json::array()}, {"skipna", skipna}, {"ddof", 0}};
  const Chunk merged = states.size() == 1 ? states[0] : run_op("reduce_combine", sp, info.state_dtype, state_full, info.state_dtype, states);
  return run_op("reduce_finalize", sp, info.state_dtype, state_full, info.result_dtype, {merged});
}

TEST(GroupPartial, EveryReductionOverUnsortedGroupsAndChunkings) {
  // Groups: 0 = rows 1, 4 -> (3, nan), (nan, 10); 1 = rows 0, 2 -> (1, 2), (5, 6); 2 = row 5 -> NaN.
  for (std::int64_t rows : {1, 2, 4, 6}) {
    auto v = [&](const std::string& r, bool skipna = true) { return grouped(r, rows, skipna); };
    const Chunk mx = v("max");
    EXPECT_EQ(mx.values<double>()[0], 3);
    EXPECT_EQ(mx.values<double>()[1], 10);
    EXPECT_EQ(mx.values<double>()[2], 5);
    EXPECT_EQ(mx.values<double>()[3], 6);
    EXPECT_TRUE(std::isnan(mx.values<double>()[4]));  // all-NaN group
    const Chunk mn = v("min");
    EXPECT_EQ(mn.values<double>()[2], 1);
    const Chunk sum = v("sum");
    EXPECT_EQ(sum.values<double>()[0], 3);
    EXPECT_EQ(sum.values<double>()[4], 0);  // nansum of nothing
    const Chunk mean = v("mean");
    EXPECT_EQ(mean.values<double>()[2], 3);
    EXPECT_EQ(mean.values<double>()[3], 4);
    EXPECT_TRUE(std::isnan(mean.values<double>()[5]));
    const Chunk cnt = v("count");
    EXPECT_EQ(cnt.dtype(), DType::Int64);
    EXPECT_EQ(std::vector<std::int64_t>(cnt.values<std::int64_t>().begin(), cnt.values<std::int64_t>().end()),
              (std::vector<std::int64_t>{1, 1, 2, 2, 0, 0}));
    const Chunk var = v("var");
    EXPECT_DOUBLE_EQ(var.values<double>()[2], 4);  // var(1, 5)
    EXPECT_DOUBLE_EQ(var.values<double>()[0], 0);
    EXPECT_DOUBLE_EQ(v("std").values<double>()[3], 2);  // std(2, 6)
    // Without skipna a NaN in the group propagates; NaN-free groups are unchanged.
    const Chunk mxp = v("max", false);
    EXPECT_TRUE(std::isnan(mxp.values<double>()[0]));
    EXPECT_EQ(mxp.values<double>()[2], 5);
    EXPECT_TRUE(std::isnan(v("mean", false).values<double>()[1]));
  }
}

TEST(GroupPartial, IntegersAndAGroupWithoutMembersInTheChunk) {
  const Chunk a = make_chunk<std::int16_t>(DType::Int16, {4}, {5, -3, 8, 1});
  // Chunk holds positions 2..3 only; group 0 (positions 0, 1) has no member there: its state is
  // the reduction's identity, so combining it with other chunks' states changes nothing.
  const json pairs = json::array({{0, 2}});
  const std::vector<std::int64_t> group_of = {0, 0, 1, 1};
  const Chunk s = run_task("group_partial", group_params("sum", group_of, pairs), slice(a, {2}, {2}), {4}, {2},
                           DType::Int64, {1, 2}, {0, 0}, {0, 0}, {1, 2});
  EXPECT_EQ(s.values<std::int64_t>()[0], 0);
  EXPECT_EQ(s.values<std::int64_t>()[1], 9);
  const Chunk m = run_task("group_partial", group_params("max", group_of, pairs), slice(a, {2}, {2}), {4}, {2},
                           DType::Int16, {1, 2}, {0, 0}, {0, 0}, {1, 2});
  EXPECT_EQ(m.values<std::int16_t>()[0], std::numeric_limits<std::int16_t>::lowest());  // max's identity
  EXPECT_EQ(m.values<std::int16_t>()[1], 8);
  const Chunk mean = run_task("group_partial", group_params("mean", group_of, pairs), a, {4}, {0}, DType::Float64,
                              {2, 2}, {0, 0}, {0, 0}, {2, 2});
  EXPECT_EQ(mean.values<double>()[0], 2);  // sums
  EXPECT_EQ(mean.values<double>()[1], 9);
  EXPECT_EQ(mean.values<double>()[2], 2);  // counts
}

TEST(GroupPartial, ABlockOfInputChunksGivesOneState) {
  // One task reading two consecutive chunks (rows 0..2 and 3..5) equals one task on the whole.
  const Chunk a = data();
  const Chunk top = slice(a, {0, 0}, {3, 2}), bottom = slice(a, {3, 0}, {3, 2});
  const json p = group_params("var", kGroupOf, json::array({{0, 3}}));
  const OpDef& op = OpRegistry::instance().get("group_partial");
  OpSignature sig;
  sig.out_dtype = DType::Float64;
  sig.out_shape = {3, 3, 2};
  sig.input_dtypes = {DType::Float64};
  sig.input_shapes = {{6, 2}};
  auto prepared = op.prepare(p, sig);
  const std::vector<std::int64_t> off0{0, 0}, off1{3, 0}, index{0, 0, 0}, out_shape{3, 3, 2};
  std::vector<TaskInput> tin{TaskInput{&top, 0, off0}, TaskInput{&bottom, 0, off1}};
  TaskContext ctx;
  ctx.prepared = prepared.get();
  ctx.out_dtype = DType::Float64;
  ctx.chunk_index = index;
  ctx.out_offset = index;
  ctx.out_shape = out_shape;
  ctx.inputs = tin;
  const Chunk two = op.run(ctx);
  const Chunk one = run_task("group_partial", p, a, {6, 2}, {0, 0}, DType::Float64, {3, 3, 2}, {0, 0, 0}, {0, 0, 0}, {3, 3, 2});
  ASSERT_EQ(two.shape(), one.shape());
  for (std::int64_t i = 0; i < one.size(); ++i) {
    const double x = one.values<double>()[static_cast<std::size_t>(i)], y = two.values<double>()[static_cast<std::size_t>(i)];
    if (std::isnan(x)) EXPECT_TRUE(std::isnan(y)) << i;
    else EXPECT_DOUBLE_EQ(x, y) << i;
  }
}

// min/max merge a group's runs straight into one state; the bits must be those of the plain tree
// (reduce_partial per run, reduce_combine in input order): NaNs with different payloads, +0 vs -0
// ties, groups split over two input chunks, the grouped axis outermost (col path) and innermost
// (row path, runs longer than the 32 lanes), odd extents, float64, int32 and datetime64.
template <class T> void expect_minmax_like_tree(DType dtype, const Shape& full, std::size_t g, const std::vector<T>& values,
                                               const std::vector<std::int64_t>& group_of, std::int64_t groups) {
  const Chunk a = make_chunk<T>(dtype, full, values);
  // Two input chunks along the grouped axis, split at an odd position.
  const std::int64_t split = full[g] / 2 + 1;
  std::vector<std::int64_t> off1(full.size(), 0), off0(full.size(), 0);
  off1[g] = split;
  Shape s0 = full, s1 = full;
  s0[g] = split;
  s1[g] = full[g] - split;
  const Chunk c0 = slice(a, off0, s0), c1 = slice(a, off1, s1);
  Shape state_full = full;
  state_full[g] = groups;
  state_full.insert(state_full.begin(), 1);
  for (const char* r : {"max", "min"})
    for (bool skipna : {true, false}) {
      json p = group_params(r, group_of, json::array({{0, groups}}), skipna);
      p["axes"] = json::array({g});
      const OpDef& op = OpRegistry::instance().get("group_partial");
      OpSignature sig;
      sig.out_dtype = dtype;
      sig.out_shape = state_full;
      sig.input_dtypes = {dtype};
      sig.input_shapes = {full};
      auto prepared = op.prepare(p, sig);
      const std::vector<std::int64_t> index(state_full.size(), 0);
      std::vector<TaskInput> tin{TaskInput{&c0, 0, off0}, TaskInput{&c1, 0, off1}};
      TaskContext ctx;
      ctx.prepared = prepared.get();
      ctx.out_dtype = dtype;
      ctx.chunk_index = index;
      ctx.out_offset = index;
      ctx.out_shape = state_full;
      ctx.inputs = tin;
      const Chunk got = op.run(ctx);
      ASSERT_EQ(got.shape(), state_full);
      // The tree, group by group: a state per run of consecutive members (in input order), combined.
      const json sp{{"reduction", r}, {"axes", json::array({g})}, {"skipna", skipna}, {"ddof", 0}};
      Shape one_state = state_full;
      one_state[g + 1] = 1;
      for (std::int64_t k = 0; k < groups; ++k) {
        std::vector<Chunk> parts;
        for (std::int64_t i = 0; i < full[g];) {
          std::int64_t e = i + 1;
          while (e < full[g] && group_of[static_cast<std::size_t>(e)] == group_of[static_cast<std::size_t>(i)] &&
                 e != split)
            ++e;
          if (group_of[static_cast<std::size_t>(i)] == k) {
            std::vector<std::int64_t> o(full.size(), 0);
            Shape sh = full;
            o[g] = i;
            sh[g] = e - i;
            parts.push_back(run_op("reduce_partial", sp, dtype, full, dtype, {slice(a, o, sh)}));
          }
          i = e;
        }
        Chunk want = parts.empty() ? Chunk() : parts.size() == 1 ? parts[0] : run_op("reduce_combine", sp, dtype, one_state, dtype, parts);
        ASSERT_FALSE(want.empty()) << "every group has members in this test";
        std::vector<std::int64_t> o(state_full.size(), 0);
        o[g + 1] = k;
        const Chunk slot = slice(got, o, one_state);
        ASSERT_EQ(slot.nbytes(), want.nbytes());
        EXPECT_EQ(std::memcmp(slot.raw(), want.raw(), want.nbytes()), 0) << r << " skipna=" << skipna << " group " << k;
      }
    }
}

TEST(GroupPartial, MinMaxMergedInPlaceHaveTheTreesBits) {
  const double nan2 = std::bit_cast<double>(std::bit_cast<std::uint64_t>(kNaN) | 0x5);  // another NaN payload
  // Grouped axis outermost: (7, 3, 5), labels unsorted, group 1's runs cross the chunk split at 4.
  const std::vector<std::int64_t> outer_groups = {1, 0, 1, 1, 1, 2, 0};
  std::vector<double> v(7 * 15);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>((i * 37) % 11) - 5;
  for (std::size_t i = 0; i < v.size(); i += 7) v[i] = kNaN;
  for (std::size_t i = 3; i < v.size(); i += 13) v[i] = nan2;
  for (std::size_t i = 0; i < v.size(); i += 5) v[i] = (i / 5) % 2 ? 0.0 : -0.0;
  for (std::size_t i = 30; i < 45; ++i) v[i] = kNaN;  // position 2 wholly NaN
  expect_minmax_like_tree<double>(DType::Float64, {7, 3, 5}, 0, v, outer_groups, 3);
  // First runs longer than one position (group 0 starts with positions 0..1, group 1 with 2..3).
  expect_minmax_like_tree<double>(DType::Float64, {7, 3, 5}, 0, v, {0, 0, 1, 1, 1, 2, 0}, 3);
  std::vector<std::int32_t> iv(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) iv[i] = static_cast<std::int32_t>((i * 7919) % 23) - 11;
  expect_minmax_like_tree<std::int32_t>(DType::Int32, {7, 3, 5}, 0, iv, outer_groups, 3);
  std::vector<std::int64_t> tv(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) tv[i] = i % 6 == 0 ? kNaT : static_cast<std::int64_t>((i * 131) % 17);
  expect_minmax_like_tree<std::int64_t>(DType::DateTime64, {7, 3, 5}, 0, tv, outer_groups, 3);
  // Grouped axis innermost: (3, 77), runs of 40 and 37 positions (longer than the lanes).
  std::vector<std::int64_t> inner_groups(77, 0);
  for (std::size_t i = 40; i < 77; ++i) inner_groups[i] = 1;
  inner_groups[76] = 0;
  std::vector<double> w(3 * 77);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<double>((i * 53) % 19) - 9;
  for (std::size_t i = 0; i < w.size(); i += 9) w[i] = i % 2 ? kNaN : nan2;
  for (std::size_t i = 1; i < w.size(); i += 4) w[i] = i % 3 ? 0.0 : -0.0;
  expect_minmax_like_tree<double>(DType::Float64, {3, 77}, 1, w, inner_groups, 2);
}

TEST(GroupPartial, RejectsBadParameters) {
  const Chunk a = data();
  const json pairs = json::array({{0, 3}});
  auto run = [&](const json& p, DType out, const Shape& out_shape) {
    return run_task("group_partial", p, a, {6, 2}, {0, 0}, out, {1, 3, 2}, {0, 0, 0}, {0, 0, 0}, out_shape);
  };
  EXPECT_THROW(run(group_params("max", {1, 0, 1}, pairs), DType::Float64, {1, 3, 2}), ValueError);  // group_of too short
  EXPECT_THROW(run(group_params("max", kGroupOf, json::array({{2, 1}})), DType::Float64, {1, 3, 2}), ValueError);
  EXPECT_THROW(run(group_params("max", kGroupOf, pairs), DType::Float32, {1, 3, 2}), TypeError);  // wrong state dtype
  EXPECT_THROW(run(group_params("max", kGroupOf, pairs), DType::Float64, {1, 2, 2}), ValueError);  // 2 slots for 3 groups
  json no_axis = group_params("max", kGroupOf, pairs);
  no_axis["axes"] = json::array({0, 1});
  EXPECT_THROW(run(no_axis, DType::Float64, {1, 3, 2}), ValueError);
}

TEST(GroupMedian, RunsOfGatheredGroups) {
  // Gathered axis: group 0 = 3 positions, group 1 = 2, group 2 = 1 (all NaN at x=1).
  const Chunk a = make_chunk<double>(DType::Float64, {6, 2}, {4, 1, 1, 2, 9, 3, 2, kNaN, 6, 5, 7, kNaN});
  const json p{{"axes", json::array({0})}, {"skipna", true}, {"sizes", {3, 2, 1}}};
  const Chunk all = run_task("group_median", p, a, {6, 2}, {0, 0}, DType::Float64, {3, 2}, {0, 0}, {0, 0}, {3, 2});
  const auto v = all.values<double>();
  EXPECT_EQ(v[0], 4);  // median(4, 1, 9)
  EXPECT_EQ(v[1], 2);  // median(1, 2, 3)
  EXPECT_EQ(v[2], 4);  // median(2, 6)
  EXPECT_EQ(v[3], 5);  // nanmedian(nan, 5)
  EXPECT_EQ(v[4], 7);
  EXPECT_TRUE(std::isnan(v[5]));
  const json noskip{{"axes", json::array({0})}, {"skipna", false}, {"sizes", {3, 2, 1}}};
  // The second output chunk holds group 1 only: its input is the gathered chunk of rows 3..4.
  const Chunk one = run_task("group_median", noskip, slice(a, {3, 0}, {2, 2}), {6, 2}, {3, 0}, DType::Float64, {3, 2},
                             {1, 0}, {1, 0}, {1, 2});
  EXPECT_EQ(one.shape(), (Shape{1, 2}));
  EXPECT_EQ(one.values<double>()[0], 4);
  EXPECT_TRUE(std::isnan(one.values<double>()[1]));
  // An input that does not hold the output's groups is refused.
  EXPECT_THROW(run_task("group_median", p, slice(a, {2, 0}, {2, 2}), {6, 2}, {2, 0}, DType::Float64, {3, 2}, {1, 0},
                        {1, 0}, {1, 2}),
               ValueError);
  const json bad{{"axes", json::array({0})}, {"skipna", true}, {"sizes", {3, 2}}};
  EXPECT_THROW(run_task("group_median", bad, a, {6, 2}, {0, 0}, DType::Float64, {3, 2}, {0, 0}, {0, 0}, {3, 2}), ValueError);
  const Chunk ints = make_chunk<std::int32_t>(DType::Int32, {4}, {7, 1, 2, 10});
  const Chunk mi = run_task("group_median", json{{"axes", json::array({0})}, {"skipna", true}, {"sizes", {2, 2}}}, ints, {4}, {0},
                            DType::Float64, {2}, {0}, {0}, {2});
  EXPECT_EQ(mi.values<double>()[0], 4);
  EXPECT_EQ(mi.values<double>()[1], 6);
}

}  // namespace
}  // namespace cubist::kernels
