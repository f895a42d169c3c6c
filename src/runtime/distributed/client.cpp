#include "runtime/distributed/client.hpp"

#include <fmt/format.h>
#include <map>

#include "graph/serialize.hpp"
#include "runtime/distributed/auth.hpp"
#include "runtime/distributed/peer.hpp"

namespace cubist::runtime::distributed {

namespace {

constexpr auto kHeartbeat = std::chrono::milliseconds(1000);
constexpr std::size_t kUnitsPerRequest = 256;  // bounds one gather reply's size
constexpr auto kGatherTimeout = std::chrono::seconds(60);

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The next message from the scheduler, sending heartbeats while waiting; nullopt after `limit`
// of silence.
std::optional<Message> next_message(zmq::socket_t& s, std::chrono::milliseconds limit, Clock::time_point& last_beat) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (auto frames = try_receive(s)) return decode(std::move(*frames));
    if (Clock::now() - last_beat >= kHeartbeat) {
      send(s, Message{"heartbeat", nlohmann::json::object(), {}});
      last_beat = Clock::now();
    }
    poll(s, std::chrono::milliseconds(100));
  }
  return std::nullopt;
}

// Fetches every output unit's result straight from the worker holding it.
std::map<std::uint32_t, Chunk> gather(zmq::context_t& context, const std::string& token, std::uint64_t job,
                                      const nlohmann::json& outputs,
                                      zmq::socket_t& scheduler, Clock::time_point& last_beat) {
  std::map<std::string, std::vector<std::uint32_t>> by_address;
  for (const auto& o : outputs) {
    if (!o.is_array() || o.size() != 2 || !o[0].is_number_unsigned() || !o[1].is_string())
      throw ProtocolError("done: field 'outputs' holds an entry that is not [unit, address]");
    by_address[o[1].get<std::string>()].push_back(o[0].get<std::uint32_t>());
  }
  DataPeers peers(context, token);
  std::map<std::string, std::vector<std::vector<std::uint32_t>>> requests;  // in flight, per address
  for (const auto& [address, units] : by_address)
    for (std::size_t i = 0; i < units.size(); i += kUnitsPerRequest) {
      std::vector<std::uint32_t> part(units.begin() + static_cast<std::ptrdiff_t>(i),
                                      units.begin() + static_cast<std::ptrdiff_t>(std::min(units.size(), i + kUnitsPerRequest)));
      send(peers.to(address), Message{"get", {{"job", job}, {"units", part}}, {}});
      requests[address].push_back(std::move(part));
    }
  std::map<std::uint32_t, Chunk> results;
  std::size_t open = 0;
  for (const auto& [a, r] : requests) open += r.size();
  auto last_answer = Clock::now();
  while (open > 0) {
    if (Clock::now() - last_answer > kGatherTimeout)
      throw IOError(fmt::format("gathering results: no answer from the workers within {} s",
                                std::chrono::duration_cast<std::chrono::seconds>(kGatherTimeout).count()));
    std::vector<zmq::pollitem_t> items;
    std::vector<std::string> order;
    for (auto& [address, s] : peers.sockets()) {
      items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
      order.push_back(address);
    }
    poll(items, std::chrono::milliseconds(100));
    if (Clock::now() - last_beat >= kHeartbeat) {
      send(scheduler, Message{"heartbeat", nlohmann::json::object(), {}});
      last_beat = Clock::now();
    }
    for (const auto& address : order)
      while (auto frames = try_receive(peers.sockets().at(address))) {
        Message m = decode(std::move(*frames));
        if (m.type == "welcome") continue;
        if (m.type == "error")
          throw IOError(fmt::format("worker {}: {}", address, string_field(m.body, "message", "error")));
        if (m.type != "data" || requests[address].empty())
          throw ProtocolError(fmt::format("unexpected '{}' message from worker {}", m.type, address));
        const auto expected = std::move(requests[address].front());
        requests[address].erase(requests[address].begin());
        if (m.chunks.size() != expected.size()) throw ProtocolError("data: the units do not match the request");
        for (std::size_t k = 0; k < expected.size(); ++k) results[expected[k]] = std::move(m.chunks[k]);
        --open;
        last_answer = Clock::now();
      }
  }
  return results;
}

}  // namespace

