// A read-only Zarr store on a plain web server: every key is one GET of <base URL>/<key>
// (no byte ranges needed, so any static file server or object store's public URL works).
// A missing key (404) is an absent key, so missing chunks read as the fill value.
// Plain HTTP cannot list a directory, so groups must carry consolidated metadata; and there is
// no way to write, so every write is refused.
#include <cctype>
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

  void set(std::string_view key, std::span<const std::byte>) override { refuse_write(key); }
  void erase(std::string_view key) override { refuse_write(key); }
  void erase_prefix(std::string_view prefix) override { refuse_write(prefix); }

  std::vector<std::string> list(std::string_view prefix) const override { refuse_list(prefix); }
  std::vector<std::string> list_dir(std::string_view prefix) const override { refuse_list(prefix); }

  std::string describe() const override { return base_ + query_; }

 private:
  std::string url_of(std::string_view key) const { return base_ + "/" + encode_key(key) + query_; }

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
