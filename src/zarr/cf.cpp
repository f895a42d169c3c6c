// CF conventions as xarray applies them: time units, fill-value masking, scale/offset.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <numeric>

#include "cubist/datetime.hpp"
#include "cubist/zarr.hpp"

namespace cubist::zarr::cf {
using nlohmann::json;

namespace {
constexpr std::int64_t kNsPerSec = 1'000'000'000;
constexpr std::int64_t kNsPerDay = 86400 * kNsPerSec;

std::string lower_trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

// Parses "YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][Z| UTC|(+|-)HH[:MM]]" to ns since the epoch.
std::int64_t parse_date(std::string_view s, std::string_view units) {
  auto bad = [&]() -> std::int64_t {
    throw ValueError(fmt::format("CF time units '{}': cannot parse reference date '{}'", units, s));
  };
  std::size_t i = 0;
  auto number = [&](std::size_t max_digits) -> std::int64_t {
    std::size_t start = i;
    std::int64_t v = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && i - start < max_digits) v = v * 10 + (s[i++] - '0');
    if (i == start) bad();
    return v;
  };
  bool neg_year = i < s.size() && s[i] == '-';
  if (neg_year) ++i;
  std::int64_t y = number(6);
  if (neg_year) y = -y;
  if (i >= s.size() || s[i] != '-') bad();
  ++i;
  auto mo = number(2);
  std::int64_t d = 1;
  if (i < s.size() && s[i] == '-') {
    ++i;
    d = number(2);
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31) bad();
  std::int64_t hh = 0, mm = 0, ss = 0, frac_ns = 0;
  if (i < s.size() && (s[i] == ' ' || s[i] == 'T')) {
    ++i;
    while (i < s.size() && s[i] == ' ') ++i;
    if (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      hh = number(2);
      if (i < s.size() && s[i] == ':') {
        ++i;
        mm = number(2);
        if (i < s.size() && s[i] == ':') {
          ++i;
          ss = number(2);
          if (i < s.size() && s[i] == '.') {
            ++i;
            std::int64_t scale = 100'000'000;
            std::size_t start = i;
            while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
              frac_ns += (s[i++] - '0') * scale;
              scale /= 10;
            }
            if (i == start) bad();
          }
        }
      }
    }
  }
  if (hh > 24 || mm > 59 || ss > 60) bad();
  std::int64_t tz_ns = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  auto rest = lower_trim(s.substr(i));
  if (rest == "z" || rest == "utc" || rest == "gmt" || rest.empty()) {
  } else if (rest[0] == '+' || rest[0] == '-') {
    int sign = rest[0] == '-' ? -1 : 1;
    std::string_view r = rest;
    r.remove_prefix(1);
    std::int64_t th = 0, tm = 0;
    std::size_t k = 0;
    while (k < r.size() && std::isdigit(static_cast<unsigned char>(r[k])) && k < 2) th = th * 10 + (r[k++] - '0');
    if (k < r.size() && r[k] == ':') ++k;
    while (k < r.size() && std::isdigit(static_cast<unsigned char>(r[k]))) tm = tm * 10 + (r[k++] - '0');
    if (k != r.size()) bad();
    tz_ns = sign * (th * 3600 + tm * 60) * kNsPerSec;
  } else {
    bad();
  }
  auto days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return days * kNsPerDay + ((hh * 60 + mm) * 60 + ss) * kNsPerSec + frac_ns - tz_ns;
}

}  // namespace

