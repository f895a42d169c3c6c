// aggregate_temporal_period: time steps grouped into calendar periods, each group reduced by the
// reducer callback, which receives the groups (a lazy groupby) as `data`.
//
// The result's temporal dimension keeps datetime64 labels: each period's first instant (what
// xarray's resample/groupby of floored times gives, and what the C++ seed pipeline writes). The
// openEO text label of each period ("2023-05", "2023-djf", "2023-017") is the string coordinate
// `period` along that dimension; save_result writes it next to the datetimes.
//
// As the definition asks, the periods are complete for the whole extent of the source cube: the
// temporal extent load_collection / load_stac / filter_temporal gave it (temporal_extent.hpp),
// widened to its labels; without a recorded extent, from its first to its last label (so one
// label 2020-01-05 gives the single period 2020-005). Periods without data hold no-data (NaN),
// except for a `count` reducer, whose count of an empty array is 0. The reducer runs on the
// periods holding data; the empty ones are constant chunks joined in by one lazy concat.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "cubist/datetime.hpp"
#include "cubist/error.hpp"
#include "cubist/groupby.hpp"
#include "openeo/cube.hpp"
#include "openeo/process_graph.hpp"
#include "openeo/registry.hpp"
#include "openeo/reindex.hpp"
#include "openeo/temporal_extent.hpp"

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
  if (period == "tropical-season") {  // ndjfma (November - April), mjjaso (May - October)
    if (m >= 5 && m <= 10) return days_from_civil(y, 5, 1) * kDayNs;
    return days_from_civil(m >= 11 ? y : y - 1, 11, 1) * kDayNs;
  }
  if (period == "year") return days_from_civil(y, 1, 1) * kDayNs;
  if (period == "decade") return days_from_civil(y - ((y % 10) + 10) % 10, 1, 1) * kDayNs;
  if (period == "decade-ad") return days_from_civil(y - ((y - 1) % 10 + 10) % 10, 1, 1) * kDayNs;
  throw ValueError(fmt::format("period '{}' is not supported", period));
}

// openEO's label of the period starting at `start` (returns of aggregate_temporal_period): hour
// YYYY-MM-DD-HH, day YYYY-DDD (day of year), week YYYY-WW (ISO week and ISO year), dekad YYYY-DD
// (01-36), month YYYY-MM, season YYYY-djf|mam|jja|son and tropical-season YYYY-ndjfma|mjjaso
// (the year the period starts in), year YYYY, decade YYY0, decade-ad YYY1.
std::string period_label(std::int64_t start, const std::string& period) {
  if (start == kNaT) return "NaT";
  const std::int64_t day = floor_div(start, kDayNs);
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(day, y, m, d);
  if (period == "hour") return fmt::format("{:04}-{:02}-{:02}-{:02}", y, m, d, floor_div(start - day * kDayNs, kDayNs / 24));
  if (period == "day") return fmt::format("{:04}-{:03}", y, day - days_from_civil(y, 1, 1) + 1);
  if (period == "week") {  // the ISO year is the year of the week's Thursday
    std::int64_t ty = 0;
    unsigned tm = 0, td = 0;
    civil_from_days(day + 3, ty, tm, td);
    return fmt::format("{:04}-{:02}", ty, (day + 3 - days_from_civil(ty, 1, 1)) / 7 + 1);
  }
  if (period == "dekad") return fmt::format("{:04}-{:02}", y, (m - 1) * 3 + (d <= 10 ? 1 : d <= 20 ? 2 : 3));
  if (period == "month") return fmt::format("{:04}-{:02}", y, m);
  if (period == "season") return fmt::format("{:04}-{}", y, m == 12 ? "djf" : m == 3 ? "mam" : m == 6 ? "jja" : "son");
  if (period == "tropical-season") return fmt::format("{:04}-{}", y, m == 11 ? "ndjfma" : "mjjaso");
  return fmt::format("{:04}", y);  // year, decade, decade-ad: the first year
}

// The first instant of the period after the one starting at `start`.
std::int64_t next_period_start(std::int64_t start, const std::string& period) {
  if (period == "hour") return start + kDayNs / 24;
  if (period == "day") return start + kDayNs;
  if (period == "week") return start + 7 * kDayNs;
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(floor_div(start, kDayNs), y, m, d);
  if (period == "dekad" && d < 21) return days_from_civil(y, m, d + 10) * kDayNs;
  const int months = period == "dekad" || period == "month" ? 1
                     : period == "season"                  ? 3
                     : period == "tropical-season"         ? 6
                     : period == "year"                    ? 12
                                                           : 120;  // decade, decade-ad
  const std::int64_t index = y * 12 + (m - 1) + months;
  return days_from_civil(floor_div(index, 12), static_cast<unsigned>(index - floor_div(index, 12) * 12 + 1), 1) * kDayNs;
}

