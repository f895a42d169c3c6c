#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "core/expression.hpp"
#include "core/format.hpp"
#include "core/hash.hpp"
#include "cubist/chunk_grid.hpp"
#include "cubist/datetime.hpp"
#include "cubist/dtype.hpp"
#include "cubist/error.hpp"

using namespace cubist;

TEST(DType, NamesSizesAndParsing) {
  EXPECT_EQ(itemsize(DType::Float32), 4u);
  EXPECT_EQ(itemsize(DType::DateTime64), 8u);
  EXPECT_EQ(dtype_name(DType::UInt16), "uint16");
  EXPECT_EQ(parse_dtype("datetime64[ns]"), DType::DateTime64);
  EXPECT_EQ(parse_dtype("int8"), DType::Int8);
  EXPECT_THROW(parse_dtype("float16"), TypeError);
}

TEST(DType, PromotionFollowsNumpy) {
  EXPECT_EQ(promote_types(DType::Int8, DType::UInt8), DType::Int16);
  EXPECT_EQ(promote_types(DType::Int32, DType::Float32), DType::Float64);
  EXPECT_EQ(promote_types(DType::Int16, DType::Float32), DType::Float32);
  EXPECT_EQ(promote_types(DType::UInt64, DType::Int64), DType::Float64);
  EXPECT_EQ(promote_types(DType::Bool, DType::UInt8), DType::UInt8);
  EXPECT_EQ(promote_types(DType::Float32, DType::Float64), DType::Float64);
  EXPECT_EQ(promote_types(DType::UInt32, DType::Int8), DType::Int64);
  EXPECT_THROW(promote_types(DType::DateTime64, DType::Float64), TypeError);
}

TEST(Chunk, AlignedAndTyped) {
  Chunk c = Chunk::allocate(DType::Float32, {3, 5});
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(c.raw()) % kChunkAlignment, 0u);
  EXPECT_EQ(c.size(), 15);
  EXPECT_EQ(c.nbytes(), 60u);
  EXPECT_THROW(c.values<double>(), TypeError);
  EXPECT_NO_THROW(c.values<float>());
  Chunk d = Chunk::allocate(DType::DateTime64, {2});
  EXPECT_NO_THROW(d.values<std::int64_t>());
  EXPECT_THROW(c.reshaped({4, 4}), ValueError);
  EXPECT_EQ(c.reshaped({15}).shape(), Shape{15});
}

TEST(Chunk, ReferenceCountedSharing) {
  Chunk a = Chunk::zeros(DType::Int32, {4});
  Chunk b = a;  // shares the buffer
  a.mutable_values<std::int32_t>()[2] = 7;
  EXPECT_EQ(b.values<std::int32_t>()[2], 7);
}

TEST(ChunkGrid, RegularAndIrregular) {
  auto g = ChunkGrid::regular({10, 7}, {4, 7});
  EXPECT_EQ(g.chunks(0), (std::vector<std::int64_t>{4, 4, 2}));
  EXPECT_EQ(g.total_chunks(), 3);
  EXPECT_EQ(g.offset(0, 2), 8);
  EXPECT_EQ(g.chunk_of(0, 7), 1);
  EXPECT_EQ(g.chunk_of(0, 8), 2);
  EXPECT_TRUE(g.is_regular());
  ChunkGrid irr({{3, 1, 6}, {2, 2}});
  EXPECT_FALSE(irr.is_regular());
  EXPECT_EQ(irr.shape(), (Shape{10, 4}));
  for (std::int64_t i = 0; i < irr.total_chunks(); ++i) EXPECT_EQ(irr.ravel(irr.unravel(i)), i);
  EXPECT_EQ(irr.chunk_shape(std::int64_t{4}), (Shape{6, 2}));
  EXPECT_EQ(irr.to_string(), "((3, 1, 6), (2, 2))");
}

TEST(ChunkGrid, RejectsBadSpecs) {
  EXPECT_THROW(ChunkGrid::regular({10}, {0}), ChunkError);
  EXPECT_THROW(ChunkGrid::regular({10, 3}, {5}), ChunkError);
  EXPECT_THROW(ChunkGrid(std::vector<std::vector<std::int64_t>>{{3, -1}}), ChunkError);
  EXPECT_THROW(ChunkGrid(std::vector<std::vector<std::int64_t>>{{}}), ChunkError);
  EXPECT_NO_THROW(ChunkGrid::regular({0}, {5}));
}

TEST(DateTime, ParseAndFormat) {
  EXPECT_EQ(datetime_ns("1970-01-01"), 0);
  EXPECT_EQ(datetime_ns("1970-01-02"), 86'400'000'000'000);
  EXPECT_EQ(format_datetime(datetime_ns("2020-02-29T13:45:10.25")), "2020-02-29T13:45:10.25");
  EXPECT_EQ(format_datetime(datetime_ns("1969-12-31")), "1969-12-31");
  EXPECT_EQ(format_datetime(kNaT), "NaT");
  auto month = parse_datetime("2020-02");
  EXPECT_EQ(month.resolution, TimeResolution::Month);
  EXPECT_EQ(format_datetime(month.period_end_ns() + 1), "2020-03-01");
  EXPECT_THROW(parse_datetime("2021-02-29"), ValueError);
  EXPECT_THROW(parse_datetime("2020-13-01"), ValueError);
  EXPECT_THROW(parse_datetime("yesterday"), ValueError);
}

TEST(Hash, StableAndLengthPrefixed) {
  core::Hasher a, b, c;
  a.add("ab").add("c");
  b.add("a").add("bc");
  c.add("ab").add("c");
  EXPECT_NE(a.digest(), b.digest());
  EXPECT_EQ(a.digest(), c.digest());
  EXPECT_EQ(core::hex64(0xabc).size(), 16u);
}

