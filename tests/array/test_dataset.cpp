// Dataset: validation, coordinates attached to variables, per-variable operations, one-run compute.
#include <gtest/gtest.h>

#include <numeric>

#include "cubist/cubist.hpp"

namespace cubist {
namespace {

constexpr std::int64_t kT = 6, kY = 4, kX = 5;

// temp(time, y, x) = 100*t + 10*y + x; elev(y, x) = y*x; a "time" datetime and an "x" float coordinate.
Dataset sample(const ChunkSpec& spec = ChunkSpec{{"time", 2}, {"y", 3}, {"x", 2}}) {
  std::vector<double> temp, elev;
  for (std::int64_t t = 0; t < kT; ++t)
    for (std::int64_t y = 0; y < kY; ++y)
      for (std::int64_t x = 0; x < kX; ++x) temp.push_back(100.0 * static_cast<double>(t) + 10.0 * static_cast<double>(y) + static_cast<double>(x));
  for (std::int64_t y = 0; y < kY; ++y)
    for (std::int64_t x = 0; x < kX; ++x) elev.push_back(static_cast<double>(y * x));
  std::vector<double> xs;
  for (std::int64_t x = 0; x < kX; ++x) xs.push_back(static_cast<double>(x) * 10);
  DataArray t = DataArray::from_vector(temp, {{"time", kT}, {"y", kY}, {"x", kX}}).chunk(spec);
  DataArray e = DataArray::from_vector(elev, {{"y", kY}, {"x", kX}}, {}, Attrs{{"units", "m"}});
  Coords coords{{"time", date_range("time", "2021-03-01", kT, "D")}, {"x", Coordinate::from_vector("x", xs)}};
  return Dataset({{"temp", t}, {"elev", e}}, coords, Attrs{{"title", "sample"}});
}

std::vector<double> values_of(const DataArray& a) {
  DataArray r = a.compute();  // keeps the chunk alive while we copy
  auto v = r.values<double>();
  return {v.begin(), v.end()};
}

TEST(Dataset, VariablesCarryTheCoordinatesThatFit) {
  Dataset ds = sample();
  EXPECT_EQ(ds.data_vars(), (std::vector<std::string>{"temp", "elev"}));
  EXPECT_EQ(ds.dims(), (DimSizes{{"time", kT}, {"y", kY}, {"x", kX}}));
  EXPECT_TRUE(ds.contains("temp"));
  EXPECT_FALSE(ds.contains("rain"));
  const DataArray& temp = ds["temp"];
  EXPECT_EQ(temp.name(), "temp");
  EXPECT_TRUE(temp.coords().contains("time"));
  EXPECT_TRUE(temp.coords().contains("x"));
  const DataArray& elev = ds["elev"];
  EXPECT_FALSE(elev.coords().contains("time"));
  EXPECT_TRUE(elev.coords().contains("x"));
  EXPECT_EQ(elev.attrs().at("units"), "m");
  EXPECT_EQ(ds.attrs().at("title"), "sample");
  EXPECT_THROW(ds["rain"], KeyError);
  EXPECT_NE(ds.repr().find("temp"), std::string::npos);
}

TEST(Dataset, ConstructorValidates) {
  DataArray a = zeros<float>({{"x", 3}, {"y", 2}});
  DataArray b = zeros<float>({{"x", 4}});
  try {
    Dataset({{"a", a}, {"b", b}});
    FAIL();
  } catch (const DimensionError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("'b'"), std::string::npos) << m;
    EXPECT_NE(m.find("'x'"), std::string::npos) << m;
  }
  EXPECT_THROW(Dataset({{"a", a}}, {{"x", Coordinate::from_vector<double>("x", {1, 2})}}), DimensionError);
  EXPECT_THROW(Dataset({{"a", a}, {"a", a}}), ValueError);
  EXPECT_THROW(Dataset({{"a", DataArray()}}), ValueError);
  // A variable's own coordinates join the dataset's.
  DataArray c = a.assign_coords("x", Coordinate::from_vector<double>("x", {1, 2, 3}));
  Dataset ds({{"c", c}, {"a", a}});
  EXPECT_TRUE(ds.coords().contains("x"));
  EXPECT_TRUE(ds["a"].coords().contains("x"));
  EXPECT_THROW(Dataset({{"c", c}}, {{"x", Coordinate::from_vector<double>("x", {1, 2, 4})}}), ValueError);
}

TEST(Dataset, AssignDropAndAttrs) {
  Dataset ds = sample();
  Dataset more = ds.assign("twice", ds["temp"] * 2.0);
  EXPECT_EQ(more.data_vars(), (std::vector<std::string>{"temp", "elev", "twice"}));
  EXPECT_EQ(values_of(more["twice"])[7], 2 * values_of(ds["temp"])[7]);
  EXPECT_THROW(ds.assign("bad", zeros<double>({{"x", 9}})), DimensionError);
  Dataset replaced = ds.assign("elev", ds["elev"] + 1.0);
  EXPECT_EQ(replaced.data_vars(), (std::vector<std::string>{"temp", "elev"}));
  Dataset dropped = ds.drop_vars({"elev", "time"});
  EXPECT_EQ(dropped.data_vars(), (std::vector<std::string>{"temp"}));
  EXPECT_FALSE(dropped.coords().contains("time"));
  EXPECT_FALSE(dropped["temp"].coords().contains("time"));
  EXPECT_THROW(ds.drop_vars({"rain"}), KeyError);
  Dataset attrs = ds.assign_attrs({{"source", "test"}});
  EXPECT_EQ(attrs.attrs().at("title"), "sample");
  EXPECT_EQ(attrs.attrs().at("source"), "test");
}

TEST(Dataset, ReducePerVariable) {
  Dataset m = sample().mean("time");
  EXPECT_EQ(m.dims(), (DimSizes{{"y", kY}, {"x", kX}}));
  EXPECT_FALSE(m.coords().contains("time"));
  EXPECT_TRUE(m.coords().contains("x"));
  Dataset c = m.compute();
  auto t = values_of(c["temp"]);
  for (std::int64_t y = 0; y < kY; ++y)
    for (std::int64_t x = 0; x < kX; ++x) {
      double sum = 0;
      for (std::int64_t tt = 0; tt < kT; ++tt) sum += 100.0 * static_cast<double>(tt) + 10.0 * static_cast<double>(y) + static_cast<double>(x);
      EXPECT_DOUBLE_EQ(t[static_cast<std::size_t>(y * kX + x)], sum / kT);
    }
  // elev has no time dim: left as it is.
  EXPECT_EQ(values_of(c["elev"])[7], 1.0 * 2);
  EXPECT_EQ(c["elev"].dims(), (std::vector<std::string>{"y", "x"}));
  // Over x: both variables lose it.
  Dataset mx = sample().reduce("max", {"x"}).compute();
  EXPECT_EQ(values_of(mx["elev"]), (std::vector<double>{0, 4, 8, 12}));
  EXPECT_THROW(sample().mean("z"), DimensionError);
  // Every dim.
  Dataset all = sample().reduce("sum", {}).compute();
  EXPECT_EQ(all["elev"].ndim(), 0u);
  EXPECT_DOUBLE_EQ(values_of(all["elev"])[0], 0 + 1 * 10 + 2 * 10 + 3 * 10);
}

TEST(Dataset, IselAndSelPerVariable) {
  for (const ChunkSpec& spec : {ChunkSpec{{"time", 1}}, ChunkSpec{{"time", std::vector<std::int64_t>{4, 2}}, {"x", 3}}}) {
    Dataset ds = sample(spec);
    Dataset s = ds.isel({{"time", -1}, {"x", Slice{std::nullopt, std::nullopt, -2}}});
    EXPECT_EQ(s.dims(), (DimSizes{{"y", kY}, {"x", 3}}));
    EXPECT_TRUE(s.coords().at("time").dims().empty());
    EXPECT_DOUBLE_EQ(s.coords().at("x").numeric_value(0), 40);
    auto t = values_of(s["temp"]);
    auto e = values_of(s["elev"]);
    std::size_t k = 0;
    for (std::int64_t y = 0; y < kY; ++y)
      for (std::int64_t x : {4, 2, 0}) {
        EXPECT_EQ(t[k], 500.0 + 10.0 * static_cast<double>(y) + static_cast<double>(x));
        EXPECT_EQ(e[k], static_cast<double>(y * x));
        ++k;
      }
    // sel: a datetime slice leaves elev untouched; labels on x select both variables.
    Dataset l = ds.sel({{"time", LabelSlice{"2021-03-02", "2021-03-03"}}, {"x", std::vector<Label>{30, 10}}});
    EXPECT_EQ(l.dims(), (DimSizes{{"time", 2}, {"y", kY}, {"x", 2}}));
    EXPECT_EQ(l.coords().at("time").format_value(1), "2021-03-03");
    EXPECT_EQ(values_of(l["elev"])[1 * 2 + 0], 3.0);  // y=1, x=3
    EXPECT_EQ(values_of(l["temp"])[0], 100.0 + 3);
    Dataset mean = ds.sel({{"time", "2021-03"}}).mean("time").compute();
    EXPECT_DOUBLE_EQ(values_of(mean["temp"])[0], 250.0);
  }
  EXPECT_THROW(sample().isel({{"z", 0}}), DimensionError);
  EXPECT_THROW(sample().sel({{"y", 0}}), KeyError);
  EXPECT_THROW(sample().sel({{"time", "2022-01-01"}}), KeyError);
}

TEST(Dataset, ChunkPerVariable) {
  Dataset c = sample().chunk({{"time", 3}, {"y", 1}});
  EXPECT_EQ(c["temp"].chunks().chunks(0), (std::vector<std::int64_t>{3, 3}));
  EXPECT_EQ(c["elev"].chunks().chunks(0), (std::vector<std::int64_t>{1, 1, 1, 1}));
  EXPECT_THROW(sample().chunk({{"z", 2}}), DimensionError);
  Dataset a = sample().chunk("auto");
  EXPECT_EQ(a["temp"].chunks().total_chunks(), 1);
}

TEST(Dataset, ComputeRunsEveryVariableInOneGraph) {
  DataArray base = random<double>({{"y", 40}, {"x", 30}}, {{"y", 10}, {"x", 10}}, 3);
  Dataset ds({{"a", base + 1.0}, {"b", base * 2.0}, {"c", base.mean("x")}});
  ComputeStats all, sa, sb, sc;
  Dataset r = ds.compute({}, &all);
  ds["a"].compute({}, &sa);
  ds["b"].compute({}, &sb);
  ds["c"].compute({}, &sc);
  // The shared random chunks are made once, not once per variable.
  EXPECT_LT(all.tasks, sa.tasks + sb.tasks + sc.tasks);
  auto in = values_of(base);
  auto a = values_of(r["a"]), b = values_of(r["b"]), c = values_of(r["c"]);
  for (std::size_t i = 0; i < in.size(); ++i) {
    EXPECT_DOUBLE_EQ(a[i], in[i] + 1);
    EXPECT_DOUBLE_EQ(b[i], in[i] * 2);
  }
  for (std::size_t y = 0; y < 40; ++y) {
    double sum = 0;
    for (std::size_t x = 0; x < 30; ++x) sum += in[y * 30 + x];
    EXPECT_NEAR(c[y], sum / 30, 1e-12);
  }
  EXPECT_TRUE(r["a"].in_memory());
  EXPECT_TRUE(r["c"].in_memory());
  // Already in memory: nothing to run.
  ComputeStats again;
  r.compute({}, &again);
  EXPECT_EQ(again.tasks, 0u);
}

}  // namespace
}  // namespace cubist
