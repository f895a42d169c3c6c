// What the HTTP client and server tests share: client options that retry fast, and test bodies.
#pragma once
#include <curl/curl.h>

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

// A HEAD request sent with raw libcurl (HttpClient has no HEAD; GDAL's /vsicurl/ uses it to learn
// file sizes), optionally of a byte range ("10-19").
struct HeadAnswer {
  CURLcode code = CURLE_OK;
  long status = 0;
  curl_off_t length = -1;  // Content-Length
  std::string body;        // must stay empty
};
inline HeadAnswer head(const std::string& url, const char* range = nullptr) {
  HeadAnswer a;
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (range) curl_easy_setopt(c, CURLOPT_RANGE, range);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char* d, size_t a, size_t n, void* p) {
    static_cast<std::string*>(p)->append(d, a * n);
    return a * n;
  });
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.body);
  a.code = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
  curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &a.length);
  curl_easy_cleanup(c);
  return a;
}

}  // namespace cubist::net::testing
