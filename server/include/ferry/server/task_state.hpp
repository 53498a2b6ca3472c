// The one place that says which task status may follow which, and how an invocation's status
// is aggregated from its tasks. Every writer of a task status goes through can_transition, so a
// late or repeated report never moves a task backwards or out of a final state.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "ferry/core/task.hpp"
#include "ferry/server/model.hpp"

namespace ferry::server {

// SUCCESS, FAILED, TIMEOUT, TASK_TIMEOUT, START_FAILED, DELIVER_FAILED, CANCELLED, TERMINATED.
using ferry::is_final;

// Allowed moves:
//   PENDING         -> DELIVERING, DELIVER_DELAYED, DELIVER_FAILED, CANCELLED
//   DELIVER_DELAYED -> DELIVERING, DELIVER_FAILED, CANCELLED, PENDING
//   DELIVERING      -> RUNNING, START_FAILED, DELIVER_DELAYED, DELIVER_FAILED, CANCELLING,
//                      CANCELLED, and the agent's final results (a fast task may finish before
//                      its start report arrives)
//   RUNNING         -> the agent's final results, CANCELLING, TASK_TIMEOUT
//   CANCELLING      -> TERMINATED, CANCELLED, and the agent's final results (the task ended on
//                      its own first), TASK_TIMEOUT
// Nothing leaves a final status; a status never "moves" to itself.
bool can_transition(TaskStatus from, TaskStatus to);

// The agent's own final results: SUCCESS, FAILED, TIMEOUT, TERMINATED, START_FAILED, CANCELLED.
bool is_agent_result(TaskStatus s);

// InvocationStatus from the tasks' statuses: PENDING while none started, RUNNING while any is
// not final, CANCELLING while a cancel is under way; once all are final: SUCCESS (all
// succeeded), CANCELLED (all cancelled/terminated), TIMEOUT (all timed out), FAILED (none
// succeeded), PARTIAL_CANCELLED (some cancelled, others succeeded), PARTIAL_FAILED (some
// failed or timed out, others succeeded).
std::string_view aggregate_invocation_status(const std::vector<TaskStatus>& tasks);

// The moves the agents' reports and the users' cancels make, each to run inside the store's
// read-modify-write of the task (Store::modify_task), so that it decides on the task as stored.

// Moves `task` to `to` when can_transition allows it, directly or through DELIVERING (an agent
// reporting on a task the server had put back to PENDING / DELIVER_DELAYED while the agent
// was away evidently holds it). Returns false, leaving the task untouched, otherwise.
bool advance_task(InvocationTask& task, TaskStatus to);

// A user's cancel of one task: one not yet delivered is CANCELLED; one delivered or running goes
// CANCELLING, and its agent must be told; one CANCELLING already is left as it is, but its agent
// is told again in case the first message was lost.
struct CancelMove {
  bool changed = false;  // the task was moved (Store::modify_task's `mutate` result)
  bool live = false;     // the task was not final
  bool notify = false;   // tell the task's agent
};
CancelMove cancel_task(InvocationTask& task, int64_t now_ms);

}  // namespace ferry::server
