#include "net/http_server.hpp"

#include <fcntl.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <regex>
#include <shared_mutex>
#include <thread>
#include <variant>

#include <fmt/format.h>

#include "cubist/error.hpp"

namespace cubist::net {
namespace fs = std::filesystem;
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

struct Route {
  std::string method;  // upper case
  std::regex pattern;
  Handler handler;
};

struct Mount {
  std::string prefix;  // "/data" (no trailing slash) or "" for the root
  fs::path dir;        // canonical
};

struct ByteRange {
  std::uint64_t first = 0, last = 0;  // inclusive
};

// One "bytes=a-b" / "bytes=a-" / "bytes=-n" range. nullopt: no usable single range (absent,
// multiple or malformed), so the whole file is sent, as RFC 9110 allows.
std::optional<std::pair<std::int64_t, std::int64_t>> parse_single_range(const std::string& header) {
  static const std::regex re(R"(\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*)", std::regex::icase);
  std::smatch m;
  if (!std::regex_match(header, m, re) || (m[1].length() == 0 && m[2].length() == 0)) return std::nullopt;
  if (m[1].length() > 18 || m[2].length() > 18) return std::nullopt;
  const std::int64_t a = m[1].length() ? std::stoll(m[1]) : -1;
  const std::int64_t b = m[2].length() ? std::stoll(m[2]) : -1;
  if (a >= 0 && b >= 0 && b < a) return std::nullopt;
  return std::make_pair(a, b);
}

// Resolves `rel` (the URL path below a mount) to a regular file inside `dir`, or nullopt.
// Refuses "..", "." and anything that would leave the directory, including via symlinks.
std::optional<fs::path> resolve_in(const fs::path& dir, const std::string& rel) {
  fs::path out = dir;
  std::size_t pos = 0;
  while (pos <= rel.size()) {
    std::size_t next = rel.find('/', pos);
    if (next == std::string::npos) next = rel.size();
    std::string seg = rel.substr(pos, next - pos);
    pos = next + 1;
    if (seg.empty()) continue;
    if (seg == "." || seg == ".." || seg.find('\\') != std::string::npos || seg.find('\0') != std::string::npos)
      return std::nullopt;
    out /= seg;
  }
  std::error_code ec;
  fs::path canon = fs::canonical(out, ec);
  if (ec || !fs::is_regular_file(canon, ec)) return std::nullopt;
  auto [d, c] = std::mismatch(dir.begin(), dir.end(), canon.begin(), canon.end());
  if (d != dir.end()) return std::nullopt;
  return canon;
}

std::string content_type_for(const fs::path& p) {
  const std::string ext = lower(p.extension().string());
  if (ext == ".json" || p.filename() == ".zarray" || p.filename() == ".zgroup" || p.filename() == ".zattrs" ||
      p.filename() == ".zmetadata")
    return "application/json";
  if (ext == ".tif" || ext == ".tiff") return "image/tiff";
  if (ext == ".html") return "text/html";
  if (ext == ".txt") return "text/plain";
  return "application/octet-stream";
}

// What httplib would compress for a client that accepts it (its can_compress_content_type):
// such files are sent from a string as before, so they still go out compressed. They are JSON
// and text documents; COGs and Zarr chunks go from the file.
bool httplib_compresses(const std::string& content_type) {
  return content_type.rfind("text/", 0) == 0 || content_type == "application/json";
}

std::string read_bytes(const fs::path& p, std::uint64_t offset, std::uint64_t length) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw IOError(fmt::format("cannot open {}", p.string()));
  in.seekg(static_cast<std::streamoff>(offset));
  std::string out(length, '\0');
  in.read(out.data(), static_cast<std::streamsize>(length));
  out.resize(static_cast<std::size_t>(in.gcount()));
  return out;
}

}  // namespace

// Bytes [offset, offset + length) of an open file; the descriptor closes with the last response
// (httplib copies the content provider that holds it).
struct ServerResponse::FileBody {
  int fd = -1;
  std::uint64_t offset = 0, length = 0;
  FileBody(const fs::path& p, std::uint64_t offset_, std::uint64_t length_) : offset(offset_), length(length_) {
    fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw IOError(fmt::format("cannot open {}: {}", p.string(), std::strerror(errno)));
  }
  ~FileBody() { ::close(fd); }
  FileBody(const FileBody&) = delete;
  FileBody& operator=(const FileBody&) = delete;

  // httplib asks for the bytes from `from` (relative to the range) on; send the next piece.
  // False (httplib then drops the connection) when the file ends early or cannot be read: the
  // Content-Length already promised the whole range.
  bool send(std::size_t from, httplib::DataSink& sink) const {
    thread_local std::vector<char> buffer(256 * 1024);  // httplib's worker threads live long: reused
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), length - from));
    ssize_t got;
    do got = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset + from));
    while (got < 0 && errno == EINTR);
    return got > 0 && sink.write(buffer.data(), static_cast<std::size_t>(got));
  }
};

