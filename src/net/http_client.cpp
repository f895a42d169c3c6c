#include "net/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "cubist/error.hpp"
#include "cubist/version.hpp"

namespace cubist::net {
namespace {

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw IOError("libcurl: curl_global_init failed");
  });
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// A one-line excerpt of a response body for error messages.
std::string excerpt(const std::string& body, std::size_t max_chars = 200) {
  std::string out;
  for (char c : body.substr(0, max_chars)) out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  out = trim(out);
  if (body.size() > max_chars) out += "...";
  return out.empty() ? "(empty body)" : out;
}

bool retryable_status(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

bool retryable_curl_error(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

// Retry-After as delta-seconds or an HTTP date; nullopt when absent or unparsable.
std::optional<double> retry_after_seconds(const std::map<std::string, std::string>& headers) {
  auto it = headers.find("retry-after");
  if (it == headers.end()) return std::nullopt;
  const std::string v = trim(it->second);
  if (!v.empty() && std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); }))
    return std::stod(v);
  time_t when = curl_getdate(v.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  return std::max(0.0, std::difftime(when, std::time(nullptr)));
}

size_t write_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// Header lines of every response in a redirect chain arrive here; a status line starts a new
// response, so only the final response's headers are kept.
size_t write_header(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();
  } else if (auto colon = line.find(':'); colon != std::string::npos) {
    (*headers)[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  return size * n;
}

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

// Where get_range_into's bytes go: dst, from `offset` of the resource, at most `length` bytes.
// Reset at each attempt; a 2xx body goes here, any other body to the response (for the message).
struct RangeTarget {
  std::byte* dst = nullptr;
  std::uint64_t offset = 0;
  std::size_t length = 0;
  CURL* handle = nullptr;
  long status = 0;              // of the response whose body is arriving (0: none yet)
  std::uint64_t received = 0;   // body bytes of that response
  std::size_t written = 0;      // bytes copied to dst
  bool overflow = false;        // a 206 longer than asked for
  std::string* other_body = nullptr;
};

size_t write_range(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<RangeTarget*>(user);
  const std::size_t bytes = size * n;
  if (t->status == 0) curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &t->status);
  const std::uint64_t at = t->received;
  t->received += bytes;
  if (t->status == 206) {
    if (bytes > t->length - t->written) {
      t->overflow = true;
      return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
    }
    std::memcpy(t->dst + t->written, data, bytes);
    t->written += bytes;
  } else if (t->status == 200) {
    // The server ignored Range and sends the whole resource: keep the part asked for.
    const std::uint64_t begin = std::max(at, t->offset), end = std::min(at + bytes, t->offset + t->length);
    if (begin < end) {
      std::memcpy(t->dst + (begin - t->offset), data + (begin - at), static_cast<std::size_t>(end - begin));
      t->written = static_cast<std::size_t>(end - t->offset);
    }
  } else if (t->other_body->size() < 4096) {  // an error page: its start names the cause
    t->other_body->append(data, std::min<std::size_t>(bytes, 4096 - t->other_body->size()));
  }
  return bytes;
}

struct Request {
  std::string method;  // GET or POST
  std::string url;
  Headers headers;
  std::string body;             // POST only
  RangeTarget* into = nullptr;  // GET of a range straight into memory (get_range_into)
};

struct Attempt {
  CURLcode code = CURLE_OK;
  std::string curl_message;
  HttpResponse response;
};

}  // namespace

struct HttpClient::Impl {
  HttpOptions options;
  std::mutex mutex;
  std::vector<EasyHandle> idle;  // handles keep their connection cache: reuse = keep-alive
  std::atomic<std::uint64_t> requests{0}, retries{0}, bytes_received{0}, connections{0};

  explicit Impl(HttpOptions o) : options(std::move(o)) {
    if (options.user_agent.empty()) options.user_agent = std::string("cubist/") + kVersion;
    if (options.max_retries < 0) throw ValueError(fmt::format("HttpOptions.max_retries must be >= 0, got {}", options.max_retries));
    if (!(options.timeout_seconds > 0) || !(options.connect_timeout_seconds > 0))
      throw ValueError("HttpOptions timeouts must be > 0 seconds");
  }

