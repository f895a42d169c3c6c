// Benchmark `zarr_io`: writing and reading a float32 (time, y, x) cube as Zarr, against zarr-python
// + dask (reference_zarr_io.py) on the same data and threads, and against the raw codec throughput
// on all cores (the same chunks compressed / decompressed by c-blosc or zstd in a thread pool, no
// store: the limit a Zarr implementation can approach).
//   cubist write: cubist::to_zarr(DataArray::from_chunk(cube).chunk(C), dir, mode "w", compressor)
//   cubist read:  cubist::open_zarr(dir)["data"].persist()          (every chunk decoded into memory)
//   dask write:   da.to_zarr(da.from_array(arr, chunks=C), dir, compressor=...)
//   dask read:    da.from_zarr(dir).persist()
// Codecs: blosc-lz4 (clevel 5, byte shuffle: xarray's default) and zstd (level 1, numcodecs' default),
// at chunks (1, 1024, 1024), (1, 256, 256), (1, 128, 128); plus Zarr v3 shards of 1024^2 holding
// 128^2 inner chunks (cubist only: Debian's zarr-python 2.13 has no sharding), compared with the
// codec limit at 128^2. The data look like reflectances: a smooth field plus 6 bits of noise,
// quantised to 1e-4 (bench_common's generator, identical in the Python script; bit checksums of
// what each side reads back are compared).
// Figures: GB/s = decoded bytes / wall time (1 GB = 1e9 B), µs per chunk = wall time / chunks,
// medians of --repeats runs. Stores are deleted before each write (not timed). Each row of the
// final table also gives the bounds cubist is measured against: the codec alone, the limit, and
// the floor = limit + the store floor (file-system work only, e.g. create + write + rename).
#include <blosc.h>
#include <zstd.h>

#include <cubist/cubist.hpp>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "bench_common.hpp"

namespace cb = cubist;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Args {
  double gb = 1.0;  // cube size; the time extent is derived from it
  std::int64_t y = 4096, x = 4096;
  std::vector<std::int64_t> chunks{1024, 256, 128};
  std::vector<std::string> codecs{"lz4", "zstd"};
  bool shards = true;
  bool only_shards = false;  // --only-shards: the sharded rows alone (with their codec bound)
  bool no_bounds = false;    // --no-bounds: cubist's writes and reads only (to profile them), no table
  int repeats = 3;
  unsigned threads = 0;  // 0: one per core
  std::string dir;       // where stores are written; default $TMPDIR or /tmp
  std::string python = "/usr/bin/python3";
  std::string reference;  // reference_zarr_io.py; empty: cubist and the codec limit only
};

Args parse(int argc, char** argv) {
  Args a;
  for (bench::ArgReader r(argc, argv); r.next();) {
    const std::string& k = r.flag();
    if (k == "--gb") a.gb = std::stod(r.value());
    else if (k == "--y") a.y = std::stoll(r.value());
    else if (k == "--x") a.x = std::stoll(r.value());
    else if (k == "--chunks") {
      a.chunks.clear();
      for (const auto& c : bench::split_commas(r.value())) a.chunks.push_back(std::stoll(c));
    } else if (k == "--codecs") a.codecs = bench::split_commas(r.value());
    else if (k == "--no-shards") a.shards = false;
    else if (k == "--only-shards") a.only_shards = true;
    else if (k == "--no-bounds") a.no_bounds = true;
    else if (k == "--repeats") a.repeats = std::stoi(r.value());
    else if (k == "--threads") a.threads = static_cast<unsigned>(std::stoul(r.value()));
    else if (k == "--dir") a.dir = r.value();
    else if (k == "--python") a.python = r.value();
    else if (k == "--reference") a.reference = r.value();
    else r.unknown();
  }
  for (const auto& c : a.codecs)
    if (c != "lz4" && c != "zstd") throw std::runtime_error("--codecs: unknown codec '" + c + "' (lz4, zstd)");
  for (auto c : a.chunks)
    if (c <= 0 || a.y % c || a.x % c) throw std::runtime_error("--chunks: each size must divide --y and --x");
  if (a.only_shards && !a.shards) throw std::runtime_error("--only-shards and --no-shards exclude each other");
  if (a.shards && (a.y % 1024 || a.x % 1024)) throw std::runtime_error("sharded runs need --y and --x multiples of 1024");
  return a;
}

