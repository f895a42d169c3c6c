#include "cubist/datetime.hpp"

#include <charconv>
#include <fmt/format.h>

#include "cubist/dtype.hpp"
#include "cubist/error.hpp"

namespace cubist {
namespace {
constexpr std::int64_t kNsPerSec = 1'000'000'000;
constexpr std::int64_t kNsPerDay = 86'400 * kNsPerSec;

}  // namespace

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

namespace {
unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}
}  // namespace

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

ParsedTime parse_datetime(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return ValueError(fmt::format("cannot parse '{}' as a datetime: {}", text, why));
  };
  if (text == "NaT") return {kNaT, TimeResolution::Nanosecond};
  std::size_t pos = 0;
  auto number = [&](std::size_t digits, std::int64_t lo, std::int64_t hi, const char* what) {
    if (pos + digits > text.size()) throw bad(fmt::format("{} is missing", what));
    std::int64_t v = 0;
    auto r = std::from_chars(text.data() + pos, text.data() + pos + digits, v);
    if (r.ec != std::errc() || r.ptr != text.data() + pos + digits || v < lo || v > hi)
      throw bad(fmt::format("{} must be {} digits in {}..{}", what, digits, lo, hi));
    pos += digits;
    return v;
  };
  auto expect = [&](char c) {
    if (pos >= text.size()) return false;
    if (text[pos] != c) throw bad(fmt::format("expected '{}' at position {}", c, pos));
    ++pos;
    return true;
  };
  ParsedTime t;
  std::int64_t y = number(4, 0, 9999, "year");
  unsigned mo = 1, d = 1;
  std::int64_t h = 0, mi = 0, s = 0, frac = 0;
  t.resolution = TimeResolution::Year;
  if (expect('-')) {
    mo = static_cast<unsigned>(number(2, 1, 12, "month"));
    t.resolution = TimeResolution::Month;
    if (expect('-')) {
      d = static_cast<unsigned>(number(2, 1, days_in_month(y, mo), "day"));
      t.resolution = TimeResolution::Day;
      if (pos < text.size() && (text[pos] == 'T' || text[pos] == ' ')) {
        ++pos;
        h = number(2, 0, 23, "hour");
        t.resolution = TimeResolution::Hour;
        if (expect(':')) {
          mi = number(2, 0, 59, "minute");
          t.resolution = TimeResolution::Minute;
          if (expect(':')) {
            s = number(2, 0, 59, "second");
            t.resolution = TimeResolution::Second;
            if (pos < text.size() && text[pos] == '.') {
              ++pos;
              std::size_t digits = 0;
              while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && digits < 9) {
                frac = frac * 10 + (text[pos++] - '0');
                ++digits;
              }
              if (digits == 0) throw bad("no digits after '.'");
              for (std::size_t k = digits; k < 9; ++k) frac *= 10;
              t.resolution = TimeResolution::Nanosecond;
            }
          }
        }
      }
    }
  }
  if (pos < text.size() && text[pos] == 'Z') ++pos;
  if (pos != text.size()) throw bad(fmt::format("unexpected '{}' at position {}", text.substr(pos), pos));
  t.ns = days_from_civil(y, mo, d) * kNsPerDay + ((h * 60 + mi) * 60 + s) * kNsPerSec + frac;
  return t;
}

std::int64_t ParsedTime::period_end_ns() const {
  std::int64_t days = ns >= 0 ? ns / kNsPerDay : (ns - kNsPerDay + 1) / kNsPerDay;
  std::int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  switch (resolution) {
    case TimeResolution::Year: return days_from_civil(y + 1, 1, 1) * kNsPerDay - 1;
    case TimeResolution::Month:
      return (m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1)) * kNsPerDay - 1;
    case TimeResolution::Day: return ns + kNsPerDay - 1;
    case TimeResolution::Hour: return ns + 3600 * kNsPerSec - 1;
    case TimeResolution::Minute: return ns + 60 * kNsPerSec - 1;
    case TimeResolution::Second: return ns + kNsPerSec - 1;
    case TimeResolution::Nanosecond: return ns;
  }
  return ns;
}

std::int64_t datetime_ns(std::string_view text) { return parse_datetime(text).ns; }

std::string format_datetime(std::int64_t ns) {
  if (ns == kNaT) return "NaT";
  std::int64_t days = ns >= 0 ? ns / kNsPerDay : (ns - kNsPerDay + 1) / kNsPerDay;
  std::int64_t rem = ns - days * kNsPerDay;
  std::int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  if (rem == 0) return fmt::format("{:04d}-{:02d}-{:02d}", y, m, d);
  std::int64_t secs = rem / kNsPerSec, frac = rem % kNsPerSec;
  auto base = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", y, m, d, secs / 3600, secs / 60 % 60, secs % 60);
  if (frac == 0) return base;
  auto f = fmt::format("{:09d}", frac);
  while (f.back() == '0') f.pop_back();
  return base + "." + f;
}

}  // namespace cubist
