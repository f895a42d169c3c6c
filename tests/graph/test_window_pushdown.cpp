// Window push-down (graph::push_down_windows): a selection over an elementwise chain of windowable
// Sources becomes the chain over windowed Sources, with identical values.
#include <gtest/gtest.h>

#include <cmath>

#include "cubist/cubist.hpp"
#include "graph/optimize.hpp"
#include "graph/task_graph.hpp"
#include "kernels/op_registry.hpp"

using namespace cubist;

namespace {

// A windowable test Source: the element at position p of the original array of rank n holds
// sum_a p[a] * 100^(n-1-a), so every value says where it came from. params: "origin" (per
// original axis, where this layer's first element lies) and "kept" (which original axes remain).
struct PixelIndex {
  std::vector<std::int64_t> origin;
  std::vector<bool> kept;
};

std::shared_ptr<const void> prepare(const nlohmann::json& params, const kernels::OpSignature&) {
  auto p = std::make_shared<PixelIndex>();
  p->origin = params.at("origin").get<std::vector<std::int64_t>>();
  p->kept = params.at("kept").get<std::vector<bool>>();
  return p;
}

Chunk run(const kernels::TaskContext& ctx) {
  const auto& p = ctx.params<PixelIndex>();
  Chunk out = Chunk::allocate(DType::Float64, ctx.shape());
  auto v = out.mutable_values<double>();
  const std::size_t rank = ctx.out_shape.size();
  std::vector<std::int64_t> pos(rank, 0);
  for (std::size_t i = 0; i < v.size(); ++i) {
    double value = 0;
    for (std::size_t a = 0, k = 0; a < p.origin.size(); ++a) {
      std::int64_t c = p.origin[a];
      if (p.kept[a]) c += ctx.out_offset[k] + pos[k], ++k;
      value = value * 100 + static_cast<double>(c);
    }
    v[i] = value;
    for (std::size_t a = rank; a-- > 0;) {
      if (++pos[a] < ctx.out_shape[a]) break;
      pos[a] = 0;
    }
  }
  return out;
}

std::optional<nlohmann::json> window(const nlohmann::json& params, const Shape&, const std::vector<graph::AxisWindow>& w) {
  auto origin = params.at("origin").get<std::vector<std::int64_t>>();
  auto kept = params.at("kept").get<std::vector<bool>>();
  for (std::size_t a = 0, k = 0; a < origin.size(); ++a) {
    if (!kept[a]) continue;
    origin[a] += w.at(k).start;
    if (w[k].drop) kept[a] = false;
    ++k;
  }
  return nlohmann::json{{"origin", origin}, {"kept", kept}};
}

const kernels::OpRegistration kRegister{kernels::OpDef{"test_pixel_index", prepare, run, false, window}};

DataArray pixel_index(const std::vector<std::pair<std::string, std::int64_t>>& dims, std::int64_t chunk) {
  std::vector<std::vector<std::int64_t>> chunks;
  std::vector<std::string> names;
  for (const auto& [name, n] : dims) {
    std::vector<std::int64_t> c;
    for (std::int64_t i = 0; i < n; i += chunk) c.push_back(std::min(chunk, n - i));
    chunks.push_back(c);
    names.push_back(name);
  }
  graph::LayerSpec spec;
  spec.label = "pixels";
  spec.op = "test_pixel_index";
  spec.kind = graph::LayerKind::Source;
  spec.params = {{"origin", std::vector<std::int64_t>(dims.size(), 0)}, {"kept", std::vector<bool>(dims.size(), true)}};
  spec.grid = ChunkGrid(chunks);
  return DataArray::from_layer(graph::make_layer(std::move(spec)), names);
}

std::vector<graph::LayerPtr> pushed(const DataArray& a) {
  return graph::fuse_elementwise(graph::push_down_windows({a.layer()}, kernels::window_source));
}

std::size_t layers_with_op(const std::vector<graph::LayerPtr>& outputs, const std::string& op) {
  std::size_t n = 0;
  for (const auto* l : graph::topological_layers(outputs)) n += l->op == op;
  return n;
}

void expect_same_values(const DataArray& a) {
  auto with = a.compute();
  ComputeOptions plain;
  plain.optimize = false;  // neither push-down nor fusion: the reference
  auto without = a.compute(plain);
  ASSERT_EQ(with.shape(), without.shape());
  auto w = with.values<double>();
  auto o = without.values<double>();
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (std::isnan(o[i])) {
      EXPECT_TRUE(std::isnan(w[i])) << i;
    } else {
      EXPECT_EQ(w[i], o[i]) << i;
    }
  }
}

