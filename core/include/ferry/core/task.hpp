// The invocation task as the agent receives it, and the result it reports.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"
#include "ferry/core/task_file.hpp"

namespace ferry {

enum class CommandType { kShell, kPowerShell, kBat };
enum class TerminationMode { kProcessTree, kProcess };

// Every TaskStatus of the TAT API. The agent itself produces only the final execution
// results (kSuccess .. kStartFailed); the server uses the rest.
enum class TaskStatus {
  kPending,
  kDelivering,
  kDeliverDelayed,
  kDeliverFailed,
  kStartFailed,
  kRunning,
  kSuccess,
  kFailed,
  kTimeout,
  kTaskTimeout,
  kCancelling,
  kCancelled,
  kTerminated,
};

std::string_view to_string(CommandType t);      // "SHELL", "POWERSHELL", "BAT"
std::string_view to_string(TerminationMode m);  // "ProcessTree", "Process"
std::string_view to_string(TaskStatus s);       // "SUCCESS", "START_FAILED", ...
std::optional<CommandType> parse_command_type(std::string_view s);
std::optional<TerminationMode> parse_termination_mode(std::string_view s);
std::optional<TaskStatus> parse_task_status(std::string_view s);
// Whether nothing follows `s`: SUCCESS, FAILED, TIMEOUT, TASK_TIMEOUT, START_FAILED,
// DELIVER_FAILED, CANCELLED, TERMINATED.
bool is_final(TaskStatus s);
// Whether `id` is a valid InvocationTaskId: 1 to 64 characters of [A-Za-z0-9_-], so that it is
// safe as a file name (the agent's task directory).
bool is_valid_task_id(std::string_view id);
// Whether `id` names a container for ContainerId: an optional runtime prefix (`docker://`,
// `containerd://`, `cri-o://`) and then 12 to 64 lowercase hex digits: the full 64-digit id, or
// the unique short form (12 digits and more) that `docker ps` shows and runtimes accept.
bool is_valid_container_id(std::string_view id);
// Whether `name` is a valid ContainerName: 1 to 255 characters of [A-Za-z0-9_.-] starting with a
// letter or digit (Docker's rule, which also admits the DNS labels Kubernetes gives containers).
bool is_valid_container_name(std::string_view name);
// The file extension a script of this type gets: ".sh", ".ps1", ".bat".
std::string_view script_extension(CommandType t);

inline constexpr int64_t kMinTimeoutSeconds = 1;
inline constexpr int64_t kMaxTimeoutSeconds = 86400;
inline constexpr int64_t kDefaultTimeoutSeconds = 60;

// The instance's own values behind the {{ACS::...}} / {{TAT::...}} built-in parameters.
struct InstanceBuiltins {
  std::string region_id;
  std::string account_id;
  std::string instance_id;
  std::string instance_name;

  friend bool operator==(const InstanceBuiltins&, const InstanceBuiltins&) = default;
};

struct Task {
  std::string invocation_task_id;  // required; [A-Za-z0-9_-], 1..64 characters (used as a path)
  std::string invocation_id;
  std::string command_id;
  std::string content;  // base64, as received; decoded by prepare_script()
  CommandType command_type = CommandType::kShell;
  std::string working_directory;  // empty: the run-as user's home
  std::string username;           // empty: root
  int64_t timeout_seconds = kDefaultTimeoutSeconds;
  bool enable_parameter = false;
  std::map<std::string, std::string> parameters;
  std::string launcher;  // empty: none
  TerminationMode termination_mode = TerminationMode::kProcessTree;
  InstanceBuiltins builtins;
  // Where the complete output goes (RunCommand's OutputCOSBucketUrl and OutputCOSKeyPrefix): the
  // agent only needs to know that there is a bucket; the server signs the URLs of the object.
  std::string output_cos_bucket_url;  // empty: none
  std::string output_cos_key_prefix;
  // The container the task runs in (RunCommand's ContainerId / ContainerName); at most one is
  // set, both empty: the host. In a container, Username, WorkingDirectory do not apply.
  std::string container_id;    // is_valid_container_id()
  std::string container_name;  // is_valid_container_name()
  // A file to write instead of a script to run (SendFile): Content holds its bytes.
  std::optional<TaskFile> file;

