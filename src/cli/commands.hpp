#pragma once
#include <cstdint>
#include <string>

namespace cubist::cli {

struct DemoOptions {
  std::int64_t time = 50, size = 4096, chunk = 1024;
  unsigned threads = 0;
  std::uint64_t seed = 42;
  std::string graph_path;
  bool no_progress = false;
};
int run_demo(const DemoOptions& options);
int run_info(const std::string& path);

}  // namespace cubist::cli
