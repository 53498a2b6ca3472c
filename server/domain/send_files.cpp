#include "ferry/server/domain/send_files.hpp"

#include <algorithm>

#include "ferry/core/base64.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/task.hpp"
#include "ferry/server/domain/instances.hpp"
#include "ferry/server/domain/invocations.hpp"
#include "ferry/server/domain/value_rules.hpp"

namespace ferry::server::domain {

Expected<std::string> send_file(ServerContext& ctx, const SendFileRequest& r) {
  if (auto s = validate_task_file(r.file); !s) {
    return s.error();
  }
  if (r.content.size() > kMaxFileContentBase64) {
    return Error{codes::kTooLong,
                 "Content: at most " + std::to_string(kMaxFileContentBase64) + " bytes of base64"};
  }
  if (auto bytes = base64_decode(r.content); !bytes) {
    return Error{codes::kCommandContentInvalid, "Content: " + bytes.error().message};
  }
  if (auto s = validate_tags(r.tags, kMaxAcsTags); !s) {
    return s.error();
  }
  if (auto s = validate_instance_ids(r.instance_ids,
                                     static_cast<std::size_t>(ctx.settings.max_run_instances));
      !s) {
    return s.error();
  }
  if (auto s = require_registered_instances(ctx.store, r.instance_ids); !s) {
    return s.error();
  }
  auto invocation_id = random_id("inv-", 8);
  if (!invocation_id) {
    return invocation_id.error();
  }
  Invocation inv;
  inv.invocation_id = *invocation_id;
  inv.command_name = r.file.name;
  inv.description = r.description;
  inv.instance_kind = kInstanceKind;
  inv.invocation_source = std::string(to_string(InvocationSource::kUser));
  inv.command_content = r.content;
  inv.timeout = std::clamp(r.timeout, kMinSendFileTimeout, kMaxTimeoutSeconds);
  inv.created_ms = inv.updated_ms = ctx.clock.now_ms();
  inv.file = r.file;
  inv.tags = r.tags;
  std::vector<InvocationTask> tasks;
  for (const auto& instance : r.instance_ids) {
    auto t = make_run_task(ctx, inv, instance);
    if (!t) {
      return t.error();
    }
    tasks.push_back(std::move(*t));
  }
  if (auto s = ctx.store.insert_invocation(std::nullopt, inv, tasks); !s) {
    return s.error();
  }
  notify_ready_tasks(ctx, tasks);
  return inv.invocation_id;
}

}  // namespace ferry::server::domain
