// Human-readable sizes and durations for reprs and reports.
#pragma once
#include <cstdint>
#include <string>

namespace cubist::core {
std::string format_bytes(double bytes);      // "3.12 GiB", as dask's repr
std::string format_seconds(double seconds);  // "1.23 s", "850 ms"
}  // namespace cubist::core
