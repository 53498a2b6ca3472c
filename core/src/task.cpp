#include "ferry/core/task.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/parameters.hpp"
#include "ferry/core/script_command.hpp"
#include "ferry/core/time.hpp"

namespace ferry {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxInvocationTaskIdLength = 64;
constexpr std::size_t kMaxEncodedContent = 64 * 1024;
constexpr std::size_t kMinContainerIdDigits = 12;
constexpr std::size_t kFullContainerIdDigits = 64;
constexpr std::size_t kMaxContainerNameLength = 255;
constexpr std::array<std::string_view, 3> kContainerRuntimePrefixes{"docker://", "containerd://",
                                                                    "cri-o://"};

// One row per enumerator; lookups in both directions go through these tables.
struct StatusRow {
  TaskStatus value;
  std::string_view name;
  bool final;
};
constexpr std::array<StatusRow, 13> kStatuses{{
    {TaskStatus::kPending, "PENDING", false},
    {TaskStatus::kDelivering, "DELIVERING", false},
    {TaskStatus::kDeliverDelayed, "DELIVER_DELAYED", false},
    {TaskStatus::kDeliverFailed, "DELIVER_FAILED", true},
    {TaskStatus::kStartFailed, "START_FAILED", true},
    {TaskStatus::kRunning, "RUNNING", false},
    {TaskStatus::kSuccess, "SUCCESS", true},
    {TaskStatus::kFailed, "FAILED", true},
    {TaskStatus::kTimeout, "TIMEOUT", true},
    {TaskStatus::kTaskTimeout, "TASK_TIMEOUT", true},
    {TaskStatus::kCancelling, "CANCELLING", false},
    {TaskStatus::kCancelled, "CANCELLED", true},
    {TaskStatus::kTerminated, "TERMINATED", true},
}};

struct CommandTypeRow {
  CommandType value;
  std::string_view name;
  std::string_view extension;
};
constexpr std::array<CommandTypeRow, 3> kCommandTypes{{
    {CommandType::kShell, "SHELL", ".sh"},
    {CommandType::kPowerShell, "POWERSHELL", ".ps1"},
    {CommandType::kBat, "BAT", ".bat"},
}};

struct TerminationModeRow {
  TerminationMode value;
  std::string_view name;
};
constexpr std::array<TerminationModeRow, 2> kTerminationModes{{
    {TerminationMode::kProcessTree, "ProcessTree"},
    {TerminationMode::kProcess, "Process"},
}};

template <typename Row, std::size_t N>
const Row& row_of(const std::array<Row, N>& table, decltype(Row::value) value) {
  for (const auto& row : table) {
    if (row.value == value) {
      return row;
    }
  }
  return table.front();  // not reached: every enumerator has a row
}

template <typename Row, std::size_t N>
std::optional<decltype(Row::value)> value_named(const std::array<Row, N>& table,
                                                std::string_view name) {
  for (const auto& row : table) {
    if (row.name == name) {
      return row.value;
    }
  }
  return std::nullopt;
}

Error field_error(const char* code, std::string_view field, std::string_view what) {
  return Error{code, std::string(field) + ": " + std::string(what)};
}

// Reads the fields of one JSON object. A null value counts as absent, since servers often
// send null for an unset optional field.
class Fields {
 public:
  explicit Fields(const json& j) : j_(j) {}

  [[nodiscard]] const json* find(std::string_view name) const {
    const auto it = j_.find(name);
    if (it == j_.end() || it->is_null()) {
      return nullptr;
    }
    return &*it;
  }

  Status string(std::string_view name, std::string& out, bool required = false) const {
    const json* v = find(name);
    if (v == nullptr) {
      return required ? Status{field_error(codes::kMissingParameter, name, "is required")}
                      : Status{};
    }
    if (!v->is_string()) {
      return field_error(codes::kInvalidParameter, name, "must be a string");
    }
    out = v->get<std::string>();
    return {};
  }

  Status boolean(std::string_view name, bool& out) const {
    const json* v = find(name);
    if (v == nullptr) {
      return {};
    }
    if (!v->is_boolean()) {
      return field_error(codes::kInvalidParameter, name, "must be a boolean");
    }
    out = v->get<bool>();
    return {};
  }

