// A read-only Zarr store on a plain web server: every key is one GET of <base URL>/<key>
// (no byte ranges needed, so any static file server or object store's public URL works; partial
// shard reads ask for ranges and fall back to the whole value when a server ignores Range).
// A missing key (404) is an absent key, so missing chunks read as the fill value.
// Plain HTTP cannot list a directory, so groups must carry consolidated metadata; and there is
// no way to write, so every write is refused.
#include <cctype>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "cubist/error.hpp"
#include "cubist/zarr.hpp"
#include "net/http_client.hpp"
#include "zarr/internal.hpp"

namespace cubist::zarr {
namespace {

// Keys are validated store keys ('/'-separated, no '..'): percent-encode everything but the
// unreserved characters and '/', so a key maps to exactly one URL path.
std::string encode_key(std::string_view key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// One client for every HTTP store in the process, so all layers reading from the same server
// share its kept-alive connections.
const net::HttpClient& shared_client() {
  static const net::HttpClient client;
  return client;
}

class HttpStore final : public Store {
 public:
  HttpStore(std::string url, net::HttpClient client) : client_(std::move(client)) {
    // A query string (e.g. a signed URL's token) must follow every key, not precede it.
    if (auto q = url.find('?'); q != std::string::npos) {
      query_ = url.substr(q);
      url.resize(q);
    }
    while (!url.empty() && url.back() == '/') url.pop_back();
    base_ = std::move(url);
  }

  bool get_into(std::string_view key, Bytes& out) const override {
    validate_key(key);
    std::optional<std::string> body = client_.get_if_exists(url_of(key));
    if (!body) return false;
    out.resize_discard(body->size());
    if (!body->empty()) std::memcpy(out.data(), body->data(), body->size());
    return true;
  }

  bool get_range_into(std::string_view key, std::uint64_t offset, std::uint64_t length, Bytes& out) const override {
    validate_key(key);
    if (length == 0) return Store::get_range_into(key, offset, length, out);
    auto r = ranged_get(key, fmt::format("bytes={}-{}", offset, offset + length - 1));
    if (!r) return false;
    if (r->status == 416)
      throw IOError(fmt::format("zarr: byte range {}-{} of '{}' lies outside the value (HTTP 416)", offset, offset + length,
                                url_of(key)));
    if (r->status == 200) {  // the server ignored Range and sent the whole value
      detail::check_range(*this, key, offset, length, r->body.size());
      copy_out(std::string_view(r->body).substr(offset, length), out);
      return true;
    }
    auto cr = content_range(key, *r);
    if (cr.first != offset || cr.first + r->body.size() != cr.last + 1)
      throw bad_range(key, *r, fmt::format("bytes {}-{}", offset, offset + length - 1));
    // A server sends fewer bytes when the range reaches past the end of the value.
    if (r->body.size() != length) detail::check_range(*this, key, offset, length, cr.total);
    copy_out(r->body, out);
    return true;
  }

  std::optional<std::uint64_t> get_suffix_into(std::string_view key, std::uint64_t length, Bytes& out) const override {
    validate_key(key);
    if (length == 0) return Store::get_suffix_into(key, length, out);
    auto r = ranged_get(key, fmt::format("bytes=-{}", length));
    if (!r) return std::nullopt;
    if (r->status == 416) {  // a suffix of an empty value is unsatisfiable
      out.resize_discard(0);
      return 0;
    }
    if (r->status == 200) {
      std::string_view body = r->body;
      copy_out(body.substr(body.size() - std::min<std::uint64_t>(length, body.size())), out);
      return body.size();
    }
    auto cr = content_range(key, *r);
    if (cr.last + 1 != cr.total || r->body.size() != std::min(length, cr.total) || cr.first + r->body.size() != cr.total)
      throw bad_range(key, *r, fmt::format("the last {} bytes", length));
    copy_out(r->body, out);
    return cr.total;
  }

  void set(std::string_view key, std::span<const std::byte>) override { refuse_write(key); }
  void erase(std::string_view key) override { refuse_write(key); }
  void erase_prefix(std::string_view prefix) override { refuse_write(prefix); }

  std::vector<std::string> list(std::string_view prefix) const override { refuse_list(prefix); }
  std::vector<std::string> list_dir(std::string_view prefix) const override { refuse_list(prefix); }

  std::string describe() const override { return base_ + query_; }

 private:
  std::string url_of(std::string_view key) const { return base_ + "/" + encode_key(key) + query_; }

  // GET with a Range header: the answer (200, 206 or 416), or nullopt when the key is absent.
  std::optional<net::HttpResponse> ranged_get(std::string_view key, const std::string& range) const {
    try {
      return client_.get(url_of(key), {{"Range", range}});
    } catch (const net::HttpStatusError& e) {
      if (e.status() == 404 || e.status() == 410 || e.status() == 403) return std::nullopt;
      if (e.status() == 416) return net::HttpResponse{416, {}, {}, url_of(key)};
      throw;
    }
  }
  struct ContentRange {
    std::uint64_t first = 0, last = 0, total = 0;
  };
  // The "bytes first-last/total" of a 206 answer; a wrong or missing one would silently corrupt
  // chunks, so it is an IOError naming the URL.
  ContentRange content_range(std::string_view key, const net::HttpResponse& r) const {
    if (r.status != 206) throw bad_range(key, r, "a byte range");
    auto it = r.headers.find("content-range");
    unsigned long long a = 0, b = 0, t = 0;
    if (it == r.headers.end() || std::sscanf(it->second.c_str(), "bytes %llu-%llu/%llu", &a, &b, &t) != 3 || b < a || b >= t)
      throw bad_range(key, r, "a byte range");
    return {a, b, t};
  }
  IOError bad_range(std::string_view key, const net::HttpResponse& r, std::string_view asked) const {
    auto it = r.headers.find("content-range");
    return IOError(fmt::format("zarr: GET {} for {}: the server answered {} with Content-Range '{}' and {} bytes", url_of(key),
                               asked, r.status, it == r.headers.end() ? "" : it->second, r.body.size()));
  }
  static void copy_out(std::string_view bytes, Bytes& out) {
    out.resize_discard(bytes.size());
    if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  }

  [[noreturn]] void refuse_write(std::string_view key) const {
    throw IOError(fmt::format("zarr: cannot write '{}' to '{}': Zarr stores over HTTP are read-only", key, describe()));
  }
  [[noreturn]] void refuse_list(std::string_view prefix) const {
    throw IOError(fmt::format(
        "zarr: cannot list '{}{}{}': plain HTTP has no directory listing, so a Zarr store over HTTP is read-only "
        "and a group is opened only from consolidated metadata (.zmetadata in v2, 'consolidated_metadata' in v3 "
        "zarr.json), which this store does not have",
        base_, prefix.empty() ? "" : "/", prefix));
  }

  net::HttpClient client_;
  std::string base_, query_;
};

}  // namespace

std::shared_ptr<Store> detail::open_http_store(std::string_view url) {
  if (!net::is_http_url(std::string(url)))
    throw ValueError(fmt::format("zarr: '{}' is not an http:// or https:// URL", url));
  return std::make_shared<HttpStore>(std::string(url), shared_client());
}

}  // namespace cubist::zarr
