// Op "random": uniform [0, 1) values from a counter-based generator keyed by (seed, global
// element index), so an array's values depend on its seed only, never on its chunking or on
// which thread computed a chunk.
#include <fmt/format.h>

#include "cubist/error.hpp"
#include "kernels/op_registry.hpp"
#include "kernels/strided.hpp"

namespace cubist::kernels {
namespace {

struct Prepared {
  std::uint64_t seed = 0;
  std::vector<std::int64_t> global_strides;
};

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::shared_ptr<const void> prepare(const nlohmann::json& params, const OpSignature& sig) {
  if (!is_float(sig.out_dtype))
    throw TypeError(fmt::format("random: dtype must be float32 or float64, got {}", dtype_name(sig.out_dtype)));
  auto p = std::make_shared<Prepared>();
  p->seed = splitmix64(params.at("seed").get<std::uint64_t>());
  p->global_strides = c_strides(sig.out_shape);
  return p;
}

template <class T> void fill(const Prepared& p, const TaskContext& ctx, T* out) {
  const std::size_t rank = ctx.out_shape.size();
  const std::int64_t inner = rank ? ctx.out_shape[rank - 1] : 1;
  const std::int64_t rows = inner ? shape_size(ctx.shape()) / inner : 0;
  std::vector<std::int64_t> idx(rank, 0);
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int64_t base = 0;
    for (std::size_t a = 0; a < rank; ++a) base += (ctx.out_offset[a] + idx[a]) * p.global_strides[a];
    for (std::int64_t i = 0; i < inner; ++i) {
      std::uint64_t bits = splitmix64(p.seed ^ static_cast<std::uint64_t>(base + i));
      // Top 53 (or 24) bits as a fraction in [0, 1), as numpy's random_sample does.
      if constexpr (sizeof(T) == 8) out[r * inner + i] = static_cast<T>(bits >> 11) * 0x1.0p-53;
      else out[r * inner + i] = static_cast<T>(bits >> 40) * 0x1.0p-24f;
    }
    for (std::size_t a = rank ? rank - 1 : 0; a-- > 0;) {  // next row: odometer over all but the last axis
      if (++idx[a] < ctx.out_shape[a]) break;
      idx[a] = 0;
    }
  }
}

Chunk run(const TaskContext& ctx) {
  const auto& p = ctx.params<Prepared>();
  Chunk out = Chunk::allocate(ctx.out_dtype, ctx.shape());
  if (ctx.out_dtype == DType::Float32) fill(p, ctx, out.mutable_values<float>().data());
  else fill(p, ctx, out.mutable_values<double>().data());
  return out;
}

const OpRegistration kRegister{OpDef{"random", prepare, run}};

}  // namespace
}  // namespace cubist::kernels
