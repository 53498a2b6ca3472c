// `ferry run` with Cloud Assistant settings (--repeat, --frequency, --launcher,
// --termination-mode, --container): the run goes through the Cloud Assistant API's RunCommand
// (acs_api.hpp) and is then followed through the TAT API like any run (one store: the InvokeId
// is the InvocationId). A schedule (Period, NextRebootOnly, EveryReboot) is not waited for: its
// InvokeId is printed and ferry returns, unless --follow asks for its next run.
// `ferry cancel` / `ferry stop`: StopInvocation for a Cloud Assistant schedule, TAT's
// CancelInvocation for the rest. `ferry tasks --invocation` says when it shows a schedule.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/cli/acs_api.hpp"
#include "ferry/cli/api.hpp"
#include "ferry/cli/commands.hpp"
#include "ferry/cli/console.hpp"
#include "ferry/cli/run.hpp"
#include "ferry/core/error.hpp"

namespace ferry::cli {

// The repeat mode `options` asks for, in the API's spelling: --repeat (any letter case), else
// Period when --frequency is given, else Once. nullopt: --repeat is none of the four.
std::optional<std::string> effective_repeat_mode(const RunOptions& options);

// Whether an invocation of this RepeatMode is a schedule (anything but Once).
bool is_schedule_mode(std::string_view repeat_mode);

// The Cloud Assistant RunCommand parameters for `options`, exactly the settings given (no
// I/O). Refused here, before any request: no instance or script, an unknown --repeat,
// --repeat Period without --frequency or --frequency with another mode, an empty --frequency or
// --launcher, a --termination-mode other than Process / ProcessTree, a --container that is
// neither a ContainerId (12-64 lowercase hex digits, optionally after docker://, containerd://
// or cri-o://) nor a ContainerName, a bad --param, --follow with --no-wait.
Expected<AcsParamList> acs_run_command_params(const RunOptions& options);

// RunCommand through `acs`, then as run_command (through `api`) for a Once run or a schedule
// with --follow; a schedule otherwise prints its InvokeId (stdout; the reply with --json) and
// what it will do (stderr), and returns 0.
Expected<int> acs_run_command(Api& api, AcsApi& acs, const RunOptions& options, Console& console,
                              const RunHooks& hooks);

// Asks the Cloud Assistant API whether options.invocation_id is a schedule; if so
// StopInvocation ends it (on options.instances only, when given) and prints
// "stop requested: ID"; otherwise cancel_command. A server without the Cloud Assistant API, or
// an id it does not know, goes to cancel_command too (its errors are TAT's).
Expected<int> stop_or_cancel_command(Api& api, AcsApi& acs, const CancelOptions& options,
                                     Console& console);

// `ferry tasks`: with --invocation naming a Cloud Assistant schedule (and no --json), first a
// line on stderr that says so: "ferry: ID is a schedule (Period 0/10 * * * * ?), Scheduled: each
// run is a task of it" (the status is Cloud Assistant's: Scheduled until a run starts), since a
// schedule has no task until its first run. Then tasks_command.
Expected<int> tasks_with_schedule_command(Api& api, AcsApi& acs, const TasksOptions& options,
                                          Console& console);

}  // namespace ferry::cli