// The start of every period from the one holding `first` to the one holding `last`, ascending.
std::vector<std::int64_t> periods_between(std::int64_t first, std::int64_t last, const std::string& period) {
  std::vector<std::int64_t> out;
  for (std::int64_t s = period_start(first, period); s <= last; s = next_period_start(s, period)) out.push_back(s);
  return out;
}

// Every period of the cube's temporal extent (recorded, widened to its labels), as start instants.
std::vector<std::int64_t> all_periods(const DataArray& cube, const std::string& dim, const std::string& period) {
  std::optional<std::int64_t> lo, hi;  // the first and last instant with data or in the extent
  for (std::int64_t t : cube.coords().at(dim).values().values<std::int64_t>()) {
    if (t == kNaT) continue;
    lo = std::min(lo.value_or(t), t);
    hi = std::max(hi.value_or(t), t);
  }
  const TemporalExtent extent = temporal_extent(cube, dim);
  if (extent.start) lo = std::min(lo.value_or(*extent.start), *extent.start);
  if (extent.end) hi = std::max(hi.value_or(*extent.end - 1), *extent.end - 1);  // the end is excluded
  if (!lo || !hi) return {};
  return periods_between(*lo, *hi, period);
}

// `reduced` (one step per period holding data, ascending) with a step of `fill` for each period
// of `starts` it lacks. Unchanged when nothing is missing.
DataArray with_every_period(const DataArray& reduced, const std::string& dim, std::vector<std::int64_t> starts, double fill) {
  const Coordinate& have_coord = reduced.coords().at(dim);
  const auto have = have_coord.values().values<std::int64_t>();
  starts.insert(starts.end(), have.begin(), have.end());
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  if (starts.size() == have.size()) return reduced;
  std::vector<std::int64_t> positions;
  std::size_t next = 0;
  for (std::int64_t s : starts) positions.push_back(next < have.size() && have[next] == s ? static_cast<std::int64_t>(next++) : -1);
  const Coords along{{dim, Coordinate::datetimes_ns(dim, std::move(starts), have_coord.attrs())}};
  return reindex(reduced, dim, positions, along, fill);
}

// The reducer's value for a period without data: count's is 0 (the count of an empty array),
// every other reducer's no-data.
double empty_period_value(const Value& reducer) {
  const bool count = reducer.kind == Value::Kind::Callback && reducer.callback && reducer.callback->result().process_id == "count";
  return count ? 0.0 : std::numeric_limits<double>::quiet_NaN();
}

const ProcessRegistration aggregate_temporal_period_reg{ProcessDef{
    "aggregate_temporal_period", "Temporal aggregations based on calendar hierarchies", "", {"aggregate", "cubes", "climatology"},
    {{"data", "A data cube.", schema::cube(), false, nullptr},
     {"period", "The time intervals to aggregate.",
      {{"type", "string"}, {"enum", {"hour", "day", "week", "dekad", "month", "season", "tropical-season", "year", "decade", "decade-ad"}}}, false, nullptr},
     {"reducer", "A reducer (max, min, mean, median, sum, sd, count, first, last) receiving the values of each period as `data`.",
      schema::callback({"data", "context"}), false, nullptr},
     {"dimension", "The temporal dimension (null: the cube's).", {{"type", {"string", "null"}}}, true, nullptr},
     {"context", "Additional data passed to the reducer.", schema::any(), true, nullptr}},
    {{"description", "A data cube with one step per period of the source cube's temporal extent (no-data where a period "
                     "holds none), labelled by the period's start (datetime) with openEO's text label as the coordinate `period`."},
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
      groups.cube = cube;  // what count's condition and first/last work on
      groups.groups = std::make_shared<const GroupBy>(cube.groupby(labels));
      Value r = a.call("reducer", {{"data", groups}, {"context", a.get("context")}});
      if (!r.is_array_like() || !r.cube.has_dim(dim))
        a.fail("reducer", fmt::format("the reducer returned {}; use max, min, mean, median, sum, sd, count, first or last on data",
                                      r.describe()));
      const DataArray complete = with_every_period(r.cube, dim, all_periods(cube, dim, period), empty_period_value(a.get("reducer")));
      const Coordinate& starts = complete.coords().at(dim);
      std::vector<std::string> text;
      for (std::int64_t t : starts.values().values<std::int64_t>()) text.push_back(period_label(t, period));
      return Value::of_cube(complete.assign_coords("period", Coordinate::strings(dim, std::move(text),
                                                                                 {{"description", "openEO's period label"}})));
    }}};

}  // namespace
}  // namespace cubist::openeo
