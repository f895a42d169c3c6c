// Every scheduling decision of the distributed scheduler, driven event by event without sockets.
#include <gtest/gtest.h>

#include "runtime/distributed/scheduler_state.hpp"
#include "runtime/distributed/wire.hpp"

namespace cubist::runtime::distributed {
namespace {

// Units given as their input lists; priority = unit index unless given; one output whose chunks
// are the output units.
JobPlan plan(const std::vector<std::vector<std::uint32_t>>& deps, std::vector<std::uint32_t> outputs,
             std::vector<std::uint32_t> priority = {}) {
  JobPlan p;
  p.unit_dep_begin.push_back(0);
  for (const auto& d : deps) {
    p.unit_deps.insert(p.unit_deps.end(), d.begin(), d.end());
    p.unit_dep_begin.push_back(static_cast<std::uint32_t>(p.unit_deps.size()));
  }
  if (priority.empty())
    for (std::uint32_t u = 0; u < deps.size(); ++u) priority.push_back(u);
  p.unit_priority = priority;
  p.output_chunks = {outputs};
  p.output_units = std::move(outputs);
  return p;
}

std::vector<Outgoing> of_type(const std::vector<Outgoing>& out, const std::string& type) {
  std::vector<Outgoing> r;
  for (const auto& m : out)
    if (m.type == type) r.push_back(m);
  return r;
}

// (worker, unit) of every compute message.
std::vector<std::pair<PeerId, std::uint32_t>> computes(const std::vector<Outgoing>& out) {
  std::vector<std::pair<PeerId, std::uint32_t>> r;
  for (const auto& m : of_type(out, "compute")) r.emplace_back(m.to, m.body["unit"].get<std::uint32_t>());
  return r;
}

using Assignments = std::vector<std::pair<PeerId, std::uint32_t>>;

TEST(SchedulerState, ReadyUnitsGoOutInPriorityOrderUpToEachWorkersThreads) {
  SchedulerState s;
  s.worker_joined("w1", "one", 1, "tcp://a:1");
  s.worker_joined("w2", "two", 2, "tcp://b:2");
  // Four independent sources, priorities reversed: unit 3 first.
  auto out = s.job_submitted("c", 7, plan({{}, {}, {}, {}}, {0, 1, 2, 3}, {3, 2, 1, 0}));
  ASSERT_EQ(out.front().type, "accepted");
  EXPECT_EQ(out.front().to, "c");
  EXPECT_EQ(out.front().body["units"], 4);
  // Least busy first, ties to the earliest joined: w1, w2, w2; unit 0 waits for a free thread.
  EXPECT_EQ(computes(out), (Assignments{{"w1", 3}, {"w2", 2}, {"w2", 1}}));
  // The graph goes once to each worker, before its first compute.
  auto jobs = of_type(out, "job");
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].to, "w1");
  EXPECT_EQ(jobs[1].to, "w2");
  EXPECT_EQ(s.in_flight("w1"), 1u);
  EXPECT_EQ(s.in_flight("w2"), 2u);
  out = s.unit_finished("w2", 7, 2, 100);
  EXPECT_EQ(computes(out), (Assignments{{"w2", 0}}));
  EXPECT_TRUE(of_type(out, "job").empty());
}

