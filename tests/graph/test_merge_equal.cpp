// merge_equal_layers: layers with one key, built as separate objects, are computed once.
#include <gtest/gtest.h>

#include <set>

#include "cubist/cubist.hpp"
#include "graph/optimize.hpp"
#include "graph/task_graph.hpp"

using namespace cubist;

namespace {

DataArray ramp() {
  std::vector<double> v(8 * 6);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.5 * static_cast<double>(i);
  return DataArray::from_vector(v, {{"y", 8}, {"x", 6}}).chunk({{"y", 4}, {"x", 3}});
}

std::size_t distinct_keys(const std::vector<const graph::Layer*>& layers) {
  std::set<std::string> keys;
  for (const auto* l : layers) keys.insert(l->key);
  return keys.size();
}

TEST(MergeEqualLayers, EqualLayersBuiltTwiceAreKeptOnce) {
  const DataArray a = ramp();
  // The same selection and arithmetic written twice: separate objects with one key.
  const DataArray p = (a.isel({{"y", Slice{2, 7}}}) + 1.0) * 2.0;
  const DataArray q = (a.isel({{"y", Slice{2, 7}}}) + 1.0) * 2.0;
  ASSERT_NE(p.layer().get(), q.layer().get());
  ASSERT_EQ(p.layer()->key, q.layer()->key);
  const DataArray r = p / q + p;

  const auto before = graph::topological_layers({r.layer()});
  const auto merged = graph::merge_equal_layers({r.layer()});
  const auto after = graph::topological_layers(merged);
  EXPECT_GT(before.size(), after.size());
  EXPECT_EQ(after.size(), distinct_keys(before));  // one layer per key, none lost
  EXPECT_EQ(merged[0]->key, r.layer()->key);

  const graph::TaskGraphOptions unfused{.fuse = false, .fold_constants = false};
  const auto tasks_before = graph::build_task_graph({r.layer()}, unfused).tasks.size();
  const auto tasks_after = graph::build_task_graph(merged, unfused).tasks.size();
  EXPECT_LT(tasks_after, tasks_before);

  // Same values with and without every optimisation.
  const auto fast = r.compute().values<double>();
  ComputeOptions as_built;
  as_built.optimize = false;
  const auto plain = r.compute(as_built).values<double>();
  ASSERT_EQ(fast.size(), plain.size());
  for (std::size_t i = 0; i < fast.size(); ++i) EXPECT_EQ(fast[i], plain[i]) << i;
}

TEST(MergeEqualLayers, GraphWithoutDuplicatesIsReturnedAsItIs) {
  const DataArray a = ramp();
  const DataArray r = (a + 1.0).mean("x");
  const auto merged = graph::merge_equal_layers({r.layer(), a.layer()});
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].get(), r.layer().get());
  EXPECT_EQ(merged[1].get(), a.layer().get());
}

TEST(MergeEqualLayers, OutputsWithOneKeyBecomeOneLayer) {
  const DataArray a = ramp();
  const DataArray p = a * 3.0, q = a * 3.0;
  const auto merged = graph::merge_equal_layers({p.layer(), q.layer()});
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].get(), merged[1].get());
  const auto g = graph::build_task_graph(merged);
  ASSERT_EQ(g.output_tasks.size(), 2u);
  EXPECT_EQ(g.output_tasks[0], g.output_tasks[1]);
}

}  // namespace
