// datetime64[ns] helpers: ISO 8601 text <-> int64 nanoseconds since 1970-01-01 (proleptic Gregorian).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace cubist {

enum class TimeResolution { Year, Month, Day, Hour, Minute, Second, Nanosecond };

struct ParsedTime {
  std::int64_t ns = 0;           // start of the given period
  TimeResolution resolution = TimeResolution::Nanosecond;
  std::int64_t period_end_ns() const;  // last nanosecond of the period ("2020-01" -> 2020-01-31T23:59:59.999999999)
};

// Accepts "2020", "2020-01", "2020-01-05", "2020-01-05T10", "2020-01-05T10:30", "2020-01-05 10:30:00.5", "NaT".
// Throws cubist::ValueError naming the text.
ParsedTime parse_datetime(std::string_view text);
std::int64_t datetime_ns(std::string_view text);  // parse_datetime(text).ns
std::string format_datetime(std::int64_t ns);     // "2020-01-05" at midnight, else "2020-01-05T10:30:00[.fff]"
// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);
void civil_from_days(std::int64_t days, std::int64_t& y, unsigned& m, unsigned& d);

}  // namespace cubist
