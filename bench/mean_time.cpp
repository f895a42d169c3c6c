// Benchmark `mean_time`: mean over time of an in-memory float32 cube (time, y, x), against numpy
// and dask (reference_mean_time.py) on identical data, and against the machine's memory
// bandwidth measured in the same run (a multi-threaded read-sum over the cube's buffer).
//   cubist: DataArray::from_chunk(cube, {"time","y","x"}).chunk({time: -1, y: C, x: C}).mean("time").compute()
//   dask:   da.from_array(arr, chunks=(T, C, C)).mean(axis=0).compute(scheduler="threads")
//   numpy:  arr.mean(axis=0)
// Figures are GB/s = bytes of the input cube / wall time (1 GB = 1e9 bytes), medians of the runs.
#include <cubist/cubist.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"

namespace cb = cubist;

namespace {

struct Args {
  std::int64_t t = 64, y = 4096, x = 4096, chunk = 1024;
  int repeats = 3;
  std::string python = "/usr/bin/python3";
  std::string reference;  // path of reference_mean_time.py; empty: cubist only
};

Args parse(int argc, char** argv) {
  Args a;
  for (bench::ArgReader r(argc, argv); r.next();) {
    const std::string& k = r.flag();
    if (k == "--time") a.t = std::stoll(r.value());
    else if (k == "--y") a.y = std::stoll(r.value());
    else if (k == "--x") a.x = std::stoll(r.value());
    else if (k == "--chunk") a.chunk = std::stoll(r.value());
    else if (k == "--repeats") a.repeats = std::stoi(r.value());
    else if (k == "--python") a.python = r.value();
    else if (k == "--reference") a.reference = r.value();
    else r.unknown();
  }
  return a;
}

unsigned hw_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

// Runs f(begin, end) over [0, n) split evenly across the hardware threads.
template <class F> void parallel_for(std::int64_t n, F&& f) {
  unsigned nt = hw_threads();
  std::vector<std::thread> ts;
  for (unsigned i = 0; i < nt; ++i) {
    std::int64_t b = n * i / nt, e = n * (i + 1) / nt;
    ts.emplace_back([&f, b, e] { f(b, e); });
  }
  for (auto& t : ts) t.join();
}

// The cube's values; reference_mean_time.py computes exactly the same float32 numbers.
inline float value_at(std::int64_t t, std::int64_t y, std::int64_t x) {
  std::int64_t k = (t * 7919 + y * 131 + x * 17) % 1009;
  return static_cast<float>(k) / 1009.0f;
}

// Multi-threaded read of the whole buffer (64-bit integer adds, which the compiler vectorises).
std::uint64_t read_sum(const std::uint64_t* p, std::int64_t words) {
  unsigned nt = hw_threads();
  std::vector<std::uint64_t> partial(nt * 8, 0);  // one cache line per thread
  std::vector<std::thread> ts;
  for (unsigned i = 0; i < nt; ++i) {
    std::int64_t b = words * i / nt, e = words * (i + 1) / nt;
    ts.emplace_back([&partial, p, b, e, i] {
      std::uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      std::int64_t j = b;
      for (; j + 4 <= e; j += 4) {
        s0 += p[j];
        s1 += p[j + 1];
        s2 += p[j + 2];
        s3 += p[j + 3];
      }
      for (; j < e; ++j) s0 += p[j];
      partial[i * 8] = s0 + s1 + s2 + s3;
    });
  }
  for (auto& t : ts) t.join();
  std::uint64_t s = 0;
  for (unsigned i = 0; i < nt; ++i) s += partial[i * 8];
  return s;
}

double checksum(const cb::DataArray& m) {
  double s = 0;
  for (float v : m.values<float>()) s += v;
  return s;
}

}  // namespace

