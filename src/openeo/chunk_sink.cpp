// The sink op "openeo_write_chunk": its params name the writer by a token (params stay plain
// JSON), which write_chunks registers here for the duration of one run.
#include "openeo/chunk_sink.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "cubist/error.hpp"
#include "graph/layer.hpp"
#include "kernels/op_registry.hpp"

namespace cubist::openeo {
namespace {

struct Sinks {
  std::mutex mutex;
  std::map<std::string, ChunkWriter*> writers;
  std::mutex write_mutex;  // one chunk written at a time, whichever writer
};

Sinks& sinks() {
  static Sinks s;
  return s;
}

struct Prepared {
  ChunkWriter* writer = nullptr;
};

std::shared_ptr<const void> prepare(const nlohmann::json& params, const kernels::OpSignature&) {
  const std::string token = params.at("sink").get<std::string>();
  std::lock_guard lock(sinks().mutex);
  auto it = sinks().writers.find(token);
  if (it == sinks().writers.end()) throw ValueError(fmt::format("openeo_write_chunk: no writer '{}' is open", token));
  auto p = std::make_shared<Prepared>();
  p->writer = it->second;
  return p;
}

Chunk run(const kernels::TaskContext& ctx) {
  const auto& p = ctx.params<Prepared>();
  if (ctx.inputs.size() != 1) throw ValueError("openeo_write_chunk: expects one input chunk");
  if (p.writer->thread_safe()) {
    p.writer->write(*ctx.inputs[0].chunk, ctx.inputs[0].offset);
  } else {
    std::lock_guard lock(sinks().write_mutex);
    p.writer->write(*ctx.inputs[0].chunk, ctx.inputs[0].offset);
  }
  return Chunk::zeros(DType::UInt8, ctx.shape());
}

const kernels::OpRegistration kRegister{kernels::OpDef{"openeo_write_chunk", prepare, run, false}};

// Registers a writer under a fresh token for the lifetime of one write_chunks call.
class Registered {
 public:
  explicit Registered(ChunkWriter& w) {
    static std::atomic<std::uint64_t> counter{0};
    token_ = fmt::format("sink-{}-{}", ::getpid(), ++counter);
    std::lock_guard lock(sinks().mutex);
    sinks().writers[token_] = &w;
  }
  ~Registered() {
    std::lock_guard lock(sinks().mutex);
    sinks().writers.erase(token_);
  }
  Registered(const Registered&) = delete;
  Registered& operator=(const Registered&) = delete;
  const std::string& token() const { return token_; }

 private:
  std::string token_;
};

}  // namespace

void write_chunks(const DataArray& data, ChunkWriter& writer, const ComputeOptions& compute, ComputeStats* stats) {
  const Registered registered(writer);
  // Fuses into the unit computing each chunk.
  auto sink = graph::make_sink_layer("save_result", "openeo_write_chunk", {{"sink", registered.token()}}, data.layer());
  DataArray::from_layer(std::move(sink), data.dims()).compute(compute, stats);
  writer.finish();
}

}  // namespace cubist::openeo
