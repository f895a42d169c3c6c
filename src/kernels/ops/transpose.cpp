// Op "transpose": permutes the axes of one chunk. Params {"perm": [p0, p1, ...]}: output axis o
// is input axis perm[o] (numpy.transpose). Blockwise: one input chunk per output chunk.
// When the innermost axis stays innermost, whole rows are copied; otherwise the two axes that are
// innermost on either side are copied in square tiles so reads and writes both stay in cache.
#include <algorithm>
#include <cstring>
#include <fmt/format.h>

#include "cubist/error.hpp"
#include "kernels/op_registry.hpp"
#include "kernels/strided.hpp"

namespace cubist::kernels {
namespace {

constexpr std::int64_t kTile = 32;

struct Prepared {
  std::vector<std::size_t> perm;
};

std::shared_ptr<const void> prepare(const nlohmann::json& params, const OpSignature& sig) {
  auto p = std::make_shared<Prepared>();
  const auto perm = params.at("perm").get<std::vector<std::int64_t>>();
  if (sig.input_shapes.size() != 1) throw ValueError("transpose: expects one input");
  const Shape& in = sig.input_shapes[0];
  if (perm.size() != in.size() || perm.size() != sig.out_shape.size())
    throw ValueError(fmt::format("transpose: perm has {} entries for an input of rank {}", perm.size(), in.size()));
  std::vector<bool> seen(perm.size(), false);
  for (std::size_t o = 0; o < perm.size(); ++o) {
    const auto a = perm[o];
    if (a < 0 || a >= static_cast<std::int64_t>(perm.size()) || seen[static_cast<std::size_t>(a)])
      throw ValueError(fmt::format("transpose: perm [{}] is not a permutation", fmt::join(perm, ", ")));
    seen[static_cast<std::size_t>(a)] = true;
    if (in[static_cast<std::size_t>(a)] != sig.out_shape[o])
      throw ValueError(fmt::format("transpose: input axis {} has extent {} but output axis {} has {}", a,
                                   in[static_cast<std::size_t>(a)], o, sig.out_shape[o]));
    p->perm.push_back(static_cast<std::size_t>(a));
  }
  return p;
}

// Calls f(in_offset, out_offset) for every combination of the output axes in `axes` (an odometer).
template <class F>
void for_each_offset(const std::vector<std::size_t>& axes, const Shape& shape, const std::vector<std::int64_t>& in_stride,
                     const std::vector<std::int64_t>& out_stride, F&& f) {
  for (auto a : axes)
    if (shape[a] == 0) return;
  std::vector<std::int64_t> idx(axes.size(), 0);
  std::int64_t in_off = 0, out_off = 0;
  while (true) {
    f(in_off, out_off);
    std::size_t k = axes.size();
    while (true) {
      if (k == 0) return;
      --k;
      const auto a = axes[k];
      if (++idx[k] < shape[a]) {
        in_off += in_stride[a];
        out_off += out_stride[a];
        break;
      }
      in_off -= (shape[a] - 1) * in_stride[a];
      out_off -= (shape[a] - 1) * out_stride[a];
      idx[k] = 0;
    }
  }
}

template <class T>
void transpose_typed(const T* src, T* dst, const Shape& out_shape, const std::vector<std::int64_t>& in_stride,
                     const std::vector<std::int64_t>& out_stride) {
  const std::size_t rank = out_shape.size();
  const std::size_t last = rank - 1;
  if (in_stride[last] == 1) {  // rows stay contiguous
    std::vector<std::size_t> outer;
    for (std::size_t o = 0; o < last; ++o) outer.push_back(o);
    const auto row = static_cast<std::size_t>(out_shape[last]);
    for_each_offset(outer, out_shape, in_stride, out_stride,
                    [&](std::int64_t i, std::int64_t o) { std::memcpy(dst + o, src + i, row * sizeof(T)); });
    return;
  }
  // Output axis j is the input's innermost axis; tile it against the output's innermost axis.
  std::size_t j = 0;
  while (in_stride[j] != 1) ++j;
  std::vector<std::size_t> outer;
  for (std::size_t o = 0; o < last; ++o)
    if (o != j) outer.push_back(o);
  const std::int64_t nj = out_shape[j], nl = out_shape[last];
  const std::int64_t sj = out_stride[j], sl = in_stride[last];
  for_each_offset(outer, out_shape, in_stride, out_stride, [&](std::int64_t ib, std::int64_t ob) {
    for (std::int64_t j0 = 0; j0 < nj; j0 += kTile)
      for (std::int64_t l0 = 0; l0 < nl; l0 += kTile) {
        const std::int64_t j1 = std::min(nj, j0 + kTile), l1 = std::min(nl, l0 + kTile);
        for (std::int64_t x = j0; x < j1; ++x) {
          T* d = dst + ob + x * sj;
          const T* s = src + ib + x;
          for (std::int64_t y = l0; y < l1; ++y) d[y] = s[y * sl];
        }
      }
  });
}

Chunk run(const TaskContext& ctx) {
  const auto& p = ctx.params<Prepared>();
  const Chunk& in = *ctx.inputs[0].chunk;
  Chunk out = Chunk::allocate(ctx.out_dtype, ctx.shape());
  if (out.size() == 0) return out;
  if (out.rank() == 0) {
    std::memcpy(out.mutable_raw(), in.raw(), itemsize(ctx.out_dtype));
    return out;
  }
  // Input strides seen from the output's axes.
  const auto in_c = c_strides(in.shape());
  std::vector<std::int64_t> in_stride(p.perm.size());
  for (std::size_t o = 0; o < p.perm.size(); ++o) in_stride[o] = in_c[p.perm[o]];
  const auto out_stride = c_strides(out.shape());
  const auto* src = in.raw();
  void* dst = out.mutable_raw();
  switch (itemsize(ctx.out_dtype)) {
    case 1: transpose_typed(static_cast<const std::uint8_t*>(src), static_cast<std::uint8_t*>(dst), out.shape(), in_stride, out_stride); break;
    case 2: transpose_typed(static_cast<const std::uint16_t*>(src), static_cast<std::uint16_t*>(dst), out.shape(), in_stride, out_stride); break;
    case 4: transpose_typed(static_cast<const std::uint32_t*>(src), static_cast<std::uint32_t*>(dst), out.shape(), in_stride, out_stride); break;
    default: transpose_typed(static_cast<const std::uint64_t*>(src), static_cast<std::uint64_t*>(dst), out.shape(), in_stride, out_stride); break;
  }
  return out;
}

const OpRegistration kRegister{OpDef{"transpose", prepare, run}};

}  // namespace
}  // namespace cubist::kernels
