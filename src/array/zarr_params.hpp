// Shared by open_zarr and to_zarr: how a Zarr array is named in "zarr_read"/"zarr_write" layer
// parameters. Plain JSON (no pointers): a worker in another process re-opens the store from it.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cubist/zarr.hpp"

namespace cubist::zarr_io {

// Local paths become absolute, so a task means the same store whatever the worker's cwd.
inline std::string store_locator(const std::string& path_or_url) {
  if (path_or_url.find("://") != std::string::npos) return path_or_url;
  return std::filesystem::absolute(std::filesystem::path(path_or_url)).lexically_normal().string();
}

// The array's metadata as the ops parse it back (zarr::metadata_to_json). User attributes are
// left out: the ops do not need them and they would only bloat every layer.
inline nlohmann::json array_params(const std::string& locator, const zarr::ZarrArray& a) {
  zarr::ArrayMetadata m = a.metadata();
  m.attributes = nlohmann::json::object();
  return {{"store", locator}, {"path", a.path()}, {"metadata", zarr::metadata_to_json(m)}};
}

}  // namespace cubist::zarr_io
