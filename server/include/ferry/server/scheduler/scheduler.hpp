// The scheduler: fires the due slots of every schedule in the store (invokers, and Cloud
// Assistant's Period invocations), on time to the second. It
// sleeps until the earliest next slot (no polling tick), and wakes early when told that a
// schedule changed (ScheduleWatcher), or after max_sleep to see what other servers on the same
// store changed. Several servers may run one each: Store::fire_invokers and
// Store::fire_repeats let one server fire each slot.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>

#include "ferry/core/error.hpp"
#include "ferry/server/domain/context.hpp"

namespace ferry::server {

struct SchedulerOptions {
  int64_t max_sleep_ms = 60'000;  // the longest sleep, for changes made by other servers
  int64_t retry_ms = 1'000;       // the wait before a slot that failed to fire is tried again
  int64_t batch = 100;            // due invokers (or invocations) read from the store at a time
};

class Scheduler final : public ScheduleWatcher {
 public:
  explicit Scheduler(SchedulerOptions options = {});
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  ~Scheduler() override;  // stop()

  // Starts the thread on `ctx` (whose `schedules` should be this scheduler). Once.
  void start(ServerContext& ctx);
  // Wakes the thread and joins it. Idempotent.
  void stop();
  void schedules_changed() override;

  // One pass at ctx.clock's now: fires every due slot. Returns the earliest slot still ahead
  // (nullopt when none), and whether a due slot failed to fire (a store error: retried later).
  // The thread's work, callable from tests with a fake clock.
  struct Pass {
    std::optional<int64_t> next_slot_ms;
    int fired = 0;
    bool failed = false;
  };
  // `running_since_ms`: when the scheduler started, for the records' Reason (a slot due before
  // it was missed while no server ran); 0 when unknown.
  static Expected<Pass> run_due(ServerContext& ctx, int64_t batch = 100,
                                int64_t running_since_ms = 0);

 private:
  void run(ServerContext& ctx);

  SchedulerOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool changed_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ferry::server
