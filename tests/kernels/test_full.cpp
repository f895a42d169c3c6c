// Op "full": chunks of one shape share one filled, read-only buffer.
#include <gtest/gtest.h>

#include <cmath>

#include "cubist/cubist.hpp"
#include "graph/task_graph.hpp"
#include "runtime/local_scheduler.hpp"

using namespace cubist;

TEST(FullOp, ChunksOfOneShapeShareOneBuffer) {
  // 10 elements in chunks of 3: three chunks of 3 and an edge chunk of 1.
  auto a = full<double>({{"x", 10}}, 2.5, {{"x", 3}});
  auto chunks = runtime::execute(graph::build_task_graph({a.layer()}))[0];
  ASSERT_EQ(chunks.size(), 4u);
  EXPECT_EQ(chunks[0].raw(), chunks[1].raw());
  EXPECT_EQ(chunks[1].raw(), chunks[2].raw());
  EXPECT_NE(chunks[2].raw(), chunks[3].raw());
  for (const auto& c : chunks)
    for (double v : c.values<double>()) EXPECT_EQ(v, 2.5);
  EXPECT_EQ(chunks[3].shape(), Shape{1});
  // Computed whole, the values are the same.
  for (double v : a.compute().values<double>()) EXPECT_EQ(v, 2.5);
  auto n = full<float>({{"y", 4}, {"x", 4}}, std::nanf(""), {{"y", 2}, {"x", 2}});
  for (float v : n.compute().values<float>()) EXPECT_TRUE(std::isnan(v));
}
