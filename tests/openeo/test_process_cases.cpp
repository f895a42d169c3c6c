// The openEO processes' own test cases (tests/openeo/process_cases: Open-EO/openeo-processes
// v2.0.0-rc.2, Apache-2.0, see the README there) run against cubist's processes: one test per
// process file, every case of it checked, a summary per process printed at the end.
//
// How a case becomes a cubist run (the "runner" conventions the upstream README leaves to us):
// - Each case is one node of a process graph; a data cube argument (inline or a `$ref` to an
//   asset) is a cube from the test-only `test_cube` process; `{"type": "nodata"}` is null; a `$ref`
//   to any other file (a WKT2 CRS) is that file's text.
// - Cubes are float64 with no-data as NaN (cubist's convention, as stackstac's): values equal to
//   a cube's numeric `nodata`, and nulls, become NaN, in inputs and in expected results alike;
//   booleans are 1/0 (cubist's booleans on float cubes are 1/0 with NaN for no-data).
// - openEO's dimension names `t` and `bands` become cubist's `time` and `band` (what load_stac
//   makes) and are mapped back when results are compared; labels keep their values, spatial
//   dimensions get the cube's `reference_system` as CRS. Dimension order is not compared (the
//   values are compared in the case's order). aggregate_temporal_period keeps datetime labels
//   and puts openEO's period labels ("2023-017") in the `period` coordinate: those are compared.
// - `from_argument` (the openEO API 0.4 name some cases still use) is read as `from_node` when a
//   node of that name exists, else as `from_parameter`.
// - Numbers are equal within the case's `delta` (default 1e-10, absolute or relative). A case with
//   only `throws` passes when the process fails with a cubist::Error (cubist's messages are one
//   line naming node and argument, not openEO error codes); with both `returns` and `throws`
//   either outcome passes, as the upstream schema says.
// - Cases that need a process cubist does not have (`required`), or labeled arrays outside a
//   cube, are skipped. Cases where cubist deliberately differs, or the case is wrong, are listed in
//   kDeviations with the reason; they still run and must still differ, so the list stays true.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "cubist/datetime.hpp"
#include "helpers.hpp"
#include "json5.hpp"

namespace cubist::openeo::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const fs::path kCases = fs::path(CUBIST_SOURCE_DIR) / "tests/openeo/process_cases";

// "<process>#<case index>" -> why cubist differs from the case (each reason cites the case).
const std::string kEmpty =
    "the case expects an empty cube; cubist refuses an empty selection with one line naming the argument "
    "(it builds no zero-length dimensions: nothing could be computed or saved from one, and the error points at "
    "the filter that caused it instead of a later process)";
const std::string kNoDataAt03 =
    "the expected value at (y 0, x 3) divides/multiplies 165, the value of assets/xyb-enumerated-bands.json5, but "
    "the input assets/xyb-minimal-int.json5 holds 255 there, its no-data value, so the definition's no-data rule "
    "gives no-data";
