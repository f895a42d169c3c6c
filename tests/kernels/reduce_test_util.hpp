// Helpers for the reduction tests: run ops through the registry, cut arrays into chunks and
// put them back, so a whole dask-style tree (partial -> combine levels -> finalize) runs in a test.
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "cubist/chunk.hpp"
#include "kernels/op_registry.hpp"
#include "kernels/reduction.hpp"

namespace cubist::kernels::reduce_testing {

inline std::vector<std::int64_t> strides_of(const Shape& s) {
  std::vector<std::int64_t> st(s.size(), 1);
  for (std::size_t a = s.size(); a-- > 1;) st[a - 1] = st[a] * s[a];
  return st;
}

// Calls f(multi_index) for every index of `shape` in C order.
inline void for_each_index(const Shape& shape, const std::function<void(const std::vector<std::int64_t>&)>& f) {
  if (shape_size(shape) == 0) return;
  std::vector<std::int64_t> idx(shape.size(), 0);
  while (true) {
    f(idx);
    std::size_t a = shape.size();
    while (a > 0) {
      if (++idx[a - 1] < shape[a - 1]) break;
      idx[a - 1] = 0;
      --a;
    }
    if (a == 0) return;
  }
}

inline std::int64_t linear(const std::vector<std::int64_t>& idx, const std::vector<std::int64_t>& st) {
  std::int64_t l = 0;
  for (std::size_t a = 0; a < idx.size(); ++a) l += idx[a] * st[a];
  return l;
}

template <class T> Chunk make_chunk(DType dt, const Shape& shape, const std::vector<T>& v) {
  Chunk c = Chunk::allocate(dt, shape);
  std::memcpy(c.mutable_raw(), v.data(), v.size() * sizeof(T));
  return c;
}
inline Chunk make_bool_chunk(const Shape& shape, const std::vector<int>& v) {
  Chunk c = Chunk::allocate(DType::Bool, shape);
  auto out = c.mutable_values<bool>();
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = v[i] != 0;
  return c;
}

// The block [off, off + shape) of src, any dtype.
inline Chunk slice(const Chunk& src, const std::vector<std::int64_t>& off, const Shape& shape) {
  Chunk out = Chunk::allocate(src.dtype(), shape);
  const auto item = itemsize(src.dtype());
  const auto sst = strides_of(src.shape());
  const auto* in = static_cast<const char*>(src.raw());
  auto* o = static_cast<char*>(out.mutable_raw());
  std::int64_t i = 0;
  for_each_index(shape, [&](const std::vector<std::int64_t>& idx) {
    std::int64_t l = 0;
    for (std::size_t a = 0; a < idx.size(); ++a) l += (idx[a] + off[a]) * sst[a];
    std::memcpy(o + item * i++, in + item * l, item);
  });
  return out;
}

// Writes `part` into `dst` at `off`.
inline void place(const Chunk& dst, const std::vector<std::int64_t>& off, const Chunk& part) {
  const auto item = itemsize(dst.dtype());
  const auto dst_st = strides_of(dst.shape());
  auto* o = static_cast<char*>(dst.mutable_raw());
  const auto* in = static_cast<const char*>(part.raw());
  std::int64_t i = 0;
  for_each_index(part.shape(), [&](const std::vector<std::int64_t>& idx) {
    std::int64_t l = 0;
    for (std::size_t a = 0; a < idx.size(); ++a) l += (idx[a] + off[a]) * dst_st[a];
    std::memcpy(o + item * l, in + item * i++, item);
  });
}

// Runs a registered op on input chunks (all in slot 0) and returns its output chunk.
inline Chunk run_op(std::string_view name, const nlohmann::json& params, DType in_dtype, const Shape& in_full_shape,
                    DType out_dtype, const std::vector<Chunk>& inputs) {
  const OpDef& op = OpRegistry::instance().get(name);
  OpSignature sig;
  sig.out_dtype = out_dtype;
  sig.input_dtypes = {in_dtype};
  sig.input_shapes = {in_full_shape};
  auto prepared = op.prepare(params, sig);
  std::vector<TaskInput> tin;
  for (const auto& c : inputs) tin.push_back(TaskInput{&c, 0, {}});
  TaskContext ctx;
  ctx.prepared = prepared.get();
  ctx.out_dtype = out_dtype;
  ctx.inputs = tin;
  return op.run(ctx);
}

inline std::vector<int> kept_axes(std::size_t rank, const std::vector<int>& axes) {
  std::vector<int> kept;
  for (int a = 0; a < static_cast<int>(rank); ++a)
    if (std::find(axes.begin(), axes.end(), a) == axes.end()) kept.push_back(a);
  return kept;
}

// Reduces `arr` the way the array layer will: cut into chunks of `chunk` (per axis), one
// reduce_partial each, combine the partials of each output chunk in a tree of fan-in `fan_in`,
// finalize, and reassemble the result over the kept axes.
inline Chunk tree_reduce(const Chunk& arr, const nlohmann::json& params, const Shape& chunk, std::size_t fan_in = 2) {
  const Reduction r = parse_reduction(params.at("reduction").get<std::string>());
  const auto axes = params.at("axes").get<std::vector<int>>();
  const ReductionInfo info = reduction_info(r, arr.dtype());
  const Shape& shape = arr.shape();
  const auto kept = kept_axes(shape.size(), axes);

  Shape grid;  // chunks per axis
  for (std::size_t a = 0; a < shape.size(); ++a) grid.push_back((shape[a] + chunk[a] - 1) / chunk[a]);
  Shape state_full{info.fields};  // full shape of the partial layer: one state per chunk on reduced axes
  for (std::size_t a = 0; a < shape.size(); ++a)
    state_full.push_back(std::find(axes.begin(), axes.end(), a) != axes.end() ? grid[a] : shape[a]);

  // Output chunk (indices along kept axes) -> its partial states.
  std::map<std::vector<std::int64_t>, std::vector<Chunk>> groups;
  std::map<std::vector<std::int64_t>, std::vector<std::int64_t>> group_offset;
  for_each_index(grid, [&](const std::vector<std::int64_t>& ci) {
    std::vector<std::int64_t> off;
    Shape ext;
    for (std::size_t a = 0; a < shape.size(); ++a) {
      off.push_back(ci[a] * chunk[a]);
      ext.push_back(std::min(chunk[a], shape[a] - off.back()));
    }
    Chunk part = run_op("reduce_partial", params, arr.dtype(), shape, info.state_dtype, {slice(arr, off, ext)});
    EXPECT_EQ(part.dtype(), info.state_dtype);
    EXPECT_EQ(part.shape(), state_shape(info.fields, ext, axes));
    std::vector<std::int64_t> key, koff;
    for (int a : kept) key.push_back(ci[static_cast<std::size_t>(a)]), koff.push_back(off[static_cast<std::size_t>(a)]);
    groups[key].push_back(part);
    group_offset[key] = koff;
  });

  Shape out_shape;
  for (int a : kept) out_shape.push_back(shape[static_cast<std::size_t>(a)]);
  Chunk out = Chunk::allocate(info.result_dtype, out_shape);
  for (auto& [key, parts] : groups) {
    // Levels of combines, as dask's tree reduction; a lone partial still goes through one.
    do {
      std::vector<Chunk> next;
      for (std::size_t i = 0; i < parts.size(); i += fan_in) {
        std::vector<Chunk> set(parts.begin() + static_cast<std::ptrdiff_t>(i),
                               parts.begin() + static_cast<std::ptrdiff_t>(std::min(parts.size(), i + fan_in)));
        next.push_back(run_op("reduce_combine", params, info.state_dtype, state_full, info.state_dtype, set));
      }
      parts = std::move(next);
    } while (parts.size() > 1);
    Chunk res = run_op("reduce_finalize", params, info.state_dtype, state_full, info.result_dtype, parts);
    EXPECT_EQ(res.dtype(), info.result_dtype);
    place(out, group_offset[key], res);
  }
  return out;
}

// Element i of a chunk as a double (datetime as its int64 count).
inline double value_at(const Chunk& c, std::int64_t i) {
  return visit_dtype(c.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    return static_cast<double>(static_cast<const T*>(c.raw())[i]);
  });
}

// For each output element (C order over the kept axes), the input values of its slice.
inline std::vector<std::vector<double>> slices(const Chunk& arr, const std::vector<int>& axes) {
  const auto kept = kept_axes(arr.rank(), axes);
  const auto st = strides_of(arr.shape());
  Shape kshape;
  for (int a : kept) kshape.push_back(arr.shape()[static_cast<std::size_t>(a)]);
  const auto kst = strides_of(kshape);
  std::vector<std::vector<double>> out(static_cast<std::size_t>(shape_size(kshape)));
  std::int64_t i = 0;
  for_each_index(arr.shape(), [&](const std::vector<std::int64_t>& idx) {
    std::int64_t k = 0;
    for (std::size_t j = 0; j < kept.size(); ++j) k += idx[static_cast<std::size_t>(kept[j])] * kst[j];
    out[static_cast<std::size_t>(k)].push_back(value_at(arr, i++));
  });
  return out;
}

}  // namespace cubist::kernels::reduce_testing