// ---- the data (reference_zarr_io.py computes the same float32 numbers) -------------------------
std::int64_t tri(std::int64_t v, std::int64_t p) { return std::abs(v % (2 * p) - p); }

float value_at(std::uint32_t t, std::uint32_t y, std::uint32_t x) {
  std::uint32_t h = t * 0x9E3779B1u + y * 0x85EBCA77u + x * 0xC2B2AE3Du;
  h ^= h >> 15;
  h *= 0x2C1B3C6Du;
  h ^= h >> 12;
  std::int64_t smooth = 600 + tri(x + 40 * std::int64_t{t}, 2000) / 2 + tri(3 * std::int64_t{y} / 2 + x / 4, 1600) / 2;
  return static_cast<float>(smooth + (h & 63u)) * 1e-4f;
}

// CPU seconds (user + system) of the whole process so far: on a busy machine, CPU time per run
// compares implementations better than wall time does.
double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
  return s(u.ru_utime) + s(u.ru_stime);
}

// Wall and CPU seconds of each of `repeats` runs.
struct Timing {
  std::vector<double> runs, cpu;
  double median() const { return bench::median(runs); }
  double cpu_median() const { return bench::median(cpu); }
};

template <class F> Timing timed(int repeats, F&& f, std::function<void()> untimed = {}) {
  Timing t;
  for (int r = 0; r < repeats; ++r) {
    if (untimed) untimed();
    double c0 = cpu_seconds(), t0 = bench::now_seconds();
    f();
    t.runs.push_back(bench::now_seconds() - t0);
    t.cpu.push_back(cpu_seconds() - c0);
  }
  return t;
}

template <class F> void parallel_for(unsigned nt, std::int64_t n, F&& f) {
  std::vector<std::thread> ts;
  for (unsigned i = 0; i < nt; ++i) {
    std::int64_t b = n * i / nt, e = n * (i + 1) / nt;
    ts.emplace_back([&f, b, e] { f(b, e); });
  }
  for (auto& t : ts) t.join();
}

// Exact and order-free, so every reader of the cube can be checked against the generator.
std::uint64_t bit_checksum(const float* p, std::size_t n) {
  std::uint64_t s = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t b;
    std::memcpy(&b, p + i, 4);
    s += b;
  }
  return s;
}

// ---- codec settings, as numcodecs / zarr v3 spell them ----------------------------------------
json v2_compressor(const std::string& codec) {
  if (codec == "lz4") return {{"id", "blosc"}, {"cname", "lz4"}, {"clevel", 5}, {"shuffle", 1}, {"blocksize", 0}};
  return {{"id", "zstd"}, {"level", 1}};
}

json v3_codecs(const std::string& codec) {
  json bytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
  if (codec == "lz4")
    return json::array({bytes, {{"name", "blosc"}, {"configuration", {{"cname", "lz4"}, {"clevel", 5}, {"shuffle", "shuffle"},
                                                                       {"typesize", 4}, {"blocksize", 0}}}}});
  return json::array({bytes, {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}}});
}

