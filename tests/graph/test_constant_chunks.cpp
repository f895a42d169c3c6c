// Constant chunks on a layer: their tasks read nothing, so the reads they would need are culled.
#include <gtest/gtest.h>

#include <cmath>

#include "cubist/cubist.hpp"
#include "graph/dot.hpp"
#include "graph/optimize.hpp"
#include "graph/task_graph.hpp"

using namespace cubist;

namespace {

// (a * 2) on a 4 x 4 grid of 2 x 2 chunks, with output chunks `constant` set to NaN.
DataArray doubled_with_constant(const DataArray& a, std::vector<std::int64_t> constant) {
  auto d = a * 2.0;
  auto layer = graph::with_constant_chunks(*d.layer(), {std::move(constant), std::nan("")});
  return DataArray::from_layer(layer, d.dims());
}

std::size_t tasks_of_op(const graph::TaskGraph& tg, const std::string& op) {
  std::size_t n = 0;
  for (const auto& t : tg.tasks) n += tg.layers[t.layer]->op == op;
  return n;
}

}  // namespace

TEST(ConstantChunks, TasksReadNothingAndInputsAreCulled) {
  auto a = random<double>({{"y", 4}, {"x", 4}}, {{"y", 2}, {"x", 2}}, 7);
  auto c = doubled_with_constant(a, {3, 0});
  auto tg = graph::build_task_graph({c.layer()}, {false});
  // 2 random chunks for the 2 computed chunks, 2 computed + 2 constant output tasks.
  EXPECT_EQ(tasks_of_op(tg, "random"), 2u);
  EXPECT_EQ(tasks_of_op(tg, "elementwise"), 2u);
  EXPECT_EQ(tasks_of_op(tg, "full"), 2u);
  for (const auto& t : tg.tasks) {
    if (tg.layers[t.layer]->op == "full") {
      EXPECT_EQ(t.dep_begin, t.dep_end);
    }
  }
  ASSERT_EQ(tg.output_tasks.size(), 1u);
  for (auto t : tg.output_tasks[0]) EXPECT_NE(t, UINT32_MAX);
}

TEST(ConstantChunks, ComputedValuesMatchAndConstantChunksAreFilled) {
  auto a = random<double>({{"y", 4}, {"x", 4}}, {{"y", 2}, {"x", 2}}, 7);
  auto ref = (a * 2.0).compute();
  auto c = doubled_with_constant(a, {1, 2}).compute();  // chunks (0, 1) and (1, 0)
  auto rv = ref.values<double>();
  auto cv = c.values<double>();
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) {
      bool constant = (y < 2) != (x < 2);
      auto i = static_cast<std::size_t>(y * 4 + x);
      if (constant) {
        EXPECT_TRUE(std::isnan(cv[i])) << y << "," << x;
      } else {
        EXPECT_EQ(cv[i], rv[i]) << y << "," << x;
      }
    }
}

TEST(ConstantChunks, KeysDependOnConstantChunks) {
  auto a = ones<double>({{"x", 8}}, {{"x", 2}});
  auto d = (a + 1.0).layer();
  auto k1 = graph::with_constant_chunks(*d, {{1}, 0.0})->key;
  EXPECT_EQ(k1, graph::with_constant_chunks(*d, {{1, 1}, 0.0})->key);  // deduplicated
  EXPECT_NE(k1, graph::with_constant_chunks(*d, {{2}, 0.0})->key);
  EXPECT_NE(k1, graph::with_constant_chunks(*d, {{1}, 5.0})->key);
  EXPECT_NE(k1, d->key);
  EXPECT_EQ(graph::with_constant_chunks(*d, {{}, 0.0})->constant, nullptr);
  EXPECT_THROW(graph::with_constant_chunks(*d, {{4}, 0.0}), Error);
  EXPECT_THROW(graph::with_constant_chunks(*d, {{-1}, 0.0}), Error);
}

TEST(ConstantChunks, SurviveElementwiseFusion) {
  auto a = random<double>({{"x", 8}}, {{"x", 2}}, 3);
  auto c = doubled_with_constant(a + 1.0, {0, 1});  // (a + 1) is merged into the constant layer
  auto e = (c - 3.0).sqrt();                        // the constant layer is not inlined into these
  auto fused = graph::fuse_elementwise({e.layer()});
  auto tg = graph::build_task_graph(fused, {true});
  EXPECT_EQ(tasks_of_op(tg, "random"), 2u);
  EXPECT_EQ(tasks_of_op(tg, "full"), 2u);
  auto r = e.compute().values<double>();
  auto ref = ((a + 1.0) * 2.0 - 3.0).sqrt().compute().values<double>();
  for (std::size_t i = 0; i < 8; ++i) {
    if (i < 4) {
      EXPECT_TRUE(std::isnan(r[i]));
    } else {
      EXPECT_DOUBLE_EQ(r[i], ref[i]);
    }
  }
}

TEST(ConstantChunks, DotShowsThem) {
  auto a = ones<double>({{"x", 8}}, {{"x", 2}});
  auto d = graph::with_constant_chunks(*(a + 1.0).layer(), {{0, 3}, 0.0});
  EXPECT_NE(graph::layer_caption(*d).find("(2 constant)"), std::string::npos);
  auto tg = graph::build_task_graph({d}, {false});
  EXPECT_NE(graph::tasks_to_dot(tg).find("add-constant"), std::string::npos);
}
