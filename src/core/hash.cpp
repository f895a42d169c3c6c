#include "core/hash.hpp"

#include <fmt/format.h>
#include <xxhash.h>

namespace cubist::core {

Hasher::Hasher() : state_(XXH3_createState()) { XXH3_64bits_reset(static_cast<XXH3_state_t*>(state_)); }
Hasher::~Hasher() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

Hasher& Hasher::add(const void* data, std::size_t size) {
  XXH3_64bits_update(static_cast<XXH3_state_t*>(state_), data, size);
  return *this;
}

Hasher& Hasher::add(std::string_view s) {
  add_int(static_cast<std::int64_t>(s.size()));  // length prefix: "ab"+"c" differs from "a"+"bc"
  return add(s.data(), s.size());
}

std::uint64_t Hasher::digest() const { return XXH3_64bits_digest(static_cast<XXH3_state_t*>(state_)); }

std::string hex64(std::uint64_t v) { return fmt::format("{:016x}", v); }

}  // namespace cubist::core
