#include "ferry/server/scheduler/scheduler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>

#include "ferry/server/domain/invokers.hpp"
#include "ferry/server/domain/repeats.hpp"

namespace ferry::server {

ScheduleWatcher& no_schedule_watcher() {
  class Nothing final : public ScheduleWatcher {
   public:
    void schedules_changed() override {}
  };
  static Nothing nothing;
  return nothing;
}

Scheduler::Scheduler(SchedulerOptions options) : options_(options) {}

Scheduler::~Scheduler() {
  stop();
}

void Scheduler::start(ServerContext& ctx) {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) {
    return;
  }
  thread_ = std::thread([this, &ctx] { run(ctx); });
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
  }
}

void Scheduler::schedules_changed() {
  {
    std::lock_guard lock(mutex_);
    changed_ = true;
  }
  wake_.notify_all();
}

Expected<Scheduler::Pass> Scheduler::run_due(ServerContext& ctx, int64_t batch,
                                             int64_t running_since_ms) {
  Pass pass;
  // Rounds of `batch` due schedules until a round comes back short: invokers' slots, then
  // Cloud Assistant's Period invocations'. A slot that failed to fire stays due; it is left
  // for the next pass rather than read again in this one.
  const auto rounds = [&](const char* what, const auto& read_due, const auto& fire) -> Status {
    for (;;) {
      const int64_t now = ctx.clock.now_ms();
      auto due = read_due(now);
      if (!due) {
        return due.error();
      }
      const domain::SlotFirings firings = fire(*due);
      if (firings.failed > 0) {
        pass.failed = true;
        spdlog::warn("scheduler: {} due {} slots did not fire, the first because: {}",
                     firings.failed, what,
                     firings.first_error ? firings.first_error->message : "?");
      }
      spdlog::debug("scheduler: {} {} slots due by {}: {} fired here", due->size(), what, now,
                    firings.fired);
      pass.fired += firings.fired;
      if (static_cast<int64_t>(due->size()) < batch || firings.failed > 0) {
        return {};
      }
    }
  };
  if (auto s = rounds(
          "invoker", [&](int64_t now) { return ctx.store.due_invokers(now, batch); },
          [&](const std::vector<Invoker>& due) {
            return domain::fire_invoker_slots(ctx, due, running_since_ms);
          });
      !s) {
    return s.error();
  }
  if (auto s = rounds(
          "repeat", [&](int64_t now) { return ctx.store.due_repeat_invocations(now, batch); },
          [&](const std::vector<Invocation>& due) { return domain::fire_repeat_slots(ctx, due); });
      !s) {
    return s.error();
  }
  auto next_invoker = ctx.store.next_invoker_slot();
  if (!next_invoker) {
    return next_invoker.error();
  }
  auto next_repeat = ctx.store.next_repeat_slot();
  if (!next_repeat) {
    return next_repeat.error();
  }
  pass.next_slot_ms = *next_invoker;
  if (*next_repeat && (!pass.next_slot_ms || **next_repeat < *pass.next_slot_ms)) {
    pass.next_slot_ms = *next_repeat;
  }
  return pass;
}

void Scheduler::run(ServerContext& ctx) {
  const int64_t started_ms = ctx.clock.now_ms();
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    changed_ = false;
    lock.unlock();
    int64_t wait_ms = options_.max_sleep_ms;
    try {
      auto pass = run_due(ctx, options_.batch, started_ms);
      if (!pass) {
        spdlog::warn("scheduler: pass failed: {}", pass.error().message);
        wait_ms = options_.retry_ms;
      } else if (pass->next_slot_ms) {
        const int64_t until = *pass->next_slot_ms - ctx.clock.now_ms();
        if (until > 0) {
          wait_ms = std::min(until, options_.max_sleep_ms);
        } else {
          // Still due after the pass: slots that came due meanwhile (go on at once), or a slot
          // that would not fire (try again after retry_ms rather than spin).
          wait_ms = pass->failed || pass->fired == 0 ? options_.retry_ms : 0;
        }
      }
    } catch (const std::exception& e) {
      spdlog::error("scheduler: pass failed: {}", e.what());
      wait_ms = options_.retry_ms;
    }
    lock.lock();
    wake_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                   [this] { return stopping_ || changed_; });
  }
}

}  // namespace ferry::server
