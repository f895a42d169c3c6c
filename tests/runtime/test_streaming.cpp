// Streamed assembly (OpDef::accumulate): a rechunk/isel output chunk is built as its inputs
// complete, each input released at once. Results must be bit-identical to running the gather
// once all inputs exist, and the inputs must not pile up.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "cubist/cubist.hpp"
#include "graph/task_graph.hpp"
#include "runtime/local_scheduler.hpp"
#include "runtime/thread_pool.hpp"
#include "../test_support/bit_identical.hpp"

using namespace cubist;

namespace {

struct Outcome {
  std::vector<Chunk> chunks;
  runtime::ExecuteStats stats;
};

Outcome execute(const DataArray& a, bool stream, std::size_t threads = 2, std::int64_t budget = 0) {
  graph::TaskGraph tg = graph::build_task_graph({a.layer()});
  runtime::ThreadPool pool(threads);
  runtime::ExecuteOptions opts;
  opts.pool = &pool;
  opts.stream_inputs = stream;
  opts.memory_budget = budget;
  Outcome o;
  o.chunks = runtime::execute(tg, opts, &o.stats).at(0);
  return o;
}

using cubist::test_support::expect_bit_identical;

// (t, y, x) = (7, 23, 19) in (2, 5, 4) chunks, edge chunks on every axis, with NaN chunks 1 and 5
// marked constant (their tasks read nothing), cast to `dtype`.
DataArray source(DType dtype) {
  auto a = random<double>({{"t", 7}, {"y", 23}, {"x", 19}}, {{"t", 2}, {"y", 5}, {"x", 4}}, 11) * 200.0 - 100.0;
  auto layer = graph::with_constant_chunks(*a.layer(), {{1, 5}, std::nan("")});
  return DataArray::from_layer(layer, a.dims()).astype(dtype);
}

}  // namespace

TEST(StreamedAssembly, RechunkAndIselAreBitIdenticalToTheGather) {
  for (DType dtype : {DType::Float64, DType::Float32, DType::Int16, DType::UInt8, DType::Int64}) {
    SCOPED_TRACE(dtype_name(dtype));
    const DataArray a = source(dtype);
    const std::vector<DataArray> cases{
        a.chunk({{"t", 3}, {"y", 9}, {"x", 7}}),    // edge chunks, inputs straddling outputs
        a.chunk({{"t", 7}, {"y", 23}, {"x", 19}}),  // one output chunk from every input
        a.chunk({{"t", 1}, {"y", 2}, {"x", 3}}),    // smaller than the inputs
        a.isel({{"y", std::vector<std::int64_t>{22, 0, 5, 5, 13}}, {"x", Slice{1, std::nullopt, 3}}, {"t", 4}}),
    };
    for (std::size_t c = 0; c < cases.size(); ++c) {
      SCOPED_TRACE(c);
      Outcome streamed = execute(cases[c], true), whole = execute(cases[c], false);
      EXPECT_GT(streamed.stats.peak_streams, 0u);  // the streamed path really ran
      EXPECT_EQ(whole.stats.peak_streams, 0u);
      expect_bit_identical(streamed.chunks, whole.chunks);
    }
    // And the rechunked values are the source's.
    auto values = [](const DataArray& x) {
      Chunk c = x.compute().memory_chunk().contiguous();
      return std::vector<std::byte>(static_cast<const std::byte*>(c.raw()), static_cast<const std::byte*>(c.raw()) + c.nbytes());
    };
    EXPECT_EQ(values(cases[0]), values(a));
  }
}

TEST(StreamedAssembly, InputsAreReleasedAsTheyAreAdded) {
  // 64 chunks of 128 KiB gathered into one 8 MiB chunk. Streamed, at most the output and the
  // inputs being produced are held; gathered at the end, all 8 MiB of inputs wait beside it.
  auto a = random<double>({{"t", 64}, {"x", 16384}}, {{"t", 1}, {"x", 16384}}, 5);
  auto r = a.chunk({{"t", 64}, {"x", 16384}});
  constexpr std::size_t kOutput = 8u << 20, kInput = 128u << 10;
  for (std::size_t threads : {1u, 4u}) {
    Outcome streamed = execute(r, true, threads), whole = execute(r, false, threads);
    EXPECT_LE(streamed.stats.peak_bytes, kOutput + threads * kInput) << threads << " threads";
    EXPECT_GE(whole.stats.peak_bytes, 2 * kOutput) << threads << " threads";
    expect_bit_identical(streamed.chunks, whole.chunks);
  }
}

TEST(StreamedAssembly, UnderATightBudgetInputsStillGoStraightIn) {
  // A budget every chunk exceeds: units run one at a time, still in priority order.
  auto a = random<double>({{"t", 64}, {"x", 16384}}, {{"t", 1}, {"x", 16384}}, 5);
  auto r = (a.chunk({{"t", 16}, {"x", 16384}}) * 2.0).sum("t");
  Outcome o = execute(r, true, 4, 1);
  EXPECT_LE(o.stats.peak_streams, 1u);
  // One 2 MiB accumulator, its doubled copy inside the unit, and the four partial sums (128 KiB).
  EXPECT_LE(o.stats.peak_bytes, (4u << 20) + (4u << 17));
}

TEST(StreamedAssembly, OneOutputChunkIsAssembledAtATime) {
  // 4 output chunks of 16 x 16, each from 32 inputs of 1 x 8. Depth-first priorities finish the
  // inputs of one output chunk before the next one's start: in C order of the inputs, every row
  // would open all four output chunks at once. (One worker: with more, how many overlap at a
  // handover depends on OS scheduling.)
  auto a = random<double>({{"t", 16}, {"x", 64}}, {{"t", 1}, {"x", 8}}, 3);
  auto r = a.chunk({{"t", 16}, {"x", 16}});
  Outcome o = execute(r, true, 1);
  EXPECT_EQ(o.stats.peak_streams, 1u);
  EXPECT_EQ(o.chunks.size(), 4u);
}

TEST(StreamedAssembly, PiecesOfMegabytesIntoAFreshMapping) {
  // A 16 MiB output chunk (a fresh mapping, Chunk::sparse_zeros) from pieces of 256 rows: 700
  // columns of its 1024 (dense enough that gather faults their span in at once,
  // MADV_POPULATE_WRITE) and 324 (left to fault page by page), on four threads.
  auto a = random<double>({{"t", 4}, {"y", 512}, {"x", 1024}}, {{"t", 1}, {"y", 256}, {"x", 700}}, 17);
  auto r = a.chunk({{"t", 4}, {"y", 512}, {"x", 1024}});
  Outcome streamed = execute(r, true, 4), whole = execute(r, false, 4);
  EXPECT_GT(streamed.stats.peak_streams, 0u);
  expect_bit_identical(streamed.chunks, whole.chunks);
  Chunk got = r.compute().memory_chunk().contiguous(), want = a.compute().memory_chunk().contiguous();
  ASSERT_EQ(got.nbytes(), want.nbytes());
  EXPECT_EQ(std::memcmp(got.raw(), want.raw(), got.nbytes()), 0);
}
