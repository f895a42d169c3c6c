// aggregate_temporal_period returns every period of the source cube's temporal extent: the
// openeo-processes test cases for each period type (tests/aggregate_temporal_period.json5 of
// Open-EO/openeo-processes: a (t 5, y 3, x 4) cube with no-data, mean as the reducer), the
// definition's own examples, and extents set by filter_temporal with empty leading, middle and
// trailing periods.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "cubist/datetime.hpp"
#include "helpers.hpp"

namespace cubist::openeo::testing {
namespace {

using nlohmann::json;
using Index = std::vector<std::int64_t>;
using Labels = std::vector<std::string>;
using Plane = std::vector<double>;  // (y 3, x 4)
const double nan = std::numeric_limits<double>::quiet_NaN();

// The cases' five time steps, and the expected means of steps 0-1 and 2-3 and step 4 itself.
const std::vector<Plane> kSteps = {
    {17.5, 53.75, -27.1, -64.25, -18.0, 8.45, -3.11, -20.5, 50.4, 49.24, 25.16, -81.6},
    {-63.65, 9.0, -68.52, -8.0, 1.05, -63.8, 73.05, 51.05, 47.86, -21.30, nan, 46.15},
    {-13.40, 36.07, 43.88, 74.72, 79.92, 74.10, 98.28, -23.62, -70.40, -30.03, 1.26, 5.28},
    {71.79, nan, 97.01, -76.48, -21.55, nan, -60.00, 56.84, -11.94, -54.23, nan, 73.26},
    {-12.23, 61.46, 2.38, -84.76, 28.36, 48.45, -65.85, 65.90, 29.50, -45.82, 78.05, 58.27}};
const Plane kMean01 = {-23.075, 31.375, -47.81, -36.125, -8.475, -27.675, 34.97, 15.275, 49.13, 13.97, 25.16, -17.725};
const Plane kMean23 = {29.195, 36.07, 70.445, -0.88, 29.185, 74.1, 19.14, 16.61, -41.17, -42.13, 1.26, 39.27};
const Plane kEmpty(12, nan);

DataArray case_cube(const std::vector<std::string>& times, const std::vector<Plane>& steps) {
  std::vector<double> v;
  for (const auto& s : steps) v.insert(v.end(), s.begin(), s.end());
  Coords coords{{"time", Coordinate::datetimes("time", times)},
                {"y", Coordinate::from_vector<double>("y", {5757495.0, 5757485.0, 5757475.0})},
                {"x", Coordinate::from_vector<double>("x", {404835.0, 404845.0, 404855.0, 404865.0})}};
  return DataArray::from_vector(v, {{"time", static_cast<std::int64_t>(steps.size())}, {"y", 3}, {"x", 4}}, coords);
}

json callback(const std::string& pid, json args) {
  return {{"process_graph", {{"r", {{"process_id", pid}, {"arguments", std::move(args)}, {"result", true}}}}}};
}

// aggregate_temporal_period(data, period, <reducer>(data)), after filter_temporal(extent) if given.
DataArray aggregate(const DataArray& cube, const std::string& period, const std::string& reducer = "mean",
                    const json& extent = nullptr) {
  set_test_cube("periods", cube);
  json g = {{"c", {{"process_id", "test_cube"}, {"arguments", {{"name", "periods"}}}}}};
  std::string input = "c";
  if (!extent.is_null()) {
    g["f"] = {{"process_id", "filter_temporal"}, {"arguments", {{"data", {{"from_node", "c"}}}, {"extent", extent}}}};
    input = "f";
  }
  g["p"] = {{"process_id", "aggregate_temporal_period"},
            {"arguments", {{"data", {{"from_node", input}}}, {"period", period}, {"reducer", callback(reducer, {{"data", {{"from_parameter", "data"}}}})}}},
            {"result", true}};
  return eval(g).cube;
}

Labels period_labels(const DataArray& a) { return a.coords().at("period").string_values(); }
Labels period_starts(const DataArray& a) {
  Labels out;
  for (std::int64_t t : a.coords().at("time").values().values<std::int64_t>()) out.push_back(format_datetime(t));
  return out;
}

void expect_planes(const DataArray& a, const std::vector<Plane>& planes) {
  std::vector<double> want;
  for (const auto& p : planes) want.insert(want.end(), p.begin(), p.end());
  expect_values(a, want);
}

struct Case {
  std::string period;
  std::vector<std::string> times;
  Labels labels;
  std::vector<Plane> result;
  bool nodata_first = false;  // decade-ad's case prepends a no-data step
};

TEST(OpenEoPeriods, OpenEoProcessesTestCasesForEachPeriod) {
  const std::vector<Case> cases = {
      // The definition's day case labels its periods "2020-06-01-00".. although its returns say YYYY-DDD.
      {"day", {"2020-06-01T00:00:00Z", "2020-06-01T12:00:59Z", "2020-06-02T00:00:00Z", "2020-06-02T12:00:00Z", "2020-06-04T00:00:00Z"},
       {"2020-153", "2020-154", "2020-155", "2020-156"}, {kMean01, kMean23, kEmpty, kSteps[4]}},
      {"week", {"2022-12-06T12:00:00Z", "2022-12-07T12:00:00Z", "2022-12-12T00:00:00Z", "2022-12-18T23:59:59Z", "2023-01-01T12:00:00Z"},
       {"2022-49", "2022-50", "2022-51", "2022-52"}, {kMean01, kMean23, kEmpty, kSteps[4]}},
      {"dekad", {"2024-01-28T00:00:00Z", "2024-01-31T00:00:00Z", "2024-02-01T00:00:00Z", "2024-02-10T00:00:00Z", "2024-02-29T00:00:00Z"},
       {"2024-03", "2024-04", "2024-05", "2024-06"}, {kMean01, kMean23, kEmpty, kSteps[4]}},
      {"month", {"2024-01-28T00:00:00Z", "2024-01-31T00:00:00Z", "2024-02-01T00:00:00Z", "2024-02-10T00:00:00Z", "2024-04-15T00:00:00Z"},
       {"2024-01", "2024-02", "2024-03", "2024-04"}, {kMean01, kMean23, kEmpty, kSteps[4]}},
      {"season", {"2023-12-28T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z", "2024-04-10T00:00:00Z", "2024-11-30T00:00:00Z"},
       {"2023-djf", "2024-mam", "2024-jja", "2024-son"}, {kMean01, kMean23, kEmpty, kSteps[4]}},
      {"tropical-season", {"2023-11-01T00:00:00Z", "2024-04-30T00:00:00Z", "2024-05-01T00:00:00Z", "2024-10-10T00:00:00Z", "2024-11-30T00:00:00Z"},
       {"2023-ndjfma", "2024-mjjaso", "2024-ndjfma"}, {kMean01, kMean23, kSteps[4]}},
      {"year", {"2020-01-01T00:00:00Z", "2020-06-01T00:00:00Z", "2022-01-01T00:00:00Z", "2022-12-31T00:00:00Z", "2023-06-28T12:55:12Z"},
       {"2020", "2021", "2022", "2023"}, {kMean01, kEmpty, kMean23, kSteps[4]}},
      {"decade", {"2020-01-01T00:00:00Z", "2029-12-31T23:48:59Z", "2030-01-01T00:00:00Z", "2039-12-31T23:59:59Z"},
       {"2020", "2030"}, {kMean01, kMean23}},
      {"decade-ad", {"2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z", "2030-12-31T23:48:59Z", "2041-01-01T00:00:00Z", "2050-12-31T23:59:59Z"},
       {"2011", "2021", "2031", "2041"}, {kEmpty, kMean01, kEmpty, kMean23}, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.period);
    std::vector<Plane> steps(kSteps.begin(), kSteps.begin() + static_cast<std::ptrdiff_t>(c.times.size()));
    if (c.nodata_first) {
      steps.insert(steps.begin(), kEmpty);
      steps.pop_back();
    }
    const DataArray r = aggregate(case_cube(c.times, steps), c.period);
    EXPECT_EQ(period_labels(r), c.labels);
    EXPECT_EQ(r.dims(), (std::vector<std::string>{"time", "y", "x"}));
    expect_planes(r, c.result);
  }
}

TEST(OpenEoPeriods, HoursIncludeEveryEmptyHour) {
  // The openeo-processes hour case: 00:00, 00:59:59, 01:00, 01:30, 04:00. Its expected result
  // copies the day case (4 steps); the hours 00 to 04 are 5 periods, 02 and 03 without data.
  const DataArray r = aggregate(case_cube({"2020-06-01T00:00:00Z", "2020-06-01T00:59:59Z", "2020-06-01T01:00:00Z",
                                           "2020-06-01T01:30:00Z", "2020-06-01T04:00:00Z"}, kSteps),
                                "hour");
  EXPECT_EQ(period_labels(r), (Labels{"2020-06-01-00", "2020-06-01-01", "2020-06-01-02", "2020-06-01-03", "2020-06-01-04"}));
  expect_planes(r, {kMean01, kMean23, kEmpty, kEmpty, kSteps[4]});
}

TEST(OpenEoPeriods, DefinitionExamplesOfCompleteLabels) {
  // "two dimension labels at the beginning (2020-01-01) and the end of a year (2020-12-31)": every
  // day of 2020 (the definition says 365; 2020 is a leap year, so 366).
  const DataArray year = aggregate(case_cube({"2020-01-01", "2020-12-31"}, {kSteps[0], kSteps[4]}), "day");
  const Labels labels = period_labels(year);
  ASSERT_EQ(labels.size(), 366u);
  EXPECT_EQ(labels.front(), "2020-001");
  EXPECT_EQ(labels[1], "2020-002");
  EXPECT_EQ(labels.back(), "2020-366");
  EXPECT_EQ(period_starts(year)[59], "2020-02-29");
  // The 364 empty days are chunked like the reduced steps (here 2 per chunk), not one huge chunk.
  const auto& time_chunks = year.chunks().chunks(0);
  EXPECT_LE(*std::max_element(time_chunks.begin(), time_chunks.end()), 2);
  const std::vector<double> v = values(year);
  EXPECT_DOUBLE_EQ(v[0], kSteps[0][0]);
  EXPECT_TRUE(std::isnan(v[12]));
  EXPECT_DOUBLE_EQ(v[365 * 12], kSteps[4][0]);
  // "just one dimension label 2020-01-05": a single label.
  const DataArray one = aggregate(case_cube({"2020-01-05"}, {kSteps[2]}), "day");
  EXPECT_EQ(period_labels(one), (Labels{"2020-005"}));
  expect_planes(one, {kSteps[2]});
}

TEST(OpenEoPeriods, ExtentOfFilterTemporalGivesLeadingMiddleAndTrailingEmptyPeriods) {
  // small_cube's times: 2023-01-01T10, 2023-01-01T15, 2023-01-20, 2023-03-05.
  const DataArray cube = small_cube();
  const DataArray r = aggregate(cube, "month", "max", json{"2022-11-15", "2023-06-01"});
  EXPECT_EQ(period_labels(r), (Labels{"2022-11", "2022-12", "2023-01", "2023-02", "2023-03", "2023-04", "2023-05"}));
  EXPECT_EQ(period_starts(r).front(), "2022-11-01");  // the period holding the extent's start
  EXPECT_EQ(r.dims(), cube.dims());
  std::vector<double> want;
  for (int m = 0; m < 7; ++m)
    for (int b = 0; b < 2; ++b)
      for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x) want.push_back(m == 2 ? cell(2, b, y, x) : m == 4 ? cell(3, b, y, x) : nan);
  expect_values(r, want);
  // The end is excluded: an extent ending at 2023-06-01 has no June; one ending a nanosecond
  // later has.
  EXPECT_EQ(period_labels(aggregate(cube, "month", "max", json{"2023-01-01", "2023-06-01T00:00:00.000000001Z"})).back(), "2023-06");
  // An open end: the extent reaches to the last label.
  EXPECT_EQ(period_labels(aggregate(cube, "season", "max", json{"2022-06-01", nullptr})),
            (Labels{"2022-jja", "2022-son", "2022-djf", "2023-mam"}));
  // count over an empty period is 0 (the count of an empty array), not no-data.
  const DataArray n = aggregate(cube, "month", "count", json{"2022-12-01", "2023-04-01"});
  EXPECT_EQ(period_labels(n), (Labels{"2022-12", "2023-01", "2023-02", "2023-03"}));
  const std::vector<double> counts = values(n);
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[12], 3);
  EXPECT_EQ(counts[24], 0);
  EXPECT_EQ(counts[36], 1);
}