  // An integer in [min, max]; a non-integer is InvalidParameter, one out of range `range_code`.
  Status integer(std::string_view name, int64_t& out, int64_t min, int64_t max,
                 const char* range_code, bool required = false) const {
    const std::string expected =
        "must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    const json* v = find(name);
    if (v == nullptr) {
      return required ? Status{field_error(codes::kMissingParameter, name, "is required")}
                      : Status{};
    }
    if (v->is_number_unsigned()) {
      const auto u = v->get<uint64_t>();
      if (u > static_cast<uint64_t>(max)) {
        return field_error(range_code, name, expected);
      }
      out = static_cast<int64_t>(u);
    } else if (v->is_number_integer()) {
      out = v->get<int64_t>();
    } else {
      return field_error(codes::kInvalidParameter, name, expected);
    }
    if (out < min || out > max) {
      return field_error(range_code, name, expected);
    }
    return {};
  }

 private:
  const json& j_;
};

// The fields of `j`, which must be a JSON object; `what` names it in the error.
Expected<Fields> object_fields(const json& j, std::string_view what) {
  if (!j.is_object()) {
    return Error{codes::kInvalidParameter, std::string(what) + ": must be a JSON object"};
  }
  return Fields(j);
}

// Every field is read; the first failure is the one reported.
Status first_failure(std::initializer_list<Status> reads) {
  for (const Status& s : reads) {
    if (!s) {
      return s;
    }
  }
  return {};
}

bool is_task_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool is_container_id_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool is_container_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// At most one container, given in a valid form, and only for what runs as `/bin/sh -c` there.
Status check_container(const Task& t) {
  if (!t.container_id.empty() && !is_valid_container_id(t.container_id)) {
    return field_error(codes::kInvalidContainerId, "ContainerId",
                       "must be 12 to 64 lowercase hex digits, optionally after docker://, "
                       "containerd:// or cri-o://");
  }
  if (!t.container_name.empty() && !is_valid_container_name(t.container_name)) {
    return field_error(codes::kInvalidContainerName, "ContainerName",
                       "must be 1 to 255 characters of [A-Za-z0-9_.-] starting with a letter or "
                       "digit");
  }
  if (!t.container_id.empty() && !t.container_name.empty()) {
    return field_error(codes::kInvalidParameter, "ContainerId",
                       "give ContainerId or ContainerName, not both");
  }
  if (t.in_container() && !t.launcher.empty()) {
    return field_error(codes::kInvalidParameter, "Launcher", "does not apply in a container");
  }
  if (t.in_container() && t.command_type != CommandType::kShell) {
    return field_error(codes::kInvalidParameter, "CommandType", "only SHELL runs in a container");
  }
  return {};
}

// A File task: its object's fields, checked, and nothing that belongs to a script run.
Status parse_file(const json* v, Task& t) {
  if (v == nullptr) {
    return {};
  }
  const auto f = object_fields(*v, "File");
  if (!f) {
    return f.error();
  }
  TaskFile file;
  if (Status s = first_failure({
          f->string("Name", file.name, true),
          f->string("TargetDir", file.target_dir, true),
          f->string("Mode", file.mode),
          f->string("Owner", file.owner),
          f->string("Group", file.group),
          f->boolean("Overwrite", file.overwrite),
      });
      !s) {
    return s.error().wrap("File");
  }
  if (Status s = validate_task_file(file); !s) {
    return s;
  }
  if (t.in_container() || !t.launcher.empty()) {
    return field_error(codes::kInvalidParameter, "File",
                       "a file is written on the host, without a Launcher");
  }
  if (t.content.size() > kMaxFileContentBase64) {
    return field_error(codes::kTooLong, "Content",
                       "a file's content must be at most " + std::to_string(kMaxFileContentBase64) +
                           " bytes of base64");
  }
  t.file = std::move(file);
  return {};
}

// The id names the task's journal directory, so only a safe, bounded file name passes.
Status check_task_id(const std::string& id) {
  if (!is_valid_task_id(id)) {
    return field_error(codes::kInvalidParameterValue, "InvocationTaskId",
                       "must be 1 to 64 characters of [A-Za-z0-9_-]");
  }
  return {};
}

Status parse_parameters(const json* v, std::map<std::string, std::string>& out) {
  if (v == nullptr) {
    return {};
  }
  if (!v->is_object()) {
    return field_error(codes::kInvalidParameter, "Parameters",
                       "must be a JSON object of string values");
  }
  if (v->size() > kMaxParameters) {
    return field_error(codes::kParameterNumberExceeded, "Parameters",
                       "at most " + std::to_string(kMaxParameters) + " parameters, got " +
                           std::to_string(v->size()));
  }
  std::map<std::string, std::string> params;
  for (const auto& [name, value] : v->items()) {
    // The name first, so that a message never echoes an unchecked name.
    if (Status s = validate_parameters({{name, std::string()}}); !s) {
      return s.error().wrap("Parameters");
    }
    if (!value.is_string()) {
      return field_error(codes::kParameterValueNotString, "Parameters",
                         "the value of \"" + name + "\" is not a string");
    }
    params.emplace(name, value.get<std::string>());
  }
  out = std::move(params);
  return {};
}

}  // namespace

