// Source inlining (graph::inline_sources): an elementwise layer reading Sources that nothing else
// needs reads their rows itself (OpDef::rows), with values identical to computing the Sources'
// chunks first, NaNs and constant chunks included.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>

#include "array/execution.hpp"
#include "cubist/cubist.hpp"
#include "graph/optimize.hpp"
#include "kernels/op_registry.hpp"

using namespace cubist;

namespace {

// A test Source of float64 values that say where they lie, NaN on a diagonal pattern (a "nodata"
// the program must keep, placed by the seed): element p of a rank-n array holds
// seed + sum_a p[a] * 10^(n-1-a) / 7.
double value_at(double seed, const std::vector<std::int64_t>& p) {
  double v = 0;
  auto sum = static_cast<std::int64_t>(seed);
  for (auto c : p) v = v * 10 + static_cast<double>(c), sum += c;
  return sum % 5 == 3 ? std::numeric_limits<double>::quiet_NaN() : seed + v / 7;
}

struct Seed {
  double seed = 0;
};

std::shared_ptr<const void> prepare(const nlohmann::json& params, const kernels::OpSignature&) {
  return std::make_shared<Seed>(Seed{params.at("seed").get<double>()});
}

// Element `i` (C order) of the chunk of `ctx`.
double element(const kernels::TaskContext& ctx, std::int64_t i) {
  std::vector<std::int64_t> p(ctx.out_shape.size());
  for (std::size_t a = p.size(); a-- > 0;) {
    p[a] = ctx.out_offset[a] + i % ctx.out_shape[a];
    i /= ctx.out_shape[a];
  }
  return value_at(ctx.params<Seed>().seed, p);
}

Chunk run(const kernels::TaskContext& ctx) {
  Chunk out = Chunk::allocate(DType::Float64, ctx.shape());
  auto v = out.mutable_values<double>();
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = element(ctx, static_cast<std::int64_t>(i));
  return out;
}

std::atomic<int> rows_opened{0};  // readers made by the elementwise kernel

class Rows final : public kernels::RowReader {
 public:
  explicit Rows(const kernels::TaskContext& ctx)
      : ctx_(ctx), offset_(ctx.out_offset.begin(), ctx.out_offset.end()), shape_(ctx.out_shape.begin(), ctx.out_shape.end()) {
    ctx_.out_offset = offset_;
    ctx_.out_shape = shape_;
  }
  void read(std::int64_t first, std::int64_t count, void* dst) override {
    EXPECT_GE(first, next_) << "rows must come in increasing order";
    next_ = first + count;
    const std::int64_t width = shape_.empty() ? 1 : shape_.back();
    auto* out = static_cast<double*>(dst);
    for (std::int64_t i = 0; i < count * width; ++i) out[i] = element(ctx_, first * width + i);
  }

 private:
  kernels::TaskContext ctx_;
  std::vector<std::int64_t> offset_, shape_;
  std::int64_t next_ = 0;
};

const kernels::OpRegistration kRegister{kernels::OpDef{
    .name = "test_row_source",
    .prepare = prepare,
    .run = run,
    .rows = [](const kernels::TaskContext& ctx) -> std::unique_ptr<kernels::RowReader> {
      ++rows_opened;
      return std::make_unique<Rows>(ctx);
    }}};

DataArray source(double seed, Shape shape, std::int64_t chunk, std::vector<std::int64_t> constant_chunks = {},
                 double constant = 0) {
  std::vector<std::vector<std::int64_t>> chunks;
  std::vector<std::string> names;
  for (std::size_t a = 0; a < shape.size(); ++a) {
    std::vector<std::int64_t> c;
    for (std::int64_t i = 0; i < shape[a]; i += chunk) c.push_back(std::min(chunk, shape[a] - i));
    chunks.push_back(c);
    names.push_back("d" + std::to_string(a));
  }
  graph::LayerSpec spec;
  spec.label = "rows";
  spec.op = "test_row_source";
  spec.kind = graph::LayerKind::Source;
  spec.params = {{"seed", seed}};
  spec.grid = ChunkGrid(chunks);
  graph::LayerPtr layer = graph::make_layer(std::move(spec));
  if (!constant_chunks.empty()) layer = graph::with_constant_chunks(*layer, {std::move(constant_chunks), constant});
  return DataArray::from_layer(layer, names);
}

std::size_t layers_with_op(const std::vector<graph::LayerPtr>& outputs, const std::string& op) {
  std::size_t n = 0;
  for (const auto* l : graph::topological_layers(outputs)) n += l->op == op;
  return n;
}

// Bit for bit equal to the graph computed as built (no optimisation at all), NaNs where it has them.
void expect_bit_identical(const DataArray& a) {
  ComputeOptions plain;
  plain.optimize = false;
  auto with = a.compute().values<double>();
  auto without = a.compute(plain).values<double>();
  ASSERT_EQ(with.size(), without.size());
  std::size_t nans = 0;
  for (std::size_t i = 0; i < with.size(); ++i) {
    nans += std::isnan(without[i]);
    EXPECT_EQ(std::memcmp(&with[i], &without[i], sizeof(double)), 0) << "element " << i << ": " << with[i] << " vs "
                                                                      << without[i];
  }
  EXPECT_GT(nans, 0u);  // the case checks NaN handling too
}

}  // namespace