const std::map<std::string, std::string> kDeviations = {
    {"aggregate_temporal_period#2",
     "cubist's temporal dimension is `time` (xarray/stackstac) and accepts openEO's `t` for it, so `dimension: time` "
     "exists (cube.hpp)"},
    {"aggregate_temporal_period#3",
     "the hour case expects the day case's labels (2020-06-01-00, 2020-06-02-00, ...); times 00:00-04:00 of one day "
     "fall in the 5 hours 2020-06-01-00 .. -04 (also noted in test_periods.cpp)"},
    {"aggregate_temporal_period#8",
     "the expected cube renames dimension t2 to t; the definition: dimension properties (name, type, ...) remain "
     "unchanged except the labels and resolution"},
    {"aggregate_temporal_period#9", "as #8: the expected cube renames dimension t2 to t"},
    {"apply#2", kNoDataAt03},
    {"reduce_dimension#1", kNoDataAt03},
    {"count#4",
     "the condition is a bare graph without the `process_graph` wrapper (API v1.2) and reads parameter `element`, "
     "while count.json's condition has parameters x and context: an invalid graph, refused by validation"},
    {"count#5", "as #4: a bare condition graph reading the undeclared parameter `element`"},
    {"filter_bands#2", kEmpty},
    {"filter_bbox#0", kEmpty},
    {"filter_spatial#0", kEmpty},
    {"filter_temporal#5", kEmpty},
    {"filter_bands#4",
     "the case asks for bands [red, blue] and expects [blue, green] with their data; the definition keeps the "
     "order given (case #3 is the same call with the right answer)"},
    {"lte#15",
     "expects lte(Infinity, Infinity) = false; IEEE 754, which lte's definition follows, says +inf <= +inf, and "
     "gte.json5's same case expects true"},
    {"mask_polygon#0",
     "`inside` is swapped: for a polygon that misses the cube the definition replaces every pixel when inside is "
     "false and none when true (OpenEoFilters.MaskPolygonMissingTheCube checks that)"},
    {"mask_polygon#1", "as #0: inside false must replace every pixel when the polygon misses the cube"},
    {"mask_polygon#6",
     "assets/xytb-s2-small-masked-inside.json5 leaves the third row unmasked in its last plane (nir, 2020-06-13) "
     "and masks it in the other 23 planes; the polygon covers that row (masked-outside.json5 keeps it)"},
    {"rename_labels#5",
     "omits the required `target` and passes the new labels as `source` (rename_labels.json: target required, "
     "source optional); OpenEoCube.RenameLabelsAndMergeCubes renames enumerated labels with target"},
    {"rename_labels#7", "as #5: the new label given as source, target omitted"},
};

struct Tally {
  int run = 0, passed = 0, skipped = 0, deviated = 0;
};
std::map<std::string, Tally>& tallies() {
  static std::map<std::string, Tally> t;
  return t;
}

std::string cubist_dim(const std::string& d) { return d == "t" ? "time" : d == "bands" ? "band" : d; }
std::string openeo_dim(const std::string& d) { return d == "time" ? "t" : d == "band" ? "bands" : d; }