std::string_view to_string(CommandType t) {
  return row_of(kCommandTypes, t).name;
}

std::string_view to_string(TerminationMode m) {
  return row_of(kTerminationModes, m).name;
}

std::string_view to_string(TaskStatus s) {
  return row_of(kStatuses, s).name;
}

std::optional<CommandType> parse_command_type(std::string_view s) {
  return value_named(kCommandTypes, s);
}

std::optional<TerminationMode> parse_termination_mode(std::string_view s) {
  return value_named(kTerminationModes, s);
}

std::optional<TaskStatus> parse_task_status(std::string_view s) {
  return value_named(kStatuses, s);
}

bool is_final(TaskStatus s) {
  return row_of(kStatuses, s).final;
}

bool is_valid_task_id(std::string_view id) {
  return !id.empty() && id.size() <= kMaxInvocationTaskIdLength &&
         std::all_of(id.begin(), id.end(), is_task_id_char);
}

bool is_valid_container_id(std::string_view id) {
  for (const std::string_view prefix : kContainerRuntimePrefixes) {
    if (id.starts_with(prefix)) {
      id.remove_prefix(prefix.size());
      break;
    }
  }
  return id.size() >= kMinContainerIdDigits && id.size() <= kFullContainerIdDigits &&
         std::all_of(id.begin(), id.end(), is_container_id_digit);
}

bool is_valid_container_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxContainerNameLength &&
         is_container_name_start(name.front()) && std::all_of(name.begin(), name.end(), [](char c) {
           return is_container_name_start(c) || c == '_' || c == '.' || c == '-';
         });
}

std::string_view script_extension(CommandType t) {
  return row_of(kCommandTypes, t).extension;
}