TEST(OpenEoPeriods, ExtentFollowsTheCubeThroughOtherProcesses) {
  // filter_temporal's extent survives an apply and a band reduction before the aggregation.
  set_test_cube("periods", small_cube());
  json g = {{"c", {{"process_id", "test_cube"}, {"arguments", {{"name", "periods"}}}}},
            {"f", {{"process_id", "filter_temporal"}, {"arguments", {{"data", {{"from_node", "c"}}}, {"extent", {"2023-01-01", "2023-12-31"}}}}}},
            {"a", {{"process_id", "apply"},
                   {"arguments", {{"data", {{"from_node", "f"}}}, {"process", callback("multiply", {{"x", {{"from_parameter", "x"}}}, {"y", 2}})}}}}},
            {"p", {{"process_id", "aggregate_temporal_period"},
                   {"arguments", {{"data", {{"from_node", "a"}}}, {"period", "month"}, {"reducer", callback("max", {{"data", {{"from_parameter", "data"}}}})}}},
                   {"result", true}}}};
  const DataArray r = eval(g).cube;
  ASSERT_EQ(period_labels(r).size(), 12u);
  EXPECT_EQ(period_labels(r).back(), "2023-12");
  EXPECT_DOUBLE_EQ(values(r)[0], 2 * cell(2, 0, 0, 0));
  // The extent is bookkeeping: the cube's values and labels are those of the filtered cube.
  EXPECT_EQ(values(r).size(), 12u * 12u);
}

}  // namespace
}  // namespace cubist::openeo::testing
