#include "runtime/memory_policy.hpp"

#include <cctype>
#include <cstdlib>
#include <limits>
#include <unistd.h>

namespace cubist::runtime {

std::optional<std::size_t> choose_unit(std::span<const UnitCandidate> ready, std::int64_t held_bytes,
                                       std::int64_t budget_bytes, bool anything_running) {
  if (ready.empty()) return std::nullopt;
  for (std::size_t i = 0; i < ready.size(); ++i)
    if (ready[i].growth <= 0 || held_bytes + ready[i].growth <= budget_bytes) return i;
  if (anything_running) return std::nullopt;
  return 0;
}

std::optional<std::int64_t> parse_byte_size(const char* text) {
  if (!text || !std::isdigit(static_cast<unsigned char>(*text))) return std::nullopt;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(text, &end, 10);
  int shift = 0;
  switch (std::toupper(static_cast<unsigned char>(*end))) {
    case '\0': break;
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    default: return std::nullopt;
  }
  if (*end && end[1] != '\0' && !(std::toupper(static_cast<unsigned char>(end[1])) == 'B' && end[2] == '\0'))
    return std::nullopt;
  if (n > (static_cast<unsigned long long>(std::numeric_limits<std::int64_t>::max()) >> shift) || n == 0)
    return std::nullopt;
  return static_cast<std::int64_t>(n << shift);
}

std::int64_t default_memory_budget() {
  if (auto env = parse_byte_size(std::getenv("CUBIST_MEMORY_BUDGET"))) return *env;
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  const std::int64_t floor = std::int64_t{256} << 20;
  if (pages <= 0 || page <= 0) return floor;
  return std::max(floor, static_cast<std::int64_t>(pages) * page / 4);
}

}  // namespace cubist::runtime
