// The repository's data/ directory for tests (CUBIST_SOURCE_DIR is set by tests/CMakeLists.txt).
#pragma once
#include <filesystem>
#include <string>

inline std::string test_data_path(const std::string& name) {
  return (std::filesystem::path(CUBIST_SOURCE_DIR) / "data" / name).string();
}