Expected<Task> parse_task(const json& j) {
  const auto f = object_fields(j, "task");
  if (!f) {
    return f.error();
  }
  Task t;
  std::string command_type;
  std::string termination_mode;
  if (Status s = first_failure({
          f->string("InvocationTaskId", t.invocation_task_id, true),
          f->string("InvocationId", t.invocation_id),
          f->string("CommandId", t.command_id),
          f->string("Content", t.content, true),
          f->string("CommandType", command_type),
          f->string("WorkingDirectory", t.working_directory),
          f->string("Username", t.username),
          f->integer("Timeout", t.timeout_seconds, kMinTimeoutSeconds, kMaxTimeoutSeconds,
                     codes::kRange),
          f->boolean("EnableParameter", t.enable_parameter),
          parse_parameters(f->find("Parameters"), t.parameters),
          f->string("Launcher", t.launcher),
          f->string("TerminationMode", termination_mode),
          f->string("RegionId", t.builtins.region_id),
          f->string("AccountId", t.builtins.account_id),
          f->string("InstanceId", t.builtins.instance_id),
          f->string("InstanceName", t.builtins.instance_name),
          f->string("OutputCOSBucketUrl", t.output_cos_bucket_url),
          f->string("OutputCOSKeyPrefix", t.output_cos_key_prefix),
          f->string("ContainerId", t.container_id),
          f->string("ContainerName", t.container_name),
      });
      !s) {
    return s.error();
  }
  if (Status s = check_task_id(t.invocation_task_id); !s) {
    return s.error();
  }
  if (f->find("CommandType") != nullptr) {
    const auto type = parse_command_type(command_type);
    if (!type) {
      return field_error(codes::kInvalidParameterValue, "CommandType",
                         "must be one of SHELL, POWERSHELL, BAT");
    }
    t.command_type = *type;
  }
  if (f->find("TerminationMode") != nullptr) {
    const auto mode = parse_termination_mode(termination_mode);
    if (!mode) {
      return field_error(codes::kInvalidParameterValue, "TerminationMode",
                         "must be ProcessTree or Process");
    }
    t.termination_mode = *mode;
  }
  // A NUL byte would silently cut a path or a user name at the system call.
  if (t.working_directory.find('\0') != std::string::npos) {
    return field_error(codes::kInvalidWorkingDirectory, "WorkingDirectory",
                       "must not contain a NUL byte");
  }
  if (t.username.find('\0') != std::string::npos) {
    return field_error(codes::kInvalidUsername, "Username", "must not contain a NUL byte");
  }
  if (t.launcher.size() > kMaxLauncherLength) {
    return field_error(codes::kTooLong, "Launcher",
                       "must be at most " + std::to_string(kMaxLauncherLength) + " bytes");
  }
  if (Status s = check_container(t); !s) {
    return s.error();
  }
  if (Status s = parse_file(f->find("File"), t); !s) {
    return s.error();
  }
  return t;
}

Expected<Task> parse_task_json(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    // e.what() quotes the input, which may hold the script; the offset is enough.
    return Error{codes::kInvalidParameter,
                 "task: malformed JSON at byte " + std::to_string(e.byte)};
  } catch (const json::exception&) {
    // A number too large for a double (1E400) is out_of_range, not a parse_error.
    return Error{codes::kInvalidParameter, "task: a number out of range"};
  }
  return parse_task(j);
}

json to_json(const Task& task) {
  json j{
      {"InvocationTaskId", task.invocation_task_id},
      {"InvocationId", task.invocation_id},
      {"CommandId", task.command_id},
      {"Content", task.content},
      {"CommandType", to_string(task.command_type)},
      {"WorkingDirectory", task.working_directory},
      {"Username", task.username},
      {"Timeout", task.timeout_seconds},
      {"EnableParameter", task.enable_parameter},
      {"Parameters", task.parameters},
      {"Launcher", task.launcher},
      {"TerminationMode", to_string(task.termination_mode)},
      {"RegionId", task.builtins.region_id},
      {"AccountId", task.builtins.account_id},
      {"InstanceId", task.builtins.instance_id},
      {"InstanceName", task.builtins.instance_name},
      {"OutputCOSBucketUrl", task.output_cos_bucket_url},
      {"OutputCOSKeyPrefix", task.output_cos_key_prefix},
      {"ContainerId", task.container_id},
      {"ContainerName", task.container_name},
  };
  if (task.file) {
    j["File"] = {{"Name", task.file->name},   {"TargetDir", task.file->target_dir},
                 {"Mode", task.file->mode},   {"Owner", task.file->owner},
                 {"Group", task.file->group}, {"Overwrite", task.file->overwrite}};
  }
  return j;
}

Expected<std::string> file_content(const Task& task) {
  if (task.content.size() > kMaxFileContentBase64) {
    return field_error(codes::kTooLong, "Content",
                       "must be at most " + std::to_string(kMaxFileContentBase64) +
                           " bytes of base64, got " + std::to_string(task.content.size()));
  }
  Expected<std::string> bytes = base64_decode(task.content);
  if (!bytes) {
    return Error{codes::kCommandContentInvalid, "Content: " + bytes.error().message};
  }
  return bytes;
}