// The seed workflow's shape: a band selection of a stack, an elementwise NDVI, a crop not aligned
// on chunks, a mask applied after the crop.
DataArray ndvi_like(const DataArray& cube) {
  auto red = cube.isel({{"band", std::int64_t{0}}});
  auto nir = cube.isel({{"band", std::int64_t{1}}});
  auto ndvi = (nir - red) / (nir + red);
  return ndvi.isel({{"y", Slice{3, 17, 1}}, {"x", Slice{5, 12, 1}}});
}

}  // namespace

TEST(WindowPushdown, CropAndBandSelectionsBecomeWindowedReads) {
  auto cube = pixel_index({{"time", 3}, {"band", 2}, {"y", 20}, {"x", 16}}, 8);
  auto cropped = ndvi_like(cube);
  auto out = pushed(cropped);
  EXPECT_EQ(layers_with_op(out, "gather"), 0u);
  EXPECT_EQ(layers_with_op(out, "test_pixel_index"), 2u);  // red and nir, each windowed
  EXPECT_EQ(layers_with_op(out, "elementwise"), 1u);
  ASSERT_EQ(out[0]->grid, cropped.layer()->grid);
  // Every output chunk is one execution unit: two reads and the fused NDVI.
  auto tg = graph::build_task_graph(out, {true});
  EXPECT_EQ(tg.num_units(), static_cast<std::size_t>(out[0]->grid.total_chunks()));
  expect_same_values(cropped);
}

TEST(WindowPushdown, ValuesAreTheSelectedPixels) {
  auto cube = pixel_index({{"band", 2}, {"y", 20}, {"x", 16}}, 8);
  auto sel = cube.isel({{"band", std::int64_t{1}}, {"y", Slice{3, 17, 1}}, {"x", Slice{9, 10, 1}}}).compute();
  auto v = sel.values<double>();
  ASSERT_EQ(v.size(), 14u);
  for (std::int64_t y = 0; y < 14; ++y) EXPECT_EQ(v[static_cast<std::size_t>(y)], 10000 + (y + 3) * 100 + 9);
}

TEST(WindowPushdown, ConstantChunksAboveAndOnTheSelectionAreKept) {
  auto cube = pixel_index({{"time", 2}, {"band", 2}, {"y", 20}, {"x", 16}}, 8);
  auto cropped = ndvi_like(cube);
  // Constant chunks on the crop itself, and on a masking layer above it (as clip marks them).
  auto crop_const = DataArray::from_layer(graph::with_constant_chunks(*cropped.layer(), {{0, 3}, std::nan("")}),
                                          cropped.dims());
  auto masked = crop_const.where(crop_const > 0.1);
  auto above = DataArray::from_layer(graph::with_constant_chunks(*masked.layer(), {{1}, -7.0}), masked.dims());
  auto out = pushed(above);
  EXPECT_EQ(layers_with_op(out, "gather"), 0u);
  ASSERT_TRUE(out[0]->constant);
  EXPECT_EQ(out[0]->constant->chunks, std::vector<std::int64_t>{1});
  bool crop_constants_kept = false;
  for (const auto* l : graph::topological_layers(out))
    if (l->constant && l->constant->chunks == std::vector<std::int64_t>{0, 3}) crop_constants_kept = true;
  EXPECT_TRUE(crop_constants_kept);
  expect_same_values(above);
}

TEST(WindowPushdown, LeavesThatCannotBeWindowedKeepTheGraph) {
  auto a = random<double>({{"y", 20}, {"x", 16}}, {{"y", 8}, {"x", 8}}, 5);
  auto c = (a * 2.0).isel({{"y", Slice{3, 17, 1}}});
  auto out = graph::push_down_windows({c.layer()}, kernels::window_source);
  EXPECT_EQ(out[0]->key, c.layer()->key);
  expect_same_values(c);
}

