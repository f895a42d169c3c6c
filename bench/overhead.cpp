// Benchmark `overhead`: per-chunk cost of graph build + optimisation + scheduling + execution.
//   cubist: (ones({{"x", N}}, chunks {{"x", 1}}) + 1).sum().compute()
//   dask:   (da.ones(N, chunks=1) + 1).sum().compute(scheduler="threads")   (reference_overhead.py)
// Both are timed end to end (wall time of the whole expression) and reported as µs per chunk.
#include <cubist/cubist.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace cb = cubist;

namespace {

struct Args {
  std::vector<std::int64_t> sizes{100'000, 1'000'000};
  int repeats_small = 5;   // N <= 1e5
  int repeats_large = 3;   // N > 1e5
  std::string python = "/usr/bin/python3";
  std::string reference;   // path of reference_overhead.py; empty: cubist only
  double dask_limit_s = 180;
};

Args parse(int argc, char** argv) {
  Args a;
  for (bench::ArgReader r(argc, argv); r.next();) {
    const std::string& k = r.flag();
    if (k == "--sizes") {
      a.sizes.clear();
      for (const auto& n : bench::split_commas(r.value())) a.sizes.push_back(static_cast<std::int64_t>(std::stod(n)));
    } else if (k == "--repeats-small") a.repeats_small = std::stoi(r.value());
    else if (k == "--repeats-large") a.repeats_large = std::stoi(r.value());
    else if (k == "--python") a.python = r.value();
    else if (k == "--reference") a.reference = r.value();
    else if (k == "--dask-limit") a.dask_limit_s = std::stod(r.value());
    else r.unknown();
  }
  return a;
}

std::string fmt_n(std::int64_t n) {
  char buf[32];
  int e = static_cast<int>(std::lround(std::log10(static_cast<double>(n))));
  if (std::llround(std::pow(10.0, e)) == n) std::snprintf(buf, sizeof buf, "1e%d", e);
  else std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  return buf;
}

}  // namespace

int main(int argc, char** argv) try {
  Args args = parse(argc, argv);
  std::printf("overhead: (ones(N, chunks=1) + 1).sum().compute(), wall time of the whole expression / N; threads=%u\n",
              cb::config::num_threads());
  std::fflush(stdout);

  std::map<std::int64_t, double> cubist_us;
  for (std::int64_t n : args.sizes) {
    int repeats = n <= 100'000 ? args.repeats_small : args.repeats_large;
    cb::ComputeStats stats;
    double value = 0;
    auto times = bench::time_runs(repeats, [&] {
      auto x = cb::ones<double>({{"x", n}}, {{"x", 1}});
      cb::DataArray r = (x + 1.0).sum().compute({}, &stats);
      value = r.values<double>()[0];
    });
    if (value != 2.0 * static_cast<double>(n)) {
      std::fprintf(stderr, "overhead: wrong result at N=%lld: %.17g (expected %lld)\n", static_cast<long long>(n), value,
                   static_cast<long long>(2 * n));
      return 1;
    }
    double med = bench::median(times);
    cubist_us[n] = med / static_cast<double>(n) * 1e6;
    std::printf("overhead cubist N=%s us_per_chunk=%.3f median_s=%.4f runs_s=%s tasks_run=%zu units=%zu\n", fmt_n(n).c_str(),
                cubist_us[n], med, bench::join_times(times).c_str(), stats.tasks, stats.units);
    std::fflush(stdout);
  }

  if (args.reference.empty()) {
    std::printf("overhead: no reference given; dask not measured\n");
    return 0;
  }

  // (an ostringstream: GCC 12's -Wrestrict misfires on chains of std::string operator+ at -O3)
  std::ostringstream cmd_os;
  cmd_os << bench::shell_quote(args.python) << ' ' << bench::shell_quote(args.reference) << " --sizes";
  for (auto n : args.sizes) cmd_os << ' ' << n;
  cmd_os << " --repeats-small " << std::max(3, args.repeats_small - 2) << " --repeats-large " << args.repeats_large
         << " --limit " << args.dask_limit_s;
  const std::string cmd = cmd_os.str();
  auto lines = bench::run_reference(cmd, "  [dask] ");

  std::int64_t result_n = 0;
  double result_cubist = 0, result_dask = 0;
  for (std::int64_t n : args.sizes) {
    auto kv = bench::find_line(lines, "dask", "n", std::to_string(n));
    if (kv.empty()) {
      std::printf("overhead N=%s cubist=%.3fus/chunk dask=not-reported\n", fmt_n(n).c_str(), cubist_us[n]);
      continue;
    }
    if (kv.count("skipped")) {
      std::printf("overhead N=%s cubist=%.3fus/chunk dask=skipped (estimated %ss per run > %.0fs limit: dask measured at smaller N only)\n",
                  fmt_n(n).c_str(), cubist_us[n], kv["estimated_s"].c_str(), args.dask_limit_s);
      continue;
    }
    double dask_us = std::stod(kv["us_per_chunk"]);
    std::printf("overhead N=%s cubist=%.3fus/chunk dask=%.3fus/chunk ratio=%.1f (target >= 25)\n", fmt_n(n).c_str(),
                cubist_us[n], dask_us, dask_us / cubist_us[n]);
    if (result_n == 0 || n == 100'000) {
      result_n = n;
      result_cubist = cubist_us[n];
      result_dask = dask_us;
    }
  }
  if (result_n == 0) {
    std::printf("overhead: dask produced no measurement\n");
    return 1;
  }
  std::printf("RESULT name=overhead cubist=%.3fus/chunk reference=%.3fus/chunk ratio=%.1f\n", result_cubist, result_dask,
              result_dask / result_cubist);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "overhead: %s\n", e.what());
  return 1;
}
