// The one HTTP client of the engine (STAC API, Zarr over HTTP, anything else that fetches URLs).
// One implementation means one place for retries, timeouts, connection reuse and error messages.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cubist/error.hpp"

namespace cubist::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpOptions {
  int max_retries = 4;                 // extra attempts after the first, on retryable failures
  double backoff_seconds = 0.25;       // first retry delay; doubles each retry, with jitter
  double max_backoff_seconds = 8;      // cap for one delay (also caps a server's Retry-After)
  double timeout_seconds = 60;         // whole request, per attempt
  double connect_timeout_seconds = 10;
  std::string user_agent;              // empty: "cubist/<version>"
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names, of the final response
  std::string url;                             // effective URL after redirects
};

// A final non-2xx answer; callers that react to a status (405: try another method) catch this.
class HttpStatusError : public IOError {
 public:
  HttpStatusError(long status, const std::string& message) : IOError(message), status_(status) {}
  long status() const { return status_; }

 private:
  long status_;
};

struct HttpStats {
  std::uint64_t requests = 0;        // attempts sent (retries included)
  std::uint64_t retries = 0;         // attempts that were retries
  std::uint64_t bytes_received = 0;  // response body bytes
  std::uint64_t connections = 0;     // TCP connections opened (the rest reused kept-alive ones)
};

// Thread-safe: one client may be used from many threads at once. Copies share connections
// and statistics. Connections are kept alive and reused across requests.
// Retries (exponential backoff with jitter, Retry-After honoured) on 429/500/502/503/504,
// connection failures and timeouts. After the last attempt a non-2xx status throws IOError:
// "HTTP 503 from GET <url> after 5 attempts: <body excerpt>".
// Only http:// and https:// URLs are accepted (ValueError otherwise).
class HttpClient {
 public:
  explicit HttpClient(HttpOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&);
  HttpClient& operator=(const HttpClient&);

  HttpResponse get(const std::string& url, const Headers& extra = {}) const;
  HttpResponse post_json(const std::string& url, const nlohmann::json& body,
                         const Headers& extra = {}) const;
  // Bytes [offset, offset + length) of the resource; fewer at its end, empty past it (through
  // get_range_into, into a string of `length` bytes).
  std::string get_range(const std::string& url, std::int64_t offset, std::int64_t length) const;
  // The same bytes written straight into dst (room for `length` bytes) as they arrive, with no
  // buffer in between: returns how many were written (fewer at the resource's end, 0 past it).
  // A 206 whose Content-Range is not the range asked for, or longer, is an IOError.
  std::size_t get_range_into(const std::string& url, std::uint64_t offset, std::size_t length,
                             std::byte* dst) const;
  // The body, or nullopt when the resource does not exist (404, 410, and 403: public object
  // stores such as S3 answer 403 for a missing key when listing is not allowed).
  std::optional<std::string> get_if_exists(const std::string& url) const;

  HttpStats stats() const;
  // Closes the kept-alive connections no request is using (the next request opens a new one). A
  // server in the same process waits for its idle kept-alive clients when it stops.
  void close_idle_connections() const;
  const HttpOptions& options() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// True for http:// and https:// URLs (case-insensitive scheme).
bool is_http_url(const std::string& s);

// The CA bundle file HttpClient verifies https peers against (libcurl's built-in default), or ""
// when libcurl does not say.
const std::string& default_ca_bundle();

}  // namespace cubist::net
