// The sweeper: a background thread that moves tasks nobody else will move (docs/protocol.md,
// "Sweeper rules"). Every change goes through store.modify_task and can_transition, so it
// races safely with agent reports and API calls: whoever commits first wins, the other finds
// the transition no longer allowed and changes nothing.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

#include "ferry/core/error.hpp"
#include "ferry/server/clock.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/store/store.hpp"

namespace ferry::server {

struct SweeperOptions {
  int64_t interval_ms = 1000;
  // PENDING / DELIVER_DELAYED this long after creation: DELIVER_FAILED.
  int64_t deliver_timeout_ms = 3'600'000;
  // DELIVERING / RUNNING / CANCELLING this long past the hand-over (or start) plus the task's
  // own Timeout: the agent stopped answering.
  int64_t task_timeout_grace_ms = 60'000;
  // Rows read per store query while collecting candidates.
  int64_t page_size = 500;
};

struct SweepCounts {
  std::size_t delayed = 0;         // PENDING / DELIVERING -> DELIVER_DELAYED
  std::size_t resumed = 0;         // DELIVER_DELAYED -> PENDING (and kicked)
  std::size_t deliver_failed = 0;  // -> DELIVER_FAILED
  std::size_t timed_out = 0;       // -> TASK_TIMEOUT
};

class Sweeper {
 public:
  Sweeper(Store& store, const Clock& clock, AgentPresence& presence, AgentNotifier& notifier,
          SweeperOptions options = {});
  Sweeper(const Sweeper&) = delete;
  Sweeper& operator=(const Sweeper&) = delete;
  ~Sweeper();  // stop()

  // Starts the thread (once); it sweeps every interval_ms until stop().
  void start();
  // Wakes the thread and joins it; returns within one pass. Idempotent.
  void stop();

  // One pass over the unfinished tasks, on the caller's thread (the tests drive it directly).
  Expected<SweepCounts> sweep_once();

 private:
  void run();

  Store& store_;
  const Clock& clock_;
  AgentPresence& presence_;
  AgentNotifier& notifier_;
  SweeperOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ferry::server