  EasyHandle acquire() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        EasyHandle h = std::move(idle.back());
        idle.pop_back();
        return h;
      }
    }
    EasyHandle h(curl_easy_init());
    if (!h) throw IOError("libcurl: curl_easy_init failed");
    return h;
  }

  void release(EasyHandle h) {
    std::lock_guard lock(mutex);
    idle.push_back(std::move(h));
  }

  Attempt perform_once(const Request& req) {
    EasyHandle h = acquire();
    CURL* c = h.get();
    curl_easy_reset(c);  // clears options, keeps the connection cache
    Attempt a;
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // required with threads
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout_seconds * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout_seconds * 1000));
    curl_easy_setopt(c, CURLOPT_USERAGENT, options.user_agent.c_str());
    if (req.into) {
      *req.into = RangeTarget{req.into->dst, req.into->offset, req.into->length};
      req.into->handle = c;
      req.into->other_body = &a.response.body;
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_range);
      curl_easy_setopt(c, CURLOPT_WRITEDATA, req.into);
    } else {
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
      curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.response.body);
    }
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, write_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &a.response.headers);
    bool ranged = false;
    struct curl_slist* list = nullptr;
    for (const auto& [k, v] : req.headers) {
      if (lower(k) == "range") ranged = true;
      list = curl_slist_append(list, (k + ": " + v).c_str());
    }
    // Compressed transfer for whole documents (JSON); never for byte ranges, whose offsets
    // refer to the stored bytes.
    if (!ranged) curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    if (req.method == "POST") {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    a.code = curl_easy_perform(c);
    curl_slist_free_all(list);
    requests.fetch_add(1, std::memory_order_relaxed);
    bytes_received.fetch_add(req.into ? req.into->received : a.response.body.size(), std::memory_order_relaxed);
    long opened = 0;
    if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &opened) == CURLE_OK && opened > 0)
      connections.fetch_add(static_cast<std::uint64_t>(opened), std::memory_order_relaxed);
    if (a.code == CURLE_OK) {
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.response.status);
      char* eff = nullptr;
      curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
      a.response.url = eff ? eff : req.url;
    } else if (req.into && req.into->overflow) {
      a.curl_message = fmt::format("the server sent more than the {} bytes asked for", req.into->length);
    } else {
      a.curl_message = errbuf[0] ? trim(errbuf) : curl_easy_strerror(a.code);
    }
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);  // errbuf dies with this frame
    release(std::move(h));
    return a;
  }

  double backoff_delay(int retry, std::mt19937_64& rng) const {
    double d = std::min(options.max_backoff_seconds, options.backoff_seconds * std::pow(2.0, retry));
    // "Equal jitter": half fixed, half random, so many clients failing together spread out.
    return d / 2 + std::uniform_real_distribution<double>(0, d / 2)(rng);
  }

  // Runs the request with retries; returns the final response, whatever its status.
  // Transport errors after the last attempt throw IOError.
  HttpResponse perform(const Request& req) {
    global_init_once();
    if (!is_http_url(req.url))
      throw ValueError(fmt::format("not an http(s) URL: '{}' (only http:// and https:// are supported)", req.url));
    thread_local std::mt19937_64 rng{std::random_device{}()};
    const int attempts = options.max_retries + 1;
    for (int i = 0;; ++i) {
      if (i > 0) retries.fetch_add(1, std::memory_order_relaxed);
      Attempt a = perform_once(req);
      const bool last = i + 1 >= attempts;
      if (a.code != CURLE_OK) {
        if (last || !retryable_curl_error(a.code))
          throw IOError(fmt::format("{} {} failed after {} attempt{}: {}", req.method, req.url, i + 1,
                                    i == 0 ? "" : "s", a.curl_message));
        std::this_thread::sleep_for(std::chrono::duration<double>(backoff_delay(i, rng)));
        continue;
      }
      if (last || !retryable_status(a.response.status)) return std::move(a.response);
      double delay = backoff_delay(i, rng);
      if (auto ra = retry_after_seconds(a.response.headers))
        delay = std::min(std::max(delay, *ra), std::max(options.max_backoff_seconds, delay));
      std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    }
  }

  [[noreturn]] void throw_status(const Request& req, const HttpResponse& r) const {
    // Retryable statuses got every attempt; others were final at the first.
    const int attempts = retryable_status(r.status) ? options.max_retries + 1 : 1;
    throw HttpStatusError(r.status, fmt::format("HTTP {} from {} {}{}: {}", r.status, req.method, req.url,
                              attempts > 1 ? fmt::format(" after {} attempts", attempts) : "",
                              excerpt(r.body)));
  }

  HttpResponse checked(const Request& req) {
    HttpResponse r = perform(req);
    if (r.status < 200 || r.status >= 300) throw_status(req, r);
    return r;
  }
};

