// Running one execution unit of a TaskGraph: what the local scheduler (local_scheduler.cpp) and a
// distributed worker (distributed/worker.cpp) share. Each decides when a unit runs and where its
// inputs live; this file only turns inputs into the unit's result.
#pragma once
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "cubist/error.hpp"
#include "graph/task_graph.hpp"
#include "kernels/op_registry.hpp"

namespace cubist::runtime {

kernels::OpSignature signature_of(const graph::Layer& l);

class UnitRunner {
 public:
  // The result of an outside unit a task reads (valid until the call returns).
  using UnitResult = std::function<const Chunk&(std::uint32_t unit)>;
  // Results of a unit's fused members, by task id, that later members read.
  using Local = std::vector<std::pair<std::uint32_t, Chunk>>;

  // Resolves and prepares each layer's op once (validates params before any work starts); throws
  // cubist::Error naming the layer and op.
  explicit UnitRunner(const graph::TaskGraph& g);

  const graph::TaskGraph& graph() const { return g_; }
  const kernels::OpDef& op(std::uint32_t layer) const { return *ops_[layer]; }

  // Runs task t on its inputs (fused members' from `local`, others from `outside`), or, with
  // `acc`, adds just its input `only` (or none, when nullopt) to the accumulator through
  // OpDef::accumulate, storing the bytes written in *written.
  Chunk run_task(std::uint32_t t, const Local& local, const UnitResult& outside, Chunk* acc = nullptr,
                 std::optional<std::uint32_t> only = std::nullopt, std::size_t* written = nullptr) const;

  // Runs unit u's members in order and returns the last one's result; a fused member's result is
  // dropped once the member reading it has run. `head`, when set, gives the first member's result
  // instead of running it (a streamed unit's accumulator). `account` hears the bytes each member's
  // result adds (+) and each dropped one frees (-). On an exception, `current` names the failing
  // task and the held members' bytes have been accounted back.
  Chunk run_unit(std::uint32_t u, const UnitResult& outside, const std::function<Chunk(std::uint32_t t)>& head,
                 const std::function<void(std::int64_t)>& account, std::uint32_t& current) const;

  // An op's result must have the layer's dtype and the chunk's shape.
  static void check_result(const graph::Layer& layer, const Chunk& out, std::span<const std::int64_t> shape);
  // The current exception of task t as the error the caller sees: layer key, op, chunk, cause.
  TaskError task_error(std::uint32_t t, std::exception_ptr cause) const;

 private:
  const graph::TaskGraph& g_;
  std::vector<const kernels::OpDef*> ops_;
  std::vector<std::shared_ptr<const void>> prepared_;
};

}  // namespace cubist::runtime