TEST(SchedulerState, AUnitGoesToTheWorkerHoldingMostOfItsInputBytes) {
  SchedulerState s;
  s.worker_joined("w1", "one", 1, "tcp://a:1");
  s.worker_joined("w2", "two", 1, "tcp://b:2");
  // 0 and 1 are sources, 2 reads both (1 twice: repeated edges count once).
  auto out = s.job_submitted("c", 1, plan({{}, {}, {0, 1, 1}}, {2}));
  EXPECT_EQ(computes(out), (Assignments{{"w1", 0}, {"w2", 1}}));
  EXPECT_TRUE(computes(s.unit_finished("w1", 1, 0, 10)).empty());  // 2 still waits for 1
  out = s.unit_finished("w2", 1, 1, 1000);
  ASSERT_EQ(computes(out), (Assignments{{"w2", 2}}));  // w2 holds 1000 of its 1010 input bytes
  const auto body = of_type(out, "compute")[0].body;
  EXPECT_EQ(body["inputs"], nlohmann::json::parse(R"([[0, "tcp://a:1"], [1, "tcp://b:2"]])"));
  EXPECT_EQ(s.bytes_to_transfer(), 10);
}

TEST(SchedulerState, ResultsAreReleasedOnEveryHolderOnceTheirLastConsumerRan) {
  SchedulerState s;
  s.worker_joined("w1", "one", 1, "tcp://a:1");
  s.worker_joined("w2", "two", 1, "tcp://b:2");
  // 0 -> 1 and 0 -> 2 (both read 0), 3 reads 1 and 2; 3 is the output.
  auto out = s.job_submitted("c", 1, plan({{}, {0}, {0}, {1, 2}}, {3}));
  EXPECT_EQ(computes(out), (Assignments{{"w1", 0}}));
  out = s.unit_finished("w1", 1, 0, 8);
  // 1 goes to w1 (holds 0); 2 to w2, which must fetch 0 from w1.
  EXPECT_EQ(computes(out), (Assignments{{"w1", 1}, {"w2", 2}}));
  out = s.unit_finished("w1", 1, 1, 8);
  EXPECT_TRUE(of_type(out, "release").empty());  // 2 still needs 0
  out = s.unit_finished("w2", 1, 2, 8);
  auto rel = of_type(out, "release");
  ASSERT_EQ(rel.size(), 2u);  // the producer and the replica both drop 0
  EXPECT_EQ(rel[0].to, "w1");
  EXPECT_EQ(rel[0].body["units"], nlohmann::json::array({0}));
  EXPECT_EQ(rel[1].to, "w2");
  EXPECT_EQ(rel[1].body["units"], nlohmann::json::array({0}));
  out = s.unit_finished("w1", 1, 3, 8);  // 3 went to w1 (ties: least busy, then earliest)
  rel = of_type(out, "release");
  ASSERT_EQ(rel.size(), 2u);  // 1 on w1 and 2 on w2 (and w1's fetched copy of 2)
  auto done = of_type(out, "done");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].to, "c");
  EXPECT_EQ(done[0].body["outputs"], nlohmann::json::parse(R"([[3, "tcp://a:1"]])"));
  EXPECT_EQ(done[0].body["chunks"], nlohmann::json::parse("[[3]]"));
  // Outputs stay until the client has gathered them; then every worker forgets the job.
  out = s.job_released("c", 1);
  EXPECT_EQ(of_type(out, "cancel").size(), 2u);
  EXPECT_FALSE(s.has_job(1));
}

TEST(SchedulerState, AFailedTaskFailsTheJobOnTheClientAndCancelsItOnEveryWorker) {
  SchedulerState s;
  s.worker_joined("w1", "one", 1, "tcp://a:1");
  s.worker_joined("w2", "two", 1, "tcp://b:2");
  s.job_submitted("c", 3, plan({{}, {}, {0, 1}}, {2}));
  nlohmann::json error = {{"layer", "mean-ab"}, {"op", "reduce"}, {"chunk", "(0, 1)"}, {"cause", "boom"}};
  auto out = s.job_failed("w2", 3, error);
  auto failed = of_type(out, "failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].to, "c");
  EXPECT_EQ(failed[0].body["error"], error);
  EXPECT_EQ(of_type(out, "cancel").size(), 2u);
  EXPECT_FALSE(s.has_job(3));
  EXPECT_EQ(s.in_flight("w1"), 0u);  // w1's running unit no longer counts
  // w1's stale report of its cancelled unit is ignored.
  EXPECT_TRUE(s.unit_finished("w1", 3, 0, 8).empty());
}

TEST(SchedulerState, LosingAWorkerThatRunsOrHoldsNeededResultsFailsTheJobNamingIt) {
  SchedulerState s;
  s.worker_joined("w1", "one", 1, "tcp://a:1");
  s.worker_joined("w2", "two", 1, "tcp://b:2");
  s.job_submitted("c", 1, plan({{}, {}, {0, 1}}, {2}));
  s.unit_finished("w2", 1, 1, 8);  // w2 holds 1, which 2 still needs
  auto out = s.worker_left("w2", "no heartbeat for 10 s");
  auto failed = of_type(out, "failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].body["error"]["message"], "worker two (tcp://b:2) left: no heartbeat for 10 s");
  auto cancels = of_type(out, "cancel");
  ASSERT_EQ(cancels.size(), 1u);  // only to w1: w2 is gone
  EXPECT_EQ(cancels[0].to, "w1");
  EXPECT_FALSE(s.has_worker("w2"));
}

TEST(SchedulerState, LosingAnUninvolvedWorkerLeavesTheJobRunning) {
  SchedulerState s;
  s.worker_joined("w1", "one", 1, "tcp://a:1");
  s.worker_joined("w2", "two", 1, "tcp://b:2");
  s.job_submitted("c", 1, plan({{}, {0}}, {1}));  // one chain: only w1 gets work
  EXPECT_TRUE(of_type(s.worker_left("w2", "goodbye"), "failed").empty());
  EXPECT_TRUE(s.has_job(1));
  EXPECT_EQ(computes(s.unit_finished("w1", 1, 0, 8)), (Assignments{{"w1", 1}}));
}

TEST(SchedulerState, AJobWaitsForAWorkerToJoin) {
  SchedulerState s;
  auto out = s.job_submitted("c", 1, plan({{}}, {0}));
  EXPECT_TRUE(computes(out).empty());
  out = s.worker_joined("w1", "one", 4, "tcp://a:1");
  EXPECT_EQ(computes(out), (Assignments{{"w1", 0}}));
  EXPECT_THROW(s.worker_joined("w1", "one", 4, "tcp://a:1"), ProtocolError);
}

TEST(SchedulerState, AVanishedClientsJobsAreCancelledAndTheirThreadsGoToOthers) {
  SchedulerState s;
  s.worker_joined("w1", "one", 1, "tcp://a:1");
  s.job_submitted("c1", 1, plan({{}, {}}, {0, 1}));
  auto out = s.job_submitted("c2", 2, plan({{}}, {0}));
  EXPECT_TRUE(computes(out).empty());  // w1's one thread runs job 1
  out = s.client_gone("c1");
  EXPECT_EQ(of_type(out, "cancel").size(), 1u);
  auto c = of_type(out, "compute");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].body["job"], 2);
  EXPECT_FALSE(s.has_job(1));
}

TEST(SchedulerState, BadReportsAreProtocolErrors) {
  SchedulerState s;
  s.worker_joined("w1", "one", 1, "tcp://a:1");
  s.worker_joined("w2", "two", 1, "tcp://b:2");
  s.job_submitted("c", 1, plan({{}, {0}}, {1}));
  EXPECT_THROW(s.unit_finished("w2", 1, 0, 8), ProtocolError);  // runs on w1
  EXPECT_THROW(s.unit_finished("w1", 1, 1, 8), ProtocolError);  // not started
  EXPECT_THROW(s.unit_finished("w1", 1, 9, 8), ProtocolError);  // no such unit
  EXPECT_THROW(s.unit_finished("w1", 1, 0, -1), ProtocolError);
  EXPECT_THROW(s.job_failed("w2", 1, {{"message", "x"}}), ProtocolError);  // never had the job
  EXPECT_THROW(s.job_released("other", 1), ProtocolError);
  EXPECT_THROW(s.job_submitted("c", 2, plan({{1}, {}}, {0})), ProtocolError);  // forward edge
  EXPECT_THROW(s.job_submitted("c", 3, plan({{}}, {5})), ProtocolError);
  EXPECT_TRUE(s.has_job(1));
}

TEST(SchedulerState, ProgressIsReportedOnlyWhenItChanged) {
  SchedulerState s;
  s.worker_joined("w1", "one", 2, "tcp://a:1");
  s.job_submitted("c", 1, plan({{}, {}, {0, 1}}, {2}));
  auto p = s.progress();
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].body["done"], 0);
  EXPECT_EQ(p[0].body["total"], 3);
  EXPECT_TRUE(s.progress().empty());
  s.unit_finished("w1", 1, 0, 1);
  p = s.progress();
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].body["done"], 1);
}