TimeUnits parse_time_units(std::string_view units, std::string_view calendar) {
  auto cal = lower_trim(calendar);
  if (!cal.empty() && cal != "standard" && cal != "gregorian" && cal != "proleptic_gregorian")
    throw ValueError(fmt::format("CF calendar '{}' is not supported (standard, gregorian, proleptic_gregorian)", calendar));
  auto pos = units.find(" since ");
  if (pos == std::string_view::npos)
    throw ValueError(fmt::format("CF time units '{}': expected '<unit> since <date>'", units));
  auto unit = lower_trim(units.substr(0, pos));
  TimeUnits t;
  struct U {
    std::string_view names[5];
    std::int64_t ns;
    std::string_view canonical;
  };
  static const U table[] = {
      {{"days", "day", "d"}, kNsPerDay, "days"},
      {{"hours", "hour", "hr", "h", "hrs"}, 3600 * kNsPerSec, "hours"},
      {{"minutes", "minute", "min", "mins"}, 60 * kNsPerSec, "minutes"},
      {{"seconds", "second", "sec", "s", "secs"}, kNsPerSec, "seconds"},
      {{"milliseconds", "millisecond", "ms", "msec"}, 1'000'000, "milliseconds"},
      {{"microseconds", "microsecond", "us", "usec"}, 1'000, "microseconds"},
      {{"nanoseconds", "nanosecond", "ns", "nsec"}, 1, "nanoseconds"},
  };
  for (const auto& u : table)
    for (auto n : u.names)
      if (!n.empty() && n == unit) {
        t.ns_per_unit = u.ns;
        t.unit = std::string(u.canonical);
      }
  if (t.ns_per_unit == 0) throw ValueError(fmt::format("CF time units '{}': unknown unit '{}'", units, unit));
  auto date = units.substr(pos + 7);
  while (!date.empty() && date.front() == ' ') date.remove_prefix(1);
  t.epoch_ns = parse_date(date, units);
  return t;
}

std::string format_timestamp(std::int64_t ns) {
  std::int64_t days = ns / kNsPerDay, rem = ns % kNsPerDay;
  if (rem < 0) {
    rem += kNsPerDay;
    --days;
  }
  std::int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  std::int64_t secs = rem / kNsPerSec, frac = rem % kNsPerSec;
  auto s = fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", y, m, d, secs / 3600, secs / 60 % 60, secs % 60);
  if (frac % 1000 != 0) s += fmt::format(".{:09}", frac);
  else if (frac != 0) s += fmt::format(".{:06}", frac / 1000);
  return s;
}

Chunk decode_times(const Chunk& input, const TimeUnits& units, std::span<const double> fill_values) {
  const Chunk encoded = input.contiguous();
  Chunk out = Chunk::allocate(DType::DateTime64, encoded.shape());
  auto* o = static_cast<std::int64_t*>(out.mutable_raw());
  visit_dtype(encoded.dtype(), [&]<class T>(TypeTag<T>) {
    const T* in = static_cast<const T*>(encoded.raw());
    for (std::int64_t i = 0; i < encoded.size(); ++i) {
      T v = in[i];
      bool missing = false;
      for (double f : fill_values) missing = missing || static_cast<double>(v) == f;
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(v) || missing) {
          o[i] = kNaT;
        } else {  // as xarray: float64 product truncated to int64 ns
          o[i] = units.epoch_ns + static_cast<std::int64_t>(static_cast<double>(v) * static_cast<double>(units.ns_per_unit));
        }
      } else {
        if (encoded.dtype() == DType::DateTime64 && static_cast<std::int64_t>(v) == kNaT) missing = true;
        o[i] = missing ? kNaT : units.epoch_ns + static_cast<std::int64_t>(v) * units.ns_per_unit;
      }
    }
  });
  return out;
}

Chunk encode_times(const Chunk& input, const TimeUnits& units, std::int64_t nat_fill) {
  const Chunk times = input.contiguous();
  if (times.dtype() != DType::DateTime64 && times.dtype() != DType::Int64)
    throw TypeError(fmt::format("encode_times needs datetime64[ns] values, got {}", dtype_name(times.dtype())));
  auto in = times.values<std::int64_t>();
  Chunk out = Chunk::allocate(DType::Int64, times.shape());
  auto o = out.mutable_values<std::int64_t>();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == kNaT) {
      o[i] = nat_fill;
      continue;
    }
    auto delta = in[i] - units.epoch_ns;
    if (delta % units.ns_per_unit != 0)
      throw ValueError(fmt::format("cannot encode time {} as a whole number of {} since {}", format_timestamp(in[i]),
                                   units.unit, format_timestamp(units.epoch_ns)));
    o[i] = delta / units.ns_per_unit;
  }
  return out;
}

std::string infer_time_units(std::span<const std::int64_t> times) {
  std::vector<std::int64_t> valid;
  for (auto t : times)
    if (t != kNaT) valid.push_back(t);
  std::int64_t ref = valid.empty() ? 0 : valid.front();
  // gcd of all steps decides the unit, like xarray's check on the unique differences
  std::int64_t g = 0;
  for (std::size_t i = 1; i < valid.size(); ++i) {
    auto d = valid[i] - valid[i - 1];
    g = std::gcd(g, d < 0 ? -d : d);
  }
  static const std::pair<std::string_view, std::int64_t> units[] = {
      {"days", kNsPerDay},  {"hours", 3600 * kNsPerSec}, {"minutes", 60 * kNsPerSec}, {"seconds", kNsPerSec},
      {"milliseconds", 1'000'000}, {"microseconds", 1000}, {"nanoseconds", 1}};
  std::string_view unit = "nanoseconds";
  for (const auto& [name, ns] : units)
    if (g % ns == 0) {
      unit = name;
      break;
    }
  return fmt::format("{} since {}", unit, format_timestamp(ref));
}

bool is_time_variable(const json& attrs) {
  if (!attrs.is_object() || !attrs.contains("units") || !attrs["units"].is_string()) return false;
  auto u = attrs["units"].get<std::string>();
  auto pos = u.find(" since ");
  if (pos == std::string::npos) return false;
  try {
    (void)parse_time_units(u, "standard");
    return true;
  } catch (const ValueError&) {
    return false;
  }
}

