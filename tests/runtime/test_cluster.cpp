// A scheduler and two workers as threads of this process on 127.0.0.1: graphs computed through
// execute_remote must equal runtime::execute's results bit for bit; errors, wrong tokens and a
// worker leaving mid-job must reach the client as one clear error.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>
#include <zmq_addon.hpp>

#include "cubist/cubist.hpp"
#include "graph/task_graph.hpp"
#include "kernels/op_registry.hpp"
#include "runtime/distributed/client.hpp"
#include "runtime/distributed/scheduler.hpp"
#include "runtime/distributed/wire.hpp"
#include "runtime/distributed/worker.hpp"
#include "runtime/local_scheduler.hpp"

#include "../test_support/running_node.hpp"
#include "../test_support/bit_identical.hpp"

using namespace cubist;
namespace dist = cubist::runtime::distributed;

namespace {

const std::string kToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// Sleeps, then returns ones; fails on chunk `bad` (-1: never). For errors and a worker leaving
// while units run.
struct SlowParams {
  std::int64_t bad = -1, sleep_ms = 0;
};
const kernels::OpRegistration kSlow{kernels::OpDef{
    .name = "test_cluster_slow",
    .prepare = [](const nlohmann::json& p, const kernels::OpSignature&) -> std::shared_ptr<const void> {
      return std::make_shared<SlowParams>(SlowParams{p.at("bad").get<std::int64_t>(), p.at("sleep_ms").get<std::int64_t>()});
    },
    .run = [](const kernels::TaskContext& ctx) {
      const auto& p = ctx.params<SlowParams>();
      std::this_thread::sleep_for(std::chrono::milliseconds(p.sleep_ms));
      if (ctx.linear_chunk == p.bad) throw ValueError("sensor exploded");
      Chunk c = Chunk::allocate(ctx.out_dtype, ctx.shape());
      for (auto& v : c.mutable_values<double>()) v = 1;
      return c;
    }}};

DataArray slow(std::int64_t n, std::int64_t chunk, std::int64_t bad, std::int64_t sleep_ms) {
  graph::LayerSpec spec;
  spec.label = "slow";
  spec.op = "test_cluster_slow";
  spec.kind = graph::LayerKind::Source;
  spec.params = {{"bad", bad}, {"sleep_ms", sleep_ms}};
  spec.grid = ChunkGrid::regular({n}, {chunk});
  spec.dtype = DType::Float64;
  return DataArray::from_layer(graph::make_layer(std::move(spec)), {"x"});
}

template <class Node>
using Running = cubist::test_support::RunningNode<Node>;

class Cluster : public ::testing::Test {
 protected:
  void SetUp() override {
    scheduler_ = std::make_unique<Running<dist::Scheduler>>(
        std::make_unique<dist::Scheduler>(dist::SchedulerOptions{.listen = "tcp://127.0.0.1:0", .token = kToken,
                                                                 .peer_timeout = std::chrono::seconds(10), .log = false}));
    for (int i = 0; i < 2; ++i) add_worker("w" + std::to_string(i));
  }
  void TearDown() override {
    workers_.clear();
    scheduler_.reset();
  }
  Running<dist::Worker>& add_worker(const std::string& name) {
    dist::WorkerOptions o;
    o.scheduler = address();
    o.token = kToken;
    o.name = name;
    o.threads = 2;
    o.log = false;
    workers_.push_back(std::make_unique<Running<dist::Worker>>(std::make_unique<dist::Worker>(std::move(o))));
    return *workers_.back();
  }
  const std::string& address() const { return scheduler_->node->address(); }