int main(int argc, char** argv) try {
  Args a = parse(argc, argv);
  const double bytes = static_cast<double>(a.t * a.y * a.x) * sizeof(float);
  const double gb = bytes / 1e9;
  std::printf("mean_time: float32 cube time=%lld y=%lld x=%lld (%.2f GiB), chunks (time=%lld, y=%lld, x=%lld), threads=%u\n",
              static_cast<long long>(a.t), static_cast<long long>(a.y), static_cast<long long>(a.x), bytes / (1 << 30),
              static_cast<long long>(a.t), static_cast<long long>(a.chunk), static_cast<long long>(a.chunk),
              cb::config::num_threads());
  std::fflush(stdout);

  double bw_gbs = 0, cubist_gbs = 0, cubist_noskip_gbs = 0, cubist_sum = 0;
  {
    cb::Chunk cube = cb::Chunk::allocate(cb::DType::Float32, {a.t, a.y, a.x});
    float* data = cube.mutable_values<float>().data();
    const std::int64_t plane = a.y * a.x;
    parallel_for(a.t * a.y, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t r = b; r < e; ++r) {
        std::int64_t t = r / a.y, y = r % a.y;
        float* row = data + t * plane + y * a.x;
        for (std::int64_t x = 0; x < a.x; ++x) row[x] = value_at(t, y, x);
      }
    });

    // Memory bandwidth: read-sum of the cube's buffer on every hardware thread.
    volatile std::uint64_t sink = 0;
    auto words = static_cast<std::int64_t>(cube.nbytes() / sizeof(std::uint64_t));
    read_sum(reinterpret_cast<const std::uint64_t*>(data), words);  // warm-up
    auto bw_times = bench::time_runs(a.repeats, [&] { sink = sink + read_sum(reinterpret_cast<const std::uint64_t*>(data), words); });
    bw_gbs = gb / bench::median(bw_times);
    std::printf("mean_time bandwidth read_sum=%.2fGB/s runs_s=%s threads=%u\n", bw_gbs, bench::join_times(bw_times).c_str(),
                hw_threads());
    std::fflush(stdout);

    auto run = [&](std::optional<bool> skipna) {
      cb::DataArray arr = cb::DataArray::from_chunk(cube, {"time", "y", "x"})
                              .chunk({{"time", -1}, {"y", a.chunk}, {"x", a.chunk}});
      cb::ReduceOptions o;
      o.skipna = skipna;
      return arr.mean("time", o).compute();
    };
    cb::DataArray m;
    auto times = bench::time_runs(a.repeats, [&] { m = run(std::nullopt); });
    cubist_sum = checksum(m);
    cubist_gbs = gb / bench::median(times);
    std::printf("mean_time cubist skipna=default(true) GB/s=%.2f median_s=%.4f runs_s=%s checksum=%.6f\n", cubist_gbs,
                bench::median(times), bench::join_times(times).c_str(), cubist_sum);
    auto times2 = bench::time_runs(a.repeats, [&] { m = run(false); });
    cubist_noskip_gbs = gb / bench::median(times2);
    std::printf("mean_time cubist skipna=false GB/s=%.2f median_s=%.4f runs_s=%s\n", cubist_noskip_gbs,
                bench::median(times2), bench::join_times(times2).c_str());
    std::fflush(stdout);
  }  // the cube is freed before Python builds its own copy

  if (a.reference.empty()) {
    std::printf("mean_time: %.1f%% of measured bandwidth; no reference given\n", 100 * cubist_gbs / bw_gbs);
    return 0;
  }
  std::ostringstream cmd_os;  // (not operator+ chains: GCC 12's -Wrestrict misfires on them at -O3)
  cmd_os << bench::shell_quote(a.python) << ' ' << bench::shell_quote(a.reference) << " --time " << a.t << " --y " << a.y
         << " --x " << a.x << " --chunk " << a.chunk << " --repeats " << a.repeats;
  const std::string cmd = cmd_os.str();
  auto lines = bench::run_reference(cmd, "  [python] ");
  auto np = bench::find_line(lines, "numpy", "op", "mean");
  auto dk = bench::find_line(lines, "dask", "op", "mean");
  auto dkn = bench::find_line(lines, "dask", "op", "nanmean");
  if (np.empty() || dk.empty()) throw std::runtime_error("reference_mean_time.py printed no numpy/dask timing");
  double np_gbs = gb / std::stod(np["median_s"]);
  double dk_gbs = gb / std::stod(dk["median_s"]);
  double ref_sum = std::stod(np["checksum"]);
  bool same = std::fabs(ref_sum - cubist_sum) <= 1e-5 * std::fabs(ref_sum);
  std::printf("mean_time checksum cubist=%.6f numpy=%.6f %s\n", cubist_sum, ref_sum, same ? "(agree)" : "(DIFFER)");
  std::printf("mean_time cubist=%.2fGB/s numpy=%.2fGB/s ratio_vs_numpy=%.2f (numpy is single-threaded)\n", cubist_gbs, np_gbs,
              cubist_gbs / np_gbs);
  std::printf("mean_time cubist=%.2fGB/s dask=%.2fGB/s ratio_vs_dask=%.2f (target >= 3)\n", cubist_gbs, dk_gbs, cubist_gbs / dk_gbs);
  if (!dkn.empty()) {
    double dkn_gbs = gb / std::stod(dkn["median_s"]);
    std::printf("mean_time cubist(skipna)=%.2fGB/s dask_nanmean=%.2fGB/s ratio=%.2f (both skip NaN, as xarray's default)\n",
                cubist_gbs, dkn_gbs, cubist_gbs / dkn_gbs);
  }
  std::printf("mean_time cubist=%.2fGB/s bandwidth=%.2fGB/s fraction=%.1f%% (target >= 50%%)\n", cubist_gbs, bw_gbs,
              100 * cubist_gbs / bw_gbs);
  // Times (not GB/s) so that ratio = reference / cubist reads "times faster than dask", as for overhead.
  std::printf("RESULT name=mean_time cubist=%.4fs reference=%.4fs ratio=%.2f\n", gb / cubist_gbs, gb / dk_gbs,
              cubist_gbs / dk_gbs);
  return same ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "mean_time: %s\n", e.what());
  return 1;
}
