// Padded assembly for Zarr sinks (graph::pad_zarr_edge_chunks): a rechunk feeding only a
// chunk-mode Zarr sink assembles edge chunks at the full chunk shape, padded with the fill value,
// and the sink encodes them in place. The pass must apply only where it is safe, and the stores
// written with and without it (streamed or not) must be byte-identical.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <sstream>
#include <unistd.h>

#include "array/execution.hpp"
#include "array/zarr_params.hpp"
#include "cubist/cubist.hpp"
#include "cubist/zarr.hpp"
#include "graph/optimize.hpp"
#include "graph/task_graph.hpp"
#include "runtime/local_scheduler.hpp"
#include "runtime/thread_pool.hpp"
#include "../test_support/bit_identical.hpp"

using namespace cubist;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> n{0};
    path_ = fs::temp_directory_path() / ("cubist-zarr-padding-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& s) const { return (path_ / s).string(); }

 private:
  fs::path path_;
};

// Every file under `root` (relative path -> bytes).
std::map<std::string, std::string> files_of(const std::string& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    out[fs::relative(e.path(), root).string()] = bytes.str();
  }
  return out;
}

// (t, y, x) = (7, 10, 13) in (2, 3, 4) chunks with some NaNs, rechunked to (3, 4, 5): Zarr edge
// chunks on every axis, inputs straddling the outputs.
const Shape kShape{7, 10, 13}, kZarrChunks{3, 4, 5};
DataArray rechunked(DType dtype = DType::Float64) {
  auto a = random<double>({{"t", 7}, {"y", 10}, {"x", 13}}, {{"t", 2}, {"y", 3}, {"x", 4}}, 3) * 100.0;
  auto with_nan = a.where(a > 20.0);
  return with_nan.astype(dtype).chunk({{"t", 3}, {"y", 4}, {"x", 5}});
}

// A "zarr_write" sink (chunk mode) of `data` into array `name` of the directory store `store`.
graph::LayerPtr sink_over(const graph::LayerPtr& data, const std::string& store, const zarr::ArrayMetadata& m,
                          const json& extra = json::object()) {
  fs::create_directories(store);
  auto array = zarr::ZarrArray::from_metadata(zarr::open_store(store), "a", m);
  json params = zarr_io::array_params(store, *array);
  for (const auto& [k, v] : extra.items()) params[k] = v;
  return graph::make_sink_layer("to_zarr-a", "zarr_write", std::move(params), data);
}

bool padded(const graph::LayerPtr& sink) { return sink->params.value("input_padded", false); }

// Runs the sink optimised as compute() does plus the padding pass, or exactly as built; streamed or not.
void write(const graph::LayerPtr& sink, bool optimise, bool stream, std::size_t threads = 2) {
  std::vector<graph::LayerPtr> layers =
      optimise ? graph::pad_zarr_edge_chunks(optimize_layers({sink})) : std::vector<graph::LayerPtr>{sink};
  ASSERT_EQ(padded(layers[0]), optimise);
  graph::TaskGraph tg = graph::build_task_graph(layers, {.fuse = optimise, .fold_constants = optimise});
  runtime::ThreadPool pool(threads);
  runtime::ExecuteOptions opts;
  opts.pool = &pool;
  opts.stream_inputs = stream;
  (void)runtime::execute(tg, opts);
}

}  // namespace

TEST(PadZarrEdgeChunks, AppliesToAGatherWhoseOnlyConsumerIsAChunkModeSink) {
  TempDir dir;
  const DataArray r = rechunked();
  const auto m = zarr::default_array_metadata({"t", "y", "x"}, kShape, kZarrChunks, DType::Float64);
  const auto sink = sink_over(r.layer(), dir / "s", m);
  const auto out = graph::pad_zarr_edge_chunks({sink});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(padded(out[0]));
  const graph::Layer& g = *out[0]->inputs[0].layer;
  EXPECT_EQ(g.op, "gather");
  EXPECT_EQ(g.params.at("zarr_padding"), (json{{"chunks", kZarrChunks}, {"fill_value", "NaN"}}));
  EXPECT_EQ(g.params.at("axes"), r.layer()->params.at("axes"));
  EXPECT_EQ(g.inputs[0].layer, r.layer()->inputs[0].layer);
  EXPECT_EQ(g.grid, r.layer()->grid);

  // Zarr v3 (the chunk shape from its chunk grid) and a numeric fill value.
  auto m3 = zarr::default_array_metadata({"t", "y", "x"}, kShape, kZarrChunks, DType::Float64, json::object(), 3);
  m3.fill_value = -9999.5;
  const auto v3 = graph::pad_zarr_edge_chunks({sink_over(r.layer(), dir / "v3", m3)});
  EXPECT_TRUE(padded(v3[0]));
  EXPECT_EQ(v3[0]->inputs[0].layer->params.at("zarr_padding").at("fill_value"), json(-9999.5));
}

