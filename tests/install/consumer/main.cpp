// The README example at a small size, built against an installed cubist; checks its result.
#include <cubist/cubist.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

namespace cb = cubist;

int main() try {
  auto cube = cb::random<float>({{"time", 5}, {"y", 64}, {"x", 48}},
                                {{"time", 1}, {"y", 32}, {"x", 32}}, /*seed=*/42);
  auto m = cube.mean("time");         // lazy: only a graph is built
  std::cout << m << '\n';             // repr: dims, shape, dtype, chunks, tasks, bytes
  m.visualize("mean.dot");            // the task graph (DOT needs no graphviz binary)
  cb::DataArray r = m.compute();      // runs on all cores, result in memory
  float v = r.values<float>()[0];

  int failures = 0;
  auto check = [&](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "consumer: FAILED: %s\n", what);
      ++failures;
    }
  };
  check(r.dims() == std::vector<std::string>{"y", "x"}, "result dims are (y, x)");
  check(r.shape() == cb::Shape{64, 48}, "result shape is (64, 48)");
  check(r.dtype() == cb::DType::Float32, "result dtype is float32");
  check(std::filesystem::exists("mean.dot") && std::filesystem::file_size("mean.dot") > 0, "visualize wrote mean.dot");
  // Independent check: the mean over time of the computed cube, element by element.
  cb::DataArray full = cube.compute();
  auto cv = full.values<float>();
  auto rv = r.values<float>();
  double max_err = 0;
  for (std::int64_t j = 0; j < 64 * 48; ++j) {
    double s = 0;
    for (std::int64_t t = 0; t < 5; ++t) s += cv[static_cast<std::size_t>(t * 64 * 48 + j)];
    max_err = std::max(max_err, std::fabs(s / 5 - rv[static_cast<std::size_t>(j)]));
  }
  check(max_err < 1e-6, "mean over time matches the values averaged by hand");
  check(v >= 0 && v < 1, "random values are in [0, 1)");
  std::printf("consumer: cubist %s, mean[0] = %.6f, max error %.2g: %s\n", cb::kVersion, v, max_err,
              failures ? "FAILED" : "OK");
  return failures ? 1 : 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "consumer: %s\n", e.what());
  return 1;
}