TEST(Format, Sizes) {
  EXPECT_EQ(core::format_bytes(512), "512 B");
  EXPECT_EQ(core::format_bytes(3.0 * 1024 * 1024 * 1024), "3.00 GiB");
}

TEST(Expression, JsonRoundTripAndValidation) {
  core::Expression e;
  auto x = e.input(0, DType::Float32);
  auto one = e.constant(1.0, DType::Float32);
  e.result = e.binary(core::ExprOp::Add, x, one, DType::Float32);
  auto back = core::Expression::from_json(e.to_json());
  EXPECT_EQ(back.nodes, e.nodes);
  EXPECT_EQ(back.to_string(), "(in0 + 1)");
  nlohmann::json bad = e.to_json();
  bad["nodes"][2]["args"] = {0, 7};
  EXPECT_THROW(core::Expression::from_json(bad), ValueError);
  bad = e.to_json();
  bad["nodes"][2]["op"] = "launch_missiles";
  EXPECT_THROW(core::Expression::from_json(bad), ValueError);
}

TEST(Expression, InliningSubstitutesAnInput) {
  core::Expression inner;  // in0 * 2
  inner.result = inner.binary(core::ExprOp::Mul, inner.input(0, DType::Float64), inner.constant(2, DType::Float64), DType::Float64);
  core::Expression outer;  // in0 + in1
  outer.result = outer.binary(core::ExprOp::Add, outer.input(0, DType::Float64), outer.input(1, DType::Float64), DType::Float64);
  auto merged = outer.inline_input(1, inner, {2});  // inner reads slot 2 of the merged layer
  EXPECT_EQ(merged.to_string(), "(in0 + (in2 * 2))");
}

TEST(Chunk, ViewsShareMemoryAndPackOnDemand) {
  Chunk c = Chunk::allocate(DType::Int32, {3, 4, 5});
  auto v = c.mutable_values<std::int32_t>();
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::int32_t>(i);
  std::vector<std::int64_t> off{1, 1, 2};
  Chunk block = c.view(off, {2, 2, 3});
  EXPECT_FALSE(block.is_contiguous());
  EXPECT_EQ(block.strides(), (std::vector<std::int64_t>{20, 5, 1}));
  EXPECT_THROW(block.values<std::int32_t>(), ValueError);  // strided: pack it first
  Chunk packed = block.contiguous();
  ASSERT_TRUE(packed.is_contiguous());
  auto p = packed.values<std::int32_t>();
  EXPECT_EQ(p[0], 1 * 20 + 1 * 5 + 2);
  EXPECT_EQ(p[11], 2 * 20 + 2 * 5 + 4);
  std::vector<std::int64_t> row_off{2, 0, 0};
  Chunk rows = c.view(row_off, {1, 4, 5});  // a whole trailing block is contiguous: no copy
  EXPECT_TRUE(rows.is_contiguous());
  EXPECT_EQ(rows.values<std::int32_t>()[0], 40);
  EXPECT_EQ(rows.contiguous().raw(), rows.raw());
  std::vector<std::int64_t> bad{2, 0, 0};
  EXPECT_THROW(c.view(bad, {2, 4, 5}), ValueError);
}

TEST(Chunk, LargeBuffersAreAlignedZeroableAndReusable) {
  // Chunks of 1 MiB and more are mapped directly and recycled by size: every size class,
  // odd sizes included, must come back aligned, writable and independent of a live chunk.
  for (std::int64_t n : {131072, 131073, 1 << 20, 3 * 131072 + 5}) {
    Chunk a = Chunk::zeros(DType::Float64, {n});
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a.raw()) % kChunkAlignment, 0u);
    for (double v : a.values<double>()) ASSERT_EQ(v, 0.0);
    auto w = a.mutable_values<double>();
    for (std::int64_t i = 0; i < n; ++i) w[static_cast<std::size_t>(i)] = static_cast<double>(i);
    a = Chunk();  // released: the next chunk of this size may reuse (and must re-zero) the buffer
    Chunk b = Chunk::zeros(DType::Float64, {n});
    Chunk c = Chunk::allocate(DType::Float64, {n});
    EXPECT_NE(b.raw(), c.raw());
    for (double v : b.values<double>()) ASSERT_EQ(v, 0.0);
    c.mutable_values<double>()[static_cast<std::size_t>(n - 1)] = 7;
    EXPECT_EQ(c.values<double>()[static_cast<std::size_t>(n - 1)], 7);
  }
}

namespace {
std::int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}
}  // namespace

TEST(Chunk, SparseZerosAreZeroAndResidentOnlyWhereWritten) {
  // A freed buffer of the same size, full of garbage, sits in the freed-buffer cache: a sparse
  // chunk must not be that buffer (it would be resident in full and not zero).
  for (std::int64_t n : {1000, 1 << 20, 8 << 20}) {
    Chunk junk = Chunk::allocate(DType::Float64, {n});
    std::memset(junk.mutable_raw(), 0xab, junk.nbytes());
    junk = Chunk();
    Chunk s = Chunk::sparse_zeros(DType::Float64, {n});
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(s.raw()) % kChunkAlignment, 0u);
    for (double v : s.values<double>()) ASSERT_EQ(v, 0.0);
  }
  // 512 MiB, one element written: a few pages resident, not the whole buffer.
  const std::int64_t before = resident_bytes();
  Chunk big = Chunk::sparse_zeros(DType::Float64, {std::int64_t{64} << 20});
  big.mutable_values<double>()[12345] = 1;
  EXPECT_LT(resident_bytes() - before, std::int64_t{64} << 20);
}