TEST(PadZarrEdgeChunks, LeavesTheGraphAloneWhereThePaddedBufferCouldBeSeenOrWouldNotBeRead) {
  TempDir dir;
  const DataArray r = rechunked();
  const auto m = zarr::default_array_metadata({"t", "y", "x"}, kShape, kZarrChunks, DType::Float64);
  auto unchanged = [](const std::vector<graph::LayerPtr>& outputs) {
    const auto out = graph::pad_zarr_edge_chunks(outputs);
    ASSERT_EQ(out.size(), outputs.size());
    for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], outputs[i]) << "output " << i;
  };
  {
    SCOPED_TRACE("region mode");
    unchanged({sink_over(r.layer(), dir / "region", m, {{"mode", "region"}, {"offset", {0, 0, 0}}})});
  }
  {
    SCOPED_TRACE("CF time encoding");
    unchanged({sink_over(r.layer(), dir / "time", m, {{"time_units", "days since 2000-01-01"}})});
  }
  {
    SCOPED_TRACE("CF packing");
    unchanged({sink_over(r.layer(), dir / "cf", m, {{"cf_encoding", json::object()}})});
  }
  {
    SCOPED_TRACE("the rechunked array is also an output");
    unchanged({sink_over(r.layer(), dir / "output", m), r.layer()});
  }
  {
    SCOPED_TRACE("another layer reads the rechunked array");
    unchanged({sink_over(r.layer(), dir / "shared", m), (r * 2.0).layer()});
  }
  {
    SCOPED_TRACE("two sinks read it");
    unchanged({sink_over(r.layer(), dir / "two1", m), sink_over(r.layer(), dir / "two2", m)});
  }
  {
    SCOPED_TRACE("another chunk grid");
    const auto other = zarr::default_array_metadata({"t", "y", "x"}, kShape, {3, 4, 6}, DType::Float64);
    unchanged({sink_over(r.layer(), dir / "grid", other)});
  }
  {
    SCOPED_TRACE("the sink's input is no gather");
    const DataArray same = rechunked() * 1.0;
    unchanged({sink_over(same.layer(), dir / "elementwise", m)});
  }
}

// The gather's padded assembly: each result is a view of the actual shape whose buffer holds the
// full Zarr chunk, the padding the fill value; streamed and whole alike, values unchanged.
TEST(PadZarrEdgeChunks, GatherAssemblesPaddedChunksStreamedOrWhole) {
  const DataArray r = rechunked(DType::Float32);
  graph::LayerSpec spec{r.layer()->label, "gather", r.layer()->kind, r.layer()->params, r.layer()->inputs,
                        r.layer()->grid, r.layer()->dtype, nullptr, 0};
  spec.params["zarr_padding"] = {{"chunks", kZarrChunks}, {"fill_value", -7.5}};
  const auto padded_layer = graph::make_layer(std::move(spec));
  auto run = [](const graph::LayerPtr& l, bool stream) {
    graph::TaskGraph tg = graph::build_task_graph({l});
    runtime::ThreadPool pool(2);
    runtime::ExecuteOptions opts;
    opts.pool = &pool;
    opts.stream_inputs = stream;
    return runtime::execute(tg, opts).at(0);
  };
  const auto plain = run(r.layer(), false);
  for (bool stream : {true, false}) {
    SCOPED_TRACE(stream ? "streamed" : "whole");
    const auto got = run(padded_layer, stream);
    test_support::expect_bit_identical(got, plain);
    for (const Chunk& c : got) {
      ASSERT_GE(c.storage_bytes(), static_cast<std::size_t>(shape_size(kZarrChunks)) * 4) << shape_to_string(c.shape());
      const auto* full = static_cast<const float*>(c.raw());
      std::int64_t fills = 0;
      for (std::int64_t i = 0; i < shape_size(kZarrChunks); ++i) fills += full[i] == -7.5f;
      EXPECT_EQ(fills, shape_size(kZarrChunks) - c.size()) << shape_to_string(c.shape());
    }
  }
}

// Stores written with and without the pass, streamed or not, are byte-identical: NaN and numeric
// fill values, an integer dtype with fill 0, Zarr v3, and constant chunks (an edge chunk on axis 0
// only, whose strides equal the full chunk's, the last one and a full one) that reach the sink
// as views of the constant op's shared buffer.
TEST(PadZarrEdgeChunks, StoresAreByteIdenticalWithAndWithoutThePass) {
  struct Case {
    DType dtype;
    json fill;
    int zarr_format;
  };
  const std::vector<Case> cases{{DType::Float64, "NaN", 2},     {DType::Float32, -9999.5, 2}, {DType::Int16, 0, 2},
                                {DType::UInt8, 7, 2},           {DType::Float64, "NaN", 3},   {DType::Float64, "-Infinity", 2}};
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(dtype_name(c.dtype)) + " fill " + c.fill.dump() + " v" + std::to_string(c.zarr_format));
    TempDir dir;
    auto m = zarr::default_array_metadata({"t", "y", "x"}, kShape, kZarrChunks, c.dtype, json::object(), c.zarr_format);
    m.fill_value = c.fill;
    const DataArray r = rechunked(c.dtype);
    // Chunks (0,0,0), (2,0,0) (an edge on axis 0 only) and (2,2,2) of the 3 x 3 x 3 grid are constant.
    const auto data = graph::with_constant_chunks(*r.layer(), {{0, 18, 26}, 5});
    write(sink_over(data, dir / "reference", m), false, false);
    const auto want = files_of(dir / "reference");
    ASSERT_EQ(want.size(), 27u);  // every chunk, no metadata (from_metadata writes none)
    for (bool stream : {true, false}) {
      for (std::size_t threads : {1u, 3u}) {
        const std::string name = fmt::format("padded-{}-{}", stream, threads);
        write(sink_over(data, dir / name, m), true, stream, threads);
        EXPECT_EQ(files_of(dir / name), want) << name;
      }
    }
  }
}
