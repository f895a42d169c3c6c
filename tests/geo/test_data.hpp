// Finds the repository's data/ directory for tests: $CUBIST_SOURCE_DIR, else the first ancestor of
// the test binary (build dirs live in the source tree) that holds data/catchment_outline.geojson.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

inline std::string test_data_path(const std::string& name) {
  namespace fs = std::filesystem;
  if (const char* src = std::getenv("CUBIST_SOURCE_DIR")) return (fs::path(src) / "data" / name).string();
  for (fs::path dir = fs::canonical("/proc/self/exe").parent_path(); !dir.empty(); dir = dir.parent_path()) {
    if (fs::exists(dir / "data" / "catchment_outline.geojson")) return (dir / "data" / name).string();
    if (dir == dir.root_path()) break;
  }
  throw std::runtime_error("cannot find cubist's data/ directory; set CUBIST_SOURCE_DIR");
}
