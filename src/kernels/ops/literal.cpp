// Op "literal": chunks of in-memory data (a user's buffer, a persisted or computed array).
#include <fmt/format.h>

#include "cubist/error.hpp"
#include "kernels/op_registry.hpp"

namespace cubist::kernels {
namespace {

struct Prepared {
  std::shared_ptr<const std::vector<Chunk>> chunks;
};

std::shared_ptr<const void> prepare(const nlohmann::json&, const OpSignature& sig) {
  if (!sig.literal) throw Error("literal layer without data");
  return std::make_shared<Prepared>(Prepared{sig.literal});
}

Chunk run(const TaskContext& ctx) {
  const auto& chunks = *ctx.params<Prepared>().chunks;
  if (ctx.linear_chunk < 0 || static_cast<std::size_t>(ctx.linear_chunk) >= chunks.size())
    throw Error(fmt::format("literal chunk {} out of range ({} chunks)", ctx.linear_chunk, chunks.size()));
  return chunks[static_cast<std::size_t>(ctx.linear_chunk)];
}

const OpRegistration kRegister{OpDef{"literal", prepare, run}};

}  // namespace
}  // namespace cubist::kernels