// ---- the codec limit: compress / decompress every chunk in a thread pool, no store ------------
// Two figures per codec and chunk size, both with c-blosc / zstd called directly, one context per
// thread, blosc's own threads off (numinternalthreads = 1, as cubist and the zarr-python script):
//   codec only: chunks packed contiguously beforehand, compressed from there; decompressed into
//     one reused per-thread buffer (cache-hot, never written to memory).
//   limit (what %limit compares with): the same codec calls plus the memory moves no Zarr
//     implementation can skip on this workload, and nothing else: a write gathers each chunk from
//     the (time, y, x) cube into a reused per-thread buffer (codecs take contiguous input) and
//     keeps its encoding in memory; a read decodes each chunk into its own slot of an output the
//     size of the cube, freshly allocated per run (its pages are faulted in by the decoder, as
//     those of any persisted result: cubist and zarr-python free theirs before each run too).
//   Neither includes a store (file creation, the copy out of the page cache): see store_floor.
struct Limit {
  Timing compress, decompress;              // the limit
  Timing codec_compress, codec_decompress;  // codec only
  // Reads only: the codec decoding each chunk into its own slot of a result the size of the cube
  // whose pages are already mapped (allocated and touched once, reused by every run): the codec
  // plus writing its output to memory, without the first-touch page faults of `decompress`. The
  // honest bound for a reader that keeps what it reads and recycles its buffers, as cubist does.
  Timing decompress_to_dest;
  double ratio = 0;                         // compression ratio
};

Limit codec_limit(const std::string& codec, const cb::Chunk& cube, std::int64_t c, unsigned nt, int repeats) {
  const auto& sh = cube.shape();
  const std::int64_t ny = sh[1] / c, nx = sh[2] / c, n = sh[0] * ny * nx;
  const std::size_t chunk_bytes = static_cast<std::size_t>(c * c) * 4;
  const float* src = cube.values<float>().data();
  auto gather = [&](std::int64_t i, float* dst) {  // chunk i of the cube, C order
    std::int64_t t = i / (ny * nx), cy = i / nx % ny, cx = i % nx;
    for (std::int64_t r = 0; r < c; ++r)
      std::memcpy(dst + r * c, src + (t * sh[1] + cy * c + r) * sh[2] + cx * c, chunk_bytes / static_cast<std::size_t>(c));
  };
  std::vector<float> packed(static_cast<std::size_t>(n) * c * c);
  parallel_for(nt, n, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) gather(i, &packed[static_cast<std::size_t>(i * c * c)]);
  });
  const std::size_t bound = std::max<std::size_t>(chunk_bytes + BLOSC_MAX_OVERHEAD, ZSTD_compressBound(chunk_bytes));
  std::vector<std::vector<char>> encoded(static_cast<std::size_t>(n));
  auto run_pool = [&](auto&& per_thread) {
    std::atomic<std::int64_t> next{0};
    std::vector<std::thread> ts;
    for (unsigned i = 0; i < nt; ++i) ts.emplace_back([&] { per_thread(next); });
    for (auto& t : ts) t.join();
  };
  auto compress_all = [&](bool from_cube) {
    run_pool([&](std::atomic<std::int64_t>& next) {
      std::vector<char> out(bound);
      std::vector<float> gathered(from_cube ? static_cast<std::size_t>(c * c) : 0);
      ZSTD_CCtx* cctx = ZSTD_createCCtx();
      for (std::int64_t i; (i = next.fetch_add(1)) < n;) {
        const float* chunk = &packed[static_cast<std::size_t>(i * c * c)];
        if (from_cube) {
          gather(i, gathered.data());
          chunk = gathered.data();
        }
        const char* in = reinterpret_cast<const char*>(chunk);
        std::size_t m = 0;
        if (codec == "lz4") {
          int r = blosc_compress_ctx(5, BLOSC_SHUFFLE, 4, chunk_bytes, in, out.data(), out.size(), "lz4", 0, 1);
          if (r <= 0) throw std::runtime_error("blosc_compress_ctx failed");
          m = static_cast<std::size_t>(r);
        } else {
          m = ZSTD_compressCCtx(cctx, out.data(), out.size(), in, chunk_bytes, 1);
          if (ZSTD_isError(m)) throw std::runtime_error("ZSTD_compressCCtx failed");
        }
        auto& e = encoded[static_cast<std::size_t>(i)];
        e.assign(out.data(), out.data() + m);  // not a fresh page per chunk after the first run
      }
      ZSTD_freeCCtx(cctx);
    });
  };
  compress_all(false);  // warm-up; also produces the encoded chunks
  Limit l;
  l.codec_compress = timed(repeats, [&] { compress_all(false); });
  l.compress = timed(repeats, [&] { compress_all(true); });
  std::size_t total = 0;
  for (const auto& e : encoded) total += e.size();
  l.ratio = static_cast<double>(n) * static_cast<double>(chunk_bytes) / static_cast<double>(total);
  std::unique_ptr<char[]> result;  // the limit's "persisted" output, one slot per chunk
  auto decompress_all = [&](bool into_result) {
    run_pool([&](std::atomic<std::int64_t>& next) {
      std::vector<char> scratch(chunk_bytes);
      ZSTD_DCtx* dctx = ZSTD_createDCtx();
      for (std::int64_t i; (i = next.fetch_add(1)) < n;) {
        const auto& e = encoded[static_cast<std::size_t>(i)];
        char* out = into_result ? result.get() + static_cast<std::size_t>(i) * chunk_bytes : scratch.data();
        std::size_t got = 0;
        if (codec == "lz4") {
          int r = blosc_decompress_ctx(e.data(), out, chunk_bytes, 1);
          got = r < 0 ? 0 : static_cast<std::size_t>(r);
        } else {
          got = ZSTD_decompressDCtx(dctx, out, chunk_bytes, e.data(), e.size());
        }
        if (got != chunk_bytes) throw std::runtime_error("codec limit: decompression failed");
      }
      ZSTD_freeDCtx(dctx);
    });
  };
  decompress_all(false);
  l.codec_decompress = timed(repeats, [&] { decompress_all(false); });
  const std::size_t result_bytes = static_cast<std::size_t>(n) * chunk_bytes;
  l.decompress = timed(repeats, [&] { decompress_all(true); }, [&] {
    result.reset();
    result.reset(new char[result_bytes]);  // untouched: its pages are faulted in by the decoder
  });
  std::memset(result.get(), 0, result_bytes);  // mapped once: the runs below reuse its pages
  decompress_all(true);
  l.decompress_to_dest = timed(repeats, [&] { decompress_all(true); });
  result.reset();
  return l;
}

