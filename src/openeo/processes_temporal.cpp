// aggregate_temporal_period: time steps grouped into calendar periods, each group reduced by the
// reducer callback, which receives the groups (a lazy groupby) as `data`.
//
// The labels of the result's temporal dimension are the periods' first instants as datetime64
// (what xarray's resample/groupby of floored times gives, and what the C++ seed pipeline writes),
// not openEO's text labels ("2023-05", "2023-djf").
#include <fmt/format.h>

#include "cubist/datetime.hpp"
#include "cubist/error.hpp"
#include "cubist/groupby.hpp"
#include "openeo/cube.hpp"
#include "openeo/registry.hpp"

namespace cubist::openeo {
namespace {

constexpr std::int64_t kDayNs = 86'400'000'000'000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// The first instant of the period holding t.
std::int64_t period_start(std::int64_t t, const std::string& period) {
  const std::int64_t day = floor_div(t, kDayNs);
  if (period == "hour") return floor_div(t, kDayNs / 24) * (kDayNs / 24);
  if (period == "day") return day * kDayNs;
  if (period == "week") {  // ISO weeks start on Monday; 1970-01-01 was a Thursday
    const std::int64_t weekday = ((day + 3) % 7 + 7) % 7;
    return (day - weekday) * kDayNs;
  }
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(day, y, m, d);
  if (period == "dekad") return days_from_civil(y, m, d <= 10 ? 1 : d <= 20 ? 11 : 21) * kDayNs;
  if (period == "month") return days_from_civil(y, m, 1) * kDayNs;
  if (period == "season") {  // djf, mam, jja, son: December belongs to the next year's winter
    const unsigned start = m == 12 ? 12 : m < 3 ? 12 : (m / 3) * 3;
    const std::int64_t sy = (m < 3) ? y - 1 : y;
    return days_from_civil(sy, start, 1) * kDayNs;
  }
  if (period == "year") return days_from_civil(y, 1, 1) * kDayNs;
  if (period == "decade") return days_from_civil(y - ((y % 10) + 10) % 10, 1, 1) * kDayNs;
  throw ValueError(fmt::format("period '{}' is not supported", period));
}

const ProcessRegistration aggregate_temporal_period_reg{ProcessDef{
    "aggregate_temporal_period", "Temporal aggregations based on calendar hierarchies", "", {"aggregate", "cubes", "climatology"},
    {{"data", "A data cube.", schema::cube(), false, nullptr},
     {"period", "The time intervals to aggregate.",
      {{"type", "string"}, {"enum", {"hour", "day", "week", "dekad", "month", "season", "year", "decade"}}}, false, nullptr},
     {"reducer", "A reducer (max, min, mean, median, sum, sd, count) receiving the values of each period as `data`.",
      schema::callback({"data", "context"}), false, nullptr},
     {"dimension", "The temporal dimension (null: the cube's).", {{"type", {"string", "null"}}}, true, nullptr},
     {"context", "Additional data passed to the reducer.", schema::any(), true, nullptr}},
    {{"description", "A data cube with one step per period that has data, labelled by the period's start."},
     {"schema", schema::cube()}},
    [](Args& a) -> Value {
      const DataArray cube = a.cube("data");
      std::string dim;
      try {
        dim = a.given("dimension") ? dimension_of(cube, a.string("dimension")) : time_dimension(cube);
      } catch (const DimensionError& e) {
        a.fail("dimension", e.what());
      }
      const std::string period = a.string("period");
      const Coordinate& times = cube.coords().at(dim);
      if (times.dtype() != DType::DateTime64 || times.is_string())
        a.fail("dimension", fmt::format("the labels of '{}' are not datetimes", dim));
      Coordinate labels;
      if (period == "day") {
        labels = floor_time(times, "D");  // exactly the seed pipeline's daily floor
      } else {
        std::vector<std::int64_t> starts;
        for (std::int64_t t : times.values().values<std::int64_t>())
          starts.push_back(t == kNaT ? kNaT : period_start(t, period));
        labels = Coordinate::datetimes_ns(dim, std::move(starts));
      }
      Value groups;
      groups.kind = Value::Kind::Grouped;
      groups.dim = dim;
      groups.groups = std::make_shared<const GroupBy>(cube.groupby(labels));
      Value r = a.call("reducer", {{"data", groups}, {"context", a.get("context")}});
      if (!r.is_array_like() || !r.cube.has_dim(dim))
        a.fail("reducer", fmt::format("the reducer returned {}; use max, min, mean, median, sum, sd or count on data",
                                      r.describe()));
      return Value::of_cube(r.cube);
    }}};

}  // namespace
}  // namespace cubist::openeo
