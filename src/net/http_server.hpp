// The one HTTP server of the engine (demo STAC API, static files such as Zarr stores and COGs,
// later the dashboard and metrics). Built on cpp-httplib, which stays out of this header.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cubist::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct ServerRequest {
  std::string method;  // "GET", "HEAD", "POST", ...
  std::string path;    // decoded, without the query string
  std::multimap<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::vector<std::string> matches;  // groups of the route's regex; [0] is the whole path
  std::string base_url;              // http://127.0.0.1:PORT
};

struct ServerResponse {
  ServerResponse() = default;
  // So that ServerResponse{404, "Not Found", "text/plain"} needs no trailing members.
  ServerResponse(int status_, std::string body_ = {}, std::string content_type_ = "application/json",
                 Headers headers_ = {})
      : status(status_), body(std::move(body_)), content_type(std::move(content_type_)), headers(std::move(headers_)) {}

  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  Headers headers;
  // Mounted files (but JSON and text, which httplib may compress): instead of `body`, a range of
  // an open file, read in pieces while it is sent.
  struct FileBody;
  std::shared_ptr<const FileBody> file_body;
};

using Handler = std::function<ServerResponse(const ServerRequest&)>;

struct ServerStats {
  std::uint64_t requests = 0;        // every request answered
  std::uint64_t range_requests = 0;  // requests with a Range header on mounted files
  std::uint64_t bytes_sent = 0;      // response body bytes (HEAD sends none)
};

// Routes are matched in the order they were added (routes and mounts together); the first
// whose method and whole-path regex match answers. No match: 404. A handler's exception
// becomes a 500 whose body is the message. GET routes also answer HEAD.
class HttpServer {
 public:
  HttpServer();
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serves the files under `dir` at `url_prefix` (e.g. "/data"): GET and HEAD, single byte
  // ranges (206 + Content-Range, 416 when unsatisfiable). Paths never escape `dir`.
  void mount_directory(const std::string& url_prefix, const std::string& dir);
  // `method` is an HTTP method ("GET", "POST", ...); `path_regex` must match the whole path.
  void route(const std::string& method, const std::string& path_regex, Handler handler);

  // Listens on a background thread; returns the bound port (port 0 picks a free one).
  int start(const std::string& host = "127.0.0.1", int port = 0);
  void stop();
  std::string base_url() const;
  int port() const;
  ServerStats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cubist::net
