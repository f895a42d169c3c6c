// What the scheduler, worker and client shells share: sending and receiving wire messages on
// DEALER and ROUTER sockets, the connections to workers' data servers, and a job's graph on the
// wire ({graph, graph_options} -> the TaskGraph every process builds identically).
#pragma once
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "graph/task_graph.hpp"
#include "runtime/distributed/wire.hpp"

namespace cubist::runtime::distributed {

// Sends on a DEALER (to its one peer) or through a ROUTER to `identity` (dropped when that peer
// is gone: ROUTER's default, so a vanished peer never blocks or fails the sender).
void send(zmq::socket_t& dealer, const Message& m);
void send_to(zmq::socket_t& router, const std::string& identity, const Message& m);

// zmq::poll that returns (nothing ready) when a signal interrupts it: SIGINT/SIGTERM set a stop
// flag that the caller's loop checks next.
void poll(std::vector<zmq::pollitem_t>& items, std::chrono::milliseconds timeout);
void poll(zmq::socket_t& socket, std::chrono::milliseconds timeout);

// One multipart message without blocking; nullopt when none is waiting.
std::optional<std::vector<zmq::message_t>> try_receive(zmq::socket_t& socket);
// A ROUTER's message split into the sender's identity and the frames.
struct Routed {
  std::string identity;
  std::vector<zmq::message_t> frames;
};
std::optional<Routed> try_receive_routed(zmq::socket_t& router);

// A socket's bound endpoint ("tcp://127.0.0.1:PORT"); a wildcard host (0.0.0.0, *) becomes this
// machine's host name, so peers can reach it.
std::string bound_address(zmq::socket_t& socket);

// DEALER connections to data servers, one per address, each opened with hello + token.
class DataPeers {
 public:
  DataPeers(zmq::context_t& context, std::string token) : context_(context), token_(std::move(token)) {}
  zmq::socket_t& to(const std::string& address);
  std::map<std::string, zmq::socket_t>& sockets() { return sockets_; }

 private:
  zmq::context_t& context_;
  std::string token_;
  std::map<std::string, zmq::socket_t> sockets_;
};

// graph_options on the wire.
nlohmann::json graph_options_to_json(const graph::TaskGraphOptions& o);
graph::TaskGraphOptions graph_options_from_json(const nlohmann::json& j);  // ProtocolError when malformed
// The TaskGraph of a "submit" or "job" body {graph, graph_options}; cubist::ValueError naming what
// was wrong with the graph.
graph::TaskGraph job_graph(const nlohmann::json& body);

// The error of a failed job (body "error": {layer, op, chunk, cause} or {message}) as the exception
// the caller of execute_remote sees.
[[noreturn]] void throw_job_error(const nlohmann::json& error, const std::string& scheduler);

using Clock = std::chrono::steady_clock;

}  // namespace cubist::runtime::distributed
