// ComputeOptions::scheduler: compute() and to_zarr() on a cluster (a scheduler and a worker as
// threads of this process on 127.0.0.1) give what they give in-process, byte for byte.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cubist/cubist.hpp"
#include "runtime/distributed/scheduler.hpp"
#include "runtime/distributed/worker.hpp"

#include "../test_support/running_node.hpp"

using namespace cubist;
namespace dist = cubist::runtime::distributed;
namespace fs = std::filesystem;

namespace {

const std::string kToken = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

template <class Node>
using Running = cubist::test_support::RunningNode<Node>;

class ComputeRemote : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cubist_compute_remote_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    scheduler_ = std::make_unique<Running<dist::Scheduler>>(std::make_unique<dist::Scheduler>(
        dist::SchedulerOptions{.listen = "tcp://127.0.0.1:0", .token = kToken, .peer_timeout = std::chrono::seconds(10), .log = false}));
    dist::WorkerOptions o;
    o.scheduler = scheduler_->node->address();
    o.token = kToken;
    o.name = "w";
    o.threads = 2;
    o.log = false;
    worker_ = std::make_unique<Running<dist::Worker>>(std::make_unique<dist::Worker>(std::move(o)));
  }
  void TearDown() override {
    worker_.reset();
    scheduler_.reset();
    fs::remove_all(dir_);
  }
  ComputeOptions on_cluster() const {
    ComputeOptions c;
    c.scheduler = scheduler_->node->address();
    c.token = kToken;
    return c;
  }

  // Units the worker ran (it is stopped first: its stats are read after run() returned).
  std::int64_t worker_units() {
    worker_->halt();
    return worker_->node->stats().units;
  }

  fs::path dir_;
  std::unique_ptr<Running<dist::Scheduler>> scheduler_;
  std::unique_ptr<Running<dist::Worker>> worker_;
};

DataArray cube() {
  auto a = random<float>({{"t", 4}, {"y", 20}, {"x", 12}}, {{"t", 1}, {"y", 8}, {"x", 12}}, 7);
  return ((a * 3.0f - 1.0f).where(a > 0.2f)).mean("t");
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_F(ComputeRemote, ComputeEqualsTheInProcessResult) {
  const DataArray a = cube();
  ComputeStats stats;
  const DataArray remote = a.compute(on_cluster(), &stats), local = a.compute();
  ASSERT_EQ(remote.shape(), local.shape());
  EXPECT_EQ(std::memcmp(remote.memory_chunk().raw(), local.memory_chunk().raw(), local.nbytes()), 0);
  EXPECT_GT(stats.tasks, 0u);
  EXPECT_GT(worker_units(), 0);  // it did run there
}

TEST_F(ComputeRemote, ToZarrWithARelativePathWritesTheSameStore) {
  // Workers run elsewhere with another cwd in general: to_zarr names the store absolutely in the
  // sink's params (zarr_io::store_locator), so a relative path means the client's directory.
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  ToZarrOptions remote;
  remote.compute = on_cluster();
  try {
    to_zarr(cube().rename("v"), "remote.zarr", remote);
    to_zarr(cube().rename("v"), "local.zarr");
  } catch (...) {
    fs::current_path(cwd);
    throw;
  }
  fs::current_path(cwd);
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "local.zarr")) {
    if (!e.is_regular_file()) continue;
    const fs::path rel = fs::relative(e.path(), dir_ / "local.zarr");
    ASSERT_TRUE(fs::exists(dir_ / "remote.zarr" / rel)) << rel;
    EXPECT_EQ(slurp(e.path()), slurp(dir_ / "remote.zarr" / rel)) << rel;
    ++files;
  }
  EXPECT_GT(files, 3u);
  EXPECT_GT(worker_units(), 0);
}

TEST_F(ComputeRemote, AWrongTokenIsOneClearError) {
  ComputeOptions c = on_cluster();
  c.token = "wrong";
  try {
    cube().compute(c);
    ADD_FAILURE() << "computed with a wrong token";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("wrong cluster token"), std::string::npos) << e.what();
  }
}