struct HttpServer::Impl {
  httplib::Server server;
  std::thread thread;
  std::string host;
  int port = 0;
  mutable std::shared_mutex table_mutex;
  // Routes and mounts share one ordered table: a mount is a GET route with a Mount attached.
  std::vector<std::variant<Route, Mount>> table;
  std::atomic<std::uint64_t> requests{0}, range_requests{0}, bytes_sent{0};

  ServerResponse serve_file(const Mount& m, const ServerRequest& req, const std::string& rel) {
    auto file = resolve_in(m.dir, rel);
    if (!file) return ServerResponse{404, "Not Found: " + req.path, "text/plain", {}};
    std::error_code ec;
    const std::uint64_t size = fs::file_size(*file, ec);
    if (ec) return ServerResponse{404, "Not Found: " + req.path, "text/plain", {}};
    ServerResponse res;
    res.content_type = content_type_for(*file);
    res.headers.emplace_back("Accept-Ranges", "bytes");
    auto rh = req.headers.find("range");
    std::optional<std::pair<std::int64_t, std::int64_t>> range;
    if (rh != req.headers.end()) {
      range_requests.fetch_add(1, std::memory_order_relaxed);
      range = parse_single_range(rh->second);
    }
    const bool from_file = !httplib_compresses(res.content_type);
    if (!range) {
      if (from_file && size > 0) {
        res.file_body = std::make_shared<const ServerResponse::FileBody>(*file, 0, size);
      } else {
        res.body = req.method == "HEAD" ? std::string() : read_bytes(*file, 0, size);
        if (req.method == "HEAD") res.headers.emplace_back("Content-Length", std::to_string(size));
      }
      return res;
    }
    auto [a, b] = *range;
    ByteRange r;
    if (a < 0) {  // suffix: the last b bytes
      if (b == 0 || size == 0) return unsatisfiable(size);
      r.first = size - std::min<std::uint64_t>(size, static_cast<std::uint64_t>(b));
      r.last = size - 1;
    } else {
      if (static_cast<std::uint64_t>(a) >= size) return unsatisfiable(size);
      r.first = static_cast<std::uint64_t>(a);
      r.last = b < 0 ? size - 1 : std::min<std::uint64_t>(size - 1, static_cast<std::uint64_t>(b));
    }
    res.status = 206;
    res.headers.emplace_back("Content-Range", fmt::format("bytes {}-{}/{}", r.first, r.last, size));
    if (from_file) res.file_body = std::make_shared<const ServerResponse::FileBody>(*file, r.first, r.last - r.first + 1);
    else res.body = read_bytes(*file, r.first, r.last - r.first + 1);
    return res;
  }

  static ServerResponse unsatisfiable(std::uint64_t size) {
    ServerResponse res{416, "Range Not Satisfiable", "text/plain", {}};
    res.headers.emplace_back("Content-Range", fmt::format("bytes */{}", size));
    return res;
  }

  ServerResponse dispatch(ServerRequest& req) {
    std::shared_lock lock(table_mutex);
    bool path_known = false;
    for (const auto& entry : table) {
      if (const auto* m = std::get_if<Mount>(&entry)) {
        const bool under = req.path.rfind(m->prefix + "/", 0) == 0;
        if (!under) continue;
        path_known = true;
        if (req.method != "GET" && req.method != "HEAD") continue;
        return serve_file(*m, req, req.path.substr(m->prefix.size() + 1));
      }
      const auto& r = std::get<Route>(entry);
      std::smatch sm;
      if (!std::regex_match(req.path, sm, r.pattern)) continue;
      path_known = true;
      if (r.method != req.method && !(r.method == "GET" && req.method == "HEAD")) continue;
      req.matches.assign(sm.begin(), sm.end());
      return r.handler(req);
    }
    if (path_known) return ServerResponse{405, "Method Not Allowed: " + req.method + " " + req.path, "text/plain", {}};
    return ServerResponse{404, "Not Found: " + req.path, "text/plain", {}};
  }

