// `cubist run --scheduler ADDRESS [--token-file F]`: GTiff and netCDF outputs computed on a
// cluster (a scheduler and a worker on threads of this process) equal the local files; what is
// refused before anything runs (malformed addresses, a token file without a cluster) and how.
// ZARR on a cluster of real processes is tested by tests/integration/distributed/.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "../test_support/running_node.hpp"
#include "helpers.hpp"
#include "openeo/run.hpp"
#include "runtime/distributed/scheduler.hpp"
#include "runtime/distributed/worker.hpp"

namespace cubist::openeo::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
namespace dist = cubist::runtime::distributed;

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

  // The test cube saved as `format`; GTiff holds (bands, y, x), so time is reduced by its mean first.
  json graph(const std::string& format) const {
    set_test_cube("sched", small_cube());
    json g = {{"c", {{"process_id", "test_cube"}, {"arguments", {{"name", "sched"}}}}}};
    std::string last = "c";
    if (format == "GTiff") {
      const json mean = {{"process_graph",
                          {{"m", {{"process_id", "mean"}, {"arguments", {{"data", {{"from_parameter", "data"}}}}}, {"result", true}}}}}};
      g["r"] = {{"process_id", "reduce_dimension"},
                {"arguments", {{"data", {{"from_node", "c"}}}, {"reducer", mean}, {"dimension", "t"}}}};
      last = "r";
    }
    g["s"] = {{"process_id", "save_result"}, {"arguments", {{"data", {{"from_node", last}}}, {"format", format}}}, {"result", true}};
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

TEST_F(RunOnScheduler, GtiffAndNetcdfOutputsAreComputedOnTheClusterAndWrittenHere) {
  const std::string token(64, 'a');
  ::cubist::test_support::RunningNode<dist::Scheduler> scheduler(std::make_unique<dist::Scheduler>(dist::SchedulerOptions{
      .listen = "tcp://127.0.0.1:0", .token = token, .peer_timeout = std::chrono::seconds(10), .log = false}));
  dist::WorkerOptions wo;
  wo.scheduler = scheduler.node->address();
  wo.token = token;
  wo.name = "w";
  wo.threads = 2;
  wo.log = false;
  ::cubist::test_support::RunningNode<dist::Worker> worker(std::make_unique<dist::Worker>(std::move(wo)));
  for (const std::string format : {"GTiff", "netCDF"}) {
    const std::string ext = format == "GTiff" ? ".tif" : ".nc";
    RunOptions local;
    local.output = (dir_ / ("local" + ext)).string();
    run_process_graph(graph(format), local);
    RunOptions remote;
    remote.output = (dir_ / ("cluster" + ext)).string();
    remote.scheduler = scheduler.node->address();
    remote.token = token;
    run_process_graph(graph(format), remote);
    const std::string a = slurp(local.output), b = slurp(remote.output);
    EXPECT_FALSE(a.empty()) << format;
    EXPECT_TRUE(a == b) << format << ": the cluster's file differs from the local one";
  }
  worker.halt();
  EXPECT_GT(worker.node->stats().units, 0) << "the worker computed nothing";
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
