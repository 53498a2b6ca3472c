// Sending a file to instances (Cloud Assistant's SendFile): an invocation with no command whose
// tasks write a file instead of running a script. It shares the invocations' store, statuses,
// delivery and cancel; listings of commands' invocations leave it out (InvocationQuery::
// sends_file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/core/task_file.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/model.hpp"

namespace ferry::server::domain {

struct SendFileRequest {
  TaskFile file;
  std::string content;  // base64, at most kMaxFileContentBase64
  std::string description;
  int64_t timeout = 60;                   // seconds; raised to kMinSendFileTimeout
  std::vector<std::string> instance_ids;  // registered instances
  std::vector<Tag> tags;                  // the delivery's own (Invocation::tags)
};

// Cloud Assistant raises a shorter timeout to 10 s so that a delivery has time to happen.
inline constexpr int64_t kMinSendFileTimeout = 10;

// One send-file invocation with a task per instance, stored and its agents kicked. The file must
// pass validate_task_file, the content its limit (InvalidParameterValue.TooLong) and be base64,
// the tags the tag rules (validate_tags, at most kMaxAcsTags), every instance be registered
// (ResourceNotFound.InstanceNotFound). Returns the InvocationId.
Expected<std::string> send_file(ServerContext& ctx, const SendFileRequest& request);

}  // namespace ferry::server::domain
