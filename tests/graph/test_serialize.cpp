// Layer graphs to JSON and back (graph/serialize.hpp): the receiver builds the sender's TaskGraph
// and computes the same bytes; hostile documents get one ValueError line naming layer and field.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "cubist/cubist.hpp"
#include "cubist/geo.hpp"
#include "graph/optimize.hpp"
#include "graph/serialize.hpp"
#include "graph/task_graph.hpp"
#include "kernels/op_registry.hpp"
#include "runtime/local_scheduler.hpp"
#include "../test_support/bit_identical.hpp"

using namespace cubist;
using nlohmann::json;

namespace {

DataArray ramp(std::int64_t ny, std::int64_t nx, std::int64_t chunk) {
  std::vector<double> v(static_cast<std::size_t>(ny * nx));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<double>(i)) * 10;
  return DataArray::from_vector(v, {{"y", ny}, {"x", nx}}).chunk({{"y", chunk}, {"x", chunk}});
}

// A time series with two observations on some days, for groupby.
DataArray cube() {
  std::vector<float> v(6 * 4 * 4);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 7) - (i % 11 == 0 ? NAN : 0.0f);
  auto times = Coordinate::datetimes("time", {"2024-01-01T10:00", "2024-01-01T11:00", "2024-01-02T10:00", "2024-01-03T09:00",
                                              "2024-01-03T10:00", "2024-01-04T10:00"});
  return DataArray::from_vector(v, {{"time", 6}, {"y", 4}, {"x", 4}}, {{"time", times}})
      .chunk({{"time", 1}, {"y", 2}, {"x", 4}});
}

DataArray utm_array() {
  std::vector<double> v(64), xs, ys;
  for (std::size_t i = 0; i < 64; ++i) v[i] = static_cast<double>(i);
  for (int i = 0; i < 8; ++i) {
    xs.push_back(500005.0 + 10 * i);
    ys.push_back(5000075.0 - 10 * i);
  }
  auto da = DataArray::from_vector(v, {{"y", 8}, {"x", 8}},
                                   {{"y", Coordinate::from_vector("y", ys)}, {"x", Coordinate::from_vector("x", xs)}});
  return write_crs(da.chunk({{"y", 2}, {"x", 2}}), Crs::epsg(32632));
}

// The graph as compute() runs it, and as it was built.
std::vector<graph::LayerPtr> optimised(const std::vector<graph::LayerPtr>& outputs) {
  return graph::fuse_elementwise(graph::push_down_windows(outputs, kernels::window_source));
}

// Through MessagePack too, as the wire carries it (integers come back unsigned, floats compacted).
std::vector<graph::LayerPtr> round_trip(const std::vector<graph::LayerPtr>& outputs) {
  return graph::from_wire(json::from_msgpack(json::to_msgpack(graph::to_wire(outputs))));
}

void expect_same_task_graph(const graph::TaskGraph& a, const graph::TaskGraph& b) {
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (std::size_t i = 0; i < a.layers.size(); ++i) EXPECT_EQ(a.layers[i]->key, b.layers[i]->key) << i;
  ASSERT_EQ(a.tasks.size(), b.tasks.size());
  for (std::size_t t = 0; t < a.tasks.size(); ++t) {
    EXPECT_EQ(a.tasks[t].layer, b.tasks[t].layer);
    EXPECT_EQ(a.tasks[t].chunk, b.tasks[t].chunk);
    EXPECT_EQ(a.tasks[t].dep_begin, b.tasks[t].dep_begin);
    EXPECT_EQ(a.tasks[t].dep_end, b.tasks[t].dep_end);
  }
  EXPECT_EQ(a.deps, b.deps);
  EXPECT_EQ(a.dep_slot, b.dep_slot);
  EXPECT_EQ(a.output_tasks, b.output_tasks);
  EXPECT_EQ(a.unit_begin, b.unit_begin);
  EXPECT_EQ(a.unit_members, b.unit_members);
  EXPECT_EQ(a.unit_deps, b.unit_deps);
  EXPECT_EQ(a.unit_priority, b.unit_priority);
}

