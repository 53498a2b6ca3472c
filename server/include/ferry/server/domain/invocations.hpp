// Invocations: running a command on instances, one task per instance, and cancelling them. An
// invocation has a source: a user's call (RunCommand, InvokeCommand), an invoker, or a schedule.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/domain/commands.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/domain/repeats.hpp"
#include "ferry/server/model.hpp"

namespace ferry::server::domain {

// The model knows CVM and LIGHTHOUSE; every target of Ferry's is a registered (managed)
// instance, neither of those: its kind of its own, so that the instance-kind filter tells them
// apart from cloud machines (docs/architecture.md, "The TAT model, field by field").
inline constexpr const char* kInstanceKind = "MANAGED";
// Ferry has no public (TAT-made) commands: everything it runs was created by the user.
inline constexpr const char* kCreatedBy = "USER";

enum class InvocationSource { kUser, kInvoker, kSchedule };  // in to_string's order
// "USER", "INVOKER", "SCHEDULE": Invocation::invocation_source as stored and shown.
std::string_view to_string(InvocationSource source);

// Per-invocation settings: the command's own, or InvokeCommand's overrides of them.
struct RunSettings {
  std::string working_directory;
  int64_t timeout = 60;
  std::string username;
  std::string output_cos_bucket_url;
  std::string output_cos_key_prefix;
  ExecutionSettings execution;  // checked by prepare_invocation (check_execution)
};

struct InvocationSpec {
  std::vector<std::string> instance_ids;  // registered instances, checked by the caller's rules
  RunSettings run;
  std::optional<std::string> parameters;  // the caller's Parameters (a JSON object's text)
  InvocationSource source = InvocationSource::kUser;
  // Cloud Assistant's RepeatMode and Frequency, checked with run.timeout (check_repeat's codes).
  // Anything but Once makes no task now: the invocation keeps its instances as targets and the
  // scheduler (Period) or the agents' boots (NextRebootOnly, EveryReboot) make the runs.
  RepeatSpec repeat;
};

// One invocation of `command` with one task per instance, stored together (with `command` too
// when `new_command`, which then counts against the command quota if saved). The Parameters
// must suit the command (allowed only with EnableParameter; with it, merged over the defaults,
// every name the script uses covered), a bucket named must be one the server can sign for now
// (cos::usable_bucket: InvalidParameterValue.InvalidOutputCOSBucketUrl), and every instance must
// be registered (ResourceNotFound.InstanceNotFound). Tasks of connected agents start PENDING and
// are kicked; the others wait DELIVER_DELAYED until their agent connects. The value rules of
// `spec.run` and the instance ids are the caller's to check first (check_command_fields,
// validate_instance_ids). Returns the InvocationId.
Expected<std::string> create_invocation(ServerContext& ctx, const Command& command,
                                        const InvocationSpec& spec, bool new_command = false);

// An invocation and its tasks as create_invocation makes them, not stored yet: an invoker's
// firing stores them together with its record (Store::fire_invoker).
struct PreparedInvocation {
  Invocation invocation;
  std::vector<InvocationTask> tasks;
};
// create_invocation's checks and records, without the quota check and the write.
Expected<PreparedInvocation> prepare_invocation(ServerContext& ctx, const Command& command,
                                                const InvocationSpec& spec);
// One run of a stored invocation on `instance_id` at now, as its next run: a new task (new id)
// with the invocation's content, settings and parameters as they are now (the Parameters over
// the defaults when enable_parameter). `slot_ms`: the Period slot it is for (0: none).
Expected<InvocationTask> make_run_task(ServerContext& ctx, const Invocation& invocation,
                                       const std::string& instance_id, int64_t slot_ms = 0);
// Kicks the agents of the PENDING tasks once they are stored.
void notify_ready_tasks(ServerContext& ctx, const std::vector<InvocationTask>& tasks);
// The Parameters rule of create_invocation alone (an invoker's Parameters are checked when it
// is made): allowed only with EnableParameter, a JSON object of strings, covering with the
// defaults every name the script uses.
Status check_invocation_parameters(const Command& command,
                                   const std::optional<std::string>& parameters);
// The settings a run of `command` takes with `username` ("": the command's own).
RunSettings run_settings_of(const Command& command, const std::string& username = "");

// RunCommand: a new command (Content required; saved only with `save_command`, Tags only then)
// and its invocation by the user.
struct RunRequest {
  CommandFields command;
  bool save_command = false;
  std::optional<std::string> parameters;
  std::vector<std::string> instance_ids;  // at most ServerSettings::max_run_instances
  RepeatSpec repeat;
  // TerminationMode and container of the run (its Launcher is command.launcher).
  ExecutionSettings execution;
};
struct RunResult {
  std::string command_id;
  std::string invocation_id;
};
Expected<RunResult> run_command(ServerContext& ctx, const RunRequest& request);

// InvokeCommand (and, with another source, an invoker's or a schedule's run): a saved command
// on instances. An override that is absent or "" keeps the command's setting.
struct InvokeRequest {
  std::string command_id;
  CommandFields overrides;  // WorkingDirectory, Timeout, Username, OutputCOS* only
  std::optional<std::string> parameters;
  std::vector<std::string> instance_ids;
  InvocationSource source = InvocationSource::kUser;
  RepeatSpec repeat;
  // The run's execution settings; an empty Launcher keeps the command's.
  ExecutionSettings execution;
};
// Returns the InvocationId.
Expected<std::string> invoke_command(ServerContext& ctx, const InvokeRequest& request);

// The cancel of each of `tasks` that is still to run or running (decided inside the store, as
// the agents may move them meanwhile): not started ones CANCELLED, running ones CANCELLING and
// their agents told. Returns whether any of them was live.
Expected<bool> cancel_tasks(ServerContext& ctx, const std::vector<InvocationTask>& tasks);

// CancelInvocation: the tasks of the invocation (or those on `instance_ids`, when some are
// named) that have not started are CANCELLED; running ones go CANCELLING and their agents are
// told. InvalidParameterValue when every targeted task had already finished.
Status cancel_invocation(ServerContext& ctx, const std::string& invocation_id,
                         const std::optional<std::vector<std::string>>& instance_ids);

}  // namespace ferry::server::domain
