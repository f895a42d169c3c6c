#include "stac/href.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <vector>

namespace cubist::stac {
namespace {

std::string strip_file_scheme(const std::string& s) {
  if (s.rfind("file://", 0) == 0) return s.substr(7);
  return s;
}

// Removes "." and "x/.." segments of a URL path (RFC 3986 remove_dot_segments, simplified).
std::string normalise_url_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    std::string seg = path.substr(start, slash - start);
    if (seg == "..") {
      if (out.size() > 1) out.pop_back();
    } else if (seg != ".") {
      out.push_back(seg);
    }
    if (slash == path.size()) {
      if (seg == "." || seg == "..") out.push_back("");  // "a/." keeps its trailing slash
      break;
    }
    start = slash + 1;
  }
  std::string r;
  for (std::size_t i = 0; i < out.size(); ++i) r += (i ? "/" : "") + out[i];
  return r;
}

}  // namespace

bool has_scheme(const std::string& s) {
  auto colon = s.find("://");
  if (colon == std::string::npos || colon == 0) return false;
  for (std::size_t i = 0; i < colon; ++i) {
    char c = s[i];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.')) return false;
  }
  return std::isalpha(static_cast<unsigned char>(s[0])) != 0;
}

std::string resolve_href(const std::string& href, const std::string& base) {
  if (has_scheme(href)) return strip_file_scheme(href);
  const bool base_is_url = has_scheme(base) && base.rfind("file://", 0) != 0;
  if (!href.empty() && href[0] == '/') {
    if (!base_is_url) return href;
    // Absolute path (or "//host/path") on the base URL's server.
    const auto scheme_end = base.find("://") + 3;
    if (href.rfind("//", 0) == 0) return base.substr(0, scheme_end - 2) + href;
    return base.substr(0, std::min(base.find('/', scheme_end), base.size())) + href;
  }
  if (base.empty()) return href;
  if (base_is_url) {
    const auto authority_end = base.find('/', base.find("://") + 3);
    if (authority_end == std::string::npos) return base + "/" + href;
    std::string dir = base.substr(0, base.find_first_of("?#") == std::string::npos ? base.size() : base.find_first_of("?#"));
    dir = dir.substr(0, dir.rfind('/') + 1);
    return base.substr(0, authority_end) + normalise_url_path(dir.substr(authority_end) + href);
  }
  const std::filesystem::path dir = std::filesystem::path(strip_file_scheme(base)).parent_path();
  return (dir / href).lexically_normal().string();
}

}  // namespace cubist::stac
