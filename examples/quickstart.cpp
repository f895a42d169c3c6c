// The README example: a lazy 50 x 4096 x 4096 cube, its mean over time, computed on all cores.
#include <cubist/cubist.hpp>
#include <iostream>

int main() {
  namespace cb = cubist;
  auto cube = cb::random<float>({{"time", 50}, {"y", 4096}, {"x", 4096}},
                                {{"time", 1}, {"y", 1024}, {"x", 1024}}, /*seed=*/42);
  auto m = cube.mean("time");  // lazy: only a graph is built
  std::cout << m << '\n';      // repr: dims, shape, dtype, chunks, tasks, bytes
  m.visualize("mean.svg");     // the task graph as a picture (graphviz)
  cb::DataArray r = m.compute();  // runs on all cores, result in memory
  float v = r.values<float>()[0];
  std::cout << "mean of pixel (0, 0) over time: " << v << '\n';
}
