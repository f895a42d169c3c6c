// Byte buffers, key validation and the local directory store.
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>

#include "cubist/zarr.hpp"
#include "zarr/internal.hpp"

namespace cubist::zarr {
namespace fs = std::filesystem;

Bytes::Bytes(std::size_t size) : data_(new std::byte[size == 0 ? 1 : size]), size_(size), capacity_(size) {}

void Bytes::resize_discard(std::size_t size) {
  if (size > capacity_) *this = Bytes(size);
  size_ = size;
}

std::optional<Bytes> Store::get(std::string_view key) const {
  Bytes out;
  if (!get_into(key, out)) return std::nullopt;
  return out;
}

std::optional<Bytes> Store::get_range(std::string_view key, std::uint64_t offset, std::uint64_t length) const {
  Bytes out;
  if (!get_range_into(key, offset, length, out)) return std::nullopt;
  return out;
}

void detail::check_range(const Store& store, std::string_view key, std::uint64_t offset, std::uint64_t length,
                         std::uint64_t size) {
  if (offset > size || length > size - offset)
    throw IOError(fmt::format("zarr: byte range {}-{} of '{}/{}' lies outside its {} bytes", offset, offset + length,
                              store.describe(), key, size));
}

bool Store::get_range_into(std::string_view key, std::uint64_t offset, std::uint64_t length, Bytes& buffer) const {
  Bytes whole;
  if (!get_into(key, whole)) return false;
  detail::check_range(*this, key, offset, length, whole.size());
  buffer.resize_discard(length);
  if (length > 0) std::memcpy(buffer.data(), whole.data() + offset, length);
  return true;
}

bool Store::read_with(std::string_view key, Bytes& scratch, const std::function<void(std::span<const std::byte>)>& use) const {
  if (!get_into(key, scratch)) return false;
  use(scratch.span());
  return true;
}

std::optional<std::uint64_t> Store::get_suffix_into(std::string_view key, std::uint64_t length, Bytes& buffer) const {
  if (!get_into(key, buffer)) return std::nullopt;
  const std::uint64_t size = buffer.size(), n = std::min(length, size);
  if (n < size) std::memmove(buffer.data(), buffer.data() + (size - n), n);
  buffer.truncate(n);
  return size;
}

Bytes Bytes::copy_of(std::span<const std::byte> data) {
  Bytes b(data.size());
  if (!data.empty()) std::memcpy(b.data(), data.data(), data.size());
  return b;
}

Bytes Bytes::copy_of(std::string_view text) { return copy_of(std::as_bytes(std::span(text.data(), text.size()))); }

void Bytes::truncate(std::size_t size) {
  if (size > size_) throw Error(fmt::format("internal: cannot grow a buffer of {} bytes to {}", size_, size));
  size_ = size;
}

void Store::set(std::string_view key, std::string_view text) {
  set(key, std::as_bytes(std::span(text.data(), text.size())));
}

void Store::erase_prefix(std::string_view prefix) {
  for (const auto& k : list(prefix)) erase(k);
}

bool Store::exists(std::string_view key) const { return get(key).has_value(); }

namespace {
void check_segments(std::string_view key, std::string_view what) {
  auto bad = [&](std::string_view why) {
    std::string shown;
    for (char c : key) shown += c == '\0' ? std::string("\\0") : std::string(1, c);
    throw ValueError(fmt::format("zarr: invalid store {} '{}': {}", what, shown, why));
  };
  if (key.find('\0') != std::string_view::npos) bad("contains a NUL byte");
  if (key.find('\\') != std::string_view::npos) bad("contains a backslash");
  if (key.front() == '/') bad("is an absolute path");
  std::size_t start = 0;
  while (start <= key.size()) {
    auto end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    auto seg = key.substr(start, end - start);
    if (seg.empty()) bad("has an empty path segment");
    if (seg == "..") bad("has a '..' segment that escapes the store");
    if (seg == ".") bad("has a '.' segment");
    start = end + 1;
  }
}
}  // namespace

void validate_key(std::string_view key) {
  if (key.empty()) throw ValueError("zarr: invalid store key '': empty");
  check_segments(key, "key");
}

void validate_prefix(std::string_view prefix) {
  if (prefix.empty()) return;
  if (prefix.back() == '/') prefix.remove_suffix(1);
  if (prefix.empty()) throw ValueError("zarr: invalid store prefix '/': is an absolute path");
  check_segments(prefix, "prefix");
}

namespace {

// A file opened for reading, closed on scope exit.
class File {
 public:
  explicit File(std::string p) : path_(std::move(p)) {}
  ~File() {
    if (mapped_) ::munmap(mapped_, size_);
    if (fd_ >= 0) ::close(fd_);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  // False when there is no such file (or it is a directory: not a key).
  bool open() {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      if (errno == ENOENT || errno == ENOTDIR) return false;
      throw IOError(fmt::format("zarr: cannot open '{}': {}", path_, std::strerror(errno)));
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || S_ISDIR(st.st_mode)) return false;
    size_ = static_cast<std::uint64_t>(st.st_size);
    return true;
  }
  std::uint64_t size() const { return size_; }
  // The whole file mapped read-only (its pages prefaulted), or an empty span when mmap fails (a
  // file system without it): the caller then reads. Unmapped by the destructor.
  std::span<const std::byte> map() {
    if (size_ == 0) return {};
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd_, 0);
    if (p == MAP_FAILED) return {};
    mapped_ = p;
    return {static_cast<const std::byte*>(p), size_};
  }
  // Reads up to out.size() bytes at `offset`; fewer only at the end of the file.
  std::size_t read_at(std::uint64_t offset, std::span<std::byte> out) const {
    std::size_t done = 0;
    while (done < out.size()) {
      auto n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw IOError(fmt::format("zarr: cannot read '{}': {}", path_, std::strerror(errno)));
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    return done;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  void* mapped_ = nullptr;
};

// CUBIST_ZARR_MMAP=0 turns chunk-file mapping off (every value is then read into a buffer): a
// file truncated in place by another program while it is mapped would kill the reader with
// SIGBUS, and on a network file system a server error could do the same. Unset or 1: mapping on.
bool map_files_from_environment() {
  const char* v = std::getenv("CUBIST_ZARR_MMAP");
  if (!v || std::string_view(v).empty() || std::string_view(v) == "1") return true;
  if (std::string_view(v) == "0") return false;
  throw ValueError(fmt::format("environment variable CUBIST_ZARR_MMAP: expected 0 or 1, got '{}'", v));
}

// This process's id, asked of the kernel once (getpid is a syscall per chunk written otherwise)
// and again in a forked child, whose temp names must differ from its parent's: both inherit the
// same temp-name counter.
std::atomic<pid_t> g_pid{0};
pid_t process_id() {
  static const bool registered = [] {
    g_pid = ::getpid();
    ::pthread_atfork(nullptr, nullptr, [] { g_pid = ::getpid(); });
    return true;
  }();
  (void)registered;
  return g_pid.load(std::memory_order_relaxed);
}

class DirectoryStore final : public Store {
 public:
  explicit DirectoryStore(fs::path root)
      : root_(std::move(root)), root_prefix_(with_separator(root_.native())), map_files_(map_files_from_environment()) {}

  bool get_into(std::string_view key, Bytes& out) const override {
    validate_key(key);
    File f(file_of(key));
    if (!f.open()) return false;
    out.resize_discard(f.size());
    out.truncate(f.read_at(0, out.mutable_span()));  // a file that shrank underneath us: what exists
    return true;
  }

  // Big values are lent from a mapping of the file: reading them into a buffer cost a copy out of
  // the page cache as large as the value (perf, 1024² blosc-lz4 chunks on tmpfs: the copy was
  // ~25% of the read's CPU, as much as lz4 itself), while mapping a file costs page-table work per
  // 4 KiB page and an munmap: dearer than copying a few pages, hence the threshold. A file is
  // never truncated in place by cubist, zarr-python or xarray (they all write a temp file and
  // rename it over the old one, whose mapped pages stay valid); only another program truncating
  // a chunk file in place while it is read could break a mapping (SIGBUS): CUBIST_ZARR_MMAP=0
  // turns mapping off for such setups.
  static constexpr std::uint64_t kMapMinBytes = std::uint64_t{1} << 20;

  bool read_with(std::string_view key, Bytes& scratch,
                 const std::function<void(std::span<const std::byte>)>& use) const override {
    validate_key(key);
    File f(file_of(key));
    if (!f.open()) return false;
    if (map_files_ && f.size() >= kMapMinBytes)
      if (auto mapped = f.map(); !mapped.empty()) {
        use(mapped);
        return true;
      }
    scratch.resize_discard(f.size());
    scratch.truncate(f.read_at(0, scratch.mutable_span()));  // a file that shrank underneath us: what exists
    use(scratch.span());
    return true;
  }

  bool get_range_into(std::string_view key, std::uint64_t offset, std::uint64_t length, Bytes& out) const override {
    validate_key(key);
    File f(file_of(key));
    if (!f.open()) return false;
    detail::check_range(*this, key, offset, length, f.size());
    out.resize_discard(length);
    out.truncate(f.read_at(offset, out.mutable_span()));
    if (out.size() != length)  // the file shrank underneath us
      detail::check_range(*this, key, offset, length, offset + out.size());
    return true;
  }

  std::optional<std::uint64_t> get_suffix_into(std::string_view key, std::uint64_t length, Bytes& out) const override {
    validate_key(key);
    File f(file_of(key));
    if (!f.open()) return std::nullopt;
    const std::uint64_t size = f.size(), n = std::min(length, size);
    out.resize_discard(n);
    out.truncate(f.read_at(size - n, out.mutable_span()));
    return size;
  }

  void set(std::string_view key, std::span<const std::byte> value) override {
    validate_key(key);
    const std::string p = file_of(key);
    // Unique temp name in the same directory, then rename(2): atomic on POSIX file systems.
    static std::atomic<std::uint64_t> counter{0};
    const std::string tmp = temp_name(p, counter.fetch_add(1));
    // The directory usually exists (every chunk after the first): create it only when the
    // open says it is missing, which saves a stat per chunk.
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT) {
      make_dirs(fs::path(p).parent_path());
      fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    }
    if (fd < 0) throw IOError(fmt::format("zarr: cannot create '{}': {}", tmp, std::strerror(errno)));
    std::size_t done = 0;
    while (done < value.size()) {
      auto n = ::write(fd, value.data() + done, value.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int e = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        throw IOError(fmt::format("zarr: cannot write '{}': {}", p, std::strerror(e)));
      }
      done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0 || ::rename(tmp.c_str(), p.c_str()) != 0) {
      int e = errno;
      ::unlink(tmp.c_str());
      throw IOError(fmt::format("zarr: cannot write '{}': {}", p, std::strerror(e)));
    }
  }

  void erase(std::string_view key) override {
    validate_key(key);
    auto p = path_of(key);
    if (::unlink(p.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR)
      throw IOError(fmt::format("zarr: cannot delete '{}': {}", p.string(), std::strerror(errno)));
  }

  void erase_prefix(std::string_view prefix) override {
    validate_prefix(prefix);
    std::error_code ec;
    if (prefix.empty()) {
      if (!fs::exists(root_, ec)) return;
      for (const auto& e : fs::directory_iterator(root_, ec)) fs::remove_all(e.path(), ec);
    } else {
      fs::remove_all(path_of(prefix), ec);
    }
    if (ec) throw IOError(fmt::format("zarr: cannot delete '{}' in '{}': {}", prefix, root_.string(), ec.message()));
  }

  std::vector<std::string> list(std::string_view prefix) const override {
    validate_prefix(prefix);
    std::vector<std::string> keys;
    auto base = prefix.empty() ? root_ : path_of(prefix);
    std::error_code ec;
    if (!fs::is_directory(base, ec)) return keys;
    for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      auto rel = fs::relative(it->path(), root_, ec).generic_string();
      if (rel.find(".cubist-tmp.") == std::string::npos) keys.push_back(std::move(rel));
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  std::vector<std::string> list_dir(std::string_view prefix) const override {
    validate_prefix(prefix);
    std::vector<std::string> names;
    auto base = prefix.empty() ? root_ : path_of(prefix);
    std::error_code ec;
    for (auto it = fs::directory_iterator(base, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      auto name = it->path().filename().string();
      if (name.find(".cubist-tmp.") == std::string::npos) names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  bool exists(std::string_view key) const override {
    validate_key(key);
    struct stat st {};
    return ::stat(file_of(key).c_str(), &st) == 0 && S_ISREG(st.st_mode);
  }

  std::string describe() const override { return root_.string(); }

 private:
  static std::string with_separator(std::string root) {
    if (root.empty() || root.back() != '/') root += '/';
    return root;
  }
  // The file of a chunk key, spelled as one string (an fs::path per chunk, split into components,
  // cost allocations on every chunk read and write).
  // Keys are validated first: relative, no empty, '.' or '..' segments.
  std::string file_of(std::string_view key) const {
    if (!key.empty() && key.back() == '/') key.remove_suffix(1);
    std::string f;
    f.reserve(root_prefix_.size() + key.size());
    f.append(root_prefix_).append(key);
    return f;
  }
  // "<file>.cubist-tmp.<pid>.<n>": unique per process and write.
  static std::string temp_name(const std::string& file, std::uint64_t n) {
    char suffix[64];
    auto r = fmt::format_to_n(suffix, sizeof suffix, ".cubist-tmp.{}.{}", process_id(), n);
    std::string t;
    t.reserve(file.size() + r.size);
    t.append(file).append(suffix, r.size);
    return t;
  }
  // file_of as a path, for the std::filesystem calls of erase and list.
  fs::path path_of(std::string_view key) const { return fs::path(file_of(key)); }
  void make_dirs(const fs::path& dir) const {
    std::error_code ec;
    fs::create_directories(dir, ec);
    // A concurrent writer may have created it first; only a missing directory is an error.
    if (ec && !fs::is_directory(dir))
      throw IOError(fmt::format("zarr: cannot create directory '{}': {}", dir.string(), ec.message()));
  }

  fs::path root_;
  std::string root_prefix_;  // root_ with one trailing '/'
  bool map_files_;  // CUBIST_ZARR_MMAP
};

}  // namespace

std::shared_ptr<Store> open_directory_store(const fs::path& root) {
  if (root.empty()) throw ValueError("zarr: empty store path");
  return std::make_shared<DirectoryStore>(root);
}

std::shared_ptr<Store> open_store(std::string_view path_or_url) {
  auto s = std::string(path_or_url);
  if (s.starts_with("file://")) return open_directory_store(s.substr(7));
  if (s.starts_with("http://") || s.starts_with("https://")) return detail::open_http_store(s);
  if (auto pos = s.find("://"); pos != std::string::npos && pos < 10)
    throw ValueError(fmt::format("zarr: store '{}': scheme '{}' is not supported yet (local paths, file://, http:// and https://)",
                                 s, s.substr(0, pos)));
  return open_directory_store(s);
}

}  // namespace cubist::zarr