  void handle(const httplib::Request& hreq, httplib::Response& hres) {
    requests.fetch_add(1, std::memory_order_relaxed);
    ServerRequest req;
    req.method = hreq.method;
    req.path = hreq.path;
    req.query = hreq.params;
    for (const auto& [k, v] : hreq.headers) req.headers[lower(k)] = v;
    req.body = hreq.body;
    req.base_url = base_url();
    ServerResponse res;
    try {
      res = dispatch(req);
    } catch (const std::exception& e) {
      res = ServerResponse{500, e.what(), "text/plain", {}};
    } catch (...) {
      res = ServerResponse{500, "unknown exception in handler", "text/plain", {}};
    }
    // Handlers answer ranges themselves (or not at all); without this httplib would cut the
    // body to the requested range a second time.
    const_cast<httplib::Request&>(hreq).ranges.clear();
    hres.status = res.status;
    for (const auto& [k, v] : res.headers) {
      if (lower(k) != "content-length") hres.set_header(k, v);
    }
    if (res.file_body) {
      // Its length is the Content-Length, also for HEAD, which sends no body (provider not called).
      if (req.method != "HEAD") bytes_sent.fetch_add(res.file_body->length, std::memory_order_relaxed);
      hres.set_content_provider(static_cast<std::size_t>(res.file_body->length), res.content_type,
                                [body = res.file_body](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                                  return body->send(offset, sink);
                                });
      return;
    }
    if (req.method != "HEAD") bytes_sent.fetch_add(res.body.size(), std::memory_order_relaxed);
    if (req.method == "HEAD") {
      // httplib sends no body for HEAD but computes Content-Length from the body we give it.
      auto cl = std::find_if(res.headers.begin(), res.headers.end(),
                             [](const auto& h) { return lower(h.first) == "content-length"; });
      if (cl != res.headers.end() && std::stoull(cl->second) > 0) {
        // A content provider that is never called (no body for HEAD) carries the length.
        hres.set_content_provider(std::stoull(cl->second), res.content_type.c_str(),
                                  [](std::size_t, std::size_t, httplib::DataSink&) { return false; });
        return;
      }
    }
    hres.set_content(std::move(res.body), res.content_type.c_str());
  }

  std::string base_url() const { return fmt::format("http://{}:{}", host, port); }
};

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {
  auto* impl = impl_.get();
  auto h = [impl](const httplib::Request& req, httplib::Response& res) { impl->handle(req, res); };
  impl->server.Get(".*", h);  // also answers HEAD
  impl->server.Post(".*", h);
  impl->server.Put(".*", h);
  impl->server.Patch(".*", h);
  impl->server.Delete(".*", h);
  impl->server.Options(".*", h);
  // Idle keep-alive connections each hold one of httplib's threads: give it enough of them.
  impl->server.new_task_queue = [] { return new httplib::ThreadPool(32); };
  impl->server.set_keep_alive_max_count(1000);
  // httplib only notices stop() between requests on a kept-alive connection, so a short idle
  // timeout bounds how long stop() waits; reconnecting on loopback costs little.
  impl->server.set_keep_alive_timeout(1);
  impl->server.set_tcp_nodelay(true);  // small JSON replies must not wait for Nagle
  // httplib's default also sets SO_REUSEPORT, which lets a second server silently share a
  // port already in use; keep SO_REUSEADDR only (fast restarts after TIME_WAIT).
  impl->server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const char*>(&yes), sizeof(yes));
  });
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::mount_directory(const std::string& url_prefix, const std::string& dir) {
  std::error_code ec;
  fs::path canon = fs::canonical(dir, ec);
  if (ec || !fs::is_directory(canon)) throw IOError(fmt::format("mount_directory: '{}' is not a directory", dir));
  std::string prefix = url_prefix;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (!prefix.empty() && prefix.front() != '/') prefix = "/" + prefix;
  std::unique_lock lock(impl_->table_mutex);
  impl_->table.emplace_back(Mount{prefix, canon});
}

void HttpServer::route(const std::string& method, const std::string& path_regex, Handler handler) {
  std::string m = method;
  std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::toupper(c); });
  std::regex re;
  try {
    re = std::regex(path_regex);
  } catch (const std::regex_error& e) {
    throw ValueError(fmt::format("route {} '{}': invalid regex: {}", m, path_regex, e.what()));
  }
  if (!handler) throw ValueError(fmt::format("route {} '{}': empty handler", m, path_regex));
  std::unique_lock lock(impl_->table_mutex);
  impl_->table.emplace_back(Route{m, std::move(re), std::move(handler)});
}

int HttpServer::start(const std::string& host, int port) {
  if (impl_->thread.joinable()) throw ValueError(fmt::format("HttpServer already listening on {}", base_url()));
  int bound = port == 0 ? impl_->server.bind_to_any_port(host) : (impl_->server.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) throw IOError(fmt::format("HttpServer: cannot listen on {}:{}", host, port));
  impl_->host = host;
  impl_->port = bound;
  impl_->thread = std::thread([impl = impl_.get()] { impl->server.listen_after_bind(); });
  // stop() is a no-op until httplib marks itself running; wait so start/stop never race.
  while (!impl_->server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return bound;
}

void HttpServer::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->server.stop();
  impl_->thread.join();
}

std::string HttpServer::base_url() const { return impl_->base_url(); }
int HttpServer::port() const { return impl_->port; }

ServerStats HttpServer::stats() const {
  return ServerStats{impl_->requests.load(), impl_->range_requests.load(), impl_->bytes_sent.load()};
}

}  // namespace cubist::net
