#include "runtime/distributed/auth.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

#include "cubist/error.hpp"

namespace cubist::runtime::distributed {

std::string generate_token() {
  std::random_device rd;  // libstdc++ reads the kernel's random source (getrandom or /dev/urandom)
  std::string token;
  for (int i = 0; i < 8; ++i) token += fmt::format("{:08x}", rd());
  return token;
}

bool token_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::string default_token_path() {
  if (const char* run = std::getenv("XDG_RUNTIME_DIR"); run && *run) return std::string(run) + "/cubist/token";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.config/cubist/token";
}

void write_token_file(const std::string& path, const std::string& token) {
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir)) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw IOError(fmt::format("token file {}: cannot create its directory: {}", path, ec.message()));
    ::chmod(dir.c_str(), 0700);
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw IOError(fmt::format("token file {}: {}", path, std::strerror(errno)));
  const std::string line = token + "\n";
  // fchmod too: an existing file keeps its mode through O_CREAT.
  const bool ok = ::fchmod(fd, 0600) == 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  const int err = errno;
  ::close(fd);
  if (!ok) throw IOError(fmt::format("token file {}: {}", path, std::strerror(err)));
}

std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IOError(fmt::format("token file {}: cannot read it ({})", path, std::strerror(errno)));
  std::string line;
  std::getline(in, line);
  const auto b = line.find_first_not_of(" \t\r\n"), e = line.find_last_not_of(" \t\r\n");
  if (b == std::string::npos) throw IOError(fmt::format("token file {}: empty", path));
  return line.substr(b, e - b + 1);
}

std::string resolve_token(const std::string& given, const std::string& token_file) {
  if (!given.empty()) return given;
  if (!token_file.empty()) return read_token_file(token_file);
  if (const char* env = std::getenv("CUBIST_TOKEN"); env && *env) return env;
  const std::string path = default_token_path();
  if (!std::filesystem::exists(path))
    throw IOError(fmt::format("no cluster token: pass --token-file, set CUBIST_TOKEN, or run `cubist scheduler` "
                              "as this user so that it writes {}", path));
  return read_token_file(path);
}

}  // namespace cubist::runtime::distributed
