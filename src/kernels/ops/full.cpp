// Op "full": a chunk filled with one value (zeros, ones, full).
#include <fmt/format.h>

#include "cubist/error.hpp"
#include "kernels/op_registry.hpp"

namespace cubist::kernels {
namespace {

struct Prepared {
  double f = 0;
  std::int64_t i = 0;
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
  Chunk out = Chunk::allocate(ctx.out_dtype, ctx.shape());
  visit_dtype(ctx.out_dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T v = is_float(ctx.out_dtype) ? static_cast<T>(p.f) : static_cast<T>(p.i);
    auto values = out.mutable_values<T>();
    std::fill(values.begin(), values.end(), v);
  });
  return out;
}

const OpRegistration kRegister{OpDef{"full", prepare, run, false, same_params_window}};

}  // namespace
}  // namespace cubist::kernels
