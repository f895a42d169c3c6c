// `cubist run --scheduler ADDRESS [--token-file F]`: what is refused before anything runs (GTiff
// and netCDF outputs, malformed addresses, a token file without a cluster) and how. Running on a
// real cluster is tested by tests/integration/distributed/.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "helpers.hpp"
#include "openeo/run.hpp"

namespace cubist::openeo::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class RunOnScheduler : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cubist_openeo_sched_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::size_t entries() const { return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_), fs::directory_iterator())); }

  json graph(const std::string& format) const {
    set_test_cube("sched", small_cube());
    json g = {{"c", {{"process_id", "test_cube"}, {"arguments", {{"name", "sched"}}}}},
              {"s", {{"process_id", "save_result"}, {"arguments", {{"data", {{"from_node", "c"}}}, {"format", format}}}, {"result", true}}}};
    return {{"process_graph", g}};
  }

  // The cubist binary with `args`, its exit code and stderr.
  std::pair<int, std::string> cubist(const std::string& args) const {
    const fs::path cli = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "src" / "cubist";
    const char* env = std::getenv("CUBIST_CLI");
    const std::string cmd = (env ? std::string(env) : cli.string()) + " " + args + " >/dev/null 2>" + (dir_ / "stderr").string();
    const int status = std::system(cmd.c_str());
    std::string err = slurp(dir_ / "stderr");
    fs::remove(dir_ / "stderr");
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, err};
  }

  fs::path dir_;
};

TEST_F(RunOnScheduler, GtiffAndNetcdfOutputsAreRefusedBeforeAnythingRuns) {
  for (const std::string format : {"GTiff", "netCDF"}) {
    RunOptions o;
    o.output = (dir_ / (format == "GTiff" ? "out.tif" : "out.nc")).string();
    o.scheduler = "tcp://127.0.0.1:9";  // nothing listens there: a connection attempt would fail differently
    try {
      run_process_graph(graph(format), o);
      ADD_FAILURE() << format << " accepted with a scheduler";
    } catch (const ValueError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(format == "GTiff" ? "GTIFF" : "NETCDF"), std::string::npos) << what;
      EXPECT_NE(what.find("tcp://127.0.0.1:9"), std::string::npos) << what;
      EXPECT_NE(what.find("only ZARR"), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
    EXPECT_EQ(entries(), 0u) << "nothing may be written";
  }
}

TEST_F(RunOnScheduler, CommandLineChecksTheClusterOptions) {
  const fs::path g = dir_ / "g.json";
  std::ofstream(g) << R"({"process_graph": {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": true}}})";
  const std::string base = "run " + g.string() + " --output " + (dir_ / "out.zarr").string();
  for (const std::string bad : {"localhost:5555", "tcp://localhost", "tcp://:5555", "tcp://host:port", "tcp://host:70000"}) {
    const auto [code, err] = cubist(base + " --scheduler '" + bad + "'");
    EXPECT_NE(code, 0) << bad;
    EXPECT_NE(err.find("--scheduler '" + bad + "': expected tcp://HOST:PORT"), std::string::npos) << err;
  }
  {
    const auto [code, err] = cubist(base + " --scheduler tcp://127.0.0.1:5555 --workers 2");
    EXPECT_NE(code, 0);
    EXPECT_NE(err.find("--workers"), std::string::npos) << err;
  }
  {
    const auto [code, err] = cubist(base + " --token-file " + (dir_ / "token").string());
    EXPECT_NE(code, 0);
    EXPECT_NE(err.find("--token-file is for a cluster"), std::string::npos) << err;
  }
  {
    const auto [code, err] = cubist(base + " --scheduler tcp://127.0.0.1:5555 --token-file " + (dir_ / "missing-token").string());
    EXPECT_NE(code, 0);
    EXPECT_NE(err.find("missing-token"), std::string::npos) << err;
  }
  EXPECT_FALSE(fs::exists(dir_ / "out.zarr"));
}

}  // namespace
}  // namespace cubist::openeo::testing
