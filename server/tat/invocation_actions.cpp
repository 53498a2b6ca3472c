// RunCommand, InvokeCommand, CancelInvocation, DescribeInvocations, DescribeInvocationTasks.
#include <algorithm>

#include "action_handlers.hpp"
#include "ferry/core/output_excerpt.hpp"
#include "ferry/server/api/json_writer.hpp"
#include "ferry/server/domain/invocation_listings.hpp"
#include "ferry/server/domain/invocations.hpp"
#include "ferry/server/tat/tat_json.hpp"
#include "ferry/server/tat/tat_listing.hpp"

namespace ferry::server::tat_actions {

using F = CommandField;

Reply run_command(ServerContext& ctx, Params& p) {
  domain::RunRequest r;
  r.command.content = p.req_string("Content");
  r.instance_ids = p.req_string_list("InstanceIds");
  read_command_fields(
      p, {F::kCommandName, F::kDescription, F::kCommandType, F::kWorkingDirectory, F::kTimeout},
      r.command);
  r.save_command = p.opt_bool("SaveCommand").value_or(false);
  read_command_fields(p, {F::kEnableParameter}, r.command);
  r.parameters = p.opt_string("Parameters");
  read_command_fields(p, {F::kTags, F::kUsername, F::kOutputCosBucketUrl, F::kOutputCosKeyPrefix},
                      r.command);
  if (auto s = read_default_parameters(p, r.command.enable_parameter.value_or(false), r.command);
      !s) {
    return s.error();
  }
  return finish_then(
      p, [&] { return domain::run_command(ctx, r); },
      [](const domain::RunResult& run) {
        return nlohmann::json{{"CommandId", run.command_id}, {"InvocationId", run.invocation_id}};
      });
}

Reply invoke_command(ServerContext& ctx, Params& p) {
  domain::InvokeRequest r;
  r.command_id = p.req_string("CommandId");
  r.instance_ids = p.req_string_list("InstanceIds");
  r.parameters = p.opt_string("Parameters");
  read_command_fields(p,
                      {F::kUsername, F::kWorkingDirectory, F::kTimeout, F::kOutputCosBucketUrl,
                       F::kOutputCosKeyPrefix},
                      r.overrides);
  return finish_then(
      p, [&] { return domain::invoke_command(ctx, r); },
      [](const std::string& id) {
        return nlohmann::json{{"InvocationId", id}};
      });
}

Reply cancel_invocation(ServerContext& ctx, Params& p) {
  const std::string id = p.req_string("InvocationId");
  const auto instance_ids = p.opt_string_list("InstanceIds");
  return finish_then(p, [&] { return domain::cancel_invocation(ctx, id, instance_ids); });
}

Reply describe_invocations(ServerContext& ctx, Params& p) {
  InvocationQuery q;
  // A file delivery (Cloud Assistant's SendFile) is no command invocation: TAT's model cannot
  // describe it, DescribeSendFileResults does.
  q.sends_file = false;
  // Every invocation of Ferry's has the same instance kind and runs a command of its users.
  return listing_reply(
      read_listing(p, q,
                   {"InvocationIds",
                    &q.invocation_ids,
                    domain::check_invocation_ids,
                    {{"invocation-id", &q.invocation_ids},
                     {"command-id", &q.command_ids},
                     {"command-created-by", nullptr, {"TAT", "USER"}, false, domain::kCreatedBy},
                     {"instance-kind", nullptr, {}, false, domain::kInstanceKind}}}),
      [&] { return domain::describe_invocations(ctx, q); }, "InvocationSet", &invocation_to_json);
}

Status describe_invocation_tasks(ServerContext& ctx, const ApiCall& call, Params& p,
                                 std::string& out) {
  TaskQuery q;
  q.sends_file = false;  // as DescribeInvocations: no file deliveries
  bool hide = true;
  auto listing =
      read_listing(p, q,
                   {"InvocationTaskIds",
                    &q.task_ids,
                    domain::check_task_ids,
                    {{"invocation-id", &q.invocation_ids},
                     {"invocation-task-id", &q.task_ids},
                     {"instance-id", &q.instance_ids},
                     {"command-id", &q.command_ids}}},
                   [&hide](Params& more) { hide = more.opt_bool("HideOutput").value_or(true); });
  if (!listing) {
    return listing.error();
  }
  q.with_output = !hide;
  // Live output of running tasks is read before anything is written.
  auto page = domain::describe_tasks(ctx, q);
  if (!page) {
    return page.error();
  }
  std::size_t estimate = 128;
  for (const auto& [t, live] : page->items) {
    // Only a bounded excerpt of a live log is shown, base64-encoded.
    const std::size_t live_shown = live ? std::min(live->size(), kMaxOutputExcerpt) : 0;
    estimate += 1024 + t.output.size() + t.document.content.size() + t.command_name.size() +
                t.error_info.size() + live_shown / 3 * 4 + 4;
  }
  // Keys in sorted order, as nlohmann::json (a std::map) writes them.
  out.reserve(out.size() + estimate);
  JsonWriter w(out);
  w.begin_object();
  w.key("InvocationTaskSet");
  w.begin_array();
  for (const auto& [t, live] : page->items) {
    write_invocation_task(w, t, live);
  }
  w.end_array();
  w.field("RequestId", call.request_id);
  w.field("TotalCount", page->total);
  w.end_object();
  return {};
}

}  // namespace ferry::server::tat_actions
