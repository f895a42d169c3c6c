#include "json5.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "cubist/error.hpp"

namespace cubist::openeo::testing {
namespace {

class Reader {
 public:
  Reader(const std::string& text, const std::string& where) : s_(text), where_(where) {}

  nlohmann::json document() {
    nlohmann::json v = value();
    skip_space();
    if (i_ != s_.size()) fail("text after the value");
    return v;
  }

 private:
  const std::string& s_;
  const std::string& where_;
  std::size_t i_ = 0;

  [[noreturn]] void fail(const std::string& what) const {
    const auto line = 1 + std::count(s_.begin(), s_.begin() + static_cast<std::ptrdiff_t>(std::min(i_, s_.size())), '\n');
    throw ValueError(fmt::format("{}: line {}: JSON5 syntax error: {}", where_, line, what));
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool starts(const char* word) const { return s_.compare(i_, std::char_traits<char>::length(word), word) == 0; }

  void skip_space() {
    while (i_ < s_.size()) {
      if (std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
      else if (starts("//")) i_ = std::min(s_.find('\n', i_), s_.size());
      else if (starts("/*")) {
        const auto end = s_.find("*/", i_ + 2);
        if (end == std::string::npos) fail("unterminated comment");
        i_ = end + 2;
      } else break;
    }
  }

  nlohmann::json value() {
    skip_space();
    const char c = peek();
    if (c == '{') return object();
    if (c == '[') return array();
    if (c == '"' || c == '\'') return string();
    for (auto [word, v] : {std::pair<const char*, nlohmann::json>{"true", true}, {"false", false}, {"null", nullptr}})
      if (starts(word)) {
        i_ += std::char_traits<char>::length(word);
        return v;
      }
    return number();
  }

  nlohmann::json object() {
    nlohmann::json o = nlohmann::json::object();
    ++i_;
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      std::string key;
      if (peek() == '"' || peek() == '\'') key = string();
      else {
        while (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_' || peek() == '$') key += s_[i_++];
        if (key.empty()) fail("expected a key");
      }
      skip_space();
      if (peek() != ':') fail(fmt::format("expected ':' after key '{}'", key));
      ++i_;
      o[key] = value();
      skip_space();
      if (peek() == ',') ++i_;
      else if (peek() != '}') fail("expected ',' or '}'");
    }
    ++i_;
    return o;
  }

  nlohmann::json array() {
    nlohmann::json a = nlohmann::json::array();
    ++i_;
    for (;;) {
      skip_space();
      if (peek() == ']') break;
      a.push_back(value());
      skip_space();
      if (peek() == ',') ++i_;
      else if (peek() != ']') fail("expected ',' or ']'");
    }
    ++i_;
    return a;
  }

  std::string string() {
    const char quote = s_[i_++];
    std::string out;
    while (i_ < s_.size() && s_[i_] != quote) {
      char c = s_[i_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) break;
      c = s_[i_++];
      switch (c) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          // Re-encode through nlohmann, which handles \u escapes (and surrogate pairs) itself.
          std::string esc = "\"\\u" + s_.substr(i_, 4);
          i_ += 4;
          if (starts("\\u")) {
            esc += s_.substr(i_, 6);
            i_ += 6;
          }
          out += nlohmann::json::parse(esc + "\"").get<std::string>();
          break;
        }
        case '\n': break;  // a line continuation
        default: out += c;
      }
    }
    if (i_ >= s_.size()) fail("unterminated string");
    ++i_;
    return out;
  }

  nlohmann::json number() {
    double sign = 1;
    if (peek() == '+' || peek() == '-') sign = s_[i_++] == '-' ? -1 : 1;
    if (starts("Infinity")) {
      i_ += 8;
      return sign * std::numeric_limits<double>::infinity();
    }
    if (starts("NaN")) {
      i_ += 3;
      return std::numeric_limits<double>::quiet_NaN();
    }
    const std::size_t start = i_;
    while (std::isdigit(static_cast<unsigned char>(peek())) || peek() == '.' || peek() == 'e' || peek() == 'E' ||
           ((peek() == '+' || peek() == '-') && (s_[i_ - 1] == 'e' || s_[i_ - 1] == 'E')))
      ++i_;
    if (start == i_) fail(fmt::format("unexpected '{}'", peek()));
    nlohmann::json n = nlohmann::json::parse(s_.substr(start, i_ - start), nullptr, false);
    if (n.is_discarded() || !n.is_number()) fail("bad number");
    if (sign > 0) return n;
    if (n.is_number_float()) return -n.get<double>();
    return -n.get<std::int64_t>();
  }
};

}  // namespace

nlohmann::json parse_json5(const std::string& text, const std::string& where) { return Reader(text, where).document(); }

nlohmann::json read_json5_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IOError(fmt::format("{}: cannot open", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_json5(ss.str(), path);
}

}  // namespace cubist::openeo::testing
