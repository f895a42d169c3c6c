#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "array/chunking.hpp"
#include "cubist/cubist.hpp"

using namespace cubist;

// Expected values come from dask.array.core.normalize_chunks (dask 2022.12) on the same inputs.
TEST(AutoChunks, MatchesDask) {
  auto g = resolve_chunks({"t", "y", "x"}, {50, 4096, 4096}, DType::Float32, ChunkSpec("auto"), nullptr);
  EXPECT_EQ(g.chunks(0), std::vector<std::int64_t>{50});
  EXPECT_EQ(g.chunks(1), (std::vector<std::int64_t>{819, 819, 819, 819, 819, 1}));
  ChunkSpec small("auto");
  small.target_bytes = 1 << 20;
  auto h = resolve_chunks({"y", "x"}, {1000, 1000}, DType::Float64, small, nullptr);
  EXPECT_EQ(h.chunks(0), (std::vector<std::int64_t>{362, 362, 276}));
  // With previous chunks, "auto" keeps their aspect ratio (dask's previous_chunks branch).
  auto prev = ChunkGrid::regular({50, 4096, 4096}, {1, 1024, 1024});
  auto p = resolve_chunks({"t", "y", "x"}, {50, 4096, 4096}, DType::Float32, ChunkSpec("auto"), &prev);
  EXPECT_EQ(p.chunks(0).front(), 3);
  EXPECT_EQ(p.chunks(0).back(), 2);
  EXPECT_EQ(p.chunks(1), (std::vector<std::int64_t>{3072, 1024}));
  auto prev2 = ChunkGrid::regular({64, 4096, 4096}, {1, 512, 512});
  auto q = resolve_chunks({"t", "y", "x"}, {64, 4096, 4096}, DType::Float64, ChunkSpec("auto"), &prev2);
  EXPECT_EQ(q.chunks(0), std::vector<std::int64_t>(16, 4));
  EXPECT_EQ(q.chunks(1), (std::vector<std::int64_t>{2048, 2048}));
  ChunkSpec mixed{{"x", 100}, {"t", "auto"}};
  mixed.target_bytes = 8 << 20;
  auto m = resolve_chunks({"t", "x"}, {100000, 1000}, DType::Float64, mixed, nullptr);
  EXPECT_EQ(m.chunks(0).front(), 10485);
  EXPECT_EQ(m.chunks(0).back(), 5635);
}

TEST(Rechunk, PreservesValuesAcrossIrregularGrids) {
  auto a = random<double>({{"y", 37}, {"x", 23}}, {{"y", 10}, {"x", 23}}, 11);
  auto ref = a.compute();
  for (const ChunkSpec& spec : {ChunkSpec{{"y", 4}, {"x", 5}}, ChunkSpec{{"y", std::vector<std::int64_t>{30, 7}}, {"x", -1}},
                                ChunkSpec("auto"), ChunkSpec{{"x", 1}}}) {
    auto r = a.chunk(spec);
    auto v = r.compute().values<double>();
    auto w = ref.values<double>();
    ASSERT_EQ(v.size(), w.size());
    for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], w[i]);
  }
  // Random values do not depend on the chunking they were generated with.
  auto b = random<double>({{"y", 37}, {"x", 23}}, {{"y", 3}, {"x", 4}}, 11).compute().values<double>();
  for (std::size_t i = 0; i < b.size(); ++i) ASSERT_EQ(b[i], ref.values<double>()[i]);
}

TEST(Rechunk, Errors) {
  auto a = ones<float>({{"x", 10}}, {{"x", 5}});
  EXPECT_THROW(a.chunk({{"y", 2}}), DimensionError);
  EXPECT_THROW(a.chunk({{"x", 0}}), ChunkError);
  EXPECT_THROW(a.chunk({{"x", std::vector<std::int64_t>{3, 3}}}), ChunkError);
  EXPECT_THROW(ChunkSpec("big"), ChunkError);
  EXPECT_THROW(ones<float>({{"x", 10}}, {{"x", -3}}), ChunkError);
}

TEST(Compute, PersistKeepsChunks) {
  auto a = (random<float>({{"x", 100}}, {{"x", 30}}, 1) * 2.0f).persist();
  EXPECT_EQ(a.chunks().total_chunks(), 4);
  EXPECT_EQ(a.num_tasks(), 4u);
  EXPECT_FALSE(a.in_memory());
  auto c = a.compute();
  EXPECT_TRUE(c.in_memory());
  EXPECT_EQ(c.values<float>().size(), 100u);
}

TEST(Repr, TellsWhatYouHave) {
  auto cube = random<float>({{"time", 50}, {"y", 4096}, {"x", 4096}}, {{"time", 1}, {"y", 1024}, {"x", 1024}}, 42)
                  .assign_coords("time", date_range("time", "2020-01-01", 50, "1D"))
                  .assign_attrs({{"units", "reflectance"}})
                  .rename("red");
  auto text = cube.repr();
  EXPECT_NE(text.find("<cubist.DataArray 'red' (time: 50, y: 4096, x: 4096)>"), std::string::npos) << text;
  EXPECT_NE(text.find("dtype=float32"), std::string::npos);
  EXPECT_NE(text.find("chunksize=(1, 1024, 1024)"), std::string::npos);
  EXPECT_NE(text.find("chunks=800"), std::string::npos);
  EXPECT_NE(text.find("tasks=800"), std::string::npos);
  EXPECT_NE(text.find("3.12 GiB"), std::string::npos);
  EXPECT_NE(text.find("* time"), std::string::npos);
  EXPECT_NE(text.find("2020-01-01 2020-01-02 2020-01-03 ... 2020-02-17"), std::string::npos) << text;
  EXPECT_NE(text.find("units: reflectance"), std::string::npos);
  std::ostringstream os;
  os << cube.mean("time");
  EXPECT_NE(os.str().find("(y: 4096, x: 4096)"), std::string::npos);
  auto small = DataArray::from_vector<int>({1, 2, 3}, {{"x", 3}});
  EXPECT_NE(small.repr().find("array([1 2 3], dtype=int32"), std::string::npos) << small.repr();
}

TEST(Visualize, WritesDotAndSvg) {
  auto m = (ones<double>({{"x", 8}}, {{"x", 2}}) + 1.0).mean();
  std::string dot = ::testing::TempDir() + "cubist_graph.dot";
  m.visualize(dot);
  std::ifstream f(dot);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_NE(ss.str().find("digraph"), std::string::npos);
  std::string svg = ::testing::TempDir() + "cubist_graph.svg";
  VisualizeOptions o;
  o.by_layer = true;
  m.visualize(svg, o);
  std::ifstream g(svg);
  std::stringstream gs;
  gs << g.rdbuf();
  EXPECT_NE(gs.str().find("<svg"), std::string::npos);
  EXPECT_THROW(m.visualize("graph.jpeg"), ValueError);
  std::remove(dot.c_str());
  std::remove(svg.c_str());
}
