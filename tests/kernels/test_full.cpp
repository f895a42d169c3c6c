// Op "full": every chunk of a layer is a view of one filled, read-only buffer.
#include <gtest/gtest.h>

#include <cmath>

#include "cubist/cubist.hpp"
#include "graph/task_graph.hpp"
#include "runtime/local_scheduler.hpp"
#include "runtime/thread_pool.hpp"

using namespace cubist;

TEST(FullOp, ChunksOfEveryShapeShareOneBuffer) {
  // 10 x 5 elements in (3, 2) chunks: interior chunks and edge chunks of three other shapes, all
  // views of the first (largest) chunk's buffer when they run one after another.
  auto a = full<double>({{"y", 10}, {"x", 5}}, 2.5, {{"y", 3}, {"x", 2}});
  runtime::ThreadPool one(1);
  runtime::ExecuteOptions o;
  o.pool = &one;
  auto chunks = runtime::execute(graph::build_task_graph({a.layer()}), o)[0];
  ASSERT_EQ(chunks.size(), 12u);
  for (const auto& c : chunks) {
    EXPECT_EQ(c.raw(), chunks[0].raw());
    EXPECT_EQ(c.size(), shape_size(c.shape()));
    for (double v : c.values<double>()) EXPECT_EQ(v, 2.5);
  }
  EXPECT_EQ(chunks[11].shape(), (Shape{1, 1}));
  // Computed whole (one chunk larger than the ones before, on the shared pool), the same values.
  for (double v : a.compute().values<double>()) EXPECT_EQ(v, 2.5);
  for (double v : full<double>({{"x", 10}}, -1.0, {{"x", 3}}).compute().values<double>()) EXPECT_EQ(v, -1.0);
  auto n = full<float>({{"y", 4}, {"x", 4}}, std::nanf(""), {{"y", 2}, {"x", 2}});
  for (float v : n.compute().values<float>()) EXPECT_TRUE(std::isnan(v));
}
