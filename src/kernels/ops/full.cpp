// Op "full": a chunk filled with one value (zeros, ones, full, and the constant chunks of any
// layer: a clip's chunks outside the polygon, a stack's chunks no footprint reaches, what folds
// from them). Chunks are read-only once made, so chunks of one shape share one filled buffer: the
// NDVI demo's 204 constant 8 MiB chunks cost one fill per shape instead of 1.6 GB of fills.
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
  // The chunks made most recently, one per shape (a layer's chunks have few shapes: interior and
  // edges). A few only, so memory held stays a few chunks whatever the grid.
  static constexpr std::size_t kKept = 2;
  mutable std::mutex mutex;
  mutable std::vector<Chunk> made;
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
  const Shape shape = ctx.shape();
  {
    std::lock_guard lock(p.mutex);
    for (const Chunk& c : p.made)
      if (c.shape() == shape) return c;
  }
  Chunk out = Chunk::allocate(ctx.out_dtype, shape);
  visit_dtype(ctx.out_dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T v = is_float(ctx.out_dtype) ? static_cast<T>(p.f) : static_cast<T>(p.i);
    auto values = out.mutable_values<T>();
    std::fill(values.begin(), values.end(), v);
  });
  std::lock_guard lock(p.mutex);
  if (p.made.size() == Prepared::kKept) p.made.erase(p.made.begin());
  p.made.push_back(out);
  return out;
}

const OpRegistration kRegister{OpDef{"full", prepare, run, false, same_params_window}};

}  // namespace
}  // namespace cubist::kernels