// ---- the store floor: the file-system work of a Zarr store, without any codec ------------------
// Over the chunk files of the store cubist just wrote: read = open, fstat, read into a reused
// per-thread buffer, close (what any reader of a directory store does per key); write = the same
// bytes to new files, each as a temp file renamed into place (what cubist and zarr-python's
// DirectoryStore do for atomic writes). Parallel on the same threads. Added to the limit this
// gives the floor of a one-file-per-chunk store on this file system.
struct StoreFloor {
  Timing write, read;
};

StoreFloor store_floor(const fs::path& store, const fs::path& scratch, unsigned nt, int repeats) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(store)) {
    auto name = e.path().filename().string();
    if (e.is_regular_file() && name.front() != '.' && name != "zarr.json") files.push_back(e.path());
  }
  const auto n = static_cast<std::int64_t>(files.size());
  auto read_file = [](const fs::path& p, std::vector<char>& buf) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) throw std::runtime_error("store floor: cannot open " + p.string());
    buf.resize(static_cast<std::size_t>(st.st_size));
    if (::read(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) throw std::runtime_error("store floor: short read");
    ::close(fd);
  };
  auto in_pool = [&](auto&& per_file) {
    std::atomic<std::int64_t> next{0};
    std::vector<std::thread> ts;
    for (unsigned i = 0; i < nt; ++i)
      ts.emplace_back([&] {
        std::vector<char> buf;
        for (std::int64_t k; (k = next.fetch_add(1)) < n;) per_file(k, buf);
      });
    for (auto& t : ts) t.join();
  };
  StoreFloor f;
  f.read = timed(repeats, [&] { in_pool([&](std::int64_t k, std::vector<char>& buf) { read_file(files[static_cast<std::size_t>(k)], buf); }); });
  std::vector<std::vector<char>> contents(files.size());
  for (std::size_t k = 0; k < files.size(); ++k) read_file(files[k], contents[k]);
  std::vector<fs::path> targets(files.size());
  for (std::size_t k = 0; k < files.size(); ++k) targets[k] = scratch / fs::relative(files[k], store);
  f.write = timed(repeats, [&] {
    in_pool([&](std::int64_t k, std::vector<char>&) {
      const auto& to = targets[static_cast<std::size_t>(k)];
      const auto& bytes = contents[static_cast<std::size_t>(k)];
      auto tmp = to.string() + ".tmp";
      int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) throw std::runtime_error("store floor: cannot create " + tmp);
      if (::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) throw std::runtime_error("store floor: short write");
      ::close(fd);
      if (::rename(tmp.c_str(), to.c_str()) != 0) throw std::runtime_error("store floor: cannot rename " + tmp);
    });
  }, [&] {  // the directories exist beforehand, as in a store being filled
    fs::remove_all(scratch);
    for (const auto& t : targets) fs::create_directories(t.parent_path());
  });
  fs::remove_all(scratch);
  return f;
}

