// The distributed runtime's messages on the wire (ZeroMQ multipart). One message is a header frame
// (MessagePack of {"v": protocol version, "type", "body", "chunks": [{"dtype", "shape"}, ...]})
// followed by one frame per chunk holding its bytes in C order: chunk data is never copied into
// JSON nor re-encoded, and every frame from a peer is validated before anything uses it.
// ROUTER identity frames are the shells' business (scheduler.cpp, worker.cpp), not this file's.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "cubist/chunk.hpp"
#include "cubist/error.hpp"

namespace cubist::runtime::distributed {

inline constexpr int kProtocolVersion = 1;

// A malformed, oversized or unexpected message from a peer; one line naming the message type and
// the field at fault. The shells answer it with an error reply or drop the peer, never crash.
class ProtocolError : public IOError {
 public:
  using IOError::IOError;
};

struct Message {
  std::string type;                                    // "hello", "submit", "compute", ...
  nlohmann::json body = nlohmann::json::object();      // validated by the receiver, per type
  std::vector<Chunk> chunks;                           // payloads, travelling as raw frames
};

struct WireLimits {
  std::size_t max_header_bytes = std::size_t{256} << 20;  // a serialised graph with literals fits
  std::size_t max_chunk_bytes = std::size_t{8} << 30;
  std::size_t max_chunks = std::size_t{1} << 20;
};

// Frames to send (chunk frames reference the chunks' buffers and keep them alive, no copy;
// strided views are made contiguous first).
std::vector<zmq::message_t> encode(const Message& m);
// Decodes and validates received frames (version, type, body object, chunk dtypes/shapes against
// frame sizes and limits); chunk buffers adopt the frames' memory where alignment allows.
Message decode(std::vector<zmq::message_t>&& frames, const WireLimits& limits = {});

// Validated access to a body's fields: a missing field or a wrong JSON type throws ProtocolError
// "<where>: field '<name>' ...".
const nlohmann::json& field(const nlohmann::json& body, std::string_view name, std::string_view where);
std::string string_field(const nlohmann::json& body, std::string_view name, std::string_view where);
std::int64_t int_field(const nlohmann::json& body, std::string_view name, std::string_view where,
                       std::int64_t lo = 0, std::int64_t hi = INT64_MAX);

}  // namespace cubist::runtime::distributed
