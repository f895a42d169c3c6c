#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "cubist/cubist.hpp"
#include "kernels/op_registry.hpp"
#include "runtime/local_scheduler.hpp"
#include "runtime/memory_policy.hpp"
#include "runtime/thread_pool.hpp"

using namespace cubist;

namespace {
// An op that fails on one chunk, to check how errors reach the caller.
std::shared_ptr<const void> prepare_fail(const nlohmann::json& p, const kernels::OpSignature&) {
  return std::make_shared<std::int64_t>(p.at("bad_chunk").get<std::int64_t>());
}
Chunk run_fail(const kernels::TaskContext& ctx) {
  if (ctx.linear_chunk == ctx.params<std::int64_t>()) throw ValueError("sensor exploded");
  Chunk c = Chunk::allocate(ctx.out_dtype, ctx.shape());
  for (auto& v : c.mutable_values<double>()) v = 1;
  return c;
}
const kernels::OpRegistration kFail{kernels::OpDef{"test_fail_on_chunk", prepare_fail, run_fail}};

DataArray failing(std::int64_t n, std::int64_t chunk, std::int64_t bad) {
  graph::LayerSpec spec;
  spec.label = "flaky";
  spec.op = "test_fail_on_chunk";
  spec.kind = graph::LayerKind::Source;
  spec.params = {{"bad_chunk", bad}};
  spec.grid = ChunkGrid::regular({n}, {chunk});
  spec.dtype = DType::Float64;
  return DataArray::from_layer(graph::make_layer(std::move(spec)), {"x"});
}
}  // namespace

TEST(ThreadPool, RunsEverySubmittedJobIncludingNestedOnes) {
  runtime::ThreadPool pool(3);
  struct Ctx {
    runtime::ThreadPool* pool;
    std::atomic<int> count{0};
  } ctx{&pool};
  std::vector<runtime::ThreadPool::Job> jobs;
  for (int i = 0; i < 1000; ++i)
    jobs.push_back({+[](void* c, std::uint64_t) {
                      auto* x = static_cast<Ctx*>(c);
                      x->count.fetch_add(1);
                      for (int k = 0; k < 3; ++k)
                        x->pool->submit({+[](void* cc, std::uint64_t) { static_cast<Ctx*>(cc)->count.fetch_add(1); }, c, 0});
                    },
                    &ctx, 0});
  pool.submit_shared(jobs);
  for (int spin = 0; spin < 2000 && ctx.count.load() < 4000; ++spin) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(ctx.count.load(), 4000);
}

