// Op "arange": a 1-d chunk of start + step * i for the global index i (numpy.arange).
#include "kernels/op_registry.hpp"

namespace cubist::kernels {
namespace {

struct Prepared {
  double start = 0, step = 1;
};

std::shared_ptr<const void> prepare(const nlohmann::json& params, const OpSignature&) {
  auto p = std::make_shared<Prepared>();
  p->start = params.at("start").get<double>();
  p->step = params.at("step").get<double>();
  return p;
}

Chunk run(const TaskContext& ctx) {
  const auto& p = ctx.params<Prepared>();
  Chunk out = Chunk::allocate(ctx.out_dtype, ctx.shape());
  visit_dtype(ctx.out_dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto values = out.mutable_values<T>();
    const double base = static_cast<double>(ctx.out_offset[0]);
    for (std::size_t i = 0; i < values.size(); ++i)
      values[i] = static_cast<T>(p.start + p.step * (base + static_cast<double>(i)));
  });
  return out;
}

const OpRegistration kRegister{OpDef{"arange", prepare, run}};

}  // namespace
}  // namespace cubist::kernels
