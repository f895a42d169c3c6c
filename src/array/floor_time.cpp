// floor_time: pandas' dt.floor for datetime64[ns] labels, plus month and year starts (the labels
// xarray users build to group by month or year).
#include <cctype>
#include <fmt/format.h>

#include "cubist/datetime.hpp"
#include "cubist/error.hpp"
#include "cubist/groupby.hpp"

namespace cubist {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::int64_t kDay = 86'400 * kSecond;

enum class Period { Fixed, MonthStart, YearStart };

struct Freq {
  Period period = Period::Fixed;
  std::int64_t step_ns = 0;  // Fixed
};

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

Freq parse_freq(const std::string& freq) {
  if (freq == "MS" || freq == "M" || freq == "month") return {Period::MonthStart, 0};
  if (freq == "YS" || freq == "Y" || freq == "year" || freq == "AS" || freq == "A") return {Period::YearStart, 0};
  // A fixed frequency with an optional positive multiple: "D", "6h", "15min".
  std::size_t digits = 0;
  while (digits < freq.size() && std::isdigit(static_cast<unsigned char>(freq[digits]))) ++digits;
  const std::string unit = freq.substr(digits);
  std::int64_t n = 1;
  if (digits > 0) {
    if (digits > 9) throw ValueError(fmt::format("floor_time: the multiple in freq '{}' is too large", freq));
    n = std::stoll(freq.substr(0, digits));
  }
  std::int64_t unit_ns = 0;
  if (unit == "D" || unit == "day") unit_ns = kDay;
  else if (unit == "h" || unit == "H") unit_ns = 3600 * kSecond;
  else if (unit == "min" || unit == "T") unit_ns = 60 * kSecond;
  else if (unit == "s" || unit == "S") unit_ns = kSecond;
  if (unit_ns == 0 || n <= 0)
    throw ValueError(fmt::format("floor_time: unknown freq '{}' (expected D, h, min or s with an optional multiple, "
                                 "or MS/month, YS/year)",
                                 freq));
  return {Period::Fixed, n * unit_ns};
}

std::int64_t floor_one(std::int64_t ns, const Freq& f) {
  if (ns == kNaT) return kNaT;
  if (f.period == Period::Fixed) return floor_div(ns, f.step_ns) * f.step_ns;
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(floor_div(ns, kDay), y, m, d);
  return days_from_civil(y, f.period == Period::MonthStart ? m : 1u, 1u) * kDay;
}

}  // namespace

Coordinate floor_time(const Coordinate& times, const std::string& freq) {
  if (times.is_string() || times.dtype() != DType::DateTime64)
    throw TypeError(fmt::format("floor_time: needs datetime64[ns] labels, got {}", times.dtype_name()));
  const Freq f = parse_freq(freq);
  const Chunk& in = times.values();
  Chunk out = Chunk::allocate(DType::DateTime64, in.shape());
  auto src = in.values<std::int64_t>();
  auto dst = out.mutable_values<std::int64_t>();
  for (std::size_t i = 0; i < src.size(); ++i) dst[i] = floor_one(src[i], f);
  return Coordinate(times.dims(), std::move(out));
}

}  // namespace cubist
