#include "ferry/server/task_state.hpp"

#include <algorithm>

namespace ferry::server {

bool is_agent_result(TaskStatus s) {
  // The server's own verdicts are the final statuses no agent reports.
  return is_final(s) && s != TaskStatus::kTaskTimeout && s != TaskStatus::kDeliverFailed;
}

bool can_transition(TaskStatus from, TaskStatus to) {
  using S = TaskStatus;
  if (from == to || is_final(from)) {
    return false;
  }
  switch (from) {
    case S::kPending:
      return to == S::kDelivering || to == S::kDeliverDelayed || to == S::kDeliverFailed ||
             to == S::kCancelled;
    case S::kDeliverDelayed:
      return to == S::kDelivering || to == S::kDeliverFailed || to == S::kCancelled ||
             to == S::kPending;
    case S::kDelivering:
      return to == S::kRunning || to == S::kDeliverDelayed || to == S::kDeliverFailed ||
             to == S::kCancelling || is_agent_result(to);
    case S::kRunning:
      return (is_agent_result(to) && to != S::kCancelled) || to == S::kCancelling ||
             to == S::kTaskTimeout;
    case S::kCancelling:
      return is_agent_result(to) || to == S::kTaskTimeout;
    default:
      return false;
  }
}

std::string_view aggregate_invocation_status(const std::vector<TaskStatus>& tasks) {
  using S = TaskStatus;
  if (tasks.empty()) {
    return "PENDING";
  }
  const auto count = [&](auto pred) {
    return static_cast<std::size_t>(std::count_if(tasks.begin(), tasks.end(), pred));
  };
  if (count([](S s) { return !is_final(s); }) > 0) {
    if (count([](S s) { return s == S::kCancelling; }) > 0) {
      return "CANCELLING";
    }
    const bool none_started =
        count([](S s) {
          return s == S::kPending || s == S::kDeliverDelayed || s == S::kDelivering;
        }) == tasks.size();
    return none_started ? "PENDING" : "RUNNING";
  }
  const std::size_t n = tasks.size();
  const std::size_t ok = count([](S s) { return s == S::kSuccess; });
  const std::size_t cancelled =
      count([](S s) { return s == S::kCancelled || s == S::kTerminated; });
  const std::size_t timed_out = count([](S s) { return s == S::kTimeout || s == S::kTaskTimeout; });
  if (ok == n) {
    return "SUCCESS";
  }
  if (cancelled == n) {
    return "CANCELLED";
  }
  if (timed_out == n) {
    return "TIMEOUT";
  }
  if (ok == 0 && cancelled == 0) {
    return "FAILED";
  }
  if (cancelled > 0 && cancelled + ok == n) {
    return "PARTIAL_CANCELLED";
  }
  if (ok == 0) {
    return cancelled > 0 ? "PARTIAL_CANCELLED" : "FAILED";
  }
  return "PARTIAL_FAILED";
}

bool advance_task(InvocationTask& task, TaskStatus to) {
  if (can_transition(task.status, to)) {
    task.status = to;
    return true;
  }
  const bool undelivered =
      task.status == TaskStatus::kPending || task.status == TaskStatus::kDeliverDelayed;
  if (undelivered && can_transition(task.status, TaskStatus::kDelivering) &&
      can_transition(TaskStatus::kDelivering, to)) {
    task.status = to;
    return true;
  }
  return false;
}

CancelMove cancel_task(InvocationTask& t, int64_t now_ms) {
  CancelMove move;
  move.live = !is_final(t.status);
  const bool undelivered =
      t.status == TaskStatus::kPending || t.status == TaskStatus::kDeliverDelayed;
  if (undelivered && can_transition(t.status, TaskStatus::kCancelled)) {
    t.status = TaskStatus::kCancelled;
    t.end_ms = now_ms;
  } else if ((t.status == TaskStatus::kDelivering || t.status == TaskStatus::kRunning) &&
             can_transition(t.status, TaskStatus::kCancelling)) {
    t.status = TaskStatus::kCancelling;
    move.notify = true;
  } else {
    move.notify = t.status == TaskStatus::kCancelling;
    return move;
  }
  t.cancel_requested = true;
  t.updated_ms = now_ms;
  move.changed = true;
  return move;
}

}  // namespace ferry::server