TEST(WindowPushdown, SharedElementwiseIsNotDuplicated) {
  auto cube = pixel_index({{"y", 20}, {"x", 16}}, 8);
  auto shared = cube * 3.0;
  auto crop = shared.isel({{"y", Slice{3, 17, 1}}});
  auto total = crop.sum() + shared.sum();
  auto out = graph::push_down_windows({total.layer()}, kernels::window_source);
  // `shared` is needed whole by the second sum: the crop stays a gather over it.
  EXPECT_EQ(layers_with_op(out, "gather"), 1u);
  auto with = total.compute().values<double>()[0];
  ComputeOptions plain;
  plain.optimize = false;
  EXPECT_EQ(with, total.compute(plain).values<double>()[0]);
}

TEST(WindowPushdown, KeysAreDeterministicAndWindowsCompose) {
  auto cube = pixel_index({{"band", 2}, {"y", 20}, {"x", 16}}, 8);
  auto twice = cube.isel({{"y", Slice{2, 19, 1}}}).isel({{"band", std::int64_t{1}}, {"y", Slice{1, 12, 1}}});
  auto once = cube.isel({{"band", std::int64_t{1}}, {"y", Slice{3, 14, 1}}});
  auto a = graph::push_down_windows({twice.layer()}, kernels::window_source);
  auto b = graph::push_down_windows({twice.layer()}, kernels::window_source);
  EXPECT_EQ(a[0]->key, b[0]->key);
  EXPECT_EQ(a[0]->op, "test_pixel_index");
  EXPECT_EQ(a[0]->params, graph::push_down_windows({once.layer()}, kernels::window_source)[0]->params);
  expect_same_values(twice);
}

TEST(WindowPushdown, FullSourcesAndIndexListsAndSteps) {
  auto ones_ = ones<double>({{"y", 20}, {"x", 16}}, {{"y", 8}, {"x", 8}});
  auto cube = pixel_index({{"y", 20}, {"x", 16}}, 8);
  auto sum = (cube + ones_).isel({{"y", Slice{5, 20, 1}}});
  auto out = pushed(sum);
  EXPECT_EQ(layers_with_op(out, "gather"), 0u);
  expect_same_values(sum);
  // Index lists and strides are not windows: they stay gathers.
  auto listed = (cube + 1.0).isel({{"y", std::vector<std::int64_t>{4, 2, 9}}});
  EXPECT_EQ(layers_with_op(pushed(listed), "gather"), 1u);
  auto strided = (cube + 1.0).isel({{"y", Slice{0, 20, 3}}});
  EXPECT_EQ(layers_with_op(pushed(strided), "gather"), 1u);
  expect_same_values(listed);
  expect_same_values(strided);
}

TEST(WindowPushdown, ConstantChunksBelowTheSelectionMoveOntoTheWindow) {
  // A source whose chunk (0, 0) is constant (a stack chunk no footprint reaches): the crop still
  // becomes a windowed read, and the window's chunks inside that chunk stay constant.
  auto cube = pixel_index({{"y", 20}, {"x", 16}}, 8);
  auto marked = DataArray::from_layer(graph::with_constant_chunks(*cube.layer(), {{0}, -1.0}), cube.dims());
  auto crop = marked.isel({{"y", Slice{3, 17, 1}}, {"x", Slice{5, 12, 1}}});  // y chunks 5, 8, 1; x 3, 4
  auto out = pushed(crop);
  EXPECT_EQ(layers_with_op(out, "gather"), 0u);
  ASSERT_EQ(out[0]->op, "test_pixel_index");
  ASSERT_TRUE(out[0]->constant);
  EXPECT_EQ(out[0]->constant->chunks, std::vector<std::int64_t>{0});  // (0, 1) reaches chunk (0, 1)
  EXPECT_EQ(out[0]->constant->value, -1.0);
  expect_same_values(crop);
}

TEST(WindowPushdown, WindowChunksPartlyInConstantChunksKeepTheGraph) {
  // A rechunk (a selection of everything) to 6-row chunks: the chunk of rows 6..11 lies partly in
  // the constant chunk of rows 0..7. Windowed, those rows would be computed (here: pixel indices,
  // not the -1 the constant chunk says), so the layer is left as it was.
  auto cube = pixel_index({{"y", 20}, {"x", 16}}, 8);
  auto marked = DataArray::from_layer(graph::with_constant_chunks(*cube.layer(), {{0}, -1.0}), cube.dims());
  auto rechunked = marked.chunk({{"y", 6}});
  auto out = pushed(rechunked);
  EXPECT_EQ(layers_with_op(out, "gather"), 1u);
  expect_same_values(rechunked);
}