  [[nodiscard]] bool in_container() const {
    return !container_id.empty() || !container_name.empty();
  }

  friend bool operator==(const Task&, const Task&) = default;
};

// Parses a task from its JSON form (the field names of the agent protocol: InvocationTaskId,
// InvocationId, CommandId, Content, CommandType, WorkingDirectory, Username, Timeout,
// EnableParameter, Parameters, Launcher, TerminationMode, RegionId, AccountId, InstanceId,
// InstanceName, OutputCOSBucketUrl, OutputCOSKeyPrefix, ContainerId, ContainerName). Errors name
// the field, e.g. "Timeout: must
// be an integer in [1, 86400]". Unknown fields are ignored (newer servers may send more); a null
// value counts as absent. A missing InvocationTaskId or Content is MissingParameter, a value of the
// wrong JSON type InvalidParameter. Parameters: an object of at most 20 string values with valid
// names. Launcher is only checked for its length here (parse_launcher() does the rest).
// ContainerId and ContainerName must pass their validators (InvalidContainerId.Malformed,
// InvalidContainerName.Malformed); both together, or either with a Launcher or a CommandType
// other than SHELL, is InvalidParameter. File: an object {Name, TargetDir, Mode, Owner, Group,
// Overwrite} checked by validate_task_file(), its Content at most kMaxFileContentBase64 bytes of
// base64 (InvalidParameterValue.TooLong); File with a container or a Launcher is InvalidParameter.
Expected<Task> parse_task(const nlohmann::json& j);
Expected<Task> parse_task_json(std::string_view text);
nlohmann::json to_json(const Task& task);

// Decodes Content and, when EnableParameter is set, substitutes the parameters and
// built-ins (parameters.hpp). Without EnableParameter the decoded bytes are returned as they are.
// Errors: over 64 KiB of base64 (TooLong), bad base64 or an empty script
// (CommandContentInvalid), the errors of substitute_parameters().
Expected<std::string> prepare_script(const Task& task);
// The bytes of a File task: its Content decoded (empty is allowed). Errors: over
// kMaxFileContentBase64 (TooLong), bad base64 (CommandContentInvalid).
Expected<std::string> file_content(const Task& task);

// The final result of one task execution.
struct TaskResult {
  std::string invocation_task_id;
  TaskStatus status = TaskStatus::kStartFailed;
  int64_t exit_code = -1;       // -1 where there is none (TIMEOUT, TERMINATED, START_FAILED)
  std::string output;           // raw bytes of the head+tail excerpt (base64 only on the wire)
  uint64_t dropped = 0;         // bytes of output left out of `output`
  uint64_t output_size = 0;     // total bytes the task wrote
  std::string exec_start_time;  // RFC 3339, empty if it never started
  std::string exec_end_time;
  std::string error_info;  // why it failed to start or ended abnormally; empty otherwise
  // The complete output in the task's bucket: where it is, or why the upload failed.
  std::string output_url;
  std::string output_upload_error;

  friend bool operator==(const TaskResult&, const TaskResult&) = default;
};

// {"InvocationTaskId", "Result" (the TaskStatus), "ExitCode", "Output" (base64), "Dropped",
//  "OutputSize", "ExecStartTime", "ExecEndTime", "ErrorInfo"}, and "OutputUrl" and
//  "OutputUploadCOSErrorInfo" when they are not empty.
nlohmann::json to_json(const TaskResult& result);
// The inverse of to_json(TaskResult): InvocationTaskId (checked as in parse_task) and Result are
// required, Output must be strict base64, the times RFC 3339 or empty, Dropped and OutputSize >= 0.
Expected<TaskResult> parse_task_result(const nlohmann::json& j);

}  // namespace ferry
