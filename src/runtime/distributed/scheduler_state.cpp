#include "runtime/distributed/scheduler_state.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "runtime/distributed/wire.hpp"

namespace cubist::runtime::distributed {

JobPlan JobPlan::of(const graph::TaskGraph& g) {
  JobPlan p;
  p.unit_dep_begin = g.unit_dep_begin;
  p.unit_deps = g.unit_deps;
  p.unit_priority = g.unit_priority;
  std::set<std::uint32_t> outs;
  for (const auto& ot : g.output_tasks) {
    auto& chunks = p.output_chunks.emplace_back();
    for (auto t : ot) {
      chunks.push_back(t == UINT32_MAX ? UINT32_MAX : g.unit_of_task[t]);
      if (t != UINT32_MAX) outs.insert(g.unit_of_task[t]);
    }
  }
  p.tasks = g.tasks.size();
  p.output_units.assign(outs.begin(), outs.end());
  return p;
}

std::size_t SchedulerState::in_flight(const PeerId& w) const {
  auto it = workers_.find(w);
  return it == workers_.end() ? 0 : it->second.in_flight;
}

std::string SchedulerState::worker_label(const PeerId& w) const {
  auto it = workers_.find(w);
  return it == workers_.end() ? "unknown worker" : fmt::format("{} ({})", it->second.name, it->second.address);
}

bool SchedulerState::holds(const Job& job, std::uint32_t unit, const PeerId& w) {
  if (job.producer[unit] == w) return true;
  const auto& r = job.replicas[unit];
  return std::find(r.begin(), r.end(), w) != r.end();
}

std::vector<Outgoing> SchedulerState::worker_joined(const PeerId& w, std::string name, unsigned threads,
                                                    std::string data_address) {
  if (workers_.count(w)) throw ProtocolError(fmt::format("hello: worker '{}' is already registered", name));
  workers_[w] = Worker{std::move(name), std::move(data_address), std::max(1u, threads), 0, joined_++};
  std::vector<Outgoing> out;
  assign(out);
  return out;
}

std::vector<Outgoing> SchedulerState::worker_left(const PeerId& w, std::string_view why) {
  auto it = workers_.find(w);
  if (it == workers_.end()) return {};
  const std::string label = worker_label(w);
  workers_.erase(it);
  std::vector<Outgoing> out;
  std::vector<JobId> lost;
  for (auto& [id, job] : jobs_) {
    job.with_graph.erase(w);
    bool needed = false;
    for (std::uint32_t u = 0; u < job.plan.num_units(); ++u) {
      auto& r = job.replicas[u];
      r.erase(std::remove(r.begin(), r.end(), w), r.end());
      if (job.producer[u] == w &&
          (job.state[u] == UnitState::Running || job.state[u] == UnitState::Done))
        needed = true;
    }
    if (needed) lost.push_back(id);
  }
  for (JobId id : lost) {
    auto more = fail(id, {{"message", fmt::format("worker {} left: {}", label, why)}});
    out.insert(out.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  assign(out);
  return out;
}

std::vector<Outgoing> SchedulerState::job_submitted(const PeerId& client, JobId id, JobPlan plan) {
  if (jobs_.count(id)) throw ProtocolError(fmt::format("submit: job {} exists", id));
  const std::size_t n = plan.num_units();
  if (plan.unit_dep_begin.size() != n + 1 || plan.unit_dep_begin.back() != plan.unit_deps.size())
    throw ProtocolError("submit: inconsistent unit edges");
  Job job;
  job.client = client;
  job.state.assign(n, UnitState::Waiting);
  job.waiting.assign(n, 0);
  job.consumers_left.assign(n, 0);
  job.is_output.assign(n, 0);
  job.nbytes.assign(n, 0);
  job.producer.assign(n, PeerId());
  job.replicas.resize(n);
  std::vector<std::uint32_t> count(n + 1, 0);
  for (std::size_t u = 0; u < n; ++u) {
    job.waiting[u] = plan.unit_dep_begin[u + 1] - plan.unit_dep_begin[u];
    for (auto d = plan.unit_dep_begin[u]; d < plan.unit_dep_begin[u + 1]; ++d) {
      const auto v = plan.unit_deps[d];
      if (v >= u) throw ProtocolError("submit: a unit depends on a later unit");
      ++job.consumers_left[v];
      ++count[v + 1];
    }
  }
  for (std::size_t u = 0; u < n; ++u) count[u + 1] += count[u];
  job.dependents_begin = count;
  job.dependents.resize(plan.unit_deps.size());
  for (std::uint32_t u = 0; u < n; ++u)
    for (auto d = plan.unit_dep_begin[u]; d < plan.unit_dep_begin[u + 1]; ++d)
      job.dependents[count[plan.unit_deps[d]]++] = u;
  for (auto u : plan.output_units) {
    if (u >= n) throw ProtocolError("submit: output unit out of range");
    job.is_output[u] = 1;
  }
  for (const auto& chunks : plan.output_chunks)
    for (auto u : chunks)
      if (u != UINT32_MAX && (u >= n || !job.is_output[u])) throw ProtocolError("submit: output chunk unit is not an output unit");
  for (std::uint32_t u = 0; u < n; ++u)
    if (job.waiting[u] == 0) {
      job.state[u] = UnitState::Ready;
      job.ready.emplace(plan.unit_priority[u], u);
    }
  job.plan = std::move(plan);
  std::vector<Outgoing> out;
  out.push_back({client, "accepted", {{"job", id}, {"units", n}, {"tasks", job.plan.tasks}}});
  auto& j = jobs_[id] = std::move(job);
  if (n == 0) {
    j.finished = true;
    out.push_back({client, "done", {{"job", id}, {"outputs", nlohmann::json::array()}, {"chunks", j.plan.output_chunks}}});
  }
  assign(out);
  return out;
}

// Hands ready units, best priority first (older jobs first), to workers with a free thread: the
// one already holding most of the unit's input bytes, then the least busy, then the earliest.
void SchedulerState::assign(std::vector<Outgoing>& out) {
  auto has_capacity = [&] {
    return std::any_of(workers_.begin(), workers_.end(), [](const auto& w) { return w.second.in_flight < w.second.threads; });
  };
  for (auto& [id, job] : jobs_) {
    while (!job.ready.empty()) {
      if (!has_capacity()) return;
      const std::uint32_t u = job.ready.begin()->second;
      job.ready.erase(job.ready.begin());
      // Distinct inputs of u.
      std::vector<std::uint32_t> inputs(job.plan.unit_deps.begin() + job.plan.unit_dep_begin[u],
                                        job.plan.unit_deps.begin() + job.plan.unit_dep_begin[u + 1]);
      std::sort(inputs.begin(), inputs.end());
      inputs.erase(std::unique(inputs.begin(), inputs.end()), inputs.end());
      const PeerId* best = nullptr;
      std::int64_t best_bytes = -1;
      const Worker* bw = nullptr;
      for (const auto& [wid, w] : workers_) {
        if (w.in_flight >= w.threads) continue;
        std::int64_t bytes = 0;
        for (auto v : inputs)
          if (holds(job, v, wid)) bytes += job.nbytes[v];
        const bool better = !bw || bytes > best_bytes ||
                            (bytes == best_bytes && (w.in_flight < bw->in_flight ||
                                                     (w.in_flight == bw->in_flight && w.order < bw->order)));
        if (better) {
          best = &wid;
          best_bytes = bytes;
          bw = &w;
        }
      }
      const PeerId w = *best;
      Worker& worker = workers_.at(w);
      if (!job.with_graph.count(w)) {
        job.with_graph.insert(w);
        out.push_back({w, "job", {{"job", id}}});
      }
      nlohmann::json in = nlohmann::json::array();
      for (auto v : inputs) {
        in.push_back({v, workers_.at(job.producer[v]).address});
        if (!holds(job, v, w)) {
          job.replicas[v].push_back(w);
          transfer_bytes_ += job.nbytes[v];
        }
      }
      job.state[u] = UnitState::Running;
      job.producer[u] = w;  // where it runs is where it will be held
      ++worker.in_flight;
      out.push_back({w, "compute", {{"job", id}, {"unit", u}, {"inputs", std::move(in)}}});
    }
  }
}

std::vector<Outgoing> SchedulerState::unit_finished(const PeerId& w, JobId id, std::uint32_t u, std::int64_t nbytes) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return {};  // cancelled while it ran
  Job& job = it->second;
  if (u >= job.plan.num_units() || job.state[u] != UnitState::Running || job.producer[u] != w)
    throw ProtocolError(fmt::format("finished: job {} unit {} was not running on this worker", id, u));
  if (nbytes < 0) throw ProtocolError("finished: field 'nbytes' is negative");
  auto& worker = workers_.at(w);
  --worker.in_flight;
  job.state[u] = UnitState::Done;
  job.nbytes[u] = nbytes;
  ++job.done;
  std::vector<Outgoing> out;
  // Inputs whose last consumer this was are released on every worker holding them.
  std::map<PeerId, std::vector<std::uint32_t>> release;
  for (auto d = job.plan.unit_dep_begin[u]; d < job.plan.unit_dep_begin[u + 1]; ++d) {
    const auto v = job.plan.unit_deps[d];
    if (--job.consumers_left[v] == 0 && !job.is_output[v]) {
      job.state[v] = UnitState::Released;
      if (workers_.count(job.producer[v])) release[job.producer[v]].push_back(v);
      for (const auto& r : job.replicas[v]) release[r].push_back(v);
      job.replicas[v].clear();
    }
  }
  for (auto& [peer, units] : release) out.push_back({peer, "release", {{"job", id}, {"units", units}}});
  for (auto d = job.dependents_begin[u]; d < job.dependents_begin[u + 1]; ++d) {
    const auto c = job.dependents[d];
    if (--job.waiting[c] == 0) {
      job.state[c] = UnitState::Ready;
      job.ready.emplace(job.plan.unit_priority[c], c);
    }
  }
  if (job.done == job.plan.num_units()) {
    job.finished = true;
    nlohmann::json outputs = nlohmann::json::array();
    for (auto o : job.plan.output_units) outputs.push_back({o, workers_.at(job.producer[o]).address});
    out.push_back({job.client, "progress", {{"job", id}, {"done", job.done}, {"total", job.done}}});
    job.reported = job.done;
    out.push_back({job.client, "done", {{"job", id}, {"outputs", std::move(outputs)}, {"chunks", job.plan.output_chunks}}});
  }
  assign(out);
  return out;
}

void SchedulerState::cancel_everywhere(JobId id, Job& job, std::vector<Outgoing>& out) {
  for (std::uint32_t u = 0; u < job.plan.num_units(); ++u)
    if (job.state[u] == UnitState::Running) {
      auto w = workers_.find(job.producer[u]);
      if (w != workers_.end()) --w->second.in_flight;
    }
  for (const auto& w : job.with_graph) out.push_back({w, "cancel", {{"job", id}}});
}

std::vector<Outgoing> SchedulerState::fail(JobId id, nlohmann::json error) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return {};
  std::vector<Outgoing> out;
  out.push_back({it->second.client, "failed", {{"job", id}, {"error", std::move(error)}}});
  cancel_everywhere(id, it->second, out);
  jobs_.erase(it);
  assign(out);  // the cancelled units' threads go to other jobs
  return out;
}

std::vector<Outgoing> SchedulerState::job_failed(const PeerId& w, JobId id, nlohmann::json error) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return {};
  if (!it->second.with_graph.count(w)) throw ProtocolError(fmt::format("failed: job {} was never sent to this worker", id));
  if (!error.is_object()) throw ProtocolError("failed: field 'error' is not an object");
  return fail(id, std::move(error));
}

std::vector<Outgoing> SchedulerState::job_released(const PeerId& client, JobId id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second.client != client)
    throw ProtocolError(fmt::format("release: job {} is not this client's", id));
  std::vector<Outgoing> out;
  cancel_everywhere(id, it->second, out);
  jobs_.erase(it);
  assign(out);
  return out;
}

std::vector<Outgoing> SchedulerState::client_gone(const PeerId& client) {
  std::vector<Outgoing> out;
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (it->second.client == client) {
      cancel_everywhere(it->first, it->second, out);
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
  assign(out);
  return out;
}

std::vector<Outgoing> SchedulerState::progress() {
  std::vector<Outgoing> out;
  for (auto& [id, job] : jobs_)
    if (job.done != job.reported) {
      job.reported = job.done;
      out.push_back({job.client, "progress", {{"job", id}, {"done", job.done}, {"total", job.plan.num_units()}}});
    }
  return out;
}

}  // namespace cubist::runtime::distributed
