#include <gtest/gtest.h>

#include "cubist/cubist.hpp"
#include "graph/dot.hpp"
#include "graph/optimize.hpp"
#include "graph/task_graph.hpp"

using namespace cubist;


TEST(Keys, SameComputationSameKey) {
  auto a = ones<double>({{"t", 8}, {"x", 6}}, {{"t", 2}, {"x", 3}});
  auto b = ones<double>({{"t", 8}, {"x", 6}}, {{"t", 2}, {"x", 3}});
  EXPECT_EQ(a.layer()->key, b.layer()->key);
  EXPECT_EQ((a + 1.0).mean("t").layer()->key, (b + 1.0).mean("t").layer()->key);
  EXPECT_NE((a + 1.0).layer()->key, (a + 2.0).layer()->key);
  EXPECT_NE(a.mean("t").layer()->key, a.mean("x").layer()->key);
  auto c = ones<double>({{"t", 8}, {"x", 6}}, {{"t", 4}, {"x", 3}});
  EXPECT_NE(a.layer()->key, c.layer()->key);
  EXPECT_EQ(a.layer()->key.rfind("full-", 0), 0u);
}

TEST(TaskGraph, OneTaskPerChunkAndTreeReduction) {
  auto a = ones<double>({{"x", 100}}, {{"x", 1}});
  auto s = (a + 1.0).sum();
  auto tg = graph::build_task_graph({s.layer()}, {.fuse = false, .fold_constants = false});
  // 100 sources + 100 adds + 100 partials + ceil(100/16)=7 + 1 combines + 1 finalize.
  EXPECT_EQ(tg.tasks.size(), 100u + 100u + 100u + 7u + 1u + 1u);
  EXPECT_EQ(tg.num_units(), tg.tasks.size());
}

TEST(TaskGraph, FusesBlockwiseChainsIntoUnits) {
  auto a = ones<double>({{"x", 100}}, {{"x", 1}});
  auto s = (a + 1.0).sum();
  auto layers = graph::fuse_elementwise({s.layer()});
  auto tg = graph::build_task_graph(layers, {.fuse = true, .fold_constants = false});
  // ones -> add -> partial run as one unit per chunk; the last combine fuses into finalize.
  EXPECT_EQ(tg.tasks.size(), 100u + 100u + 100u + 7u + 1u + 1u);
  EXPECT_EQ(tg.num_units(), 100u + 7u + 1u);
}

TEST(TaskGraph, CullsChunksNobodyNeeds) {
  auto a = ones<double>({{"x", 100}}, {{"x", 10}});
  // A layer that reads only chunk 3 of `a` (a Fixed dependency).
  graph::LayerSpec spec;
  spec.label = "pick";
  spec.op = "gather";
  spec.params = {{"axes", {{{"out_axis", 0}, {"start", 30}, {"step", 1}}}}};
  spec.inputs = {{a.layer(), {graph::AxisDep::fixed(3, 4)}}};
  spec.grid = ChunkGrid(std::vector<std::vector<std::int64_t>>{{10}});
  spec.dtype = DType::Float64;
  auto pick = graph::make_layer(std::move(spec));
  auto tg = graph::build_task_graph({pick}, {.fuse = false, .fold_constants = false});
  EXPECT_EQ(tg.tasks.size(), 2u);
  EXPECT_EQ(tg.tasks[0].chunk, 3);
}

TEST(Optimize, MergesElementwiseChainsOnly) {
  auto a = random<float>({{"y", 8}, {"x", 8}}, {{"y", 4}, {"x", 4}}, 1);
  auto e = ((a * 2.0) + 1.0).where(a > 0.5);
  auto layers = graph::fuse_elementwise({e.layer()});
  auto order = graph::topological_layers(layers);
  ASSERT_EQ(order.size(), 2u);  // random -> one fused elementwise layer
  EXPECT_EQ(order[1]->op, "elementwise");
  EXPECT_EQ(order[1]->inputs.size(), 1u);  // `a` read once, not three times
  // A shared intermediate is not merged into two consumers.
  auto shared = a * 2.0;
  auto both = graph::fuse_elementwise({(shared + 1.0).layer(), (shared - 1.0).layer()});
  EXPECT_EQ(graph::topological_layers(both).size(), 4u);
}

// Every unit has one priority of its own, and inputs come before their consumers.
static void expect_valid_order(const graph::TaskGraph& tg) {
  std::vector<std::uint32_t> seen(tg.num_units(), 0);
  for (auto p : tg.unit_priority) {
    ASSERT_LT(p, tg.num_units());
    ++seen[p];
  }
  for (auto s : seen) EXPECT_EQ(s, 1u);
  for (std::size_t u = 0; u < tg.num_units(); ++u)
    for (auto d = tg.unit_dep_begin[u]; d < tg.unit_dep_begin[u + 1]; ++d)
      EXPECT_LT(tg.unit_priority[tg.unit_deps[d]], tg.unit_priority[u]);
}

TEST(Order, DepthFirstPriorities) {
  auto a = ones<double>({{"x", 64}}, {{"x", 1}});
  auto tg = graph::build_task_graph(graph::fuse_elementwise({a.sum().layer()}), {true});
  // Every unit gets a priority and a combine comes right after its last input.
  ASSERT_NO_FATAL_FAILURE(expect_valid_order(tg));
  // The first combine (fan-in 16) runs before the 17th partial.
  std::uint32_t first_combine = tg.unit_of_task[tg.unit_members[tg.unit_begin[64]]];
  EXPECT_EQ(tg.unit_priority[first_combine], 16u);
}

TEST(Order, StartedOutputsFinishBeforeNewOnes) {
  // Rechunking (2, 2) chunks to (3, 4): output row 0 needs input rows 0-1 and output row 1 rows
  // 1-2, so once output (0, 0) is ordered, output (1, 0) has an input computed (and a partial
  // assembly open): it goes next, before (0, 1), which shares nothing with what ran.
  auto a = random<double>({{"y", 8}, {"x", 8}}, {{"y", 2}, {"x", 2}}, 3);
  auto r = a.chunk({{"y", 3}, {"x", 4}});
  auto tg = graph::build_task_graph(graph::fuse_elementwise({r.layer()}), {});
  const auto& out = tg.output_tasks[0];  // per output chunk, C order over (3, 2) chunks
  auto prio = [&](std::size_t chunk) { return tg.unit_priority[tg.unit_of_task[out[chunk]]]; };
  EXPECT_LT(prio(0), prio(2));  // (0, 0) first
  EXPECT_LT(prio(2), prio(1));  // then (1, 0), not (0, 1)
  EXPECT_LT(prio(1), prio(3));  // then output order again: nothing started shares with (2, 0)
  EXPECT_LT(prio(3), prio(4));  // (1, 1) started by (0, 1) (input row 1) goes before (2, 0)
  // Still a valid depth-first order: every unit once, inputs before their consumers.
  ASSERT_NO_FATAL_FAILURE(expect_valid_order(tg));
}

TEST(Dot, LayerAndTaskViews) {
  auto a = ones<double>({{"x", 4}}, {{"x", 2}});
  auto m = (a + 1.0).mean();
  auto dot = graph::layers_to_dot({m.layer()});
  EXPECT_NE(dot.find("digraph"), std::string::npos);
  EXPECT_NE(dot.find("(in0 + 1)"), std::string::npos);
  auto tasks = graph::tasks_to_dot(graph::build_task_graph({m.layer()}));
  EXPECT_NE(tasks.find("cluster_u"), std::string::npos);  // fused units are drawn as clusters
}