std::optional<double> fill_value_as_double(const json& f) {
  if (f.is_null()) return std::nullopt;
  if (f.is_boolean()) return f.get<bool>() ? 1.0 : 0.0;
  if (f.is_number()) return f.get<double>();
  if (f.is_string()) {
    auto s = f.get<std::string>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
  }
  throw ValueError(fmt::format("fill value {} is not a number", f.dump()));
}

Decoding decoding_for(const json& attrs, const json& fill_value, DType stored) {
  Decoding d;
  auto add_fill = [&](const json& v) {
    if (v.is_array()) {
      for (const auto& e : v)
        if (auto x = fill_value_as_double(e)) d.fill_values.push_back(*x);
    } else if (auto x = fill_value_as_double(v)) {
      d.fill_values.push_back(*x);
    }
  };
  if (stored != DType::Bool && stored != DType::DateTime64) {
    add_fill(fill_value);
    if (attrs.is_object()) {
      if (attrs.contains("_FillValue")) add_fill(attrs["_FillValue"]);
      if (attrs.contains("missing_value")) add_fill(attrs["missing_value"]);
    }
  }
  // NaN in a float array is already missing: nothing to mask.
  if (is_float(stored))
    d.fill_values.erase(std::remove_if(d.fill_values.begin(), d.fill_values.end(), [](double x) { return std::isnan(x); }),
                        d.fill_values.end());
  std::sort(d.fill_values.begin(), d.fill_values.end());
  d.fill_values.erase(std::unique(d.fill_values.begin(), d.fill_values.end()), d.fill_values.end());
  if (attrs.is_object()) {
    if (attrs.contains("scale_factor") && attrs["scale_factor"].is_number()) d.scale_factor = attrs["scale_factor"].get<double>();
    if (attrs.contains("add_offset") && attrs["add_offset"].is_number()) d.add_offset = attrs["add_offset"].get<double>();
  }
  // xarray's dtype rules, in its decoding order: CFMaskCoder first (maybe_promote: small ints to
  // float32, others to float64), then CFScaleOffsetCoder's _choose_float_dtype on the masked dtype.
  DType masked = stored;
  if (!d.fill_values.empty() && !is_float(stored)) masked = itemsize(stored) <= 2 ? DType::Float32 : DType::Float64;
  d.decoded_dtype = masked;
  if (d.scale_factor || d.add_offset) {
    if (is_float(masked) && itemsize(masked) <= 4) d.decoded_dtype = DType::Float32;
    else if (is_integer(masked) && itemsize(masked) <= 2 && !d.add_offset) d.decoded_dtype = DType::Float32;
    else d.decoded_dtype = DType::Float64;
  }
  return d;
}

Chunk apply_decoding(const Chunk& input, const Decoding& d) {
  if (d.identity()) return input;
  const Chunk stored = input.contiguous();
  Chunk out = Chunk::allocate(d.decoded_dtype, stored.shape());
  double scale = d.scale_factor.value_or(1.0), offset = d.add_offset.value_or(0.0);
  bool affine = d.scale_factor || d.add_offset;
  visit_dtype(stored.dtype(), [&]<class S>(TypeTag<S>) {
    visit_dtype(d.decoded_dtype, [&]<class T>(TypeTag<T>) {
      if constexpr (std::is_floating_point_v<T>) {
        const S* in = static_cast<const S*>(stored.raw());
        T* o = static_cast<T*>(out.mutable_raw());
        const T nan = std::numeric_limits<T>::quiet_NaN();
        const T ts = static_cast<T>(scale), to = static_cast<T>(offset);
        for (std::int64_t i = 0; i < stored.size(); ++i) {
          T v = static_cast<T>(in[i]);
          bool missing = false;
          for (double f : d.fill_values) missing = missing || static_cast<double>(in[i]) == f;
          if (missing) {
            o[i] = nan;
          } else if (affine) {  // two steps, as numpy's in-place *= then += (no fused multiply-add)
            T scaled = v * ts;
            o[i] = scaled + to;
          } else {
            o[i] = v;
          }
        }
      }
    });
  });
  return out;
}

