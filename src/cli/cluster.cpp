// `cubist scheduler` and `cubist worker`: a cluster of processes for `cubist run --scheduler` and
// ComputeOptions::scheduler (runtime/distributed/). Both stop cleanly on Ctrl-C / SIGTERM.
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>

#include "cli/commands.hpp"
#include "cubist/error.hpp"
#include "runtime/distributed/auth.hpp"
#include "runtime/distributed/scheduler.hpp"
#include "runtime/distributed/worker.hpp"

namespace cubist::cli {
namespace {

namespace dist = runtime::distributed;

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);  // set from a signal handler

void on_signal(int) { g_stop = true; }

void install_signal_handlers() {
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

struct ClusterCommands {
  CLI::App* scheduler = nullptr;
  CLI::App* worker = nullptr;
  std::string listen_scheduler = "tcp://127.0.0.1:0", token_file, address_file;
  std::string scheduler_address, listen_worker = "tcp://127.0.0.1:0", worker_token_file, name;
  unsigned threads = 0;
  double peer_timeout = 10;
};

ClusterCommands& commands() {
  static ClusterCommands c;
  return c;
}

// Written under a temporary name and renamed, so a script polling for it never reads half of it.
void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text << '\n';
    if (!out) throw IOError(fmt::format("{}: cannot write it", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw IOError(fmt::format("{}: {}", path, ec.message()));
}

int run_scheduler(const ClusterCommands& c) {
  std::string token;
  std::string token_path = c.token_file.empty() ? dist::default_token_path() : c.token_file;
  if (!c.token_file.empty() && std::filesystem::exists(c.token_file)) {
    token = dist::read_token_file(c.token_file);
  } else {
    token = dist::generate_token();
    dist::write_token_file(token_path, token);
  }
  dist::SchedulerOptions o;
  o.listen = c.listen_scheduler;
  o.token = token;
  o.peer_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(c.peer_timeout * 1000));
  dist::Scheduler scheduler(std::move(o));
  std::printf("cubist scheduler listening on %s\ntoken file: %s (workers and clients: --token-file or $CUBIST_TOKEN)\n",
              scheduler.address().c_str(), token_path.c_str());
  std::fflush(stdout);
  if (!c.address_file.empty()) write_file_atomically(c.address_file, scheduler.address());
  install_signal_handlers();
  scheduler.run(g_stop);
  const auto s = scheduler.stats();
  std::printf("cubist scheduler stopped (%zu jobs, %zu workers joined, %lld bytes moved between workers)\n", s.jobs,
              s.workers, static_cast<long long>(s.bytes_between_workers));
  return 0;
}

int run_worker(const ClusterCommands& c) {
  dist::WorkerOptions o;
  o.scheduler = c.scheduler_address;
  o.token = dist::resolve_token("", c.worker_token_file);
  o.listen = c.listen_worker;
  o.name = c.name;
  o.threads = c.threads;
  dist::Worker worker(std::move(o));
  install_signal_handlers();
  worker.run(g_stop);
  const auto s = worker.stats();
  std::fprintf(stderr, "cubist worker: %lld units run, %lld bytes fetched from peers, %lld bytes served\n",
               static_cast<long long>(s.units), static_cast<long long>(s.bytes_fetched),
               static_cast<long long>(s.bytes_served));
  return 0;
}

}  // namespace

void add_cluster_commands(CLI::App& app) {
  auto& c = commands();
  c.scheduler = app.add_subcommand("scheduler", "run the scheduler of a cubist cluster (workers and clients connect to it)");
  c.scheduler->add_option("--listen", c.listen_scheduler, "tcp://HOST:PORT to bind (port 0 or *: any free port)")
      ->capture_default_str();
  c.scheduler->add_option("--token-file", c.token_file,
                          "the cluster token: read when the file exists, else a new random one is written there "
                          "(mode 0600; default $XDG_RUNTIME_DIR/cubist/token or ~/.config/cubist/token)");
  c.scheduler->add_option("--address-file", c.address_file, "also write the bound address to this file");
  c.scheduler->add_option("--peer-timeout", c.peer_timeout,
                          "seconds without a message (heartbeats come every second) after which a worker or client is "
                          "taken as lost; a lost worker fails the jobs that needed it")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
  c.worker = app.add_subcommand("worker", "run a worker of a cubist cluster");
  c.worker->add_option("scheduler", c.scheduler_address, "the scheduler's address, tcp://HOST:PORT")->required();
  c.worker->add_option("--threads", c.threads, "threads running units (0: one per core)")->check(CLI::NonNegativeNumber);
  c.worker->add_option("--listen", c.listen_worker,
                       "tcp://HOST:PORT of the data server peers fetch results from (HOST must be reachable by them)")
      ->capture_default_str();
  c.worker->add_option("--token-file", c.worker_token_file,
                       "the cluster token file (default: $CUBIST_TOKEN, else the scheduler's default token file)");
  c.worker->add_option("--name", c.name, "a name in logs and errors (default HOST:PID)");
}

int run_cluster_commands() {
  auto& c = commands();
  if (c.scheduler && *c.scheduler) return run_scheduler(c);
  if (c.worker && *c.worker) return run_worker(c);
  return -1;
}

}  // namespace cubist::cli
