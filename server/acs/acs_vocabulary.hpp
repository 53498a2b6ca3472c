// The words of the Cloud Assistant API for what Ferry's domain already has: command types,
// statuses, error codes and times. One place, so that every ACS action speaks them alike.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/core/task.hpp"
#include "ferry/server/model.hpp"

namespace ferry::server::acs {

// RunShellScript / RunBatScript / RunPowerShellScript and Ferry's SHELL / BAT / POWERSHELL.
std::optional<std::string> ferry_command_type(std::string_view acs_type);
std::string_view acs_command_type(std::string_view ferry_type);

// A time as Cloud Assistant writes it: "2024-05-01T08:00:00Z"; "" for 0 (not yet).
std::string acs_time(int64_t ms);

// What one run (task) is, in Cloud Assistant's words: its status (domain::acs_task_status), the
// legacy InvokeRecordStatus, and the ErrorCode of how it ended ("" when none).
struct TaskStatusWords {
  std::string_view invocation_status;
  std::string_view record_status;
  std::string error_code;
};
TaskStatusWords task_status_words(const InvocationTask& task);

// The legacy per-instance word (InstanceInvokeStatus, InvokeRecordStatus) of a per-instance
// status: Finished for Success; Failed for Failed, Timeout, Aborted, Error, Invalid; Stopped for
// Cancelled, Terminated; Running otherwise (Pending, Scheduled, Running, Stopping).
std::string_view record_status_of(std::string_view instance_status);

// The task statuses a legacy InvokeRecordStatus (Running, Finished, Failed, Stopped) stands
// for; empty for another word.
std::vector<TaskStatus> statuses_of_record_status(std::string_view record_status);

// A domain error in Cloud Assistant's codes: Ferry's vocabulary (the TAT codes) mapped where
// the Cloud Assistant API has its own word, left as it is otherwise. The message stays.
Error to_acs_error(Error error);

}  // namespace ferry::server::acs