TEST(Scheduler, ErrorNamesOpAndChunk) {
  auto a = failing(10, 2, 3);
  try {
    (a + 1.0).sum().compute();
    FAIL() << "expected a TaskError";
  } catch (const TaskError& e) {
    EXPECT_EQ(e.op(), "test_fail_on_chunk");
    EXPECT_EQ(e.chunk_index(), "(3,)");
    EXPECT_NE(std::string(e.what()).find("sensor exploded"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("flaky-"), std::string::npos);
  }
  // The pool is still usable after a failure.
  EXPECT_DOUBLE_EQ((failing(10, 2, 99) + 1.0).sum().compute().values<double>()[0], 20.0);
}

TEST(Scheduler, ReleasesIntermediatesEarly) {
  // 64 chunks of 1 MiB summed over t. One worker makes the order deterministic: depth first, a
  // combine runs as soon as its 16 partial states exist. The peak is the last group: 16 partial
  // states + 3 earlier combine results + the new combine = 20 MiB, never all 64 partials
  // (with more workers the peak also depends on OS scheduling).
  auto a = random<double>({{"t", 64}, {"x", 131072}}, {{"t", 1}, {"x", 131072}}, 7);
  ComputeStats st;
  ComputeOptions one;
  one.num_threads = 1;
  auto r = (a * 2.0).sum("t").compute(one, &st);
  EXPECT_LE(st.peak_chunk_bytes, 20u << 20);
  EXPECT_GT(st.peak_chunk_bytes, 15u << 20);
  EXPECT_GT(st.tasks, 64u);
}

TEST(Scheduler, ThreadCountDoesNotChangeResults) {
  auto a = random<double>({{"t", 10}, {"y", 50}, {"x", 40}}, {{"t", 3}, {"y", 7}, {"x", 40}}, 3);
  auto expr = (a * a - 0.5).mean({"t", "x"});
  ComputeOptions one;
  one.num_threads = 1;
  ComputeOptions four;
  four.num_threads = 4;
  auto r1 = expr.compute(one), r4 = expr.compute(four);
  auto v1 = r1.values<double>(), v4 = r4.values<double>();
  ASSERT_EQ(v1.size(), 50u);
  for (std::size_t i = 0; i < v1.size(); ++i) EXPECT_DOUBLE_EQ(v1[i], v4[i]);
}

TEST(Scheduler, ProgressReachesTotal) {
  auto a = ones<double>({{"x", 2000}}, {{"x", 1}});
  graph::TaskGraph tg = graph::build_task_graph({a.sum().layer()});
  std::size_t last_done = 0, total = 0;
  runtime::ExecuteOptions opts;
  opts.on_progress = [&](const runtime::Progress& p) {
    EXPECT_GE(p.done, last_done);
    last_done = p.done;
    total = p.total;
  };
  runtime::execute(tg, opts);
  EXPECT_EQ(last_done, total);
  EXPECT_EQ(total, tg.num_units());
}

TEST(MemoryPolicy, UnderBudgetRunsInPriorityOrder) {
  std::vector<runtime::UnitCandidate> ready{{7, 100}, {3, -50}, {9, 10}};
  EXPECT_EQ(runtime::choose_unit(ready, 0, 1000, true), 0u);
  EXPECT_EQ(runtime::choose_unit(ready, 900, 1000, true), 0u);  // 900 + 100 fits exactly
  EXPECT_FALSE(runtime::choose_unit({}, 0, 1000, false).has_value());
}

TEST(MemoryPolicy, OverBudgetRunsOnlyWhatFitsOrFrees) {
  std::vector<runtime::UnitCandidate> ready{{7, 100}, {3, 20}, {9, -50}, {4, 0}};
  EXPECT_EQ(runtime::choose_unit(ready, 950, 1000, true), 1u);   // the first that still fits
  EXPECT_EQ(runtime::choose_unit(ready, 1200, 1000, true), 2u);  // only consumers that free memory
  std::vector<runtime::UnitCandidate> reads{{7, 100}, {3, 20}};
  EXPECT_FALSE(runtime::choose_unit(reads, 1200, 1000, true).has_value());  // wait for a running unit
  EXPECT_EQ(runtime::choose_unit(reads, 1200, 1000, false), 0u);  // nothing runs: the first, depth-first
}

TEST(MemoryPolicy, ParsesByteSizes) {
  EXPECT_EQ(runtime::parse_byte_size("1048576"), 1048576);
  EXPECT_EQ(runtime::parse_byte_size("512M"), 512LL << 20);
  EXPECT_EQ(runtime::parse_byte_size("2g"), 2LL << 30);
  EXPECT_EQ(runtime::parse_byte_size("64KB"), 64LL << 10);
  for (const char* bad : {"", "M", "-5", "12X", "0", "5MBx", "99999999999999999999G"})
    EXPECT_FALSE(runtime::parse_byte_size(bad).has_value()) << bad;
  EXPECT_FALSE(runtime::parse_byte_size(nullptr).has_value());
  EXPECT_GE(runtime::default_memory_budget(), 256LL << 20);
}

TEST(Scheduler, MemoryBudgetHoldsBackNewReadsWithManyWorkers) {
  // As ReleasesIntermediatesEarly, but on 4 workers with a budget every chunk exceeds: a new
  // source unit starts only when nothing else runs, so the peak stays at the one-worker bound
  // (without the budget, sources of the last group run alongside each other and the combine).
  auto a = random<double>({{"t", 64}, {"x", 131072}}, {{"t", 1}, {"x", 131072}}, 7);
  auto expr = (a * 2.0).sum("t");
  graph::TaskGraph tg = graph::build_task_graph({expr.layer()});
  runtime::ThreadPool pool(4);
  runtime::ExecuteOptions opts;
  opts.pool = &pool;
  opts.memory_budget = 1;
  runtime::ExecuteStats st;
  auto chunks = runtime::execute(tg, opts, &st);
  EXPECT_LE(st.peak_bytes, 20u << 20);
  EXPECT_GT(st.peak_bytes, 15u << 20);
  ComputeOptions one;
  one.num_threads = 1;
  auto expected = expr.compute(one).values<double>();
  ASSERT_EQ(chunks.size(), 1u);
  ASSERT_EQ(chunks[0].size(), 1u);
  auto got = chunks[0][0].values<double>();
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_DOUBLE_EQ(got[i], expected[i]);
}
