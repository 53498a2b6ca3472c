#include "acs_vocabulary.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "ferry/core/error_codes.hpp"
#include "ferry/core/time.hpp"
#include "ferry/server/acs/acs_codes.hpp"
#include "ferry/server/domain/repeats.hpp"
#include "ferry/server/store/store_errors.hpp"

namespace ferry::server::acs {
namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kTypes = {{
    {"RunShellScript", "SHELL"},
    {"RunBatScript", "BAT"},
    {"RunPowerShellScript", "POWERSHELL"},
}};

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Why a task never started, in the ErrorCode words, from the agent's ErrorInfo ("CODE: why").
std::string start_failure_code(const InvocationTask& t) {
  const std::string_view info = t.error_info;
  if (starts_with(info, codes::kInvalidUsername)) {
    return "AccountNotExists";
  }
  if (starts_with(info, codes::kInvalidWorkingDirectory)) {
    return "DirectoryNotExists";
  }
  // A container task whose runtime the machine lacks cannot run there at all; a container that
  // is missing or stopped is an execution failure (ErrorInfo names which).
  if (starts_with(info, "ContainerRuntimeNotFound")) {
    return "CommandNotApplicable";
  }
  return "ExecutionException";
}

// The ErrorCode of how a run ended.
std::string error_code_of(const InvocationTask& t) {
  switch (t.status) {
    case TaskStatus::kFailed:
      return "ExitCodeNonzero";
    case TaskStatus::kTimeout:
      return "ExecutionTimeout";
    case TaskStatus::kTaskTimeout:
      // The whole task's time ran out: before the agent took it, a delivery that timed out.
      return t.start_ms == 0 ? "DeliveryTimeout" : "ExecutionTimeout";
    case TaskStatus::kDeliverFailed:
      return t.delivered_ms == 0 ? "ClientNotRunning" : "DeliveryTimeout";
    case TaskStatus::kStartFailed:
      return start_failure_code(t);
    case TaskStatus::kTerminated:
      return "ExecutionInterrupted";
    default:
      return "";
  }
}

}  // namespace

std::optional<std::string> ferry_command_type(std::string_view acs_type) {
  for (const auto& [acs, ferry] : kTypes) {
    if (acs == acs_type) {
      return std::string(ferry);
    }
  }
  return std::nullopt;
}

std::string_view acs_command_type(std::string_view ferry_type) {
  for (const auto& [acs, ferry] : kTypes) {
    if (ferry == ferry_type) {
      return acs;
    }
  }
  return kTypes.front().first;
}

std::string acs_time(int64_t ms) {
  if (ms == 0) {
    return {};
  }
  // RFC 3339 in UTC without fractions: the SDKs' samples spell it with a Z.
  std::string text = ms_to_rfc3339(ms - ms % 1000);
  if (const auto dot = text.find('.'); dot != std::string::npos) {
    text.erase(dot, text.size() - dot - 1);
  }
  if (text.size() > 6 && text.compare(text.size() - 6, 6, "+00:00") == 0) {
    text.replace(text.size() - 6, 6, "Z");
  }
  return text;
}

TaskStatusWords task_status_words(const InvocationTask& t) {
  const std::string_view status = domain::acs_task_status(t.status);
  return {status, record_status_of(status), error_code_of(t)};
}

std::string_view record_status_of(std::string_view s) {
  if (s == "Success") {
    return "Finished";
  }
  if (s == "Failed" || s == "Timeout" || s == "Aborted" || s == "Error" || s == "Invalid") {
    return "Failed";
  }
  if (s == "Cancelled" || s == "Terminated") {
    return "Stopped";
  }
  return "Running";
}

std::vector<TaskStatus> statuses_of_record_status(std::string_view record_status) {
  using S = TaskStatus;
  if (record_status == "Running") {
    return {S::kPending, S::kDelivering, S::kDeliverDelayed, S::kRunning, S::kCancelling};
  }
  if (record_status == "Finished") {
    return {S::kSuccess};
  }
  if (record_status == "Failed") {
    return {S::kFailed, S::kTimeout, S::kTaskTimeout, S::kDeliverFailed, S::kStartFailed};
  }
  if (record_status == "Stopped") {
    return {S::kCancelled, S::kTerminated};
  }
  return {};
}

Error to_acs_error(Error error) {
  // Ferry's vocabulary (domain and store codes) to Cloud Assistant's.
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 26> kMap = {{
      {store_codes::kCommandNotFound, codes::acs::kCmdIdNotFound},
      {store_codes::kInstanceNotFound, codes::acs::kInstanceNotFound},
      {store_codes::kRegisterCodeNotFound, codes::acs::kActivationNotFound},
      {store_codes::kCommandNameDuplicated, codes::acs::kCmdNameDuplicated},
      {store_codes::kFailed, codes::kInternalError},
      {store_codes::kIdDuplicated, codes::kInternalError},
      {"ResourceNotFound.InstanceNotFound", codes::acs::kInstanceNotFound},
      {"InvalidParameterValue.InvalidInstanceId", codes::acs::kInstanceNotFound},
      {"ResourceNotFound.CommandNotFound", codes::acs::kCmdIdNotFound},
      {"InvalidParameterValue.InvalidCommandId", codes::acs::kCmdIdNotFound},
      {"ResourceNotFound.InvocationNotFound", codes::acs::kInvokeIdNotFound},
      {"InvalidParameterValue.InvalidInvocationId", codes::acs::kInvokeIdNotFound},
      {"InvalidParameterValue.LimitExceeded", codes::acs::kInstanceIdsExceedLimit},
      {"ResourceUnavailable.UserHasNoQuotaCode", codes::acs::kCmdCountExceedQuota},
      {"InvalidParameterValue.CommandContentInvalid", codes::acs::kCmdContentDecodeError},
      {"InvalidParameterValue.InvalidWorkingDirectory", codes::acs::kInvalidWorkingDir},
      {"InvalidParameterValue.LackOfParameterInfo", codes::acs::kParameterNotMatched},
      {"InvalidParameterValue.ParameterKeyContainsInvalidChar", codes::acs::kCmdParamInvalidName},
      {"InvalidParameterValue.ParameterKeyLenExceeded", codes::acs::kParameterKeyExceedLimit},
      {"InvalidParameterValue.ParameterNumberExceeded", codes::acs::kParameterCountExceedLimit},
      {"InvalidParameterValue.ParameterValueNotString", codes::acs::kParameterTypeNotSupported},
      {"InvalidParameterValue.ParameterInvalidJsonFormat", codes::kInvalidParameter},
      {"InvalidParameterValue.SupportParametersOnlyIfEnableParameter",
       codes::acs::kParameterDisabled},
      {"InvalidParameterValue.CommandNameDuplicated", codes::acs::kCmdNameDuplicated},
      {"ResourceNotFound.RegisterCodeNotFound", codes::acs::kActivationNotFound},
      {"InvalidParameterValue.InvalidUsername", codes::acs::kInvalidUsername},
  }};
  const auto it = std::find_if(kMap.begin(), kMap.end(),
                               [&](const auto& entry) { return entry.first == error.code; });
  if (it != kMap.end()) {
    error.code = std::string(it->second);
  } else if (starts_with(error.code, "InvalidParameterValue")) {
    error.code = codes::kInvalidParameter;
  }
  return error;
}

}  // namespace ferry::server::acs
