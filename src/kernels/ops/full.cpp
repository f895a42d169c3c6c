// Op "full": a chunk filled with one value (zeros, ones, full, and the constant chunks of any
// layer: a clip's chunks outside the polygon, a stack's chunks no footprint reaches, what folds
// from them). Chunks are read-only once made, so every chunk of a layer is a view of one filled
// buffer, the largest the layer has needed (all its elements hold the value, so any shape of at
// most that many elements reads a prefix of it): the NDVI demo's constant 8 MiB chunks cost one
// fill per layer instead of 1.6 GB of fills. (Keeping the last two shapes instead refilled fresh
// pages whenever a clipped grid's edge chunks of up to nine shapes came in turn.)
#include <fmt/format.h>
#include <mutex>
#include <vector>

#include "cubist/error.hpp"
#include "kernels/op_registry.hpp"

namespace cubist::kernels {
namespace {

struct Prepared {
  double f = 0;
  std::int64_t i = 0;
  mutable std::mutex mutex;
  mutable std::shared_ptr<const Chunk> filled;  // one flat buffer holding the value
};

std::shared_ptr<const void> prepare(const nlohmann::json& params, const OpSignature& sig) {
  auto p = std::make_shared<Prepared>();
  const auto& v = params.at("value");
  if (!v.is_number() && !v.is_boolean()) throw ValueError(fmt::format("full: value must be a number, got {}", v.dump()));
  if (v.is_boolean()) p->i = v.get<bool>();
  else if (is_float(sig.out_dtype)) p->f = v.get<double>();
  else p->i = v.is_number_float() ? static_cast<std::int64_t>(v.get<double>()) : v.get<std::int64_t>();
  return p;
}

Chunk run(const TaskContext& ctx) {
  const auto& p = ctx.params<Prepared>();
  Shape shape = ctx.shape();
  const std::int64_t n = shape_size(shape);
  std::shared_ptr<const Chunk> filled;
  {
    std::lock_guard lock(p.mutex);
    filled = p.filled;
  }
  if (!filled || filled->dtype() != ctx.out_dtype || filled->size() < n) {
    Chunk flat = Chunk::allocate(ctx.out_dtype, Shape{n});
    visit_dtype(ctx.out_dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      T v = is_float(ctx.out_dtype) ? static_cast<T>(p.f) : static_cast<T>(p.i);
      auto values = flat.mutable_values<T>();
      std::fill(values.begin(), values.end(), v);
    });
    filled = std::make_shared<const Chunk>(std::move(flat));
    std::lock_guard lock(p.mutex);
    if (!p.filled || p.filled->dtype() != ctx.out_dtype || p.filled->size() < n) p.filled = filled;
  }
  if (n == 0) return Chunk::allocate(ctx.out_dtype, std::move(shape));
  return Chunk::wrap(ctx.out_dtype, std::move(shape), filled, filled->raw());
}

const OpRegistration kRegister{OpDef{"full", prepare, run, false, same_params_window}};

}  // namespace
}  // namespace cubist::kernels