Encoding encoding_for(DType decoded, std::optional<DType> stored, std::optional<double> scale_factor,
                      std::optional<double> add_offset, std::optional<double> fill_value) {
  if (!is_numeric(decoded) || decoded == DType::Bool || decoded == DType::DateTime64)
    throw TypeError(fmt::format("scale_factor/add_offset encoding needs numbers, got {}", dtype_name(decoded)));
  if (scale_factor && (*scale_factor == 0 || !std::isfinite(*scale_factor)))
    throw ValueError(fmt::format("scale_factor {} must be finite and non-zero", *scale_factor));
  if (add_offset && !std::isfinite(*add_offset)) throw ValueError(fmt::format("add_offset {} must be finite", *add_offset));
  Encoding e;
  e.scale_factor = scale_factor;
  e.add_offset = add_offset;
  e.fill_value = fill_value;
  // xarray's _choose_float_dtype: float32 stays float32; small ints compute in float32 unless offset.
  if (is_float(decoded) && itemsize(decoded) <= 4) e.compute_dtype = DType::Float32;
  else if (is_integer(decoded) && itemsize(decoded) <= 2 && !add_offset) e.compute_dtype = DType::Float32;
  else e.compute_dtype = DType::Float64;
  e.stored_dtype = stored.value_or(e.compute_dtype);
  if (!is_numeric(e.stored_dtype) || e.stored_dtype == DType::Bool || e.stored_dtype == DType::DateTime64)
    throw TypeError(fmt::format("scale_factor/add_offset encoding cannot store {}", dtype_name(e.stored_dtype)));
  return e;
}

namespace {
template <class C> Chunk encode_in(const Chunk& in, const Encoding& e) {
  Chunk out = Chunk::allocate(e.stored_dtype, in.shape());
  const C off = static_cast<C>(e.add_offset.value_or(0)), scale = static_cast<C>(e.scale_factor.value_or(1));
  const std::optional<C> fill = e.fill_value ? std::optional<C>(static_cast<C>(*e.fill_value)) : std::nullopt;
  visit_dtype(in.dtype(), [&]<class S>(TypeTag<S>) {
    auto src = in.values<S>();
    visit_dtype(e.stored_dtype, [&]<class D>(TypeTag<D>) {
      auto dst = out.mutable_values<D>();
      for (std::size_t i = 0; i < src.size(); ++i) {
        C v = static_cast<C>(src[i]);
        if (e.add_offset) v -= off;  // as xarray: data -= add_offset; data /= scale_factor (in C)
        if (e.scale_factor) v /= scale;
        if (std::isnan(v)) {
          if constexpr (std::is_floating_point_v<D>) {
            dst[i] = static_cast<D>(fill ? *fill : v);
            continue;
          } else {
            if (!fill) throw ValueError(fmt::format("NaN cannot be stored as {} without a _FillValue", dtype_name(e.stored_dtype)));
            v = *fill;
          }
        }
        if constexpr (std::is_floating_point_v<D>) {
          dst[i] = static_cast<D>(v);
        } else {
          v = std::nearbyint(v);  // numpy.around: half to even (the default rounding mode)
          if (!(v >= static_cast<C>(std::numeric_limits<D>::lowest()) && v <= static_cast<C>(std::numeric_limits<D>::max())))
            throw ValueError(fmt::format("value {} (encoded {}) does not fit {}", static_cast<double>(src[i]),
                                         static_cast<double>(v), dtype_name(e.stored_dtype)));
          dst[i] = static_cast<D>(v);
        }
      }
    });
  });
  return out;
}
}  // namespace

Chunk apply_encoding(const Chunk& decoded, const Encoding& e) {
  const Chunk in = decoded.contiguous();
  if (in.dtype() == DType::Bool || in.dtype() == DType::DateTime64)
    throw TypeError(fmt::format("scale_factor/add_offset encoding needs numbers, got {}", dtype_name(in.dtype())));
  return e.compute_dtype == DType::Float32 ? encode_in<float>(in, e) : encode_in<double>(in, e);
}

nlohmann::json encoding_to_json(const Encoding& e) {
  json j = {{"compute_dtype", std::string(dtype_name(e.compute_dtype))}, {"stored_dtype", std::string(dtype_name(e.stored_dtype))}};
  if (e.scale_factor) j["scale_factor"] = *e.scale_factor;
  if (e.add_offset) j["add_offset"] = *e.add_offset;
  if (e.fill_value) j["fill_value"] = *e.fill_value;
  return j;
}

Encoding encoding_from_json(const nlohmann::json& j, std::string_view where) {
  try {
    Encoding e;
    if (j.contains("scale_factor")) e.scale_factor = j["scale_factor"].get<double>();
    if (j.contains("add_offset")) e.add_offset = j["add_offset"].get<double>();
    if (j.contains("fill_value")) e.fill_value = j["fill_value"].get<double>();
    e.compute_dtype = parse_dtype(j.at("compute_dtype").get<std::string>());
    e.stored_dtype = parse_dtype(j.at("stored_dtype").get<std::string>());
    if (e.compute_dtype != DType::Float32 && e.compute_dtype != DType::Float64)
      throw ValueError(fmt::format("{}: field 'compute_dtype' must be float32 or float64", where));
    return e;
  } catch (const json::exception& ex) {
    throw ValueError(fmt::format("{}: field 'cf_encoding': {}", where, ex.what()));
  }
}

}  // namespace cubist::zarr::cf