// ---- cubist ------------------------------------------------------------------------------------

std::uint64_t checksum_of(const cb::DataArray& persisted) {
  cb::DataArray all = persisted.compute();
  auto v = all.values<float>();
  return bit_checksum(v.data(), v.size());
}

struct Case {
  std::string codec;
  std::int64_t chunk = 0;  // square chunk edge; shards: the inner chunk edge
  bool sharded = false;
  std::string label() const {
    return sharded ? "v3shard1024/" + std::to_string(chunk) : std::to_string(chunk);
  }
};

Timing cubist_write(const cb::Chunk& cube, const Case& k, const std::string& path, unsigned nt, int repeats) {
  const std::int64_t zc = k.sharded ? 1024 : k.chunk;
  cb::DataArray arr = cb::DataArray::from_chunk(cube, {"time", "y", "x"}, {}, cb::Attrs::object(), "data")
                          .chunk({{"time", 1}, {"y", zc}, {"x", zc}});
  cb::ToZarrOptions o;
  o.mode = "w";
  o.compute.num_threads = nt;
  cb::ZarrVariableEncoding enc;
  enc.chunks = cb::DimSizes{{"time", 1}, {"y", zc}, {"x", zc}};
  if (k.sharded) {
    o.zarr_format = 3;
    json inner = v3_codecs(k.codec);
    enc.codecs = json::array({{{"name", "sharding_indexed"},
                               {"configuration", {{"chunk_shape", {1, k.chunk, k.chunk}}, {"codecs", inner},
                                                  {"index_codecs", json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                                                                                {{"name", "crc32c"}}})},
                                                  {"index_location", "end"}}}}});
  } else {
    enc.compressor = v2_compressor(k.codec);
  }
  o.encoding["data"] = enc;
  return timed(repeats, [&] { cb::to_zarr(arr, path, o); }, [&] { fs::remove_all(path); });
}

Timing cubist_read(const std::string& path, unsigned nt, int repeats, std::uint64_t& checksum) {
  cb::ComputeOptions co;
  co.num_threads = nt;
  cb::DataArray kept;
  // The previous result is freed outside the timed region.
  Timing t = timed(repeats, [&] { kept = cb::open_zarr(path)["data"].persist(co); }, [&] { kept = cb::DataArray(); });
  checksum = checksum_of(kept);
  return t;
}

struct Row {
  std::string what;  // "write" / "read"
  Case k;
  Timing cubist, limit, codec, store;
  Timing dest;  // reads: the codec into a mapped result (Limit::decompress_to_dest); writes: none
  double python_s = -1;
  std::int64_t chunks = 0;
};

double gbs(double bytes, double s) { return s > 0 ? bytes / 1e9 / s : 0; }

}  // namespace

