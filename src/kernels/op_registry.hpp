// The one registry of chunk ops. Each op lives in its own file under kernels/ops/ with its kernel
// and its parameter parsing, and registers itself with a static OpRegistration.
// Kernels see only plain data (parameters, regions, chunks): no labels, no graph, no network.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cubist/chunk.hpp"
#include "graph/layer.hpp"

namespace cubist::kernels {

// What an op learns once per layer, before any chunk runs.
struct OpSignature {
  DType out_dtype = DType::Float64;
  Shape out_shape;                                  // full array shape of the layer
  std::vector<DType> input_dtypes;                  // one per input slot
  std::vector<Shape> input_shapes;                  // full array shape of each input
  std::vector<std::vector<int>> input_axis_to_out;  // per slot, per input axis: output axis or -1
  std::shared_ptr<const std::vector<Chunk>> literal;
};

struct TaskInput {
  const Chunk* chunk = nullptr;
  std::uint16_t slot = 0;                // which input of the layer
  std::span<const std::int64_t> offset;  // where this chunk starts in its input array
};

struct TaskContext {
  const void* prepared = nullptr;        // what OpDef::prepare returned for the layer
  DType out_dtype = DType::Float64;
  std::int64_t linear_chunk = 0;
  std::span<const std::int64_t> chunk_index;  // output chunk multi-index
  std::span<const std::int64_t> out_offset;   // where the output chunk starts
  std::span<const std::int64_t> out_shape;    // output chunk shape
  std::span<const TaskInput> inputs;          // in slot order, C order of chunks within a slot

  Shape shape() const { return Shape(out_shape.begin(), out_shape.end()); }
  template <class P> const P& params() const { return *static_cast<const P*>(prepared); }
};

// One chunk of a Source, row by row (OpDef::rows). A row is the last axis; the leading axes are
// flattened in C order.
class RowReader {
 public:
  virtual ~RowReader() = default;
  // Writes rows [first, first + count) of the chunk, contiguous, into dst. Calls come in
  // increasing order of `first` and never overlap.
  virtual void read(std::int64_t first, std::int64_t count, void* dst) = 0;
};

struct OpDef {
  std::string name;
  // Parses and validates the layer's parameters once; throws cubist::Error on bad params.
  std::function<std::shared_ptr<const void>(const nlohmann::json& params, const OpSignature& sig)> prepare;
  std::function<Chunk(const TaskContext& ctx)> run;
  // True when run() walks input strides itself; otherwise the runtime hands it contiguous copies
  // of strided views (zero-copy slices of in-memory data).
  bool strided_inputs = false;
  // Set by Source ops that can produce a sub-window of their output directly (window push-down,
  // graph::push_down_windows): the params that make the op compute just `window` (one entry per
  // axis) of an output of `shape`, chunk offsets then counting from the window's start; nullopt
  // when it cannot (say, an axis it cannot drop). Must compose: a window of a window is a window.
  std::function<std::optional<nlohmann::json>(const nlohmann::json& params, const Shape& shape,
                                              const std::vector<graph::AxisWindow>& window)>
      window = nullptr;
  // Set by ops that can take their inputs one at a time, each independently of the others
  // (gather: rechunk, isel). The runtime then calls it as each input completes, with ctx.inputs
  // holding only that input, and releases the input at once instead of holding all of them until
  // the last one exists. `out` starts empty (Chunk()) and the op allocates it on the first call;
  // after every input has been added (or after one call with no inputs, for a task without any),
  // `out` must equal what run() returns for all the inputs. Calls for one task never overlap.
  // Returns how many bytes of `out` the call wrote: fresh pages are touched only as they are
  // written, so the runtime counts a partial result by what has been written into it.
  std::function<std::size_t(const TaskContext& ctx, Chunk& out)> accumulate = nullptr;
  // Set by Source ops that can produce a chunk row by row. An elementwise consumer then runs its
  // program on rows as they are produced (graph::inline_sources): the Source's chunk is never
  // allocated, written and read back. ctx is the chunk's (no inputs); the rows must hold exactly
  // what run() returns.
  std::function<std::unique_ptr<RowReader>(const TaskContext& ctx)> rows = nullptr;
};

class OpRegistry {
 public:
  static OpRegistry& instance();
  void add(OpDef def);
  const OpDef& get(std::string_view name) const;  // throws cubist::KeyError naming the op
  bool contains(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::vector<std::unique_ptr<OpDef>> ops_;
};

// graph::SourceWindowFn over the registry: the windowed params of a Source layer's op, or nullopt
// when the op has no window capability.
std::optional<nlohmann::json> window_source(const graph::Layer& source, const std::vector<graph::AxisWindow>& window);

// graph::SourceRowsFn over the registry: true when the Source layer's op can produce rows (OpDef::rows).
bool source_reads_rows(const graph::Layer& source);

// OpDef::window for ops whose params do not depend on where the chunk lies (e.g. "full").
std::optional<nlohmann::json> same_params_window(const nlohmann::json& params, const Shape& shape,
                                                 const std::vector<graph::AxisWindow>& window);

struct OpRegistration {
  explicit OpRegistration(OpDef def) { OpRegistry::instance().add(std::move(def)); }
};

}  // namespace cubist::kernels