json read_ref(const std::string& ref) {
  const fs::path p = kCases / ref;
  if (p.extension() == ".json5") return read_json5_file(p.string());
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json resolve_ref(const json& j) { return j.is_object() && j.contains("$ref") ? read_ref(j["$ref"]) : j; }
bool is_cube(const json& j) { return j.is_object() && j.value("type", "") == "datacube"; }

struct CubeDim {
  std::string name, type;
  json values;
  std::string crs;
};

std::vector<CubeDim> cube_dims(const json& c) {
  std::vector<CubeDim> out;
  const json& d = c.at("dimensions");
  if (d.is_array()) {
    for (const auto& e : d) out.push_back({e.at("name"), e.value("type", "other"), e.at("values"), e.value("reference_system", "")});
    return out;
  }
  for (const auto& name : c.at("order")) {
    const json& e = d.at(name.get<std::string>());
    out.push_back({name, e.value("type", "other"), e.at("values"), e.value("reference_system", "")});
  }
  return out;
}

// Flattens nested data (C order) into doubles: null and the cube's numeric no-data -> NaN.
void flatten(const json& data, const json& nodata, std::vector<double>& out) {
  if (data.is_array()) {
    for (const auto& d : data) flatten(d, nodata, out);
    return;
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (data.is_null()) out.push_back(nan);
  else if (data.is_boolean()) out.push_back(data.get<bool>() ? 1 : 0);
  else {
    const double v = data.get<double>();
    out.push_back(nodata.is_number() && v == nodata.get<double>() ? nan : v);
  }
}

json nodata_of(const json& c) {
  json n = c.value("nodata", json());
  return n.is_array() && !n.empty() ? n[0] : n;
}

Coordinate coordinate_of(const CubeDim& d, const std::string& dim) {
  if (d.type == "temporal") {
    std::vector<std::string> iso;
    for (const auto& v : d.values) iso.push_back(v);
    return Coordinate::datetimes(dim, iso);
  }
  bool numeric = true;
  for (const auto& v : d.values) numeric = numeric && v.is_number();
  if (numeric) {
    std::vector<double> v;
    for (const auto& x : d.values) v.push_back(x.get<double>());
    return Coordinate::from_vector<double>(dim, v);
  }
  std::vector<std::string> s;
  for (const auto& v : d.values) s.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  return Coordinate::strings(dim, s);
}

DataArray cube_of(const json& c) {
  DimSizes sizes;
  Coords coords;
  std::string crs;
  for (const auto& d : cube_dims(c)) {
    const std::string dim = cubist_dim(d.name);
    sizes.emplace_back(dim, static_cast<std::int64_t>(d.values.size()));
    coords.set(dim, coordinate_of(d, dim));
    if (d.type == "spatial" && !d.crs.empty()) crs = d.crs;
  }
  std::vector<double> v;
  if (!c.value("data", json()).is_null()) flatten(c["data"], nodata_of(c), v);
  std::int64_t n = 1;
  for (const auto& s : sizes) n *= s.second;
  if (v.empty()) v.assign(static_cast<std::size_t>(n), 0.0);  // values irrelevant to the case
  DataArray a = DataArray::from_vector(v, sizes, coords);
  return crs.empty() ? a : write_crs(a, Crs::from_user_input(crs));
}

// Why a case cannot run on cubist ("" when it can).
std::string unsupported(const json& test) {
  for (const auto& p : test.value("required", json::array()))
    if (!find_process(p.get<std::string>())) return "needs process " + p.get<std::string>();
  std::function<bool(const json&)> labeled = [&](const json& j) {
    if (j.is_object() && j.value("type", "") == "labeled-array") return true;
    if (j.is_structured())
      for (const auto& e : j) if (labeled(e)) return true;
    return false;
  };
  if (labeled(test.at("arguments"))) return "labeled arrays exist only as cube dimensions in cubist";
  return "";
}

// Literal arguments: nodata -> null, `$ref`s to non-cube files -> their text, from_argument read
// as from_node / from_parameter inside callbacks.
json literal(const json& j, const json* graph_nodes) {
  if (j.is_object()) {
    if (j.value("type", "") == "nodata" && j.size() == 1) return nullptr;
    if (j.contains("$ref") && j.size() == 1) return read_ref(j["$ref"]);
    if (j.contains("from_argument") && j.size() == 1) {
      const std::string name = j["from_argument"];
      if (graph_nodes && graph_nodes->contains(name)) return {{"from_node", name}};
      return {{"from_parameter", name}};
    }
    json out = json::object();
    if (j.contains("process_graph") && j["process_graph"].is_object()) {
      for (auto& [k, v] : j.items()) out[k] = k == "process_graph" ? json() : literal(v, graph_nodes);
      for (auto& [id, node] : j["process_graph"].items()) out["process_graph"][id] = literal(node, &j["process_graph"]);
      return out;
    }
    for (auto& [k, v] : j.items()) out[k] = literal(v, graph_nodes);
    return out;
  }
  if (j.is_array()) {
    json out = json::array();
    for (const auto& e : j) out.push_back(literal(e, graph_nodes));
    return out;
  }
  return j;
}

json case_graph(const std::string& process, const json& arguments, const std::string& tag) {
  json nodes = json::object(), args = json::object();
  for (auto& [name, raw] : arguments.items()) {
    const json v = resolve_ref(raw);
    if (is_cube(v)) {
      const std::string cube_name = tag + "/" + name;
      set_test_cube(cube_name, cube_of(v));
      nodes["cube_" + name] = {{"process_id", "test_cube"}, {"arguments", {{"name", cube_name}}}};
      args[name] = {{"from_node", "cube_" + name}};
    } else {
      args[name] = literal(raw, nullptr);
    }
  }
  nodes["case"] = {{"process_id", process}, {"arguments", args}, {"result", true}};
  return {{"process_graph", nodes}};
}

bool near(double got, double want, double delta) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  const double diff = std::abs(got - want);
  return diff <= delta || diff <= delta * std::abs(want);
}

// "" when `got` is the expected cube, else what differs.
std::string compare_cube(const DataArray& got, const json& want, double delta) {
  const auto dims = cube_dims(want);
  std::set<std::string> want_names, got_names;
  std::vector<std::string> order;
  for (const auto& d : dims) {
    want_names.insert(d.name);
    order.push_back(cubist_dim(d.name));
  }
  for (const auto& d : got.dims()) got_names.insert(openeo_dim(d));
  if (want_names != got_names) {
    std::string g;
    for (const auto& d : got_names) g += d + " ";
    return "dimensions differ: got " + g;
  }
  for (const auto& d : dims) {
    const std::string dim = cubist_dim(d.name);
    if (got.size(dim) != static_cast<std::int64_t>(d.values.size()))
      return fmt::format("'{}' has {} labels, want {}", d.name, got.size(dim), d.values.size());
    const Coordinate* c = got.coords().contains(dim) ? &got.coords().at(dim) : nullptr;
    // aggregate_temporal_period's openEO labels ("2023-017") are cubist's `period` coordinate.
    const Coordinate* period = got.coords().contains("period") && got.coords().at("period").dims() == std::vector<std::string>{dim}
                                   ? &got.coords().at("period") : nullptr;
    for (std::size_t i = 0; i < d.values.size(); ++i) {
      const json& w = d.values[i];
      const auto k = static_cast<std::int64_t>(i);
      std::string g = c ? (c->is_string() ? c->string_values()[i] : c->format_value(k)) : std::to_string(i);
      bool same;
      if (d.type == "temporal" && period) same = period->string_values()[i] == w.get<std::string>();
      else if (d.type == "temporal") same = c && !c->is_string() && static_cast<std::int64_t>(c->numeric_value(k)) == datetime_ns(w.get<std::string>());
      else if (w.is_number()) same = c && (c->is_string() ? g == fmt::format("{}", w.get<double>()) : near(c->numeric_value(k), w.get<double>(), 1e-9));
      else same = g == w.get<std::string>();
      if (!same) return fmt::format("label {} of '{}' is {}, want {}", i, d.name, g, w.dump());
    }
  }
  if (want.value("data", json()).is_null()) return "";
  std::vector<double> w;
  flatten(want["data"], nodata_of(want), w);
  const auto g = values(got.transpose(order));
  if (g.size() != w.size()) return fmt::format("{} values, want {}", g.size(), w.size());
  for (std::size_t i = 0; i < w.size(); ++i)
    if (!near(g[i], w[i], delta)) return fmt::format("value {} is {}, want {}", i, g[i], w[i]);
  return "";
}

std::string compare_scalar(const Value& got, const json& want, double delta) {
  if (want.is_object() && want.value("type", "") == "nodata") return got.is_null() ? "" : "got " + got.describe() + ", want null";
  if (want.is_null()) return got.is_null() ? "" : "got " + got.describe() + ", want null";
  if (want.is_boolean()) {
    if (got.kind == Value::Kind::Boolean && got.scalar.get<bool>() == want.get<bool>()) return "";
    return "got " + got.describe() + (got.kind == Value::Kind::Boolean ? " " + got.scalar.dump() : "") + ", want " + want.dump();
  }
  if (want.is_number()) {
    if (got.kind != Value::Kind::Number) return "got " + got.describe() + ", want " + want.dump();
    const double g = got.scalar.get<double>(), w = want.get<double>();
    return near(g, w, delta) ? "" : fmt::format("got {}, want {}", g, w);
  }
  if (want.is_string())
    return got.kind == Value::Kind::String && got.scalar == want ? "" : "got " + got.describe() + ", want " + want.dump();
  if (want.is_array()) {
    if (got.kind != Value::Kind::List || got.items.size() != want.size()) return "got " + got.describe() + ", want " + want.dump();
    for (std::size_t i = 0; i < want.size(); ++i)
      if (auto d = compare_scalar(got.items[i], want[i], delta); !d.empty()) return fmt::format("item {}: {}", i, d);
    return "";
  }
  return "cannot compare with " + want.dump();
}

// "" when cubist's outcome is the case's, else what differs.
std::string run_case(const std::string& process, const json& test, const std::string& tag) {
  const bool may_throw = test.contains("throws");
  const double delta = test.value("delta", 1e-10);
  Value got;
  try {
    got = eval(case_graph(process, test.at("arguments"), tag));
  } catch (const Error& e) {
    return may_throw ? "" : std::string("failed: ") + e.what();
  }
  if (!test.contains("returns")) return "returned " + got.describe() + ", want the error " + test["throws"].dump();
  const json want = resolve_ref(test["returns"]);
  std::string diff;
  try {
    if (is_cube(want)) diff = got.is_array_like() ? compare_cube(got.cube, want, delta) : "got " + got.describe() + ", want a data cube";
    else diff = compare_scalar(got, want, delta);
  } catch (const Error& e) {
    diff = std::string("computing the result failed: ") + e.what();
  }
  return diff;
}

class ProcessCases : public ::testing::TestWithParam<std::string> {};

TEST_P(ProcessCases, MatchOpenEoTestSuite) {
  const json doc = read_json5_file((kCases / (GetParam() + ".json5")).string());
  const std::string process = doc.at("id");
  ASSERT_NE(find_process(process), nullptr) << process;
  Tally& t = tallies()[process];
  const auto& tests = doc.at("tests");
  for (std::size_t i = 0; i < tests.size(); ++i) {
    const std::string tag = fmt::format("{}#{}", process, i);
    SCOPED_TRACE(tag);
    if (!unsupported(tests[i]).empty()) {
      ++t.skipped;
      continue;
    }
    ++t.run;
    const std::string diff = run_case(process, tests[i], tag);
    if (auto dev = kDeviations.find(tag); dev != kDeviations.end()) {
      ++t.deviated;
      EXPECT_FALSE(diff.empty()) << tag << " now passes: remove it from kDeviations (" << dev->second << ")";
      continue;
    }
    EXPECT_EQ(diff, "") << tag << ": " << tests[i].at("arguments").dump().substr(0, 300);
    if (diff.empty()) ++t.passed;
  }
}

// apply_dimension: every upstream case needs a process cubist lacks (extrema, quantiles,
// array_create), so these run the same assets through callbacks cubist has; the expected values
// are computed here from the asset's numbers.
json asset(const std::string& name) { return read_json5_file((kCases / "assets" / name).string()); }

json callback_graph(json nodes) { return {{"process_graph", std::move(nodes)}}; }
json from_param(const std::string& p) { return {{"from_parameter", p}}; }
// The 3-d cube `like` holding `values` (C order) instead, NaN written as null and no nodata value.
json with_values(const json& like, const std::vector<double>& values) {
  json out = like;
  out["nodata"] = nullptr;
  std::size_t i = 0;
  for (auto& plane : out["data"])
    for (auto& row : plane)
      for (auto& x : row) x = std::isnan(values[i]) ? json(nullptr) : json(values[i]), ++i;
  return out;
}

TEST(OpenEoProcessCasesByHand, ApplyDimensionAnomalyAlongTime) {
  const json in = asset("xyt-more-timestamps.json5");  // (t 5, y 3, x 4) with no-data
  std::vector<double> v;
  flatten(in["data"], nodata_of(in), v);
  // x - mean(x) along t per pixel, no-data skipped by the mean and kept as no-data.
  std::vector<double> want(v.size());
  const std::size_t plane = 12;
  for (std::size_t p = 0; p < plane; ++p) {
    double sum = 0, n = 0;
    for (std::size_t t = 0; t < 5; ++t)
      if (!std::isnan(v[t * plane + p])) sum += v[t * plane + p], n += 1;
    for (std::size_t t = 0; t < 5; ++t) want[t * plane + p] = v[t * plane + p] - sum / n;
  }
  const json expected = with_values(in, want);
  const json process = callback_graph(
      {{"m", {{"process_id", "mean"}, {"arguments", {{"data", from_param("data")}}}}},
       {"r", {{"process_id", "subtract"}, {"arguments", {{"x", from_param("data")}, {"y", {{"from_node", "m"}}}}}, {"result", true}}}});
  const json test = {{"arguments", {{"data", in}, {"process", process}, {"dimension", "t"}}}, {"returns", expected}};
  EXPECT_EQ(run_case("apply_dimension", test, "by-hand/anomaly"), "");
  // The same along a dimension the cube lacks fails naming it (DimensionNotAvailable).
  const json missing = {{"arguments", {{"data", in}, {"process", process}, {"dimension", "bands"}}}, {"throws", "DimensionNotAvailable"}};
  EXPECT_EQ(run_case("apply_dimension", missing, "by-hand/missing"), "");
  try {
    eval(case_graph("apply_dimension", missing["arguments"], "by-hand/missing-message"));
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dimension 'bands' is not in the data cube"), std::string::npos) << e.what();
  }
}

TEST(OpenEoProcessCasesByHand, ApplyDimensionShareOfBands) {
  const json in = asset("xyb-minimal-int.json5");  // (bands 3, y 3, x 4), no-data 255
  std::vector<double> v;
  flatten(in["data"], nodata_of(in), v);
  // Each band's share of the pixel's sum over the bands (no-data skipped by sum, kept as no-data).
  std::vector<double> want(v.size());
  for (std::size_t p = 0; p < 12; ++p) {
    double sum = 0;
    for (std::size_t b = 0; b < 3; ++b)
      if (!std::isnan(v[b * 12 + p])) sum += v[b * 12 + p];
    for (std::size_t b = 0; b < 3; ++b) want[b * 12 + p] = v[b * 12 + p] / sum;
  }
  const json expected = with_values(in, want);
  const json process = callback_graph(
      {{"s", {{"process_id", "sum"}, {"arguments", {{"data", from_param("data")}}}}},
       {"r", {{"process_id", "divide"}, {"arguments", {{"x", from_param("data")}, {"y", {{"from_node", "s"}}}}}, {"result", true}}}});
  const json test = {{"arguments", {{"data", in}, {"process", process}, {"dimension", "bands"}}}, {"returns", expected}};
  EXPECT_EQ(run_case("apply_dimension", test, "by-hand/share"), "");
  // A target dimension replaces the source in its place, labelled 0, 1, ... (the definition's rule).
  json target = test;
  target["arguments"]["target_dimension"] = "shares";
  for (auto& d : target["returns"]["dimensions"].items())
    if (d.key() == "bands") {
      json dim = d.value();
      dim["type"] = "other";
      dim["values"] = json::array({0, 1, 2});
      target["returns"]["dimensions"].erase("bands");
      target["returns"]["dimensions"]["shares"] = dim;
      break;
    }
  if (target["returns"].contains("order"))
    for (auto& o : target["returns"]["order"])
      if (o == "bands") o = "shares";
  EXPECT_EQ(run_case("apply_dimension", target, "by-hand/target"), "");
  // Naming the source (openEO's name for it) keeps its labels.
  json same = test;
  same["arguments"]["target_dimension"] = "bands";
  EXPECT_EQ(run_case("apply_dimension", same, "by-hand/target-is-source"), "");
  // A target that is another existing dimension is refused, naming it.
  json clash = test;
  clash["arguments"]["target_dimension"] = "x";
  clash.erase("returns");
  clash["throws"] = true;
  EXPECT_EQ(run_case("apply_dimension", clash, "by-hand/target-exists"), "");
}

std::vector<std::string> case_files() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kCases))
    if (e.path().extension() == ".json5") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

INSTANTIATE_TEST_SUITE_P(OpenEo, ProcessCases, ::testing::ValuesIn(case_files()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// Prints how many cases of each process ran, passed, were skipped or deviate.
class Summary : public ::testing::Environment {
 public:
  void TearDown() override {
    if (tallies().empty()) return;
    Tally all;
    std::printf("openEO process test cases: process run passed deviated skipped\n");
    for (const auto& [p, t] : tallies()) {
      std::printf("  %-26s %3d %3d %3d %3d\n", p.c_str(), t.run, t.passed, t.deviated, t.skipped);
      all.run += t.run, all.passed += t.passed, all.deviated += t.deviated, all.skipped += t.skipped;
    }
    std::printf("  %-26s %3d %3d %3d %3d\n", "total", all.run, all.passed, all.deviated, all.skipped);
  }
};
[[maybe_unused]] const auto* const kSummary = ::testing::AddGlobalTestEnvironment(new Summary);

}  // namespace
}  // namespace cubist::openeo::testing
