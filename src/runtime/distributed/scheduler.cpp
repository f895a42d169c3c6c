#include "runtime/distributed/scheduler.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <map>

#include "runtime/distributed/auth.hpp"
#include "runtime/distributed/peer.hpp"
#include "runtime/distributed/scheduler_state.hpp"

namespace cubist::runtime::distributed {

namespace {
enum class Role : std::uint8_t { New, Worker, Client, Refused };
struct Peer {
  Role role = Role::New;
  Clock::time_point last_seen;
};
}  // namespace

struct Scheduler::Impl {
  SchedulerOptions options;
  zmq::context_t context{1};
  zmq::socket_t router{context, zmq::socket_type::router};
  std::string address;
  SchedulerState state;
  std::map<PeerId, Peer> peers;
  std::map<JobId, std::shared_ptr<const nlohmann::json>> graphs;  // {graph, graph_options} per job
  JobId next_job = 1;
  std::atomic<std::size_t> jobs{0}, workers{0};
  std::atomic<std::int64_t> transfer{0};

  void log(const std::string& line) const {
    if (options.log) std::fprintf(stderr, "cubist scheduler: %s\n", line.c_str());
  }

  void deliver(const std::vector<Outgoing>& out) {
    for (const auto& o : out) {
      if (o.type == "job") {
        auto g = graphs.find(o.body["job"].get<JobId>());
        if (g == graphs.end()) continue;
        nlohmann::json body = *g->second;
        body["job"] = o.body["job"];
        send_to(router, o.to, Message{"job", std::move(body), {}});
      } else {
        send_to(router, o.to, Message{o.type, o.body, {}});
      }
    }
    transfer = state.bytes_to_transfer();
  }

  void reply_error(const PeerId& id, const std::string& message) {
    send_to(router, id, Message{"error", {{"message", message}}, {}});
  }

  void handle(Routed&& r) {
    auto [it, fresh] = peers.try_emplace(r.identity);
    Peer& peer = it->second;
    peer.last_seen = Clock::now();
    if (peer.role == Role::Refused) return;  // answered once already
    try {
      Message m = decode(std::move(r.frames));
      if (peer.role == Role::New) return hello(r.identity, peer, m);
      if (m.type == "heartbeat") {
        // Answered: a client whose job's units all run long gets no progress for a while, and a
        // worker may get no work; both must still tell a live scheduler from a dead one.
        send_to(router, r.identity, Message{"heartbeat", nlohmann::json::object(), {}});
        return;
      }
      if (peer.role == Role::Worker) return from_worker(r.identity, m);
      return from_client(r.identity, m);
    } catch (const ProtocolError& e) {
      log(fmt::format("bad message from a {}: {}", peer.role == Role::Worker ? "worker" : "peer", e.what()));
      reply_error(r.identity, e.what());
    } catch (const std::exception& e) {  // a bad peer never takes the scheduler down
      reply_error(r.identity, e.what());
    }
    if (peer.role == Role::New) peer.role = Role::Refused;  // one error reply before hello, then silence
  }

  void hello(const PeerId& id, Peer& peer, const Message& m) {
    if (m.type != "hello") {
      peer.role = Role::Refused;
      log(fmt::format("refused a peer whose first message was '{}', not hello", m.type));
      return reply_error(id, "the first message must be hello with the cluster token");
    }
    if (!token_equal(string_field(m.body, "token", "hello"), options.token)) {
      peer.role = Role::Refused;
      log("refused a peer: wrong token");
      return reply_error(id, "authentication failed: wrong cluster token");
    }
    const std::string role = string_field(m.body, "role", "hello");
    if (role == "worker") {
      const auto threads = static_cast<unsigned>(int_field(m.body, "threads", "hello", 1, 4096));
      std::string name = string_field(m.body, "name", "hello");
      std::string data = string_field(m.body, "address", "hello");
      auto out = state.worker_joined(id, name, threads, data);
      peer.role = Role::Worker;
      workers = workers + 1;
      log(fmt::format("worker {} joined ({}, {} threads)", name, data, threads));
      send_to(router, id, Message{"welcome", nlohmann::json::object(), {}});
      deliver(out);
    } else if (role == "client") {
      peer.role = Role::Client;
      send_to(router, id, Message{"welcome", nlohmann::json::object(), {}});
    } else {
      throw ProtocolError(fmt::format("hello: field 'role' is '{}', not worker or client", role));
    }
  }