void expect_same_chunks(const std::vector<std::vector<Chunk>>& a, const std::vector<std::vector<Chunk>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t o = 0; o < a.size(); ++o) {
    SCOPED_TRACE("output " + std::to_string(o));
    test_support::expect_bit_identical(a[o], b[o]);
  }
}

// Keys, TaskGraph and computed bytes equal for the graph as built and as optimised.
void expect_round_trip(const std::vector<DataArray>& arrays, bool compute = true) {
  std::vector<graph::LayerPtr> outputs;
  for (const auto& a : arrays) outputs.push_back(a.layer());
  for (const auto& sent : {outputs, optimised(outputs)}) {
    const auto back = round_trip(sent);
    ASSERT_EQ(back.size(), sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(back[i]->key, sent[i]->key);
    const auto tg_sent = graph::build_task_graph(sent), tg_back = graph::build_task_graph(back);
    expect_same_task_graph(tg_sent, tg_back);
    if (compute) expect_same_chunks(runtime::execute(tg_sent), runtime::execute(tg_back));
  }
}

// The document of `a`'s graph, for corrupting.
json doc_of(const DataArray& a) { return graph::to_wire({a.layer()}); }

void expect_refused(const json& doc, std::vector<std::string> needles) {
  try {
    graph::from_wire(doc);
    ADD_FAILURE() << "accepted a malformed document (expected: " << needles[0] << ")";
  } catch (const ValueError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    for (const auto& n : needles) EXPECT_NE(what.find(n), std::string::npos) << "'" << n << "' not in: " << what;
  }
}

}  // namespace

TEST(Serialize, ElementwiseChainsAndReductions) {
  auto a = ramp(10, 9, 4), b = ramp(10, 9, 4) * 0.5 + 1.0;
  auto e = ((a * 2.0 + b) / (a - 3.0)).where(a > 0.5, -1.0);
  expect_round_trip({e, e.mean("x"), e.max({"y", "x"}), a.sum("y"), e.std("x")});
}

TEST(Serialize, RechunkSelectionsAndConcat) {
  auto a = ramp(12, 10, 5);
  expect_round_trip({a.chunk({{"y", 3}, {"x", 7}}), a.isel({{"y", Slice{2, 9}}, {"x", std::int64_t{4}}}),
                     a.isel({{"x", std::vector<std::int64_t>{0, 7, 3}}}),
                     concat({a, a * 3.0}, "y"), a.chunk({{"y", std::vector<std::int64_t>{1, 6, 5}}, {"x", -1}})});
}

TEST(Serialize, LabelSelectionAndGroupby) {
  auto c = cube();
  auto daily = c.groupby(floor_time(c.coords().at("time"), "D")).max();
  expect_round_trip({daily, daily.chunk("auto"), c.sel({{"time", LabelSlice{"2024-01-02", "2024-01-03"}}})});
}

TEST(Serialize, LiteralsKeepTheirIdentityAndBytes) {
  Chunk c = Chunk::allocate(DType::Int16, {3, 4});
  auto v = c.mutable_values<std::int16_t>();
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::int16_t>(i * 1000 - 5000);
  auto a = DataArray::from_chunk(c, {"y", "x"});
  auto b = DataArray::from_chunk(c, {"y", "x"});  // same bytes, another literal: another key
  ASSERT_NE(a.layer()->key, b.layer()->key);
  const auto back = round_trip({a.layer(), b.layer()});
  EXPECT_EQ(back[0]->key, a.layer()->key);
  EXPECT_EQ(back[1]->key, b.layer()->key);
  ASSERT_TRUE(back[0]->literal);
  EXPECT_EQ(std::memcmp((*back[0]->literal)[0].raw(), c.raw(), c.nbytes()), 0);
  // A chunked literal (views of one buffer) and a persisted result.
  auto chunked = DataArray::from_chunk(c, {"y", "x"}).chunk({{"y", 2}, {"x", 3}});
  expect_round_trip({chunked.astype(DType::Float32) + 1.0f, (a * 2).persist()});
}

