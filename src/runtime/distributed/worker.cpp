#include "runtime/distributed/worker.hpp"

#include <cstdio>
#include <deque>
#include <fmt/format.h>
#include <map>
#include <mutex>
#include <set>
#include <sys/eventfd.h>
#include <unistd.h>
#include <unordered_map>

#include "runtime/distributed/auth.hpp"
#include "runtime/distributed/peer.hpp"
#include "runtime/distributed/worker_state.hpp"
#include "runtime/thread_pool.hpp"
#include "runtime/unit_runner.hpp"

namespace cubist::runtime::distributed {

namespace {

using JobId = std::uint64_t;

// A job's TaskGraph (built from the graph the scheduler forwarded), its prepared ops, and the
// results this worker holds. Shared with the units running on the pool, so cancelling a job
// never pulls the graph from under them.
struct JobData {
  graph::TaskGraph graph;
  std::unique_ptr<UnitRunner> runner;
  std::unordered_map<std::uint32_t, Chunk> results;
};

struct Completion {
  JobId job = 0;
  std::uint32_t unit = 0;
  bool ok = false;
  Chunk result;
  nlohmann::json error;
};

std::vector<std::uint32_t> units_of(const nlohmann::json& body, const char* where) {
  const auto& units = field(body, "units", where);
  if (!units.is_array()) throw ProtocolError(fmt::format("{}: field 'units' is not an array", where));
  std::vector<std::uint32_t> out;
  for (const auto& u : units) {
    if (!u.is_number_unsigned() || u.get<std::uint64_t>() > UINT32_MAX)
      throw ProtocolError(fmt::format("{}: field 'units' holds a non-unit {}", where, u.dump()));
    out.push_back(u.get<std::uint32_t>());
  }
  return out;
}

}  // namespace

struct Worker::Impl {
  WorkerOptions options;
  zmq::context_t context{1};
  zmq::socket_t scheduler{context, zmq::socket_type::dealer};
  zmq::socket_t server{context, zmq::socket_type::router};
  std::string address;
  DataPeers peers;
  WorkerState state;
  std::map<JobId, std::shared_ptr<JobData>> jobs;
  struct Pending {
    JobId job;
    std::vector<std::uint32_t> units;
    Clock::time_point sent;
  };
  std::map<std::string, std::deque<Pending>> pending;  // per peer, in request order
  std::set<std::string> authenticated, refused;         // data server clients
  int wake_fd = -1;
  std::mutex done_mutex;
  std::vector<Completion> done;
  std::atomic<std::int64_t> units{0}, bytes_fetched{0}, bytes_served{0};
  std::unique_ptr<ThreadPool> pool;  // last: destroyed (joined) first

