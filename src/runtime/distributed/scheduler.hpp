// `cubist scheduler`: the I/O shell around SchedulerState. One ROUTER socket for workers and
// clients; every peer's first message must be hello with the cluster token; every message is
// validated, and a bad one is answered with one "error" line, never a crash.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace cubist::runtime::distributed {

struct SchedulerOptions {
  std::string listen = "tcp://127.0.0.1:0";  // port 0 or *: any free port
  std::string token;                         // required
  // A worker or client silent this long (they send heartbeats every second) is taken as gone.
  std::chrono::milliseconds peer_timeout{10000};
  bool log = true;  // one line on stderr per worker joining or leaving and per refused peer
};

struct SchedulerStats {
  std::size_t jobs = 0, workers = 0;
  std::int64_t bytes_between_workers = 0;  // input bytes workers were told to fetch from peers
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options);  // binds; IOError naming the address
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  const std::string& address() const;  // the bound "tcp://host:port"
  // Serves until `stop` becomes true (checked every 100 ms).
  void run(const std::atomic<bool>& stop);
  SchedulerStats stats() const;  // after run() returned, or from run()'s thread

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cubist::runtime::distributed
