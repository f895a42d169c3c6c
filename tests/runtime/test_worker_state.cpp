// The distributed worker's decisions, event by event, without sockets or threads.
#include <gtest/gtest.h>

#include "runtime/distributed/wire.hpp"
#include "runtime/distributed/worker_state.hpp"

namespace cubist::runtime::distributed {
namespace {

using Kind = WorkerInstruction::Kind;

WorkerInstruction fetch(std::uint64_t job, std::vector<std::uint32_t> units, std::string address) {
  return {Kind::Fetch, job, std::move(units), std::move(address), {}, {}};
}
WorkerInstruction execute(std::uint64_t job, std::uint32_t unit) { return {Kind::Execute, job, {unit}, {}, {}, {}}; }
WorkerInstruction drop(std::uint64_t job, std::vector<std::uint32_t> units) {
  return {Kind::Drop, job, std::move(units), {}, {}, {}};
}

TEST(WorkerState, AUnitWithoutInputsRunsAtOnceAndIsReported) {
  WorkerState s;
  s.job_received(1);
  EXPECT_EQ(s.compute(1, 0, {}), WorkerInstructions{execute(1, 0)});
  EXPECT_EQ(s.running(), 1u);
  auto out = s.executed(1, 0, 64);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::Send);
  EXPECT_EQ(out[0].type, "finished");
  EXPECT_EQ(out[0].body, nlohmann::json::parse(R"({"job": 1, "unit": 0, "nbytes": 64})"));
  EXPECT_TRUE(s.holds(1, 0));
  EXPECT_EQ(s.running(), 0u);
}

TEST(WorkerState, MissingInputsAreFetchedOncePerPeerAndTheUnitRunsWhenAllArrived) {
  WorkerState s;
  s.job_received(1);
  s.compute(1, 0, {});
  s.executed(1, 0, 8);
  auto out = s.compute(1, 5, {{0, "tcp://self"}, {1, "tcp://b"}, {2, "tcp://c"}, {3, "tcp://b"}});
  EXPECT_EQ(out, (WorkerInstructions{fetch(1, {1, 3}, "tcp://b"), fetch(1, {2}, "tcp://c")}));
  // Another unit needing 1 does not fetch it again.
  out = s.compute(1, 6, {{1, "tcp://b"}});
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(s.fetched(1, {2}).empty());
  out = s.fetched(1, {1, 3});
  EXPECT_EQ(out, (WorkerInstructions{execute(1, 6), execute(1, 5)}));  // 6 needed only 1
  EXPECT_TRUE(s.holds(1, 1));
}

TEST(WorkerState, AFailedFetchFailsTheJobNamingPeerAndUnits) {
  WorkerState s;
  s.job_received(4);
  s.compute(4, 7, {{2, "tcp://b:9"}});
  auto out = s.fetch_failed(4, "tcp://b:9", {2}, "no answer within 30 s");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type, "failed");
  EXPECT_EQ(out[0].body["error"]["message"], "fetching input unit 2 of unit 7 from tcp://b:9: no answer within 30 s");
}

TEST(WorkerState, ATaskErrorGoesToTheScheduler) {
  WorkerState s;
  s.job_received(1);
  s.compute(1, 3, {});
  nlohmann::json error = {{"layer", "l"}, {"op", "o"}, {"chunk", "(0,)"}, {"cause", "c"}};
  auto out = s.execute_failed(1, 3, error);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].body["error"], error);
  EXPECT_EQ(out[0].body["unit"], 3);
  EXPECT_FALSE(s.holds(1, 3));
}

TEST(WorkerState, ReleaseDropsHeldResultsAndLateArrivals) {
  WorkerState s;
  s.job_received(1);
  s.compute(1, 0, {});
  s.executed(1, 0, 8);
  s.compute(1, 2, {{1, "tcp://b"}});
  EXPECT_EQ(s.release(1, {0, 9}), WorkerInstructions{drop(1, {0})});
  EXPECT_FALSE(s.holds(1, 0));
  // Released while being fetched (the job was cancelled, say): dropped when it arrives.
  EXPECT_TRUE(s.release(1, {1}).empty());
  EXPECT_EQ(s.fetched(1, {1}), WorkerInstructions{drop(1, {1})});
}

TEST(WorkerState, ACancelledJobIsForgottenAndItsRunningUnitsResultsDropped) {
  WorkerState s;
  s.job_received(1);
  s.compute(1, 0, {});
  EXPECT_EQ(s.cancel(1), (WorkerInstructions{{Kind::DropJob, 1, {}, {}, {}, {}}}));
  EXPECT_FALSE(s.knows(1));
  EXPECT_EQ(s.executed(1, 0, 8), WorkerInstructions{drop(1, {0})});  // nothing sent
  EXPECT_TRUE(s.execute_failed(1, 0, {}).empty());
  EXPECT_TRUE(s.cancel(1).empty());
}

TEST(WorkerState, ComputeForAnUnknownJobOrAUnitAlreadyHereIsAProtocolError) {
  WorkerState s;
  EXPECT_THROW(s.compute(1, 0, {}), ProtocolError);
  s.job_received(1);
  s.compute(1, 0, {});
  EXPECT_THROW(s.compute(1, 0, {}), ProtocolError);
}

}  // namespace
}  // namespace cubist::runtime::distributed
