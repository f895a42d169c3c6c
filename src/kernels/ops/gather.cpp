// Op "gather": builds an output chunk from the input chunks that overlap it, for rechunk and
// for isel/sel by slice, index list or single index. Per input axis the params say which input
// element each output element takes:
//   {"out_axis": o, "start": s, "step": k}   output j <- input s + j*k   (slices, rechunk)
//   {"out_axis": o, "indices": [...]}        output j <- input indices[j]
//   {"out_axis": -1, "index": i}             the axis is indexed away at input position i
#include <cstring>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cubist/error.hpp"
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

struct Prepared {
  std::vector<AxisMap> axes;
};

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
  return p;
}

// Below this, a piece's pages are few. A piece spanning this much lies in an output of at least
// as much, which sparse_zeros maps fresh (below 1 MiB it is resident memory already).
constexpr std::size_t kPopulateMin = std::size_t{1} << 20;

// A run of elements contiguous on both sides along the innermost axis: `length` elements from
// input offset `in` to output offset `out` (element offsets).
struct Run {
  std::int64_t out = 0, in = 0, length = 0;
};

// Faults in, in one call, the pages of [p, p + bytes) that a streamed accumulator (a fresh mapping,
// Chunk::sparse_zeros) is about to receive: one page fault per 4 KiB cost more than the copy
// itself on the NDVI demo (~3 us each in a VM; an 8 MiB piece populated first: 61 -> 41 ms per
// 80 MiB written, measured). Only the pages the piece covers become resident, so the accumulator
// stays sparse. Advice only: a kernel without MADV_POPULATE_WRITE (before 5.14) faults as before.
void populate_for_write(std::byte* p, std::size_t bytes) {
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto lo = reinterpret_cast<std::uintptr_t>(p) / page * page;
  const auto hi = reinterpret_cast<std::uintptr_t>(p + bytes);
  ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_POPULATE_WRITE);
}

// Copies the part of output chunk `out` that input chunk `in` supplies (inputs never overlap in
// what they supply, so the order in which they are added does not matter); returns the bytes
// copied. `sparse_out`: `out` is a fresh mapping whose pages are not resident yet.
std::size_t add_input(const Prepared& p, const TaskContext& ctx, const TaskInput& in, Chunk& out, bool sparse_out) {
  const std::size_t item = itemsize(ctx.out_dtype);
  const auto out_strides = c_strides(out.shape());
  const std::size_t out_rank = out.rank();
  const Chunk& src = *in.chunk;
  const auto& in_strides = src.strides();  // strided views are read in place
  // Per output axis: pairs (output offset, input offset) in elements that this input chunk
  // supplies, and the innermost axis as runs contiguous on both sides: worked out once per input
  // (finding the runs again for every row took more CPU than the copies of narrow pieces).
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
      if (s >= lo && s < hi) pairs[o].emplace_back(j * out_strides[o], (s - lo) * in_strides[a]);
    }
    if (pairs[o].empty()) return 0;
    if (o + 1 == out_rank) {  // a strided input view gives runs of one
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
  if (sparse_out && !runs.empty()) {
    // The bytes this input writes lie between its first and last run; populate them at once when
    // they fill most of that span (a piece covering whole rows of the output: the usual rechunk).
    std::int64_t first = runs.front().out, last = runs.back().out + runs.back().length;
    for (std::size_t a = 0; a + 1 < out_rank; ++a) {
      first += pairs[a].front().first;
      last += pairs[a].back().first;
    }
    const auto span = static_cast<std::size_t>(last - first) * item;
    if (span >= kPopulateMin && copied * 2 >= span) populate_for_write(dst + static_cast<std::size_t>(first) * item, span);
  }
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

std::size_t add_inputs(const TaskContext& ctx, Chunk& out, bool sparse_out) {
  std::size_t copied = 0;
  for (const auto& in : ctx.inputs) copied += add_input(ctx.params<Prepared>(), ctx, in, out, sparse_out);
  return copied;
}

// Streaming form (OpDef::accumulate): the output is allocated when the first input arrives, as
// sparse pages, so a chunk being filled is resident only as far as it has been written.
std::size_t accumulate(const TaskContext& ctx, Chunk& out) {
  if (out.empty()) out = Chunk::sparse_zeros(ctx.out_dtype, ctx.shape());
  return add_inputs(ctx, out, true);
}

Chunk run(const TaskContext& ctx) {
  Chunk out = Chunk::allocate(ctx.out_dtype, ctx.shape());
  add_inputs(ctx, out, false);
  return out;
}

const OpRegistration kRegister{OpDef{.name = "gather", .prepare = prepare, .run = run, .strided_inputs = true, .accumulate = accumulate}};

}  // namespace
}  // namespace cubist::kernels
