// The client side of the distributed runtime: compute layers on a cluster started with
// `cubist scheduler` and `cubist worker` instead of the in-process thread pool.
#pragma once
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "graph/layer.hpp"
#include "graph/task_graph.hpp"
#include "runtime/local_scheduler.hpp"

namespace cubist::runtime::distributed {

struct RemoteOptions {
  std::string address;  // "tcp://host:port" of `cubist scheduler`
  std::string token;    // empty: $CUBIST_TOKEN, else the token file `cubist scheduler` wrote
  std::function<void(const Progress&)> on_progress;  // called from the caller's thread
  std::chrono::milliseconds progress_interval{200};
  std::chrono::milliseconds connect_timeout{10000};  // no answer from the scheduler: IOError naming it
};

// Same contract as runtime::execute(): every output chunk, per output, by linear chunk index;
// the first failing task's error rethrown as cubist::TaskError naming layer, op and chunk; stats
// filled. `outputs` are sent as they are (optimise them first); the scheduler and every worker
// build the same TaskGraph from them with `graph_options`.
std::vector<std::vector<Chunk>> execute_remote(const std::vector<graph::LayerPtr>& outputs,
                                               const graph::TaskGraphOptions& graph_options,
                                               const RemoteOptions& options, ExecuteStats* stats = nullptr);

}  // namespace cubist::runtime::distributed