bool is_http_url(const std::string& s) {
  const std::string l = lower(s.substr(0, 8));
  return (l.rfind("http://", 0) == 0 && s.size() > 7) || (l.rfind("https://", 0) == 0 && s.size() > 8);
}

const std::string& default_ca_bundle() {
  static const std::string path = [] {
    global_init_once();
    EasyHandle h(curl_easy_init());
    char* cainfo = nullptr;
    if (!h || curl_easy_getinfo(h.get(), CURLINFO_CAINFO, &cainfo) != CURLE_OK || !cainfo) return std::string();
    return std::string(cainfo);
  }();
  return path;
}

HttpClient::HttpClient(HttpOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {
  global_init_once();
}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(const HttpClient&) = default;
HttpClient& HttpClient::operator=(const HttpClient&) = default;

HttpResponse HttpClient::get(const std::string& url, const Headers& extra) const {
  return impl_->checked(Request{"GET", url, extra, {}});
}

HttpResponse HttpClient::post_json(const std::string& url, const nlohmann::json& body, const Headers& extra) const {
  Headers h = extra;
  h.emplace_back("Content-Type", "application/json");
  h.emplace_back("Accept", "application/json, application/geo+json, */*");
  return impl_->checked(Request{"POST", url, std::move(h), body.dump()});
}

namespace {

// A 206's Content-Range must name the range asked for and the bytes that came: a wrong one would
// silently corrupt data.
void check_content_range(const std::string& url, const HttpResponse& r, std::uint64_t offset, std::uint64_t length,
                         std::uint64_t received) {
  auto cr = r.headers.find("content-range");
  long long start = -1, end = -1;
  if (cr == r.headers.end() || std::sscanf(cr->second.c_str(), "bytes %lld-%lld", &start, &end) != 2 ||
      start < 0 || static_cast<std::uint64_t>(start) != offset || end < start ||
      static_cast<std::uint64_t>(end - start + 1) != received || received > length)
    throw IOError(fmt::format("GET {} bytes {}-{}: the server answered 206 with Content-Range '{}' and {} bytes",
                              url, offset, offset + length - 1, cr == r.headers.end() ? "" : cr->second, received));
}

}  // namespace

std::string HttpClient::get_range(const std::string& url, std::int64_t offset, std::int64_t length) const {
  if (offset < 0 || length < 0)
    throw ValueError(fmt::format("get_range {}: offset and length must be >= 0, got {} and {}", url, offset, length));
  // Room for `length` bytes up front (the caller asks for what it needs), cut to what came.
  std::string out(static_cast<std::size_t>(length), '\0');
  out.resize(get_range_into(url, static_cast<std::uint64_t>(offset), out.size(), reinterpret_cast<std::byte*>(out.data())));
  return out;
}

std::size_t HttpClient::get_range_into(const std::string& url, std::uint64_t offset, std::size_t length,
                                       std::byte* dst) const {
  if (length == 0) return 0;
  if (!dst) throw ValueError(fmt::format("get_range_into {}: no destination for {} bytes", url, length));
  if (offset > std::numeric_limits<std::uint64_t>::max() - length)
    throw ValueError(fmt::format("get_range_into {}: offset {} + length {} overflows", url, offset, length));
  RangeTarget target{dst, offset, length};
  Request req{"GET", url, {{"Range", fmt::format("bytes={}-{}", offset, offset + length - 1)}}, {}, &target};
  HttpResponse r = impl_->perform(req);
  if (r.status == 416) return 0;           // the range starts at or past the end
  if (r.status == 200) return target.written;  // the server ignored Range: what lay in it
  if (r.status != 206) impl_->throw_status(req, r);
  check_content_range(url, r, offset, length, target.received);
  return target.written;
}

std::optional<std::string> HttpClient::get_if_exists(const std::string& url) const {
  Request req{"GET", url, {}, {}};
  HttpResponse r = impl_->perform(req);
  if (r.status == 404 || r.status == 410 || r.status == 403) return std::nullopt;
  if (r.status < 200 || r.status >= 300) impl_->throw_status(req, r);
  return std::move(r.body);
}

void HttpClient::close_idle_connections() const {
  std::vector<EasyHandle> closing;
  {
    std::lock_guard lock(impl_->mutex);
    closing.swap(impl_->idle);
  }
}  // the handles, and with them their connections, go here, outside the lock

HttpStats HttpClient::stats() const {
  return HttpStats{impl_->requests.load(), impl_->retries.load(), impl_->bytes_received.load(),
                   impl_->connections.load()};
}

const HttpOptions& HttpClient::options() const { return impl_->options; }

}  // namespace cubist::net
