// What the HTTP client and server tests share: client options that retry fast, and test bodies.
#pragma once
#include <cstddef>
#include <string>

#include "net/http_client.hpp"

namespace cubist::net::testing {

// Fast retries so the tests spend their time on behaviour, not on sleeping.
inline HttpOptions fast(int retries = 4) {
  HttpOptions o;
  o.max_retries = retries;
  o.backoff_seconds = 0.005;
  o.max_backoff_seconds = 0.05;
  o.timeout_seconds = 5;
  return o;
}

// n bytes that do not repeat with any short period (`step` and `wrap` vary the pattern per test).
inline std::string bytes_pattern(std::size_t n, std::size_t step = 7, std::size_t wrap = 251) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * step + i / wrap) & 0xff);
  return s;
}

}  // namespace cubist::net::testing