TEST(InlineSources, NdviLikeProgramReadsBothSourcesRowByRowWithIdenticalValues) {
  // Edge chunks of 7 x 5 rows/columns and 3-d chunks: blocks hold whole rows of every width.
  DataArray nir = source(3, {2, 19, 13}, 8), red = source(1, {2, 19, 13}, 8);
  // A boolean mask in memory (as a geometry mask): it varies, so constant folding tries both values.
  DataArray mask = (source(0, {2, 19, 13}, 8) > 0.6).compute();
  DataArray ndvi = ((nir - red) / (nir + red)).where(mask, std::nan(""));
  auto layers = optimize_layers({ndvi.layer()});
  EXPECT_EQ(layers_with_op(layers, "test_row_source"), 0u);
  ASSERT_EQ(layers[0]->op, "elementwise");
  ASSERT_TRUE(layers[0]->params.contains("sources"));
  EXPECT_EQ(layers[0]->params["sources"].size(), 2u);
  EXPECT_EQ(layers[0]->inputs.size(), 1u);
  rows_opened = 0;
  expect_bit_identical(ndvi);
  EXPECT_EQ(rows_opened, 3 * 2 * 2);  // two readers per chunk (1 x 3 x 2 chunks) of the optimised run only
}

TEST(InlineSources, SourcesNeededElsewhereOrAsOutputsStayLayers) {
  DataArray a = source(2, {9, 11}, 4), b = source(5, {9, 11}, 4);
  DataArray sum = a + b, diff = a - b;  // `a` has two consumers: computed once, as a layer
  auto layers = optimize_layers({sum.layer(), diff.layer(), b.layer()});
  EXPECT_EQ(layers_with_op(layers, "test_row_source"), 2u);
  for (const auto* l : graph::topological_layers(layers)) EXPECT_FALSE(l->params.contains("sources")) << l->key;
  // Transposed: the Source is not read 1:1 in the consumer's axis order.
  DataArray t = source(2, {9, 11}, 4).transpose({"d1", "d0"}) * 2.0;
  EXPECT_EQ(layers_with_op(optimize_layers({t.layer()}), "test_row_source"), 1u);
  expect_bit_identical(t);
}

TEST(InlineSources, ConstantChunksOfTheSourcesStayConstantAndUnread) {
  // Chunks 0 and 3 of both Sources are NaN without being read (no footprint reaches them): the
  // NDVI there is NaN whatever the mask, so the fused layer marks them constant itself.
  DataArray nir = source(3, {12, 12}, 6, {0, 3}, std::nan("")), red = source(1, {12, 12}, 6, {0, 3}, std::nan(""));
  DataArray mask = (source(0, {12, 12}, 6) > 0.6).compute();
  DataArray ndvi = ((nir - red) / (nir + red)).where(mask, std::nan(""));
  auto layers = optimize_layers({ndvi.layer()});
  ASSERT_TRUE(layers[0]->params.contains("sources"));
  ASSERT_TRUE(layers[0]->constant);
  EXPECT_EQ(layers[0]->constant->chunks, (std::vector<std::int64_t>{0, 3}));
  EXPECT_TRUE(std::isnan(layers[0]->constant->value));
  rows_opened = 0;
  auto v = ndvi.compute().values<double>();
  EXPECT_EQ(rows_opened, 2 * 2);  // only chunks 1 and 2 read rows
  for (std::int64_t r = 0; r < 6; ++r)
    for (std::int64_t c = 0; c < 6; ++c) {
      EXPECT_TRUE(std::isnan(v[static_cast<std::size_t>(r * 12 + c)]));
      EXPECT_TRUE(std::isnan(v[static_cast<std::size_t>((r + 6) * 12 + c + 6)]));
    }
  // A constant chunk the program does not fold (its value depends on the other input): the
  // kernel uses the Source's constant there instead of reading rows, as the unoptimised graph does.
  DataArray five = source(3, {12, 12}, 6, {0}, 5.0);
  DataArray masked = (five - source(1, {12, 12}, 6)).where(mask, -1.0);
  auto l2 = optimize_layers({masked.layer()});
  ASSERT_TRUE(l2[0]->params.contains("sources"));
  EXPECT_EQ(l2[0]->params["sources"].size(), 2u);
  EXPECT_FALSE(l2[0]->constant);
  rows_opened = 0;
  expect_bit_identical(masked);
  EXPECT_EQ(rows_opened, 2 * 4 - 1);
}

TEST(InlineSources, BadSourceEntriesAreRefusedWhenPrepared) {
  DataArray a = source(2, {4, 4}, 4) * 3.0;
  auto layers = optimize_layers({a.layer()});
  ASSERT_TRUE(layers[0]->params.contains("sources"));
  graph::Params params = layers[0]->params;
  params["sources"][0]["op"] = "full";  // an op without OpDef::rows
  graph::LayerSpec spec{layers[0]->label, "elementwise", graph::LayerKind::Elementwise, params, {}, layers[0]->grid,
                        layers[0]->dtype, nullptr, 0};
  DataArray bad = DataArray::from_layer(graph::make_layer(std::move(spec)), a.dims());
  try {
    bad.compute();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot produce rows"), std::string::npos) << e.what();
  }
}
