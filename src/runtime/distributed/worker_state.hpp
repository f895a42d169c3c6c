// A distributed worker's decisions as a pure state machine (DESIGN.md: like dask's
// WorkerState.handle_stimulus): which inputs to fetch from which peer, when a unit can run, what
// to tell the scheduler, what to drop. No sockets, threads or data here: worker.cpp holds the
// chunks, runs units on the thread pool and carries the instructions out
// (tests/runtime/test_worker_state.cpp).
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace cubist::runtime::distributed {

struct WorkerInstruction {
  enum class Kind : std::uint8_t {
    Fetch,    // ask the peer at `address` for `units` of `job`
    Execute,  // run `units[0]` of `job` on the thread pool (its inputs are all held)
    Drop,     // forget the held results `units` of `job`
    DropJob,  // forget everything of `job`
    Send,     // send `type` {body} to the scheduler
  };
  Kind kind;
  std::uint64_t job = 0;
  std::vector<std::uint32_t> units;
  std::string address;
  std::string type;
  nlohmann::json body;
  bool operator==(const WorkerInstruction&) const = default;
};
using WorkerInstructions = std::vector<WorkerInstruction>;

class WorkerState {
 public:
  struct Input {
    std::uint32_t unit;
    std::string address;  // the data server of the worker holding it
  };

  // The job's graph arrived and was prepared.
  void job_received(std::uint64_t job);
  bool knows(std::uint64_t job) const { return jobs_.count(job) != 0; }
  // Run `unit` once `inputs` are held: fetches the missing ones (one request per peer; an input
  // already being fetched for another unit is not fetched twice).
  WorkerInstructions compute(std::uint64_t job, std::uint32_t unit, const std::vector<Input>& inputs);
  // The peer's answer arrived and the shell stored it.
  WorkerInstructions fetched(std::uint64_t job, const std::vector<std::uint32_t>& units);
  // The peer refused, vanished or timed out: the units waiting on those inputs fail.
  WorkerInstructions fetch_failed(std::uint64_t job, const std::string& address, const std::vector<std::uint32_t>& units,
                                  const std::string& error);
  // The unit ran; its result (nbytes) is stored.
  WorkerInstructions executed(std::uint64_t job, std::uint32_t unit, std::int64_t nbytes);
  // The unit's task failed: error {layer, op, chunk, cause}.
  WorkerInstructions execute_failed(std::uint64_t job, std::uint32_t unit, nlohmann::json error);
  WorkerInstructions release(std::uint64_t job, const std::vector<std::uint32_t>& units);
  WorkerInstructions cancel(std::uint64_t job);

  bool holds(std::uint64_t job, std::uint32_t unit) const;
  std::size_t running() const;

 private:
  struct Job {
    std::set<std::uint32_t> held;                      // computed here or fetched
    std::map<std::uint32_t, std::string> fetching;     // input -> the peer asked for it
    std::map<std::uint32_t, std::set<std::uint32_t>> waiting;  // unit -> inputs not yet held
    std::set<std::uint32_t> running;
  };
  Job* find(std::uint64_t job);

  std::map<std::uint64_t, Job> jobs_;
};

}  // namespace cubist::runtime::distributed