  explicit Impl(WorkerOptions o) : options(std::move(o)), peers(context, options.token) {}
  ~Impl() {
    pool.reset();
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void log(const std::string& line) const {
    if (options.log) std::fprintf(stderr, "cubist worker %s: %s\n", options.name.c_str(), line.c_str());
  }

  struct UnitJob {
    Impl* impl;
    std::shared_ptr<JobData> job;
    JobId id;
    std::uint32_t unit;
    std::unordered_map<std::uint32_t, Chunk> inputs;
  };

  static void run_unit_job(void* ctx, std::uint64_t) {
    std::unique_ptr<UnitJob> j(static_cast<UnitJob*>(ctx));
    Completion c{j->id, j->unit, false, {}, {}};
    const UnitRunner& runner = *j->job->runner;
    std::uint32_t t = 0;
    try {
      c.result = runner.run_unit(
          j->unit,
          [&](std::uint32_t v) -> const Chunk& {
            auto it = j->inputs.find(v);
            if (it == j->inputs.end()) throw Error(fmt::format("input unit {} is not on this worker", v));
            return it->second;
          },
          {}, [](std::int64_t) {}, t);
      c.ok = true;
    } catch (...) {
      const TaskError e = runner.task_error(t, std::current_exception());
      c.error = {{"layer", e.layer_key()}, {"op", e.op()}, {"chunk", e.chunk_index()}, {"cause", e.cause()}};
    }
    j->inputs.clear();
    Impl* impl = j->impl;
    j.reset();
    {
      std::lock_guard lock(impl->done_mutex);
      impl->done.push_back(std::move(c));
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(impl->wake_fd, &one, sizeof one);
  }

  void apply(WorkerInstructions&& out) {
    using Kind = WorkerInstruction::Kind;
    for (auto& i : out) {
      switch (i.kind) {
        case Kind::Fetch:
          send(peers.to(i.address), Message{"get", {{"job", i.job}, {"units", i.units}}, {}});
          pending[i.address].push_back({i.job, std::move(i.units), Clock::now()});
          break;
        case Kind::Execute: {
          auto& job = jobs.at(i.job);
          const auto u = i.units[0];
          auto* j = new UnitJob{this, job, i.job, u, {}};
          const auto& g = job->graph;
          for (auto d = g.unit_dep_begin[u]; d < g.unit_dep_begin[u + 1]; ++d) {
            const auto v = g.unit_deps[d];
            j->inputs.emplace(v, job->results.at(v));
          }
          pool->submit({&Impl::run_unit_job, j, 0});
          break;
        }
        case Kind::Drop:
          if (auto it = jobs.find(i.job); it != jobs.end())
            for (auto u : i.units) it->second->results.erase(u);
          break;
        case Kind::DropJob:
          jobs.erase(i.job);
          break;
        case Kind::Send:
          send(scheduler, Message{i.type, i.body, {}});
          break;
      }
    }
  }

  void from_scheduler(const Message& m) {
    if (m.type == "welcome" || m.type == "heartbeat") return;
    if (m.type == "error")
      throw IOError(fmt::format("scheduler {}: {}", options.scheduler, string_field(m.body, "message", "error")));
    const JobId id = static_cast<JobId>(int_field(m.body, "job", m.type));
    if (m.type == "job") {
      auto data = std::make_shared<JobData>();
      try {
        data->graph = job_graph(m.body);
        data->runner = std::make_unique<UnitRunner>(data->graph);
      } catch (const std::exception& e) {
        log(fmt::format("cannot run job {}: {}", id, e.what()));
        send(scheduler, Message{"failed", {{"job", id}, {"error", {{"message", fmt::format("worker {}: {}", options.name, e.what())}}}}, {}});
        return;
      }
      jobs[id] = std::move(data);
      state.job_received(id);
      return;
    }
    auto job = jobs.find(id);
    if (m.type == "compute") {
      if (job == jobs.end()) throw ProtocolError(fmt::format("compute: job {} was never sent", id));
      const auto n = static_cast<std::int64_t>(job->second->graph.num_units()) - 1;
      const auto unit = static_cast<std::uint32_t>(int_field(m.body, "unit", "compute", 0, n));
      std::vector<WorkerState::Input> inputs;
      for (const auto& in : field(m.body, "inputs", "compute")) {
        if (!in.is_array() || in.size() != 2 || !in[0].is_number_unsigned() || in[0].get<std::int64_t>() > n ||
            !in[1].is_string())
          throw ProtocolError("compute: field 'inputs' holds an entry that is not [unit, address]");
        inputs.push_back({in[0].get<std::uint32_t>(), in[1].get<std::string>()});
      }
      apply(state.compute(id, unit, inputs));
    } else if (m.type == "release") {
      apply(state.release(id, units_of(m.body, "release")));
    } else if (m.type == "cancel") {
      apply(state.cancel(id));
      jobs.erase(id);
    } else {
      throw ProtocolError(fmt::format("unexpected '{}' message from the scheduler", m.type));
    }
  }

  // The data server: peers and clients get results after hello with the token.
  void serve(Routed&& r) {
    if (refused.count(r.identity)) return;
    try {
      Message m = decode(std::move(r.frames));
      if (!authenticated.count(r.identity)) {
        if (m.type != "hello" || !token_equal(string_field(m.body, "token", "hello"), options.token)) {
          refused.insert(r.identity);
          log("refused a data request: wrong or missing cluster token");
          return send_to(server, r.identity, Message{"error", {{"message", "authentication failed: wrong cluster token"}}, {}});
        }
        authenticated.insert(r.identity);
        return send_to(server, r.identity, Message{"welcome", nlohmann::json::object(), {}});
      }
      if (m.type != "get") throw ProtocolError(fmt::format("unexpected '{}' message to a data server", m.type));
      const JobId id = static_cast<JobId>(int_field(m.body, "job", "get"));
      const auto units = units_of(m.body, "get");
      Message reply{"data", {{"job", id}, {"units", units}}, {}};
      auto job = jobs.find(id);
      if (job == jobs.end()) throw ProtocolError(fmt::format("worker {} holds nothing of job {}", options.name, id));
      for (auto u : units) {
        auto it = job->second->results.find(u);
        if (it == job->second->results.end())
          throw ProtocolError(fmt::format("worker {} holds no result of job {} unit {}", options.name, id, u));
        reply.chunks.push_back(it->second);
        bytes_served += static_cast<std::int64_t>(it->second.nbytes());
      }
      send_to(server, r.identity, reply);
    } catch (const std::exception& e) {
      send_to(server, r.identity, Message{"error", {{"message", e.what()}}, {}});
    }
  }

  void from_peer(const std::string& address, std::vector<zmq::message_t>&& frames) {
    auto& queue = pending[address];
    std::string error;
    Message m;
    try {
      m = decode(std::move(frames));
      if (m.type == "welcome") return;
      if (queue.empty()) return;  // an answer to a request already given up
      if (m.type == "data") {
        const auto units = units_of(m.body, "data");
        if (units != queue.front().units || m.chunks.size() != units.size())
          throw ProtocolError("data: the units do not match the request");
      } else if (m.type == "error") {
        error = string_field(m.body, "message", "error");
      } else {
        throw ProtocolError(fmt::format("unexpected '{}' message from a data server", m.type));
      }
    } catch (const std::exception& e) {
      if (queue.empty()) return;
      error = e.what();
    }
    Pending p = std::move(queue.front());
    queue.pop_front();
    if (!error.empty()) return apply(state.fetch_failed(p.job, address, p.units, error));
    if (auto job = jobs.find(p.job); job != jobs.end())
      for (std::size_t k = 0; k < p.units.size(); ++k) {
        bytes_fetched += static_cast<std::int64_t>(m.chunks[k].nbytes());
        job->second->results[p.units[k]] = std::move(m.chunks[k]);
      }
    apply(state.fetched(p.job, p.units));
  }

  void completions() {
    std::uint64_t count;
    [[maybe_unused]] auto n = ::read(wake_fd, &count, sizeof count);
    std::vector<Completion> batch;
    {
      std::lock_guard lock(done_mutex);
      batch.swap(done);
    }
    for (auto& c : batch) {
      ++units;
      if (!c.ok) {
        apply(state.execute_failed(c.job, c.unit, std::move(c.error)));
        continue;
      }
      const auto nbytes = static_cast<std::int64_t>(c.result.nbytes());
      if (auto job = jobs.find(c.job); job != jobs.end() && state.knows(c.job))
        job->second->results[c.unit] = std::move(c.result);
      apply(state.executed(c.job, c.unit, nbytes));
    }
  }

  void expire_fetches() {
    const auto now = Clock::now();
    for (auto& [address, queue] : pending)
      while (!queue.empty() && now - queue.front().sent > options.fetch_timeout) {
        Pending p = std::move(queue.front());
        queue.pop_front();
        apply(state.fetch_failed(p.job, address, p.units,
                                 fmt::format("no answer within {} s", options.fetch_timeout.count() / 1000.0)));
      }
  }

  void register_with_scheduler() {
    send(scheduler, Message{"hello",
                            {{"role", "worker"}, {"token", options.token}, {"name", options.name},
                             {"threads", pool->size()}, {"address", address}},
                            {}});
    const auto deadline = Clock::now() + options.connect_timeout;
    while (Clock::now() < deadline) {
      poll(scheduler, std::chrono::milliseconds(100));
      if (auto frames = try_receive(scheduler)) {
        Message m = decode(std::move(*frames));
        if (m.type == "welcome") return;
        if (m.type == "error")
          throw IOError(fmt::format("scheduler {} refused this worker: {}", options.scheduler,
                                    string_field(m.body, "message", "error")));
        throw ProtocolError(fmt::format("hello: the scheduler answered '{}', not welcome", m.type));
      }
    }
    throw IOError(fmt::format("no answer from scheduler {} within {} s", options.scheduler,
                              options.connect_timeout.count() / 1000.0));
  }
};

Worker::Worker(WorkerOptions options) {
  if (options.token.empty()) throw ValueError("worker: no cluster token");
  if (options.name.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    options.name = fmt::format("{}:{}", host, ::getpid());
  }
  impl_ = std::make_unique<Impl>(std::move(options));
  Impl& w = *impl_;
  w.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (w.wake_fd < 0) throw IOError("worker: eventfd failed");
  w.server.set(zmq::sockopt::linger, 0);
  w.server.set(zmq::sockopt::maxmsgsize, std::int64_t{64} << 20);  // requests only: hello and lists of units
  w.scheduler.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(WireLimits{}.max_header_bytes));
  w.scheduler.set(zmq::sockopt::linger, 1000);  // lets the goodbye out
  std::string listen = w.options.listen;
  if (listen.size() > 2 && listen.compare(listen.size() - 2, 2, ":0") == 0) listen.replace(listen.size() - 1, 1, "*");
  try {
    w.server.bind(listen);
  } catch (const zmq::error_t& e) {
    throw IOError(fmt::format("worker: cannot listen on {}: {}", w.options.listen, e.what()));
  }
  w.address = bound_address(w.server);
  try {
    w.scheduler.connect(w.options.scheduler);
  } catch (const zmq::error_t& e) {
    throw IOError(fmt::format("worker: bad scheduler address {}: {}", w.options.scheduler, e.what()));
  }
  w.pool = std::make_unique<ThreadPool>(w.options.threads);
}

Worker::~Worker() = default;

const std::string& Worker::data_address() const { return impl_->address; }

WorkerStats Worker::stats() const { return {impl_->units, impl_->bytes_fetched, impl_->bytes_served}; }

void Worker::run(const std::atomic<bool>& stop) {
  Impl& w = *impl_;
  w.register_with_scheduler();
  w.log(fmt::format("registered with {} (data server {}, {} threads)", w.options.scheduler, w.address, w.pool->size()));
  auto last_beat = Clock::now(), last_heard = Clock::now();
  std::vector<zmq::pollitem_t> items;
  std::vector<std::string> peer_order;
  while (!stop.load()) {
    items.clear();
    peer_order.clear();
    items.push_back({w.scheduler.handle(), 0, ZMQ_POLLIN, 0});
    items.push_back({w.server.handle(), 0, ZMQ_POLLIN, 0});
    items.push_back({nullptr, w.wake_fd, ZMQ_POLLIN, 0});
    for (auto& [address, socket] : w.peers.sockets()) {
      items.push_back({socket.handle(), 0, ZMQ_POLLIN, 0});
      peer_order.push_back(address);
    }
    poll(items, std::chrono::milliseconds(100));
    while (auto frames = try_receive(w.scheduler)) {
      last_heard = Clock::now();
      try {
        w.from_scheduler(decode(std::move(*frames)));
      } catch (const ProtocolError& e) {
        w.log(fmt::format("bad message from the scheduler: {}", e.what()));
      }
    }
    while (auto r = try_receive_routed(w.server)) w.serve(std::move(*r));
    if (items[2].revents & ZMQ_POLLIN) w.completions();
    for (const auto& address : peer_order)
      while (auto frames = try_receive(w.peers.sockets().at(address))) w.from_peer(address, std::move(*frames));
    if (Clock::now() - last_beat >= w.options.heartbeat) {
      last_beat = Clock::now();
      send(w.scheduler, Message{"heartbeat", nlohmann::json::object(), {}});
      w.expire_fetches();
      if (Clock::now() - last_heard > w.options.scheduler_timeout)
        throw IOError(fmt::format("scheduler {} silent for {} s: gone", w.options.scheduler,
                                  w.options.scheduler_timeout.count() / 1000.0));
    }
  }
  send(w.scheduler, Message{"goodbye", nlohmann::json::object(), {}});
  w.log("stopped");
}

}  // namespace cubist::runtime::distributed