std::vector<std::vector<Chunk>> execute_remote(const std::vector<graph::LayerPtr>& outputs,
                                               const graph::TaskGraphOptions& graph_options,
                                               const RemoteOptions& options, ExecuteStats* stats) {
  const auto t0 = Clock::now();
  const std::string token = resolve_token(options.token, "");
  zmq::context_t context(1);
  zmq::socket_t s(context, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 1000);  // lets the release out
  try {
    s.connect(options.address);
  } catch (const zmq::error_t& e) {
    throw IOError(fmt::format("scheduler address {}: {}", options.address, e.what()));
  }
  auto last_beat = Clock::now();
  send(s, Message{"hello", {{"role", "client"}, {"token", token}}, {}});
  auto m = next_message(s, options.connect_timeout, last_beat);
  if (!m) throw IOError(fmt::format("no answer from scheduler {} within {} s", options.address,
                                    options.connect_timeout.count() / 1000.0));
  if (m->type == "error")
    throw IOError(fmt::format("scheduler {} refused this client: {}", options.address,
                              string_field(m->body, "message", "error")));
  if (m->type != "welcome") throw ProtocolError(fmt::format("hello: the scheduler answered '{}'", m->type));
  send(s, Message{"submit", {{"graph", graph::to_wire(outputs)}, {"graph_options", graph_options_to_json(graph_options)}}, {}});

  std::map<std::uint32_t, Chunk> results;
  nlohmann::json chunk_units;  // per output, the unit holding each chunk
  std::uint64_t job = 0;
  std::size_t total = 0, tasks = 0;
  auto last_progress = Clock::now();
  for (;;) {
    // The scheduler answers every heartbeat (one a second): 30 s of silence means it is gone.
    m = next_message(s, std::chrono::milliseconds(30000), last_beat);
    if (!m) throw IOError(fmt::format("scheduler {} stopped answering", options.address));
    const auto& body = m->body;
    if (m->type == "heartbeat") {
      continue;
    } else if (m->type == "accepted") {
      job = static_cast<std::uint64_t>(int_field(body, "job", "accepted"));
      total = static_cast<std::size_t>(int_field(body, "units", "accepted"));
      tasks = static_cast<std::size_t>(int_field(body, "tasks", "accepted"));
    } else if (m->type == "progress") {
      if (options.on_progress && Clock::now() - last_progress >= options.progress_interval) {
        last_progress = Clock::now();
        options.on_progress({static_cast<std::size_t>(int_field(body, "done", "progress")), total, seconds_since(t0)});
      }
    } else if (m->type == "done") {
      chunk_units = field(body, "chunks", "done");
      results = gather(context, token, job, field(body, "outputs", "done"), s, last_beat);
      send(s, Message{"release", {{"job", job}}, {}});
      break;
    } else if (m->type == "failed") {
      send(s, Message{"goodbye", nlohmann::json::object(), {}});
      throw_job_error(field(body, "error", "failed"), options.address);
    } else if (m->type == "rejected") {
      throw ValueError(fmt::format("scheduler {} rejected the graph: {}", options.address,
                                   string_field(body, "message", "rejected")));
    } else if (m->type == "error") {
      throw IOError(fmt::format("scheduler {}: {}", options.address, string_field(body, "message", "error")));
    } else {
      throw ProtocolError(fmt::format("unexpected '{}' message from the scheduler", m->type));
    }
  }
  send(s, Message{"goodbye", nlohmann::json::object(), {}});
  const double seconds = seconds_since(t0);
  if (options.on_progress) options.on_progress({total, total, seconds});
  if (stats) *stats = {tasks, total, seconds, 0, 0};

  if (!chunk_units.is_array() || chunk_units.size() != outputs.size())
    throw ProtocolError("done: field 'chunks' does not list one entry per output");
  std::vector<std::vector<Chunk>> out;
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    const auto& units = chunk_units[o];
    if (!units.is_array() || static_cast<std::int64_t>(units.size()) != outputs[o]->grid.total_chunks())
      throw ProtocolError(fmt::format("done: field 'chunks[{}]' does not list every chunk of the output", o));
    std::vector<Chunk> chunks;
    chunks.reserve(units.size());
    for (const auto& u : units) {
      if (!u.is_number_unsigned() || u.get<std::uint64_t>() > UINT32_MAX)
        throw ProtocolError(fmt::format("done: field 'chunks[{}]' holds a non-unit {}", o, u.dump()));
      if (u.get<std::uint32_t>() == UINT32_MAX) {
        chunks.emplace_back();
        continue;
      }
      auto it = results.find(u.get<std::uint32_t>());
      if (it == results.end()) throw ProtocolError(fmt::format("done: output unit {} was not gathered", u.dump()));
      chunks.push_back(it->second);
    }
    out.push_back(std::move(chunks));
  }
  return out;
}

}  // namespace cubist::runtime::distributed
