// Helpers shared by the benchmark programs: timing, medians, running the Python reference.
// Benchmarks only measure and print; they never assert timings.
#pragma once
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

inline double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

// Runs f() `repeats` times and returns the wall time of each run in seconds.
template <class F> std::vector<double> time_runs(int repeats, F&& f) {
  std::vector<double> out;
  for (int i = 0; i < repeats; ++i) {
    double t0 = now_seconds();
    f();
    out.push_back(now_seconds() - t0);
  }
  return out;
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

inline std::string join_times(const std::vector<double>& v) {
  std::string s;
  char buf[32];
  for (double x : v) {
    std::snprintf(buf, sizeof buf, "%s%.4g", s.empty() ? "" : ",", x);
    s += buf;
  }
  return s;
}

// "key=value key=value" -> map (the line format the reference_*.py scripts print).
inline std::map<std::string, std::string> parse_kv(const std::string& line) {
  std::map<std::string, std::string> kv;
  std::istringstream in(line);
  std::string tok;
  while (in >> tok) {
    auto eq = tok.find('=');
    if (eq == std::string::npos) kv[tok] = "";
    else kv[tok.substr(0, eq)] = tok.substr(eq + 1);
  }
  return kv;
}

// Runs a shell command, echoing each output line with a prefix, and returns the lines.
inline std::vector<std::string> run_reference(const std::string& command, const char* echo_prefix = "  ") {
  std::FILE* p = ::popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run: " + command);
  std::vector<std::string> lines;
  std::array<char, 4096> buf{};
  std::string cur;
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), p)) {
    cur += buf.data();
    if (!cur.empty() && cur.back() == '\n') {
      cur.pop_back();
      std::printf("%s%s\n", echo_prefix, cur.c_str());
      std::fflush(stdout);
      lines.push_back(cur);
      cur.clear();
    }
  }
  if (!cur.empty()) lines.push_back(cur);
  int rc = ::pclose(p);
  if (rc != 0) throw std::runtime_error("reference failed (status " + std::to_string(rc) + "): " + command);
  return lines;
}

// The first line whose first token is `tag` and that has key `key`, as a map.
inline std::map<std::string, std::string> find_line(const std::vector<std::string>& lines, const std::string& tag,
                                                    const std::string& key, const std::string& value) {
  for (const auto& l : lines) {
    auto kv = parse_kv(l);
    if (kv.count(tag) && kv.count(key) && kv[key] == value) return kv;
  }
  return {};
}

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += "'\\''";
    else q += c;
  }
  return q + "'";
}

// Walks "--flag value" arguments: for (ArgReader r(argc, argv); r.next();) { if (r.flag() == ...) }.
class ArgReader {
 public:
  ArgReader(int argc, char** argv) : argc_(argc), argv_(argv) {}
  bool next() {
    if (++i_ >= argc_) return false;
    flag_ = argv_[i_];
    return true;
  }
  const std::string& flag() const { return flag_; }
  std::string value() {
    if (i_ + 1 >= argc_) throw std::runtime_error("missing value after " + flag_);
    return argv_[++i_];
  }
  [[noreturn]] void unknown() const { throw std::runtime_error("unknown argument " + flag_); }

 private:
  int argc_;
  char** argv_;
  int i_ = 0;
  std::string flag_;
};

// "a,b,,c" -> {"a", "b", "c"}
inline std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string tok; std::getline(in, tok, ',');)
    if (!tok.empty()) out.push_back(tok);
  return out;
}

}  // namespace bench
