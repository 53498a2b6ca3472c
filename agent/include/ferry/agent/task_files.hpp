// The formats of a task directory (agent_paths.hpp) that the agent's processes hand to each
// other, and the results built from them. The runner writes task.json; the supervisor writes
// state.json and the spool (output.log); the runner, the daemon's recovery and its re-attach
// read them. An upgraded agent reads what an older one's supervisor wrote, so the formats only
// ever grow.
//
// state.json, replaced atomically by the supervisor:
//   {"Phase": "running", "SupervisorPid", "MainPid", "BootId", "ExecStartTime"}  once the
//       program runs; not synced
//   {"Phase": "finished", "SupervisorPid", "BootId", "Result": TaskResult}       at its end;
//       synced, or written in place over reserved blocks on a full disk
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/core/error.hpp"
#include "ferry/core/output_excerpt.hpp"
#include "ferry/core/task.hpp"

namespace ferry::agent {

// ---- task.json ------------------------------------------------------------------------------

// Creates task.json (never replaces one).
Status write_task_file(const TaskPaths& paths, const Task& task);
Expected<Task> read_task_file(const TaskPaths& paths);

// ---- state.json -----------------------------------------------------------------------------

struct RunningState {
  int main_pid = 0;
  std::string boot_id;
  std::string exec_start_time;  // RFC 3339
};

// The running state, stamped with this process (the supervisor) as SupervisorPid; then the
// blocks the final state will need are reserved, so that a full disk cannot lose it.
Status write_running_state(const TaskPaths& paths, const RunningState& state);

// The final state, stamped with this process and the boot. When no temp file fits (disk full),
// `on_in_place` hears why and the state goes over the reserved blocks in place.
Status write_final_state(const TaskPaths& paths, const TaskResult& result,
                         const std::function<void(const Error&)>& on_in_place = {});

struct SupervisorState {
  bool finished = false;
  std::string boot_id;               // "" when absent
  std::optional<TaskResult> result;  // the final state's Result, when it parses
};

// nullopt when state.json is missing, unreadable or not a JSON object.
std::optional<SupervisorState> read_supervisor_state(const TaskPaths& paths);

// The result the supervisor recorded, once it has.
std::optional<TaskResult> read_final_result(const TaskPaths& paths);

// ---- the spool ------------------------------------------------------------------------------

// `length` bytes of output.log from `offset` (fewer at its end).
Expected<std::string> read_spool(const TaskPaths& paths, std::uint64_t offset, std::size_t length);

// The TaskResult excerpt of a spool of `size` bytes, read from its two ends so that memory stays
// bounded; nullopt when it cannot be read.
std::optional<OutputExcerpt> read_spool_excerpt(const std::filesystem::path& spool,
                                                std::uint64_t size);
// The same for an output larger than its spool (task_output_max_bytes): the spool holds its first
// `spooled` bytes, `past_spool` its last ones (SuperviseOutcome::output_tail), `total` is its size.
std::optional<OutputExcerpt> read_spool_excerpt(const std::filesystem::path& spool,
                                                std::uint64_t spooled, std::uint64_t total,
                                                std::string_view past_spool);

// ---- results --------------------------------------------------------------------------------

// How an Error reads in ErrorInfo: "Code: message", or the message alone without a code.
std::string error_text(const Error& error);

// A result for a task that never ran (refused, cancelled before it started, failed to start):
// the status, why, and when it was settled ("" to leave ExecEndTime empty).
TaskResult unrun_result(const std::string& task_id, TaskStatus status, std::string why,
                        std::string end_time = {});

// FAILED, ended by `end_time`, for a task whose supervisor did not record a result: the output
// is what the spool holds.
TaskResult interrupted_result(const std::string& task_id, const TaskPaths& paths,
                              std::string start_time, std::string why, std::string end_time);

// The supervisor's recorded result; else FAILED naming its exit status and its log.
TaskResult result_after_exit(const std::string& task_id, const TaskPaths& paths, int exit_code);

}  // namespace ferry::agent
