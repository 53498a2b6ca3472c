// The control plane's records. Times are Unix milliseconds (UTC); the API shows them as
// RFC 3339. Content is kept base64 as the API carries it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ferry/core/task.hpp"

namespace ferry::server {

struct Tag {
  std::string key;
  std::string value;
  bool operator==(const Tag&) const = default;
};

struct DefaultParameterConf {
  std::string name;
  std::string value;
  std::string description;
  bool operator==(const DefaultParameterConf&) const = default;
};

// How a run executes beyond its script (Cloud Assistant's RunCommand settings): the launcher that
// runs the script file, how a stop or a timeout ends it, the container it runs in. "" is the
// default of each (no launcher, ProcessTree, on the host).
struct ExecutionSettings {
  std::string launcher;
  std::string termination_mode;  // "" | Process | ProcessTree
  std::string container_id;      // at most one of container_id and container_name
  std::string container_name;
  bool operator==(const ExecutionSettings&) const = default;
};

struct Command {
  std::string command_id;
  std::string command_name;
  std::string description;
  std::string content;  // base64
  std::string command_type = "SHELL";
  std::string working_directory;
  int64_t timeout = 60;
  bool enable_parameter = false;
  std::string default_parameters;  // JSON object text ("" when none)
  std::vector<DefaultParameterConf> default_parameter_confs;
  std::string username;
  std::string output_cos_bucket_url;
  std::string output_cos_key_prefix;
  std::string launcher;  // Cloud Assistant's Launcher ("" none)
  std::string created_by = "USER";
  std::vector<Tag> tags;
  // RunCommand without SaveCommand keeps its command for the invocation's sake but does not
  // list it in DescribeCommands.
  bool saved = true;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

// The command as run by one task (InvocationTask.CommandDocument).
struct CommandDocument {
  std::string content;  // base64, as stored (the agent substitutes parameters)
  std::string command_type = "SHELL";
  int64_t timeout = 60;
  std::string working_directory;
  std::string username;
  std::string output_cos_bucket_url;
  std::string output_cos_key_prefix;
  ExecutionSettings execution;
  // A send-file task's file (SendFile); its bytes are `content`. name "": a script to run.
  TaskFile file;
};

struct InvocationTask {
  std::string invocation_task_id;
  std::string invocation_id;
  std::string command_id;
  std::string command_name;
  std::string instance_id;
  TaskStatus status = TaskStatus::kPending;
  CommandDocument document;
  bool enable_parameter = false;
  std::string parameters;  // merged JSON object text sent to the agent ("" when none)
  std::string invocation_source = "USER";
  // TaskResult
  std::optional<int64_t> exit_code;
  std::string output;  // base64 excerpt
  uint64_t dropped = 0;
  int64_t exec_start_ms = 0;  // 0: not started
  int64_t exec_end_ms = 0;
  std::string output_url;
  std::string output_upload_error;
  std::string error_info;
  int64_t start_ms = 0;  // delivered to the agent (RUNNING reported)
  int64_t end_ms = 0;    // reached a final status
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  // Delivery bookkeeping, not in the API.
  int64_t delivered_ms = 0;     // first handed to the agent by DescribeTasks
  int64_t last_log_index = -1;  // highest UploadTaskLog piece stored
  bool cancel_requested = false;
  // Which run of its invocation on its instance this task is (Cloud Assistant's repeat modes
  // run one invocation many times): 1, 2, ... per instance; the slot a Period run was fired for
  // (0 for other runs); whether it is the instance's latest run (what a listing without
  // IncludeHistory shows). A Once invocation's task is run 1 and the latest.
  int64_t run_number = 1;
  int64_t slot_ms = 0;
  bool latest_run = true;
};

// The schedule states of a repeat invocation (Invocation::schedule_state): runs are still to
// come, none is left (the last slot fired, or every instance had its NextRebootOnly run), or
// StopInvocation ended it. A Once invocation has none ("").
namespace schedule_states {
inline constexpr const char* kScheduled = "Scheduled";
inline constexpr const char* kFinished = "Finished";
inline constexpr const char* kStopped = "Stopped";
}  // namespace schedule_states

// An instance a repeat invocation runs on, and how many runs it has had there (Repeats).
struct InvocationTarget {
  std::string instance_id;
  int64_t repeats = 0;
  bool stopped = false;  // StopInvocation named it: no more runs there
  bool operator==(const InvocationTarget&) const = default;
};

struct Invocation {
  std::string invocation_id;
  std::string command_id;
  std::string command_name;
  std::string description;
  std::string parameters;  // as the caller gave them
  std::string default_parameters;
  std::string instance_kind = "MANAGED";  // domain::kInstanceKind
  std::string username;
  std::string invocation_source = "USER";
  std::string command_content;  // base64
  std::string command_type = "SHELL";
  int64_t timeout = 60;
  std::string working_directory;
  std::string output_cos_bucket_url;
  std::string output_cos_key_prefix;
  ExecutionSettings execution;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  // Cloud Assistant's RepeatMode (Once, Period, NextRebootOnly, EveryReboot; Once for every TAT
  // invocation) and Frequency (Period only). A repeat invocation's later runs take the content
  // and parameters above as they are then (ModifyInvocationAttribute may change them), with
  // parameter substitution when enable_parameter.
  std::string repeat_mode = "Once";
  std::string frequency;
  bool enable_parameter = false;
  std::string schedule_state;  // schedule_states::*; "" for Once
  int64_t next_slot_ms = 0;    // Period: the next run; 0 when none is left
  // A repeat invocation's instances, in the order given (a Once invocation has its tasks).
  std::vector<InvocationTarget> targets;
  // A send-file invocation (SendFile) delivers this file, its bytes command_content, and has no
  // command; name "": an invocation of a command.
  TaskFile file;
  [[nodiscard]] bool sends_file() const { return !file.name.empty(); }
  // The invocation's own tags: a delivery's (SendFile's Tag.N). A command invocation has none
  // (RunCommand's tags are its command's).
  std::vector<Tag> tags;
};

struct RegisterCode {
  std::string register_code_id;
  std::string value_hash;  // sha256 of the value: the value itself is shown once, never stored
  std::string description;
  std::string instance_name_prefix;
  int64_t register_limit = 20;
  int64_t expired_ms = 0;  // 0: never
  std::string ip_address_range;
  bool enabled = true;
  int64_t registered_count = 0;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

struct RegisterInstance {
  std::string instance_id;  // rins-xxxxxxxx
  std::string register_code_id;
  std::string instance_name;
  std::string machine_id;
  std::string system_name;  // Linux | Windows
  std::string host_name;
  std::string local_ip;
  std::string public_key;  // Ed25519, base64 of the 32 raw bytes
  std::vector<Tag> tags;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  // The agent as last seen (AutomationAgentInfo).
  std::string agent_version;
  int64_t last_heartbeat_ms = 0;
  std::string environment;
  std::vector<std::string> support_features;
  // The machine's boot id as the agent last reported it (Heartbeat BootId); "" before any.
  std::string boot_id;
};

// When an invoker fires (ScheduleSettings). Times are Unix milliseconds; 0 is "not set".
struct InvokerSchedule {
  std::string policy;          // ONCE | RECURRENCE
  std::string recurrence;      // RECURRENCE: a 5-field crontab in the server's schedule zone
  int64_t invoke_time_ms = 0;  // ONCE: when
  int64_t start_time_ms = 0;   // RECURRENCE: no slot before this
  int64_t end_time_ms = 0;     // RECURRENCE: no slot after this
  bool operator==(const InvokerSchedule&) const = default;
};

// A schedule of a saved command on instances (TAT's invoker, Type SCHEDULE).
struct Invoker {
  std::string invoker_id;  // ivk-xxxxxxxx
  std::string name;
  std::string type = "SCHEDULE";
  std::string command_id;
  std::string username;
  std::string parameters;  // JSON object text as the caller gave it ("" when none)
  std::vector<std::string> instance_ids;
  bool enabled = true;
  InvokerSchedule schedule;
  std::vector<Tag> tags;
  // The slot it fires at next (the scheduler's bookkeeping, not in the API); 0 when it has none
  // left (a ONCE invoker that fired, a recurrence past its EndTime).
  int64_t next_slot_ms = 0;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

// One firing of an invoker (DescribeInvokerRecords).
struct InvokerRecord {
  std::string invoker_id;
  int64_t slot_ms = 0;        // the slot it fired for: one record per (invoker, slot)
  int64_t invoke_ms = 0;      // when it fired
  std::string reason;         // why it fired (on time, or late and for which slots) or failed
  std::string invocation_id;  // "" when no invocation could be made
  // FAILED when no invocation could be made; "" otherwise (the invocation's status is shown).
  std::string result;
};

// A page of a listing: the matching total and the requested slice.
template <typename T>
struct Page {
  int64_t total = 0;
  std::vector<T> items;
};

}  // namespace ferry::server
