// Human-readable summaries of stores (what `cubist info PATH` prints), in the spirit of xarray's repr.
#include <algorithm>
#include <fmt/format.h>
#include <map>

#include "cubist/zarr.hpp"

namespace cubist::zarr {
using nlohmann::json;

namespace {
std::string config_string(const json& cfg, const char* skip) {
  std::vector<std::string> parts;
  if (cfg.is_object())
    for (const auto& [k, v] : cfg.items())
      if (k != skip) parts.push_back(fmt::format("{}={}", k, v.is_string() ? v.get<std::string>() : v.dump()));
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string describe_v3(const json& codecs) {
  std::vector<std::string> parts;
  for (const auto& c : codecs) {
    auto name = c.value("name", std::string("?"));
    const json cfg = c.value("configuration", json::object());
    if (name == "sharding_indexed")
      parts.push_back(fmt::format("sharding(chunks={}, [{}])", cfg.value("chunk_shape", json()).dump(),
                                  describe_v3(cfg.value("codecs", json::array()))));
    else if (cfg.empty())
      parts.push_back(name);
    else
      parts.push_back(fmt::format("{}({})", name, config_string(cfg, "")));
  }
  return fmt::format("{}", fmt::join(parts, " | "));
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) b /= 1000, ++u;
  return u == 0 ? fmt::format("{} B", static_cast<long long>(b)) : fmt::format("{:.2f} {}", b, units[u]);
}
}  // namespace

std::string describe_codecs(const ArrayMetadata& m) {
  if (m.zarr_format == 3) return describe_v3(m.codecs);
  std::string s = m.compressor.is_null() ? "no compressor"
                                         : fmt::format("{}({})", m.compressor.value("id", std::string("?")),
                                                       config_string(m.compressor, "id"));
  if (m.order == 'F') s += ", order F";
  if (m.big_endian) s += ", big-endian";
  return s;
}

std::string describe_group(const ZarrGroup& g) {
  std::string out = fmt::format("<cubist.zarr.Group> {} (zarr v{}{})\n", g.store() ? g.store()->describe() : "?",
                                g.zarr_format(), g.consolidated() ? ", consolidated" : "");
  std::map<std::string, std::int64_t> dims;
  std::size_t width = 4;
  for (const auto& n : g.array_names()) {
    const auto& a = g.array(n);
    for (std::size_t i = 0; i < a->dims().size(); ++i) dims.emplace(a->dims()[i], a->shape()[i]);
    width = std::max(width, n.size());
  }
  std::vector<std::string> d;
  for (const auto& [k, v] : dims) d.push_back(fmt::format("{}: {}", k, v));
  out += fmt::format("Dimensions:  ({})\n", fmt::join(d, ", "));
  // Coordinates first (a 1-d array named after its dimension), then data variables.
  for (bool coords : {true, false}) {
    out += coords ? "Coordinates:\n" : "Data variables:\n";
    for (const auto& n : g.array_names()) {
      const auto& a = g.array(n);
      bool is_coord = a->dims().size() == 1 && a->dims()[0] == n;
      if (is_coord != coords) continue;
      const auto& m = a->metadata();
      out += fmt::format("  {} {:<{}} ({}) {} {} chunks={} {}\n", is_coord ? '*' : ' ', n, width,
                         fmt::join(m.dimension_names, ", "), dtype_name(m.dtype),
                         human_bytes(static_cast<double>(shape_size(m.shape)) * static_cast<double>(itemsize(m.dtype))),
                         shape_to_string(m.chunks), describe_codecs(m));
    }
  }
  if (!g.attributes().empty()) {
    out += "Attributes:\n";
    for (const auto& [k, v] : g.attributes().items())
      out += fmt::format("    {}: {}\n", k, v.is_string() ? v.get<std::string>() : v.dump());
  }
  for (const auto& s : g.skipped()) out += fmt::format("Skipped: {} ({})\n", s.name, s.reason);
  return out;
}

}  // namespace cubist::zarr
