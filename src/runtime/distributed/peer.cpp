#include "runtime/distributed/peer.hpp"

#include <cerrno>
#include <fmt/format.h>
#include <unistd.h>
#include <zmq_addon.hpp>

#include "graph/serialize.hpp"

namespace cubist::runtime::distributed {

void send(zmq::socket_t& dealer, const Message& m) {
  auto frames = encode(m);
  zmq::send_multipart(dealer, frames);
}

void send_to(zmq::socket_t& router, const std::string& identity, const Message& m) {
  std::vector<zmq::message_t> frames;
  frames.emplace_back(identity.data(), identity.size());
  for (auto& f : encode(m)) frames.push_back(std::move(f));
  zmq::send_multipart(router, frames);
}

void poll(std::vector<zmq::pollitem_t>& items, std::chrono::milliseconds timeout) {
  try {
    zmq::poll(items.data(), items.size(), timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;
    for (auto& i : items) i.revents = 0;
  }
}

void poll(zmq::socket_t& socket, std::chrono::milliseconds timeout) {
  std::vector<zmq::pollitem_t> items{{socket.handle(), 0, ZMQ_POLLIN, 0}};
  poll(items, timeout);
}

std::optional<std::vector<zmq::message_t>> try_receive(zmq::socket_t& socket) {
  std::vector<zmq::message_t> frames;
  try {
    if (!zmq::recv_multipart(socket, std::back_inserter(frames), zmq::recv_flags::dontwait)) return std::nullopt;
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;
    return std::nullopt;  // a signal: the caller's loop looks at its stop flag, then polls again
  }
  return frames;
}

std::optional<Routed> try_receive_routed(zmq::socket_t& router) {
  auto frames = try_receive(router);
  if (!frames) return std::nullopt;
  Routed r;
  r.identity = (*frames)[0].to_string();
  frames->erase(frames->begin());
  r.frames = std::move(*frames);
  return r;
}

std::string bound_address(zmq::socket_t& socket) {
  std::string endpoint = socket.get(zmq::sockopt::last_endpoint);
  for (const std::string wildcard : {"tcp://0.0.0.0:", "tcp://*:"})
    if (endpoint.rfind(wildcard, 0) == 0) {
      char host[256] = {};
      ::gethostname(host, sizeof host - 1);
      endpoint = fmt::format("tcp://{}:{}", host, endpoint.substr(wildcard.size()));
    }
  return endpoint;
}

zmq::socket_t& DataPeers::to(const std::string& address) {
  auto it = sockets_.find(address);
  if (it != sockets_.end()) return it->second;
  zmq::socket_t s(context_, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(address);
  send(s, Message{"hello", {{"role", "peer"}, {"token", token_}}, {}});
  return sockets_.emplace(address, std::move(s)).first->second;
}

nlohmann::json graph_options_to_json(const graph::TaskGraphOptions& o) {
  return {{"fuse", o.fuse}, {"fold_constants", o.fold_constants}};
}

graph::TaskGraphOptions graph_options_from_json(const nlohmann::json& j) {
  graph::TaskGraphOptions o;
  for (const char* name : {"fuse", "fold_constants"})
    if (!j.is_object() || !j.contains(name) || !j[name].is_boolean())
      throw ProtocolError(fmt::format("submit: field 'graph_options.{}' is missing or not a boolean", name));
  o.fuse = j["fuse"].get<bool>();
  o.fold_constants = j["fold_constants"].get<bool>();
  return o;
}

graph::TaskGraph job_graph(const nlohmann::json& body) {
  const auto options = graph_options_from_json(field(body, "graph_options", "submit"));
  return graph::build_task_graph(graph::from_wire(field(body, "graph", "submit")), options);
}

void throw_job_error(const nlohmann::json& error, const std::string& scheduler) {
  if (error.is_object() && error.contains("layer"))
    throw TaskError(string_field(error, "layer", "failed"), string_field(error, "op", "failed"),
                    string_field(error, "chunk", "failed"), string_field(error, "cause", "failed"));
  const std::string message = error.is_object() && error.contains("message") && error["message"].is_string()
                                  ? error["message"].get<std::string>()
                                  : error.dump();
  throw Error(fmt::format("cluster {}: {}", scheduler, message));
}

}  // namespace cubist::runtime::distributed
