// Op "gather": builds an output chunk from the input chunks that overlap it, for rechunk and
// for isel/sel by slice, index list or single index. Per input axis the params say which input
// element each output element takes:
//   {"out_axis": o, "start": s, "step": k}   output j <- input s + j*k   (slices, rechunk)
//   {"out_axis": o, "indices": [...]}        output j <- input indices[j]
//   {"out_axis": -1, "index": i}             the axis is indexed away at input position i
// Optional "zarr_padding": {"chunks": [...], "fill_value": <Zarr metadata fill value>} (set by
// graph::pad_zarr_edge_chunks when the only consumer is a Zarr sink over the same chunk grid):
// every output chunk is allocated at the full Zarr chunk shape with the padding holding the fill
// value, and the result is a view of the actual shape at its origin, so the sink encodes an edge
// chunk from this buffer instead of copying it into a padded one.
#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <fmt/format.h>

#include "cubist/error.hpp"
#include "cubist/zarr.hpp"
#include "kernels/op_registry.hpp"
#include "kernels/strided.hpp"

namespace cubist::kernels {
namespace {

struct AxisMap {
  int out_axis = -1;
  std::int64_t start = 0, step = 1, index = 0;
  std::vector<std::int64_t> indices;
  bool use_indices = false;

  std::int64_t source(std::int64_t out_global) const {
    return use_indices ? indices[static_cast<std::size_t>(out_global)] : start + out_global * step;
  }
};

struct Padding {
  Shape chunks;                    // the full Zarr chunk shape, one extent per output axis
  std::array<std::byte, 8> fill{};  // one element of the fill value, native endian
  bool zero = true;                 // the fill is all zero bytes (fresh zero pages already hold it)
};

struct Prepared {
  std::vector<AxisMap> axes;
  std::optional<Padding> padding;
};

std::optional<Padding> parse_padding(const nlohmann::json& params, const OpSignature& sig) {
  if (!params.contains("zarr_padding")) return std::nullopt;
  const auto& j = params["zarr_padding"];
  if (!j.is_object() || !j.contains("chunks") || !j["chunks"].is_array() || !j.contains("fill_value"))
    throw ValueError("gather: field 'zarr_padding' must be an object with 'chunks' and 'fill_value'");
  Padding pad;
  for (const auto& c : j["chunks"]) {
    if (!c.is_number_integer() || c.get<std::int64_t>() <= 0)
      throw ValueError(fmt::format("gather: field 'zarr_padding.chunks': {} is not a positive extent", c.dump()));
    pad.chunks.push_back(c.get<std::int64_t>());
  }
  if (pad.chunks.size() != sig.out_shape.size())
    throw ValueError(fmt::format("gather: field 'zarr_padding.chunks' has rank {}, the output {}", pad.chunks.size(),
                                 sig.out_shape.size()));
  pad.fill = zarr::fill_value_bytes(j["fill_value"], sig.out_dtype, "gather: field 'zarr_padding.fill_value'");
  for (std::size_t i = 0; i < itemsize(sig.out_dtype); ++i) pad.zero = pad.zero && pad.fill[i] == std::byte{0};
  return pad;
}

std::shared_ptr<const void> prepare(const nlohmann::json& params, const OpSignature& sig) {
  auto p = std::make_shared<Prepared>();
  const auto& axes = params.at("axes");
  if (sig.input_shapes.size() != 1 || axes.size() != sig.input_shapes[0].size())
    throw ValueError("gather: expects one input and one axis map per input axis");
  int expected_out = 0;
  for (std::size_t a = 0; a < axes.size(); ++a) {
    AxisMap m;
    const auto& j = axes[a];
    m.out_axis = j.at("out_axis").get<int>();
    const std::int64_t extent = sig.input_shapes[0][a];
    if (m.out_axis < 0) {
      m.index = j.at("index").get<std::int64_t>();
      if (m.index < 0 || m.index >= extent) throw ValueError(fmt::format("gather: index {} out of range on axis {}", m.index, a));
    } else {
      if (m.out_axis != expected_out++) throw ValueError("gather: output axes must follow input axis order");
      const std::int64_t out_extent = sig.out_shape[static_cast<std::size_t>(m.out_axis)];
      if (j.contains("indices")) {
        m.use_indices = true;
        m.indices = j.at("indices").get<std::vector<std::int64_t>>();
        if (static_cast<std::int64_t>(m.indices.size()) != out_extent) throw ValueError("gather: index list length differs from output extent");
        for (auto i : m.indices)
          if (i < 0 || i >= extent) throw ValueError(fmt::format("gather: index {} out of range on axis {}", i, a));
      } else {
        m.start = j.at("start").get<std::int64_t>();
        m.step = j.at("step").get<std::int64_t>();
        if (out_extent > 0 && (m.step == 0 || m.start < 0 || m.start >= extent || m.source(out_extent - 1) < 0 ||
                               m.source(out_extent - 1) >= extent))
          throw ValueError(fmt::format("gather: slice start {} step {} leaves axis {} of extent {}", m.start, m.step, a, extent));
      }
    }
    p->axes.push_back(std::move(m));
  }
  if (expected_out != static_cast<int>(sig.out_shape.size())) throw ValueError("gather: not every output axis is produced");
  p->padding = parse_padding(params, sig);
  return p;
}

// A run of elements contiguous on both sides along the innermost axis: `length` elements from
// input offset `in` to output offset `out` (element offsets).
struct Run {
  std::int64_t out = 0, in = 0, length = 0;
};

// Copies the part of output chunk `out` that input chunk `in` supplies (inputs never overlap in
// what they supply, so the order in which they are added does not matter); returns the bytes copied.
// `out` may be a view into a larger (padded) buffer: its strides, not its shape, place elements.
std::size_t add_input(const Prepared& p, const TaskContext& ctx, const TaskInput& in, Chunk& out) {
  const std::size_t item = itemsize(ctx.out_dtype);
  const auto& out_strides = out.strides();
  const std::size_t out_rank = out.rank();
  const Chunk& src = *in.chunk;
  const auto& in_strides = src.strides();  // strided views are read in place
  // Per output axis: pairs (output offset, input offset) in elements that this input chunk
  // supplies, and the innermost axis as runs contiguous on both sides: worked out once per input
  // (finding the runs once per row took more CPU than the copies of narrow pieces).
  std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>> pairs(out_rank);
  std::vector<Run> runs;
  std::int64_t fixed = 0;
  for (std::size_t a = 0; a < p.axes.size(); ++a) {
    const AxisMap& m = p.axes[a];
    const std::int64_t lo = in.offset[a], hi = lo + src.shape()[a];
    if (m.out_axis < 0) {
      if (m.index < lo || m.index >= hi) return 0;
      fixed += (m.index - lo) * in_strides[a];
      continue;
    }
    const auto o = static_cast<std::size_t>(m.out_axis);
    for (std::int64_t j = 0; j < ctx.out_shape[o]; ++j) {
      std::int64_t s = m.source(ctx.out_offset[o] + j);
      if (s >= lo && s < hi) pairs[o].emplace_back(j, s - lo);
    }
    if (pairs[o].empty()) return 0;
    for (auto& [oj, is] : pairs[o]) {
      oj *= out_strides[o];
      is *= in_strides[a];
    }
    if (o + 1 == out_rank) {
      // Runs contiguous in memory on both sides (a strided input view gives runs of one).
      const auto& last = pairs[o];
      for (std::size_t k = 0; k < last.size();) {
        std::size_t e = k + 1;
        while (e < last.size() && last[e].first == last[e - 1].first + 1 && last[e].second == last[e - 1].second + 1) ++e;
        runs.push_back({last[k].first, last[k].second, static_cast<std::int64_t>(e - k)});
        k = e;
      }
    }
  }
  auto* dst = static_cast<std::byte*>(out.mutable_raw());
  const auto* from = static_cast<const std::byte*>(src.raw()) + static_cast<std::size_t>(fixed) * item;
  if (out_rank == 0) {
    std::memcpy(dst, from, item);
    return item;
  }
  std::size_t copied = item;
  for (const auto& axis : pairs) copied *= axis.size();
  std::vector<std::size_t> idx(out_rank, 0);
  while (true) {
    std::int64_t o_off = 0, i_off = 0;
    for (std::size_t a = 0; a + 1 < out_rank; ++a) {
      o_off += pairs[a][idx[a]].first;
      i_off += pairs[a][idx[a]].second;
    }
    for (const Run& r : runs)
      std::memcpy(dst + static_cast<std::size_t>(o_off + r.out) * item, from + static_cast<std::size_t>(i_off + r.in) * item,
                  static_cast<std::size_t>(r.length) * item);
    std::size_t a = out_rank - 1;
    while (a > 0) {
      --a;
      if (++idx[a] < pairs[a].size()) break;
      idx[a] = 0;
      if (a == 0) return copied;
    }
    if (out_rank == 1) return copied;
  }
}

std::size_t add_inputs(const TaskContext& ctx, Chunk& out) {
  std::size_t copied = 0;
  for (const auto& in : ctx.inputs) copied += add_input(ctx.params<Prepared>(), ctx, in, out);
  return copied;
}

// Writes `count` copies of the `item`-byte element `fill`.
void fill_run(std::byte* dst, std::size_t count, const std::array<std::byte, 8>& fill, std::size_t item) {
  auto typed = [&]<class T>() {
    T v;
    std::memcpy(&v, fill.data(), sizeof(T));
    auto* p = reinterpret_cast<T*>(dst);
    std::fill(p, p + count, v);
  };
  switch (item) {
    case 1: typed.template operator()<std::uint8_t>(); break;
    case 2: typed.template operator()<std::uint16_t>(); break;
    case 4: typed.template operator()<std::uint32_t>(); break;
    default: typed.template operator()<std::uint64_t>(); break;
  }
}

// Fills every element of the C-order buffer `full` (shape `chunks`) outside the block `shape` at
// its origin, row by row of the innermost axis.
void fill_padding(const Chunk& full, const Shape& shape, const Padding& pad) {
  const std::size_t item = itemsize(full.dtype()), rank = shape.size();
  const Shape& chunks = pad.chunks;
  const std::int64_t row = chunks[rank - 1], rows = shape_size(chunks) / row;
  auto* base = static_cast<std::byte*>(full.mutable_raw());
  std::vector<std::int64_t> idx(rank, 0);  // over the leading rank-1 axes
  for (std::int64_t r = 0; r < rows; ++r) {
    bool inside = true;
    for (std::size_t a = 0; a + 1 < rank; ++a) inside = inside && idx[a] < shape[a];
    const std::int64_t from = inside ? shape[rank - 1] : 0;
    fill_run(base + static_cast<std::size_t>(r * row + from) * item, static_cast<std::size_t>(row - from), pad.fill, item);
    for (std::size_t a = rank - 1; a-- > 0;) {
      if (++idx[a] < chunks[a]) break;
      idx[a] = 0;
    }
  }
}

// Bytes of the C-order buffer of shape `chunks` after the last element of the block `shape` at
// its origin: all padding.
std::size_t trailing_padding_bytes(const Shape& shape, const Shape& chunks, std::size_t item) {
  std::int64_t last = 0, stride = 1;
  for (std::size_t a = shape.size(); a-- > 0;) {
    last += (shape[a] - 1) * stride;
    stride *= chunks[a];
  }
  return static_cast<std::size_t>(shape_size(chunks) - last - 1) * item;
}

// A streamed edge chunk's padding is filled once its last input is in, not when it is allocated:
// the open accumulators of neighbouring chunks (thin strips, see ARCHITECTURE "Streamed assembly")
// would otherwise hold their whole padding resident from their first input on. Until then the
// last 8 bytes of the buffer (padding) count the bytes written so far (inputs never overlap, so
// the count reaches nbytes() exactly when the chunk is complete).
constexpr std::size_t kCounterBytes = sizeof(std::uint64_t);

bool defers_padding(const TaskContext& ctx, const Shape& shape) {
  const auto& pad = ctx.params<Prepared>().padding;
  return pad && shape != pad->chunks && shape_size(shape) > 0 &&
         trailing_padding_bytes(shape, pad->chunks, itemsize(ctx.out_dtype)) >= kCounterBytes;
}

// A new output chunk: fresh zero pages (streamed assembly, see accumulate) or recycled storage.
// With zarr_padding and an edge chunk, a view at the origin of a padded full-chunk buffer (its
// padding filled now, or by accumulate once complete when `sparse` and defers_padding).
Chunk new_output(const TaskContext& ctx, bool sparse) {
  const auto& pad = ctx.params<Prepared>().padding;
  Shape shape = ctx.shape();
  auto make = [&](Shape s) { return sparse ? Chunk::sparse_zeros(ctx.out_dtype, std::move(s)) : Chunk::allocate(ctx.out_dtype, std::move(s)); };
  if (!pad || shape == pad->chunks || shape_size(shape) == 0) return make(std::move(shape));
  for (std::size_t a = 0; a < shape.size(); ++a)
    if (shape[a] > pad->chunks[a])
      throw ValueError(fmt::format("gather: output chunk {} exceeds the Zarr chunk shape {} of field 'zarr_padding'",
                                   shape_to_string(shape), shape_to_string(pad->chunks)));
  Chunk full = make(pad->chunks);
  // Fresh zero pages already hold a zero fill and a zero count.
  if (!sparse || (!pad->zero && !defers_padding(ctx, shape))) fill_padding(full, shape, *pad);
  const Shape origin(shape.size(), 0);
  return full.view(origin, std::move(shape));
}

// Streaming form (OpDef::accumulate): the output is allocated when the first input arrives, as
// sparse pages, so a chunk being filled is resident only as far as it has been written.
std::size_t accumulate(const TaskContext& ctx, Chunk& out) {
  if (out.empty()) out = new_output(ctx, true);
  const std::size_t written = add_inputs(ctx, out);
  if (!defers_padding(ctx, out.shape())) return written;
  const Padding& pad = *ctx.params<Prepared>().padding;
  auto* counter = static_cast<std::byte*>(out.mutable_raw()) +
                  static_cast<std::size_t>(shape_size(pad.chunks)) * itemsize(ctx.out_dtype) - kCounterBytes;
  std::uint64_t count;
  std::memcpy(&count, counter, kCounterBytes);
  count += written;
  if (count < out.nbytes()) {
    std::memcpy(counter, &count, kCounterBytes);
  } else if (pad.zero) {
    std::memset(counter, 0, kCounterBytes);
  } else {
    fill_padding(out, out.shape(), pad);  // out.raw() is the buffer's origin; this covers the count
  }
  return written;
}

Chunk run(const TaskContext& ctx) {
  Chunk out = new_output(ctx, false);
  add_inputs(ctx, out);
  return out;
}

const OpRegistration kRegister{OpDef{.name = "gather", .prepare = prepare, .run = run, .strided_inputs = true, .accumulate = accumulate}};

}  // namespace
}  // namespace cubist::kernels
