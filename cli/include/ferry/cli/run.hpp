// `ferry run`: RunCommand, then DescribeInvocationTasks about every half second until every task
// is final, printing each task's new output as it comes (output_follow.hpp) and a status line
// when a task's status changes. The exit code is the remote one with one instance, else 0 only
// when every task succeeded.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/cli/api.hpp"
#include "ferry/cli/console.hpp"
#include "ferry/core/error.hpp"

namespace ferry::cli {

struct RunOptions {
  std::vector<std::string> instances;
  std::string content;  // the script itself (ferry encodes it)
  std::string command_type = "SHELL";
  std::optional<std::string> username;
  std::optional<std::string> working_directory;
  std::optional<std::int64_t> timeout;
  std::vector<std::string> params;  // NAME=VALUE; any of them turns EnableParameter on
  // Cloud Assistant run settings (acs_run.hpp): any of them sends the run through the Cloud
  // Assistant API's RunCommand instead of TAT's.
  std::optional<std::string> repeat_mode;       // Once, Period, NextRebootOnly, EveryReboot
  std::optional<std::string> frequency;         // rate(...), at(...) or Quartz cron: Period
  std::optional<std::string> launcher;          // a command line that starts the script
  std::optional<std::string> termination_mode;  // Process or ProcessTree
  std::optional<std::string> container;         // a ContainerId or a ContainerName
  bool follow = false;   // a schedule: wait for its next run and follow that run
  bool no_wait = false;  // print the InvocationId and return
  bool json = false;     // no live output; the final tasks as JSON
  bool cancel_on_interrupt = false;
  std::chrono::milliseconds poll_interval{500};
  // How long polling may fail in a row (server unreachable, InternalError) before giving up.
  std::chrono::milliseconds retry_limit{30'000};
};

// What the loop needs from the process, faked in tests.
struct RunHooks {
  // Waits about `d`; may return early once interrupts() has grown.
  std::function<void(std::chrono::milliseconds d)> sleep;
  // How many times the user pressed Ctrl-C so far.
  std::function<int()> interrupts;
  // Monotonic time, for the retry limit.
  std::function<std::chrono::steady_clock::time_point()> now;
};

// Exit code of one final task: 0 for SUCCESS; the remote exit code of a FAILED task when it is
// 1..255; otherwise 1 (TIMEOUT, TERMINATED, START_FAILED, ... or an exit code a shell cannot
// return).
int task_exit_code(std::string_view status, std::optional<std::int64_t> exit_code);

bool is_final_status(std::string_view status);

// The status line of a task: "ID STATUS", "ID SUCCESS exit 0", "ID START_FAILED: why".
std::string status_line(std::string_view instance, std::string_view status,
                        std::optional<std::int64_t> exit_code, std::string_view error_info);

// Whether `options` has a setting only the Cloud Assistant API takes.
bool uses_cloud_assistant(const RunOptions& options);

// RunCommand's parameters for `options` (no I/O; the params checked). Errors: what is missing
// or malformed, and any Cloud Assistant setting (acs_run_command_params takes those).
Expected<nlohmann::json> run_command_params(const RunOptions& options);

// Returns ferry's exit code; an Error when RunCommand is refused or following fails for good.
// Exit code 130 when interrupted (Ctrl-C) without --cancel-on-interrupt, after saying how to
// cancel.
Expected<int> run_command(Api& api, const RunOptions& options, Console& console,
                          const RunHooks& hooks);

// An invocation that was started, to follow through DescribeInvocationTasks.
struct StartedRun {
  std::string invocation_id;
  std::string command_id;
  // A repeating one: it may have no task yet, and each run on an instance is a new task; the
  // first task seen on each instance is the run followed.
  bool schedule = false;
  std::string stop_hint;           // "ferry cancel ID", "ferry stop ID": how to end it
  std::function<Status()> cancel;  // for --cancel-on-interrupt
};

// A run started through TAT's RunCommand: cancelled by CancelInvocation, "ferry cancel ID".
StartedRun tat_started_run(Api& api, const std::string& invocation_id,
                           const std::string& command_id);

// Follows `run` until a task on each of options.instances is final, printing as run_command
// does; its exit code.
Expected<int> follow_run(Api& api, const StartedRun& run, const RunOptions& options,
                         Console& console, const RunHooks& hooks);

}  // namespace ferry::cli
