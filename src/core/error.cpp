#include "cubist/error.hpp"

#include <fmt/format.h>

namespace cubist {

TaskError::TaskError(std::string layer_key, std::string op, std::string chunk_index, std::string cause)
    : Error(fmt::format("task {} (op '{}') at chunk {} failed: {}", layer_key, op, chunk_index, cause)),
      layer_key_(std::move(layer_key)),
      op_(std::move(op)),
      chunk_index_(std::move(chunk_index)),
      cause_(std::move(cause)) {}

}  // namespace cubist