  void from_worker(const PeerId& id, const Message& m) {
    if (m.type == "goodbye") {
      log(fmt::format("worker {} left", state.worker_label(id)));
      deliver(state.worker_left(id, "it shut down"));
      peers.erase(id);
      return forget_finished_jobs();
    }
    const JobId job = static_cast<JobId>(int_field(m.body, "job", m.type));
    if (m.type == "finished") {
      deliver(state.unit_finished(id, job, static_cast<std::uint32_t>(int_field(m.body, "unit", "finished", 0, UINT32_MAX)),
                                  int_field(m.body, "nbytes", "finished")));
    } else if (m.type == "failed") {
      deliver(state.job_failed(id, job, field(m.body, "error", "failed")));
      forget_finished_jobs();
    } else {
      throw ProtocolError(fmt::format("unexpected '{}' message from a worker", m.type));
    }
  }

  void from_client(const PeerId& id, const Message& m) {
    if (m.type == "submit") {
      graph::TaskGraph g;
      try {
        g = job_graph(m.body);
      } catch (const ProtocolError&) {
        throw;
      } catch (const Error& e) {
        return send_to(router, id, Message{"rejected", {{"message", e.what()}}, {}});
      }
      const JobId job = next_job++;
      graphs[job] = std::make_shared<const nlohmann::json>(
          nlohmann::json{{"graph", m.body["graph"]}, {"graph_options", m.body["graph_options"]}});
      jobs = jobs + 1;
      deliver(state.job_submitted(id, job, JobPlan::of(g)));
    } else if (m.type == "release") {
      deliver(state.job_released(id, static_cast<JobId>(int_field(m.body, "job", "release"))));
      forget_finished_jobs();
    } else if (m.type == "goodbye") {
      deliver(state.client_gone(id));
      peers.erase(id);
      forget_finished_jobs();
    } else {
      throw ProtocolError(fmt::format("unexpected '{}' message from a client", m.type));
    }
  }

  void forget_finished_jobs() {
    std::erase_if(graphs, [&](const auto& entry) { return !state.has_job(entry.first); });
  }

  // Peers silent for longer than the timeout are gone: their jobs fail or are cancelled.
  void expire_peers() {
    const auto now = Clock::now();
    for (auto it = peers.begin(); it != peers.end();) {
      if (now - it->second.last_seen < options.peer_timeout) {
        ++it;
        continue;
      }
      if (it->second.role == Role::Worker) {
        const auto label = state.worker_label(it->first);
        const auto why = fmt::format("no heartbeat for {} s", options.peer_timeout.count() / 1000.0);
        log(fmt::format("worker {} lost: {}", label, why));
        deliver(state.worker_left(it->first, why));
      } else if (it->second.role == Role::Client) {
        deliver(state.client_gone(it->first));
      }
      it = peers.erase(it);
    }
    forget_finished_jobs();
  }
};

Scheduler::Scheduler(SchedulerOptions options) : impl_(std::make_unique<Impl>()) {
  if (options.token.empty()) throw ValueError("scheduler: no cluster token");
  impl_->options = std::move(options);
  auto& r = impl_->router;
  r.set(zmq::sockopt::linger, 0);
  // Peers send the scheduler headers only (graphs included), never chunks.
  r.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(WireLimits{}.max_header_bytes));
  std::string listen = impl_->options.listen;
  if (listen.size() > 2 && listen.compare(listen.size() - 2, 2, ":0") == 0) listen.replace(listen.size() - 1, 1, "*");
  try {
    r.bind(listen);
  } catch (const zmq::error_t& e) {
    throw IOError(fmt::format("scheduler: cannot listen on {}: {}", impl_->options.listen, e.what()));
  }
  impl_->address = bound_address(r);
}

Scheduler::~Scheduler() = default;

const std::string& Scheduler::address() const { return impl_->address; }

SchedulerStats Scheduler::stats() const { return {impl_->jobs, impl_->workers, impl_->transfer}; }

void Scheduler::run(const std::atomic<bool>& stop) {
  Impl& s = *impl_;
  auto last_tick = Clock::now();
  while (!stop.load()) {
    poll(s.router, std::chrono::milliseconds(100));
    for (int n = 0; n < 1000; ++n) {  // bounded, so ticks still happen under a flood
      auto r = try_receive_routed(s.router);
      if (!r) break;
      s.handle(std::move(*r));
    }
    if (Clock::now() - last_tick >= std::chrono::milliseconds(200)) {
      last_tick = Clock::now();
      s.deliver(s.state.progress());
      s.expire_peers();
    }
  }
}

}  // namespace cubist::runtime::distributed