TEST(SchedulerState, JobPlanOfATaskGraphMapsEveryOutputChunkToItsUnit) {
  graph::TaskGraph g;
  g.unit_begin = {0, 1, 2, 3};
  g.unit_members = {0, 1, 2};
  g.unit_of_task = {0, 1, 2};
  g.unit_dep_begin = {0, 0, 1, 2};
  g.unit_deps = {0, 0};
  g.unit_priority = {2, 0, 1};
  g.tasks.resize(3);
  g.output_tasks = {{2, 1}, {UINT32_MAX}};
  const JobPlan p = JobPlan::of(g);
  EXPECT_EQ(p.output_units, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(p.output_chunks, (std::vector<std::vector<std::uint32_t>>{{2, 1}, {UINT32_MAX}}));
  EXPECT_EQ(p.tasks, 3u);
  JobPlan bad = p;
  bad.output_chunks = {{0}};  // unit 0 is no output
  EXPECT_THROW(SchedulerState().job_submitted("c", 1, bad), ProtocolError);
}

TEST(SchedulerState, AnEmptyJobIsDoneAtOnce) {
  SchedulerState s;
  auto out = s.job_submitted("c", 1, plan({}, {}));
  EXPECT_EQ(of_type(out, "done").size(), 1u);
}

}  // namespace
}  // namespace cubist::runtime::distributed