  std::vector<Chunk> remote(const DataArray& a, const std::string& token = kToken) {
    dist::RemoteOptions o;
    o.address = address();
    o.token = token;
    return dist::execute_remote({a.layer()}, {}, o).at(0);
  }
  static std::vector<Chunk> local(const DataArray& a) {
    return runtime::execute(graph::build_task_graph({a.layer()})).at(0);
  }
  std::int64_t units_run() const {
    std::int64_t n = 0;
    for (const auto& w : workers_) n += w->node->stats().units;
    return n;
  }
  std::int64_t fetched() const {
    std::int64_t n = 0;
    for (const auto& w : workers_) n += w->node->stats().bytes_fetched;
    return n;
  }

  std::unique_ptr<Running<dist::Scheduler>> scheduler_;
  std::vector<std::unique_ptr<Running<dist::Worker>>> workers_;
};

using cubist::test_support::expect_bit_identical;

DataArray cube() {
  return random<double>({{"t", 6}, {"y", 40}, {"x", 30}}, {{"t", 2}, {"y", 16}, {"x", 16}}, 3) * 10.0 - 2.0;
}

}  // namespace

TEST_F(Cluster, ElementwiseReductionRechunkAndIselEqualTheLocalRuntime) {
  const DataArray a = cube();
  const std::vector<DataArray> cases{
      (a * a + 1.0).astype(DType::Float32),
      a.mean({"t"}),
      a.sum({"y", "x"}),
      a.chunk({{"t", 3}, {"y", 7}, {"x", 30}}),
      a.isel({{"y", Slice{3, 33, 2}}, {"t", 1}}),
  };
  for (std::size_t c = 0; c < cases.size(); ++c) {
    SCOPED_TRACE(c);
    expect_bit_identical(remote(cases[c]), local(cases[c]));
  }
  // Both workers ran units, and every byte the scheduler sent a worker to fetch from a peer was
  // fetched (and nothing else).
  for (const auto& w : workers_) EXPECT_GT(w->node->stats().units, 0);
  EXPECT_GT(fetched(), 0);
  EXPECT_EQ(fetched(), scheduler_->node->stats().bytes_between_workers);
}

TEST_F(Cluster, AZarrSourceIsReadByTheWorkers) {
  const auto dir = std::filesystem::temp_directory_path() / ("cubist-test-cluster-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  to_zarr(cube().chunk({{"t", 1}, {"y", 20}, {"x", 15}}), (dir / "a.zarr").string());
  const Dataset ds = open_zarr((dir / "a.zarr").string());
  const DataArray opened = ds[ds.data_vars().at(0)];
  const DataArray m = opened.max({"t"}) - opened.min({"t"});
  expect_bit_identical(remote(m), local(m));
  std::filesystem::remove_all(dir);
}

// to_zarr's sink layers (one zarr_write task per chunk) run on the workers through
// ComputeOptions::scheduler: the store equals the local one file for file.
TEST_F(Cluster, ToZarrThroughTheClusterWritesTheLocalStore) {
  namespace fs = std::filesystem;
  const auto dir = fs::temp_directory_path() / ("cubist-test-cluster-zarr-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const DataArray a = cube().mean({"t"}).chunk({{"y", 15}, {"x", 10}});
  to_zarr(a, (dir / "local.zarr").string());
  ToZarrOptions o;
  o.compute.scheduler = address();
  o.compute.token = kToken;
  const std::int64_t before = units_run();
  to_zarr(a, (dir / "cluster.zarr").string(), o);
  EXPECT_GE(units_run() - before, 9);  // the 9 chunk writes (at least) ran on the workers
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir / "local.zarr"))
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), dir / "local.zarr").string());
  EXPECT_GT(files.size(), 6u);  // metadata and 3 x 3 chunks
  std::size_t cluster_files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir / "cluster.zarr")) cluster_files += e.is_regular_file();
  EXPECT_EQ(cluster_files, files.size());
  auto bytes = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  for (const auto& f : files) EXPECT_EQ(bytes(dir / "local.zarr" / f), bytes(dir / "cluster.zarr" / f)) << f;
  fs::remove_all(dir);
}

