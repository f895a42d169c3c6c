#include "runtime/distributed/worker_state.hpp"

#include <fmt/format.h>

#include "runtime/distributed/wire.hpp"

namespace cubist::runtime::distributed {

using Kind = WorkerInstruction::Kind;

WorkerState::Job* WorkerState::find(std::uint64_t job) {
  auto it = jobs_.find(job);
  return it == jobs_.end() ? nullptr : &it->second;
}

bool WorkerState::holds(std::uint64_t job, std::uint32_t unit) const {
  auto it = jobs_.find(job);
  return it != jobs_.end() && it->second.held.count(unit) != 0;
}

std::size_t WorkerState::running() const {
  std::size_t n = 0;
  for (const auto& [id, j] : jobs_) n += j.running.size();
  return n;
}

void WorkerState::job_received(std::uint64_t job) { jobs_.try_emplace(job); }

WorkerInstructions WorkerState::compute(std::uint64_t id, std::uint32_t unit, const std::vector<Input>& inputs) {
  Job* job = find(id);
  if (!job) throw ProtocolError(fmt::format("compute: job {} was never sent", id));
  if (job->running.count(unit) || job->waiting.count(unit) || job->held.count(unit))
    throw ProtocolError(fmt::format("compute: job {} unit {} is already here", id, unit));
  std::set<std::uint32_t> missing;
  std::map<std::string, std::vector<std::uint32_t>> ask;  // by peer, in input order
  for (const auto& in : inputs) {
    if (job->held.count(in.unit)) continue;
    missing.insert(in.unit);
    if (job->fetching.count(in.unit)) continue;
    job->fetching[in.unit] = in.address;
    ask[in.address].push_back(in.unit);
  }
  WorkerInstructions out;
  for (auto& [address, units] : ask) out.push_back({Kind::Fetch, id, std::move(units), address, {}, {}});
  if (missing.empty()) {
    job->running.insert(unit);
    out.push_back({Kind::Execute, id, {unit}, {}, {}, {}});
  } else {
    job->waiting[unit] = std::move(missing);
  }
  return out;
}

WorkerInstructions WorkerState::fetched(std::uint64_t id, const std::vector<std::uint32_t>& units) {
  Job* job = find(id);
  if (!job) return {{Kind::Drop, id, units, {}, {}, {}}};  // cancelled meanwhile
  WorkerInstructions out;
  std::vector<std::uint32_t> unwanted;
  for (auto u : units) {
    if (!job->fetching.erase(u)) {  // released or never asked for
      if (!job->held.count(u)) unwanted.push_back(u);
      continue;
    }
    job->held.insert(u);
    for (auto it = job->waiting.begin(); it != job->waiting.end();) {
      it->second.erase(u);
      if (it->second.empty()) {
        job->running.insert(it->first);
        out.push_back({Kind::Execute, id, {it->first}, {}, {}, {}});
        it = job->waiting.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (!unwanted.empty()) out.push_back({Kind::Drop, id, std::move(unwanted), {}, {}, {}});
  return out;
}

WorkerInstructions WorkerState::fetch_failed(std::uint64_t id, const std::string& address,
                                             const std::vector<std::uint32_t>& units, const std::string& error) {
  Job* job = find(id);
  if (!job) return {};
  for (auto u : units) job->fetching.erase(u);
  for (const auto& [unit, missing] : job->waiting)
    for (auto u : units)
      if (missing.count(u)) {
        // One report fails the whole job; the scheduler cancels it everywhere.
        const std::string message =
            fmt::format("fetching input unit {} of unit {} from {}: {}", u, unit, address, error);
        job->waiting.clear();
        return {{Kind::Send, id, {}, {}, "failed", {{"job", id}, {"error", {{"message", message}}}}}};
      }
  return {};
}

WorkerInstructions WorkerState::executed(std::uint64_t id, std::uint32_t unit, std::int64_t nbytes) {
  Job* job = find(id);
  if (!job || !job->running.erase(unit)) return {{Kind::Drop, id, {unit}, {}, {}, {}}};
  job->held.insert(unit);
  return {{Kind::Send, id, {}, {}, "finished", {{"job", id}, {"unit", unit}, {"nbytes", nbytes}}}};
}

WorkerInstructions WorkerState::execute_failed(std::uint64_t id, std::uint32_t unit, nlohmann::json error) {
  Job* job = find(id);
  if (!job || !job->running.erase(unit)) return {};
  return {{Kind::Send, id, {}, {}, "failed", {{"job", id}, {"unit", unit}, {"error", std::move(error)}}}};
}

WorkerInstructions WorkerState::release(std::uint64_t id, const std::vector<std::uint32_t>& units) {
  Job* job = find(id);
  if (!job) return {};
  std::vector<std::uint32_t> drop;
  for (auto u : units) {
    if (job->held.erase(u)) drop.push_back(u);
    job->fetching.erase(u);  // arriving later, it is dropped then
  }
  if (drop.empty()) return {};
  return {{Kind::Drop, id, std::move(drop), {}, {}, {}}};
}

WorkerInstructions WorkerState::cancel(std::uint64_t id) {
  if (!jobs_.erase(id)) return {};
  return {{Kind::DropJob, id, {}, {}, {}, {}}};
}

}  // namespace cubist::runtime::distributed
