// Content hashing for deterministic task keys (xxHash's XXH3, from Debian's libxxhash).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace cubist::core {

class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  Hasher& add(const void* data, std::size_t size);
  Hasher& add(std::string_view s);
  Hasher& add_int(std::int64_t v) { return add(&v, sizeof v); }
  std::uint64_t digest() const;

 private:
  void* state_;
};

std::string hex64(std::uint64_t v);  // 16 lowercase hex digits

}  // namespace cubist::core