TEST_F(Cluster, ATaskErrorNamesLayerOpAndChunk) {
  const DataArray a = slow(10, 2, 3, 0);
  try {
    remote(a + 1.0);
    FAIL() << "no error";
  } catch (const TaskError& e) {
    EXPECT_EQ(e.op(), "test_cluster_slow");
    EXPECT_EQ(e.chunk_index(), "(3,)");
    EXPECT_EQ(e.cause(), "sensor exploded");
    EXPECT_EQ(e.layer_key(), a.layer()->key);
  }
  // The cluster still works afterwards.
  expect_bit_identical(remote(slow(10, 2, -1, 0)), local(slow(10, 2, -1, 0)));
}

TEST_F(Cluster, AWrongTokenIsRefusedWithOneClearError) {
  try {
    remote(cube(), std::string(64, 'f'));
    FAIL() << "no error";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("authentication failed: wrong cluster token"), std::string::npos) << e.what();
  }
  dist::WorkerOptions o;
  o.scheduler = address();
  o.token = "nope";
  o.log = false;
  dist::Worker intruder(o);
  std::atomic<bool> stop{false};
  EXPECT_THROW(intruder.run(stop), IOError);
}

// A peer that does not start with hello gets one error reply, then nothing, even a correct hello;
// the scheduler keeps serving everyone else.
TEST_F(Cluster, GarbageBeforeHelloGetsOneErrorAndThePeerIsIgnored) {
  zmq::context_t context(1);
  zmq::socket_t s(context, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(address());
  auto receive = [&](int ms) -> std::optional<dist::Message> {
    std::vector<zmq::message_t> frames;
    s.set(zmq::sockopt::rcvtimeo, ms);
    if (!zmq::recv_multipart(s, std::back_inserter(frames))) return std::nullopt;
    return dist::decode(std::move(frames));
  };
  s.send(zmq::buffer(std::string("\xc1 not msgpack")), zmq::send_flags::none);
  auto reply = receive(5000);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->type, "error");
  EXPECT_TRUE(reply->body.contains("message"));
  auto frames = dist::encode(dist::Message{"hello", {{"role", "client"}, {"token", kToken}}, {}});
  zmq::send_multipart(s, frames);
  EXPECT_FALSE(receive(500));  // dropped: no welcome
  expect_bit_identical(remote(slow(4, 2, -1, 0)), local(slow(4, 2, -1, 0)));
}

TEST_F(Cluster, AWorkerLeavingMidJobFailsItNamingTheWorker) {
  auto& third = add_worker("leaver");
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    third.halt();
  });
  try {
    remote(slow(60, 1, -1, 50) + 1.0);  // 60 units of 50 ms on 6 threads: ~0.5 s
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("worker leaver ("), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("left: it shut down"), std::string::npos) << e.what();
  }
  stopper.join();
  expect_bit_identical(remote(slow(8, 2, -1, 0)), local(slow(8, 2, -1, 0)));
}

TEST(ClusterLoss, AWorkerWhoseSchedulerVanishedStopsWithAClearError) {
  Running<dist::Scheduler> scheduler(std::make_unique<dist::Scheduler>(dist::SchedulerOptions{
      .listen = "tcp://127.0.0.1:0", .token = kToken, .peer_timeout = std::chrono::seconds(10), .log = false}));
  dist::WorkerOptions o;
  o.scheduler = scheduler.node->address();
  o.token = kToken;
  o.name = "orphan";
  o.log = false;
  o.heartbeat = std::chrono::milliseconds(100);
  o.scheduler_timeout = std::chrono::milliseconds(1000);
  Running<dist::Worker> worker(std::make_unique<dist::Worker>(std::move(o)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // heartbeats answered: still running
  EXPECT_FALSE(worker.finished.load());
  scheduler.halt();
  for (int i = 0; i < 100 && !worker.finished.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(worker.finished.load());
  EXPECT_NE(worker.error.find("silent for 1 s: gone"), std::string::npos) << worker.error;
}