TEST(Serialize, ConstantChunksOfClip) {
  const Geometry corner({{{{500000, 5000080}, {500035, 5000080}, {500000, 5000045}, {500000, 5000080}}}}, Crs::epsg(32632));
  ClipOptions options;
  options.drop = false;
  auto clipped = clip(utm_array(), {corner}, options);
  std::size_t constant_layers = 0;
  for (const graph::Layer* l : graph::topological_layers({clipped.layer()})) constant_layers += l->constant != nullptr;
  ASSERT_GT(constant_layers, 0u);
  expect_round_trip({clipped, clipped.mean("x")});
}

TEST(Serialize, SinkLayersAndDuplicateOutputs) {
  auto base = ramp(6, 6, 3);
  auto a = base + 1.0;
  const json params = {{"path", "/tmp/out.zarr"}, {"variable", "data"}, {"fill", std::nan("")}, {"offset", {0, 0}}};
  auto sink = graph::make_sink_layer("to_zarr-data", "zarr_write", params, a.layer());
  // Not computed (the zarr_write op needs a store); keys and tasks must survive.
  const auto back = round_trip({sink, a.layer(), sink});
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0]->key, sink->key);
  EXPECT_EQ(back[0], back[2]);  // one layer object per key
  EXPECT_EQ(back[0]->inputs[0].layer, back[1]);
  expect_same_task_graph(graph::build_task_graph({sink, a.layer()}), graph::build_task_graph({back[0], back[1]}));
  // Two layer objects built separately with the same key travel once.
  auto again = base + 1.0;
  ASSERT_NE(again.layer(), a.layer());
  const json doc = graph::to_wire({a.layer(), again.layer()});
  EXPECT_EQ(doc["outputs"][0], doc["outputs"][1]);
}

