// A distributed-runtime node (dist::Scheduler or dist::Worker) running on a thread of the test
// process until stopped; what its run() threw is kept in `error`.
#pragma once
#include <atomic>
#include <exception>
#include <memory>
#include <string>
#include <thread>

namespace cubist::test_support {

template <class Node>
struct RunningNode {
  std::unique_ptr<Node> node;
  std::atomic<bool> stop{false};
  std::thread thread;
  std::string error;
  std::atomic<bool> finished{false};
  explicit RunningNode(std::unique_ptr<Node> n) : node(std::move(n)) {
    thread = std::thread([this] {
      try {
        node->run(stop);
      } catch (const std::exception& e) {
        error = e.what();
      }
      finished = true;
    });
  }
  RunningNode(const RunningNode&) = delete;
  RunningNode& operator=(const RunningNode&) = delete;
  ~RunningNode() { halt(); }
  void halt() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
};

}  // namespace cubist::test_support