int main(int argc, char** argv) try {
  Args a = parse(argc, argv);
  const unsigned nt = a.threads ? a.threads : std::max(1u, std::thread::hardware_concurrency());
  const std::int64_t t_extent = std::max<std::int64_t>(1, std::llround(a.gb * 1e9 / (4.0 * a.y * a.x)));
  const double bytes = 4.0 * t_extent * a.y * a.x;
  std::string base = a.dir;
  if (base.empty()) base = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  const fs::path root = fs::path(base) / ("cubist-bench-zarr-" + std::to_string(::getpid()));
  fs::create_directories(root);
  std::printf("zarr_io: float32 cube time=%lld y=%lld x=%lld (%.2f GB), threads=%u, repeats=%d, stores in %s\n",
              static_cast<long long>(t_extent), static_cast<long long>(a.y), static_cast<long long>(a.x), bytes / 1e9, nt,
              a.repeats, root.c_str());
  std::fflush(stdout);

  std::vector<Row> rows;
  std::map<std::string, Limit> limits;  // codec/chunk -> limit
  std::uint64_t expected = 0;
  bool all_ok = true;
  {
    cb::Chunk cube = cb::Chunk::allocate(cb::DType::Float32, {t_extent, a.y, a.x});
    float* data = cube.mutable_values<float>().data();
    parallel_for(nt, t_extent * a.y, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t r = b; r < e; ++r) {
        auto t = static_cast<std::uint32_t>(r / a.y), y = static_cast<std::uint32_t>(r % a.y);
        float* row = data + r * a.x;
        for (std::int64_t x = 0; x < a.x; ++x) row[x] = value_at(t, y, static_cast<std::uint32_t>(x));
      }
    });
    expected = bit_checksum(data, static_cast<std::size_t>(cube.size()));
    std::printf("zarr_io data checksum=%llu\n", static_cast<unsigned long long>(expected));

    std::vector<Case> cases;
    for (const auto& codec : a.codecs) {
      if (!a.only_shards)
        for (auto c : a.chunks) cases.push_back({codec, c, false});
      if (a.shards) cases.push_back({codec, 128, true});
    }
    for (const auto& k : cases) {
      const std::string lkey = k.codec + "/" + std::to_string(k.chunk);
      if (!limits.count(lkey) && !a.no_bounds) {
        limits[lkey] = codec_limit(k.codec, cube, k.chunk, nt, a.repeats);
        const auto& l = limits[lkey];
        std::printf("zarr_io limit codec=%s chunk=%lld ratio=%.2f compress=%.2fGB/s decompress=%.2fGB/s runs_s=%s/%s "
                    "cpu_s=%.3f/%.3f codec_only compress=%.2fGB/s decompress=%.2fGB/s cpu_s=%.3f/%.3f "
                    "decompress_to_dest=%.2fGB/s cpu_s=%.3f\n", k.codec.c_str(),
                    static_cast<long long>(k.chunk), l.ratio, gbs(bytes, l.compress.median()), gbs(bytes, l.decompress.median()),
                    bench::join_times(l.compress.runs).c_str(), bench::join_times(l.decompress.runs).c_str(),
                    l.compress.cpu_median(), l.decompress.cpu_median(), gbs(bytes, l.codec_compress.median()),
                    gbs(bytes, l.codec_decompress.median()), l.codec_compress.cpu_median(), l.codec_decompress.cpu_median(),
                    gbs(bytes, l.decompress_to_dest.median()), l.decompress_to_dest.cpu_median());
        std::fflush(stdout);
      }
      const Limit& l = limits[lkey];
      const std::string path = (root / ("cubist-" + k.codec + "-" + std::to_string(k.chunk) + (k.sharded ? "-v3shard" : ""))).string();
      const std::int64_t stored_chunk = k.sharded ? 1024 : k.chunk;
      const std::int64_t nchunks = t_extent * (a.y / stored_chunk) * (a.x / stored_chunk);
      Timing w = cubist_write(cube, k, path, nt, a.repeats);
      std::uint64_t sum = 0;
      Timing r = cubist_read(path, nt, a.repeats, sum);
      StoreFloor floor = a.no_bounds ? StoreFloor{} : store_floor(path, root / "floor", nt, a.repeats);
      bool ok = sum == expected;
      all_ok = all_ok && ok;
      std::printf("zarr_io cubist codec=%s chunks=%s write=%.2fGB/s read=%.2fGB/s write_runs_s=%s read_runs_s=%s "
                  "cpu_s=%.3f/%.3f checksum=%s\n", k.codec.c_str(), k.label().c_str(), gbs(bytes, w.median()),
                  gbs(bytes, r.median()), bench::join_times(w.runs).c_str(), bench::join_times(r.runs).c_str(),
                  w.cpu_median(), r.cpu_median(), ok ? "ok" : "DIFFERS");
      std::fflush(stdout);
      if (a.no_bounds) {
        fs::remove_all(path);
        continue;
      }
      std::printf("zarr_io store_floor chunks=%s codec=%s write=%.1fus/chunk read=%.1fus/chunk cpu_s=%.3f/%.3f\n",
                  k.label().c_str(), k.codec.c_str(), 1e6 * floor.write.median() / static_cast<double>(nchunks),
                  1e6 * floor.read.median() / static_cast<double>(nchunks), floor.write.cpu_median(), floor.read.cpu_median());
      std::fflush(stdout);
      rows.push_back({"write", k, w, l.compress, l.codec_compress, floor.write, {}, -1, nchunks});
      rows.push_back({"read", k, r, l.decompress, l.codec_decompress, floor.read, l.decompress_to_dest, -1, nchunks});
      fs::remove_all(path);
    }
  }  // the cube is freed before Python builds its own copy

  if (!a.reference.empty() && !a.only_shards) {  // zarr-python has no shards to compare with
    std::ostringstream cmd;
    cmd << bench::shell_quote(a.python) << ' ' << bench::shell_quote(a.reference) << " --time " << t_extent << " --y " << a.y
        << " --x " << a.x << " --repeats " << a.repeats << " --threads " << nt << " --dir "
        << bench::shell_quote((root / "python").string()) << " --chunks ";
    for (std::size_t i = 0; i < a.chunks.size(); ++i) cmd << (i ? "," : "") << a.chunks[i];
    cmd << " --codecs ";
    for (std::size_t i = 0; i < a.codecs.size(); ++i) cmd << (i ? "," : "") << a.codecs[i];
    auto lines = bench::run_reference(cmd.str(), "  [python] ");
    for (auto& row : rows) {
      if (row.k.sharded) continue;
      for (const auto& l : lines) {
        auto kv = bench::parse_kv(l);
        if (kv.count("dask") && kv["op"] == row.what && kv["codec"] == row.k.codec && kv["chunk"] == std::to_string(row.k.chunk)) {
          row.python_s = std::stod(kv["median_s"]);
          if (kv["checksum"] != std::to_string(expected)) {
            std::printf("zarr_io: zarr-python %s %s/%lld checksum %s differs from %llu\n", row.what.c_str(), row.k.codec.c_str(),
                        static_cast<long long>(row.k.chunk), kv["checksum"].c_str(), static_cast<unsigned long long>(expected));
            all_ok = false;
          }
        }
      }
    }
  }
  fs::remove_all(root);

  // Per row: cubist's GB/s and µs per stored chunk, zarr-python's, their ratio, then the bounds:
  // codec = the codec alone (packed chunks, cache-hot output), limit = codec + the memory moves no
  // implementation can skip, floor = limit + the store floor (the file-system work of a
  // one-file-per-chunk store, no codec: for writes create + write + rename of the same files),
  // i.e. the best a directory store can do here. %x = x's time / cubist's (100% = as fast as the
  // bound); cpu%limit compares CPU seconds instead of wall seconds (steadier on a busy machine).
  // Reads also get `to dest` = the codec decoding into a result the size of the cube whose pages
  // are mapped already (codec + writing the output to memory, the bound of a reader that keeps
  // its result in recycled buffers) and %dest; "codec" decodes into one cache-hot buffer instead.
  // cpu%floor = CPU seconds of the limit + the store floor ÷ cubist's: %floor without the wall
  // time other processes take from the cores; reads also get cpu%dfloor = CPU seconds of `to
  // dest` + the store floor ÷ cubist's (the floor of a reader that recycles its buffers).
  std::printf("\n%-5s %-6s %-16s %9s %9s %11s %9s %7s %9s %9s %9s %6s %6s %6s %9s %8s %9s %6s %9s %10s\n", "op", "codec", "chunks",
              "cubist", "µs/chunk", "zarr-python", "µs/chunk", "ratio", "codec", "limit", "floor", "%codec", "%limit", "%floor",
              "cpu%limit", "store µs", "to dest", "%dest", "cpu%floor", "cpu%dfloor");
  for (const auto& r : rows) {
    char py[64] = "-", pyus[32] = "-", ratio[32] = "-";
    if (r.python_s > 0) {
      std::snprintf(py, sizeof py, "%.2fGB/s", gbs(bytes, r.python_s));
      std::snprintf(pyus, sizeof pyus, "%.0f", 1e6 * r.python_s / static_cast<double>(r.chunks));
      std::snprintf(ratio, sizeof ratio, "%.2fx", r.python_s / r.cubist.median());
    }
    const double per_chunk = 1e6 / static_cast<double>(r.chunks), cubist_s = r.cubist.median();
    const double floor_s = r.limit.median() + r.store.median();
    char dest[32] = "-", dest_pct[16] = "-", dest_floor_cpu[16] = "-";
    if (!r.dest.runs.empty()) {
      std::snprintf(dest, sizeof dest, "%.2fGB/s", gbs(bytes, r.dest.median()));
      std::snprintf(dest_pct, sizeof dest_pct, "%.0f%%", 100 * r.dest.median() / cubist_s);
      std::snprintf(dest_floor_cpu, sizeof dest_floor_cpu, "%.0f%%",
                    100 * (r.dest.cpu_median() + r.store.cpu_median()) / r.cubist.cpu_median());
    }
    const double floor_cpu = r.limit.cpu_median() + r.store.cpu_median();
    std::printf("%-5s %-6s %-16s %5.2fGB/s %9.0f %11s %9s %7s %5.2fGB/s %5.2fGB/s %5.2fGB/s %5.0f%% %5.0f%% %5.0f%% %8.0f%% %8.1f %9s %6s %8.0f%% %10s\n",
                r.what.c_str(), r.k.codec.c_str(), r.k.label().c_str(), gbs(bytes, cubist_s), per_chunk * cubist_s, py, pyus, ratio,
                gbs(bytes, r.codec.median()), gbs(bytes, r.limit.median()), gbs(bytes, floor_s), 100 * r.codec.median() / cubist_s,
                100 * r.limit.median() / cubist_s, 100 * floor_s / cubist_s, 100 * r.limit.cpu_median() / r.cubist.cpu_median(),
                per_chunk * r.store.median(), dest, dest_pct, 100 * floor_cpu / r.cubist.cpu_median(), dest_floor_cpu);
  }
  // The RESULT line: the smallest-chunk blosc-lz4 write, where per-chunk overhead weighs most.
  const Row* head = nullptr;
  for (const auto& r : rows)
    if (!r.k.sharded && r.what == "write" && (!head || r.k.chunk < head->k.chunk || (r.k.codec == "lz4" && r.k.chunk == head->k.chunk)))
      head = &r;
  if (head) {
    double cu = 1e6 * head->cubist.median() / static_cast<double>(head->chunks);
    double pu = head->python_s > 0 ? 1e6 * head->python_s / static_cast<double>(head->chunks) : 0;
    std::printf("RESULT name=zarr_io_write_%s_%lld cubist=%.1fus reference=%.1fus ratio=%.2f\n", head->k.codec.c_str(),
                static_cast<long long>(head->k.chunk), cu, pu, pu > 0 ? pu / cu : 0.0);
  }
  if (!all_ok) std::printf("zarr_io: CHECKSUMS DIFFER\n");
  return all_ok ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "zarr_io: %s\n", e.what());
  return 1;
}
