// `cubist worker`: the I/O shell around WorkerState. A DEALER to the scheduler, a ROUTER data
// server that hands this worker's results to peers and clients (hello with the cluster token
// first), DEALERs to the peers it fetches inputs from, and a ThreadPool running units with the
// local runtime's UnitRunner. Completions come back to the I/O thread through an eventfd.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace cubist::runtime::distributed {

struct WorkerOptions {
  std::string scheduler;                     // "tcp://host:port"
  std::string token;                         // required
  std::string listen = "tcp://127.0.0.1:0";  // the data server; port 0 or *: any free port
  std::string name;                          // default: host:pid
  unsigned threads = 0;                      // 0: CUBIST_NUM_THREADS or one per core
  std::chrono::milliseconds heartbeat{1000};
  // The scheduler answers every heartbeat: silent this long, it is taken as gone and run() throws.
  std::chrono::milliseconds scheduler_timeout{30000};
  std::chrono::milliseconds connect_timeout{10000};  // no welcome from the scheduler: IOError
  std::chrono::milliseconds fetch_timeout{60000};    // a peer silent this long fails the fetch
  bool log = true;
};

struct WorkerStats {
  std::int64_t units = 0, bytes_fetched = 0, bytes_served = 0;
};

class Worker {
 public:
  explicit Worker(WorkerOptions options);  // binds the data server; IOError naming the address
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  const std::string& data_address() const;
  // Registers with the scheduler (IOError when it refuses, e.g. a wrong token, or does not
  // answer within connect_timeout), then works until `stop` becomes true; says goodbye.
  void run(const std::atomic<bool>& stop);
  WorkerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cubist::runtime::distributed
