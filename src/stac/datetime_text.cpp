#include "stac/datetime_text.hpp"

#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <regex>
#include <vector>

#include "cubist/datetime.hpp"
#include "cubist/error.hpp"

namespace cubist::stac {
namespace {

constexpr std::int64_t kNsPerSec = 1'000'000'000;

// Year, optional month, optional day, optional "T" time with seconds, optional zone.
const std::regex& datetime_regex() {
  static const std::regex re(
      R"((\d{4})(?:-(\d{2})(?:-(\d{2})(?:[Tt ](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|z|[+-]\d{2}:\d{2})?)?)?)?)");
  return re;
}

std::string utc_text(std::int64_t ns) {
  std::int64_t days = ns >= 0 ? ns / (86400 * kNsPerSec) : (ns - 86400 * kNsPerSec + 1) / (86400 * kNsPerSec);
  std::int64_t rem = (ns - days * 86400 * kNsPerSec) / kNsPerSec;
  std::int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", y, m, d, rem / 3600, rem / 60 % 60, rem % 60);
}

// One end of an interval: (start text, end-of-period text or "" when given exactly).
std::pair<std::string, std::string> component_range(const std::string& c, std::string_view whole) {
  if (c.empty() || c == "..") return {"..", ""};
  std::smatch m;
  if (!std::regex_match(c, m, datetime_regex()))
    throw ValueError(fmt::format("search datetime '{}': '{}' is not an RFC 3339 datetime or a date like 2023, "
                                 "2023-05 or 2023-05-01", whole, c));
  if (m[4].matched) {
    parse_rfc3339(c);  // validates ranges (month 13, hour 25...)
    return {m[5].matched ? c : c + "Z", ""};
  }
  ParsedTime t;
  try {
    t = parse_datetime(c);
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("search datetime '{}': {}", whole, e.what()));
  }
  // pystac-client's end is the last whole second of the period.
  std::int64_t end = t.period_end_ns() / kNsPerSec * kNsPerSec;
  return {utc_text(t.ns), utc_text(end)};
}

}  // namespace

std::int64_t parse_rfc3339(std::string_view text) {
  std::string s(text);
  std::int64_t offset_minutes = 0;
  auto bad = [&](const std::string& why) {
    return ValueError(fmt::format("cannot parse '{}' as an RFC 3339 datetime: {}", text, why));
  };
  if (!s.empty() && (s.back() == 'Z' || s.back() == 'z')) {
    s.pop_back();
  } else if (s.size() > 16 && s.find_first_of("Tt ") != std::string::npos && (s[s.size() - 6] == '+' || s[s.size() - 6] == '-') &&
             s[s.size() - 3] == ':') {
    int hh = 0, mm = 0;
    if (std::sscanf(s.c_str() + s.size() - 5, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59) throw bad("bad zone offset");
    offset_minutes = (hh * 60 + mm) * (s[s.size() - 6] == '-' ? -1 : 1);
    s.resize(s.size() - 6);
  }
  for (char& c : s)
    if (c == 't') c = 'T';
  // More than nanosecond precision is cut (datetime64[ns] holds no more).
  if (auto dot = s.find('.'); dot != std::string::npos && s.size() - dot - 1 > 9) s.resize(dot + 10);
  // datetime64[ns] spans 1677-09-21 .. 2262-04-11; stay well inside so nothing overflows.
  if (s.size() >= 4) {
    const int year = std::atoi(s.substr(0, 4).c_str());
    if (year < 1678 || year > 2261) throw bad("the year is outside what datetime64[ns] holds (1678..2261)");
  }
  try {
    return parse_datetime(s).ns - offset_minutes * 60 * kNsPerSec;
  } catch (const ValueError& e) {
    throw bad(e.what());
  }
}

std::string normalize_datetime(std::string_view value) {
  std::vector<std::string> parts;
  std::string v(value);
  std::size_t start = 0;
  for (std::size_t slash; (slash = v.find('/', start)) != std::string::npos; start = slash + 1)
    parts.push_back(v.substr(start, slash - start));
  parts.push_back(v.substr(start));
  if (parts.size() > 2)
    throw ValueError(fmt::format("search datetime '{}': at most two components (start/end), got {}", value, parts.size()));
  if (parts.size() == 1) {
    if (parts[0].empty() || parts[0] == "..")
      throw ValueError(fmt::format("search datetime '{}': an instant cannot be open ('..')", value));
    auto [s, e] = component_range(parts[0], value);
    return e.empty() ? s : s + "/" + e;
  }
  auto [s, s_end] = component_range(parts[0], value);
  auto [e_start, e_end] = component_range(parts[1], value);
  if (s == ".." && e_start == "..")
    throw ValueError(fmt::format("search datetime '{}': both ends are open", value));
  return s + "/" + (e_end.empty() ? e_start : e_end);
}

}  // namespace cubist::stac
