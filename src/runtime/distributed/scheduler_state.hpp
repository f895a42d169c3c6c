// The distributed scheduler's decisions as a pure state machine (DESIGN.md: like dask's
// SchedulerState): an event in (a worker joined or left, a job submitted, a unit finished or
// failed, a client released or vanished), state transitions, and the messages to send out. No
// sockets, threads or clocks here; scheduler.cpp carries the messages out, and every decision is
// unit-tested deterministically (tests/runtime/test_scheduler_state.cpp).
//
// The scheduler never sees data: it knows which worker holds which unit result and how big it is.
// Messages it emits (type: body):
//   to a worker: "job" {job}                 (the shell adds the serialised graph; sent once per
//                                             job and worker, before its first "compute")
//                "compute" {job, unit, inputs: [[unit, data address], ...]}
//                "release" {job, units: [...]}   (results no consumer needs any more)
//                "cancel" {job}                  (forget the job: failed, done or abandoned)
//   to a client: "accepted" {job, units, tasks}
//                "progress" {job, done, total}
//                "done" {job, outputs: [[unit, data address], ...], chunks: [[unit per output chunk], ...]}
//                                            (gathered by the client
//                                             directly from the workers, then it sends release)
//                "failed" {job, error: {layer, op, chunk, cause} | {message}}
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "graph/task_graph.hpp"

namespace cubist::runtime::distributed {

using PeerId = std::string;  // a worker's or client's ROUTER identity
using JobId = std::uint64_t;

// One message for the shell to send.
struct Outgoing {
  PeerId to;
  std::string type;
  nlohmann::json body;
};

// What the scheduler needs of a job's TaskGraph: unit edges (with repeats, as unit_deps),
// priorities, and the units holding requested outputs.
struct JobPlan {
  std::vector<std::uint32_t> unit_dep_begin, unit_deps, unit_priority;
  std::vector<std::uint32_t> output_units;
  // Per requested output, the unit holding each chunk (by linear chunk index; UINT32_MAX: none),
  // sent to the client with "done" so that it needs no TaskGraph of its own.
  std::vector<std::vector<std::uint32_t>> output_chunks;
  std::size_t tasks = 0;
  std::size_t num_units() const { return unit_priority.size(); }
  static JobPlan of(const graph::TaskGraph& g);
};

class SchedulerState {
 public:
  // A worker with `threads` threads serving its results at `data_address`.
  std::vector<Outgoing> worker_joined(const PeerId& w, std::string name, unsigned threads, std::string data_address);
  // The worker is gone (goodbye, heartbeat timeout): every job that loses a running unit or a
  // result it still needs fails with one error naming the worker and `why`.
  std::vector<Outgoing> worker_left(const PeerId& w, std::string_view why);
  std::vector<Outgoing> job_submitted(const PeerId& client, JobId job, JobPlan plan);
  // Throws ProtocolError for a unit the worker was not running (stale reports of cancelled jobs
  // are ignored).
  std::vector<Outgoing> unit_finished(const PeerId& w, JobId job, std::uint32_t unit, std::int64_t nbytes);
  // A task of the unit failed (error {layer, op, chunk, cause}) or the worker could not run the
  // job at all ({message}): the job fails on the client and is cancelled on every worker.
  std::vector<Outgoing> job_failed(const PeerId& w, JobId job, nlohmann::json error);
  // The client has gathered the outputs of a done job.
  std::vector<Outgoing> job_released(const PeerId& client, JobId job);
  std::vector<Outgoing> client_gone(const PeerId& client);
  // A "progress" message for every job whose count changed since the last call.
  std::vector<Outgoing> progress();

  // For tests and the shell.
  bool has_worker(const PeerId& w) const { return workers_.count(w) != 0; }
  bool has_job(JobId job) const { return jobs_.count(job) != 0; }
  std::size_t in_flight(const PeerId& w) const;
  std::string worker_label(const PeerId& w) const;  // "NAME (ADDRESS)"
  // Bytes of results the scheduler told workers to fetch from a peer (sum over compute inputs
  // held elsewhere): the traffic between workers it caused.
  std::int64_t bytes_to_transfer() const { return transfer_bytes_; }

 private:
  enum class UnitState : std::uint8_t { Waiting, Ready, Running, Done, Released };
  struct Worker {
    std::string name, address;
    unsigned threads = 1;
    std::size_t in_flight = 0;
    std::uint64_t order = 0;  // join order: ties go to the earliest
  };
  struct Job {
    PeerId client;
    JobPlan plan;
    std::vector<UnitState> state;
    std::vector<std::uint32_t> waiting;         // unfinished input edges
    std::vector<std::uint32_t> consumers_left;  // consumer edges not yet run
    std::vector<std::uint32_t> dependents_begin, dependents;
    std::vector<char> is_output;
    std::vector<std::int64_t> nbytes;
    std::vector<PeerId> producer;                 // who computed it (and serves it)
    std::vector<std::vector<PeerId>> replicas;    // who was told to fetch it
    std::set<std::pair<std::uint32_t, std::uint32_t>> ready;  // (priority, unit)
    std::set<PeerId> with_graph;
    std::size_t done = 0, reported = SIZE_MAX;
    bool finished = false;  // "done" sent, waiting for the client's release
  };

  void assign(std::vector<Outgoing>& out);
  std::vector<Outgoing> fail(JobId job, nlohmann::json error);
  void cancel_everywhere(JobId id, Job& job, std::vector<Outgoing>& out);
  static bool holds(const Job& job, std::uint32_t unit, const PeerId& w);

  std::map<PeerId, Worker> workers_;
  std::map<JobId, Job> jobs_;  // submission order (ids increase)
  std::uint64_t joined_ = 0;
  std::int64_t transfer_bytes_ = 0;
};

}  // namespace cubist::runtime::distributed
