// What DescribeInvocations and DescribeInvocationTasks show: invocations with their tasks and
// the status aggregated from them, and pages of tasks with the live output of running ones.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/model.hpp"
#include "ferry/server/store/store.hpp"

namespace ferry::server::domain {

// An invocation as listed: its tasks (by instance id) and what they add up to.
struct InvocationSummary {
  Invocation invocation;
  std::vector<InvocationTask> tasks;
  std::string_view status;  // InvocationStatus (aggregate_invocation_status)
  int64_t start_ms = 0;     // the first task's start; 0 while none started
  int64_t end_ms = 0;       // the last task's end, once every task is final; else 0
  int64_t updated_ms = 0;   // the latest change of the invocation or a task
};

// InvocationIds: at most 100, each inv-xxxxxxxx. InvalidParameterValue.InvalidInvocationId.
Status check_invocation_ids(const std::vector<std::string>& ids);
// InvocationTaskIds: at most 100, each invt-xxxxxxxx.
// InvalidParameterValue.InvalidInvocationTaskId.
Status check_task_ids(const std::vector<std::string>& ids);

// A page of invocations, newest first.
Expected<Page<InvocationSummary>> describe_invocations(ServerContext& ctx,
                                                       const InvocationQuery& query);

// A task as listed: `live_log` is the output its agent streamed so far, for a task still
// running whose output was asked for (nullopt: the stored result is what to show).
struct TaskView {
  InvocationTask task;
  std::optional<std::string> live_log;
};
// A page of tasks (with their output unless query.with_output is false).
Expected<Page<TaskView>> describe_tasks(ServerContext& ctx, const TaskQuery& query);

// Every task of the invocations `ids`, without output (an invocation has at most
// max_run_instances tasks, but a page of invocations may hold many).
Expected<std::vector<InvocationTask>> invocation_tasks(Store& store,
                                                       const std::vector<std::string>& ids);

}  // namespace ferry::server::domain
