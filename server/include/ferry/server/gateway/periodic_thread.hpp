// A background thread that runs one pass every interval until stopped: the sweeper's passes and
// the push hub's presence refresh. A pass that fails (or throws) is logged, at warn (error),
// as "<name>: pass failed: <message>", and the next one still runs: one bad pass (out of memory,
// say) must not end the work for good.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "ferry/core/error.hpp"

namespace ferry::server {

class PeriodicThread {
 public:
  PeriodicThread(std::string name, std::chrono::milliseconds interval,
                 std::function<Status()> pass);
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;
  ~PeriodicThread();  // stop()

  // Starts the thread, whose first pass runs at once. Only the first call does anything, and
  // none after stop().
  void start();
  // Wakes the thread and joins it; returns within one pass. Idempotent.
  void stop();

 private:
  void run();

  std::string name_;
  std::chrono::milliseconds interval_;
  std::function<Status()> pass_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ferry::server
