// Helpers shared by the zarr layer's translation units (not public API).
#pragma once
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "cubist/zarr.hpp"

namespace cubist::zarr::detail {

// Fill value JSON -> the native bytes of one `dtype` element (zeros for null).
std::array<std::byte, 8> fill_bytes(const nlohmann::json& fill_value, DType dtype, std::string_view where);
// NaN/inf doubles -> "NaN"/"Infinity"/"-Infinity" strings, as Zarr JSON requires.
nlohmann::json normalize_fill_value(const nlohmann::json& fill_value);
std::string join_path(std::string_view prefix, std::string_view name);  // "a" + "b" -> "a/b"; "" + "b" -> "b"
// Read-only store over HTTP(S) (zarr/http_store.cpp); open_store dispatches http:// and https:// here.
std::shared_ptr<Store> open_http_store(std::string_view url);
// IOError naming the store, key, range and size when [offset, offset + length) is not inside `size` bytes.
void check_range(const Store& store, std::string_view key, std::uint64_t offset, std::uint64_t length, std::uint64_t size);

}  // namespace cubist::zarr::detail