TEST(Serialize, RefusesMalformedDocuments) {
  auto a = ramp(4, 4, 2);
  auto e = (a + 1.0).mean("x");
  const json good = doc_of(e);
  ASSERT_NO_THROW(graph::from_wire(good));
  const std::size_t last = good["layers"].size() - 1;

  expect_refused(json::array(), {"not an object"});
  json d = good;
  d["version"] = 2;
  expect_refused(d, {"'version'"});
  d = good;
  d.erase("layers");
  expect_refused(d, {"'layers'"});
  d = good;
  d["outputs"] = {last + 1};
  expect_refused(d, {"'outputs[0]'"});

  auto with = [&](std::size_t layer, auto&& change) {
    json c = good;
    change(c["layers"][layer]);
    return c;
  };
  const std::string key = good["layers"][last]["key"];
  expect_refused(with(last, [](json& l) { l.erase("op"); }), {"layer " + std::to_string(last), key, "'op' is missing"});
  expect_refused(with(last, [](json& l) { l["op"] = 3; }), {"'op' is not a string"});
  expect_refused(with(last, [](json& l) { l.erase("grid"); }), {"'grid' is missing"});
  expect_refused(with(last, [](json& l) { l["dtype"] = "float128"; }), {key, "'dtype'", "float128"});
  expect_refused(with(last, [](json& l) { l["kind"] = "magic"; }), {"'kind'", "magic"});
  expect_refused(with(last, [](json& l) { l["key"] = "mean-0000000000000000"; }), {"'key'", "does not match"});
  expect_refused(with(last, [](json& l) { l["params"]["extra"] = 1; }), {"'key'"});
  expect_refused(with(last, [&](json& l) { l["inputs"][0]["layer"] = last; }),
                 {"'inputs[0].layer'", "does not name an earlier layer"});
  expect_refused(with(last, [](json& l) { l["inputs"][0]["layer"] = -1; }), {"'inputs[0].layer'"});
  expect_refused(with(last, [](json& l) { l["inputs"][0]["axes"].erase(0); }), {"'inputs[0].axes'", "entries for an input of rank"});
  expect_refused(with(last, [](json& l) { l["inputs"][0]["axes"][0]["kind"] = "sideways"; }), {"inputs[0].axes[0].kind"});
  expect_refused(with(last, [](json& l) { l["inputs"][0]["axes"][0] = {{"kind", "identity"}, {"out_axis", 5}}; }), {"inputs[0].axes[0].out_axis"});
  expect_refused(with(last, [](json& l) { l["inputs"][0]["axes"][0] = {{"kind", "table"}, {"out_axis", 0}, {"table", {{0, 1}}}}; }),
                 {"inputs[0].axes[0].table", "1 entries for 2 output chunks"});
  expect_refused(with(last, [](json& l) { l["inputs"][0]["axes"][0] = {{"kind", "fixed"}, {"table", {{0, 9}}}}; }),
                 {"inputs[0].axes[0].table[0]"});
  expect_refused(with(last, [](json& l) { l["inputs"][0]["axes"][0] = {{"kind", "block"}, {"out_axis", 0}, {"block", 0}}; }),
                 {"inputs[0].axes[0].block"});
  expect_refused(with(last, [](json& l) { l["grid"][0] = {2, -2}; }), {"'grid[0][1]'"});
  expect_refused(with(last, [](json& l) { l["grid"][0] = json::array(); }), {"'grid'", "no chunks"});
  expect_refused(with(last, [](json& l) {
                   l["grid"] = json::array();
                   for (int i = 0; i < 3; ++i) l["grid"].push_back(json(std::vector<std::int64_t>(1 << 14, 1)));
                 }),
                 {"'grid'", "more than"});
  const std::int64_t huge = std::int64_t{1} << 62;
  expect_refused(with(last, [&](json& l) { l["grid"][0] = {huge, huge}; }), {"'grid[0]'", "64 bits"});
  expect_refused(with(last, [](json& l) { l["constant"] = {{"chunks", {0, 99}}, {"value", 1.0}}; }), {"'constant.chunks[1]'"});
  expect_refused(with(last, [](json& l) { l["constant"] = {{"chunks", {0}}, {"value", "nan"}}; }), {"'constant.value'"});
  expect_refused(with(last, [](json& l) { l["params"]["bad"] = std::string("\xff\xfe"); }), {"'params'"});
  expect_refused(with(0, [](json& l) { l["token"] = -4; }), {"layer 0", "'token'"});
}

TEST(Serialize, RefusesLiteralsThatDoNotFitTheirGrid) {
  auto a = DataArray::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {{"y", 2}, {"x", 3}});
  const json good = doc_of(a);
  ASSERT_TRUE(good["layers"][0].contains("literal"));
  ASSERT_TRUE(good["layers"][0].contains("token"));
  auto with = [&](auto&& change) {
    json c = good;
    change(c["layers"][0]);
    return c;
  };
  expect_refused(with([](json& l) { l["literal"][0]["data"] = json::binary(std::vector<std::uint8_t>(20)); }),
                 {"layer 0", "'literal[0].data'", "20 bytes", "24"});
  expect_refused(with([](json& l) { l["literal"][0]["data"] = "AAAA"; }), {"'literal[0].data'", "binary"});
  expect_refused(with([](json& l) { l["literal"][0]["shape"] = {3, 2}; }), {"'literal[0].shape'"});
  expect_refused(with([](json& l) { l["literal"][0]["dtype"] = "float64"; }), {"'literal[0].dtype'"});
  expect_refused(with([](json& l) { l["literal"].push_back(l["literal"][0]); }), {"'literal'", "2 chunks for a grid of 1"});
  expect_refused(with([](json& l) { l["token"] = l["token"].get<std::uint64_t>() + 1; }), {"'key'", "does not match"});
  // Unchanged, it computes the same values.
  const auto back = graph::from_wire(json::from_msgpack(json::to_msgpack(good)));
  const auto chunks = runtime::execute(graph::build_task_graph(back));
  const auto got = chunks[0][0].values<float>();
  EXPECT_EQ(std::vector<float>(got.begin(), got.end()), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}