Expected<std::string> prepare_script(const Task& task) {
  if (task.content.size() > kMaxEncodedContent) {
    return field_error(codes::kTooLong, "Content",
                       "must be at most " + std::to_string(kMaxEncodedContent) +
                           " bytes of base64, got " + std::to_string(task.content.size()));
  }
  Expected<std::string> script = base64_decode(task.content);
  if (!script) {
    return script.error().wrap("Content");
  }
  if (script->empty()) {
    return field_error(codes::kCommandContentInvalid, "Content", "the script is empty");
  }
  if (!task.enable_parameter) {
    return script;
  }
  const BuiltinValues builtins{
      .region_id = task.builtins.region_id,
      .account_id = task.builtins.account_id,
      .instance_id = task.builtins.instance_id,
      .instance_name = task.builtins.instance_name,
      .invoke_id = task.invocation_id,
      .command_id = task.command_id,
  };
  Expected<std::string> substituted = substitute_parameters(*script, task.parameters, builtins);
  if (!substituted) {
    return substituted.error().wrap("Content");
  }
  return substituted;
}

json to_json(const TaskResult& result) {
  json j{
      {"InvocationTaskId", result.invocation_task_id},
      {"Result", to_string(result.status)},
      {"ExitCode", result.exit_code},
      {"Output", base64_encode(result.output)},
      {"Dropped", result.dropped},
      {"OutputSize", result.output_size},
      {"ExecStartTime", result.exec_start_time},
      {"ExecEndTime", result.exec_end_time},
      {"ErrorInfo", result.error_info},
  };
  if (!result.output_url.empty()) {
    j["OutputUrl"] = result.output_url;
  }
  if (!result.output_upload_error.empty()) {
    j["OutputUploadCOSErrorInfo"] = result.output_upload_error;
  }
  return j;
}

Expected<TaskResult> parse_task_result(const json& j) {
  const auto f = object_fields(j, "task result");
  if (!f) {
    return f.error();
  }
  TaskResult r;
  std::string status;
  std::string output;
  int64_t dropped = 0;
  int64_t output_size = 0;
  constexpr int64_t kMaxCount = std::numeric_limits<int64_t>::max();
  if (Status s = first_failure({
          f->string("InvocationTaskId", r.invocation_task_id, true),
          f->string("Result", status, true),
          f->integer("ExitCode", r.exit_code, std::numeric_limits<int64_t>::min(), kMaxCount,
                     codes::kInvalidParameterValue),
          f->string("Output", output),
          f->integer("Dropped", dropped, 0, kMaxCount, codes::kInvalidParameterValue),
          f->integer("OutputSize", output_size, 0, kMaxCount, codes::kInvalidParameterValue),
          f->string("ExecStartTime", r.exec_start_time),
          f->string("ExecEndTime", r.exec_end_time),
          f->string("ErrorInfo", r.error_info),
          f->string("OutputUrl", r.output_url),
          f->string("OutputUploadCOSErrorInfo", r.output_upload_error),
      });
      !s) {
    return s.error();
  }
  if (Status s = check_task_id(r.invocation_task_id); !s) {
    return s.error();
  }
  const auto parsed_status = parse_task_status(status);
  if (!parsed_status) {
    return field_error(codes::kInvalidParameterValue, "Result", "unknown task status");
  }
  r.status = *parsed_status;
  Expected<std::string> decoded = base64_decode(output);
  if (!decoded) {
    return Error{codes::kInvalidParameterValue, "Output: " + decoded.error().message};
  }
  r.output = std::move(*decoded);
  r.dropped = static_cast<uint64_t>(dropped);
  r.output_size = static_cast<uint64_t>(output_size);
  if (!r.exec_start_time.empty() && !parse_rfc3339(r.exec_start_time)) {
    return field_error(codes::kInvalidParameterValue, "ExecStartTime", "must be an RFC 3339 time");
  }
  if (!r.exec_end_time.empty() && !parse_rfc3339(r.exec_end_time)) {
    return field_error(codes::kInvalidParameterValue, "ExecEndTime", "must be an RFC 3339 time");
  }
  return r;
}

}  // namespace ferry
