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
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto run = domain::run_command(ctx, r);
  if (!run) {
    return run.error();
  }
  return nlohmann::json{{"CommandId", run->command_id}, {"InvocationId", run->invocation_id}};
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
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto id = domain::invoke_command(ctx, r);
  if (!id) {
    return id.error();
  }
  return nlohmann::json{{"InvocationId", *id}};
}

Reply cancel_invocation(ServerContext& ctx, Params& p) {
  const std::string id = p.req_string("InvocationId");
  const auto instance_ids = p.opt_string_list("InstanceIds");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  return reply_if(domain::cancel_invocation(ctx, id, instance_ids));
}

Reply describe_invocations(ServerContext& ctx, Params& p) {
  auto listing =
      read_listing(p, {"InvocationIds",
                       {"invocation-id", "command-id", "command-created-by", "instance-kind"},
                       false});
  if (!listing) {
    return listing.error();
  }
  InvocationQuery q;
  q.offset = listing->paging.offset;
  q.limit = listing->paging.limit;
  bool matches_nothing = false;
  if (listing->ids) {
    if (auto s = domain::check_invocation_ids(*listing->ids); !s) {
      return s.error();
    }
    q.invocation_ids = *listing->ids;
  }
  if (listing->filters) {
    if (auto s = apply_filters(*listing->filters, {{"invocation-id", &q.invocation_ids},
                                                   {"command-id", &q.command_ids},
                                                   {"command-created-by", nullptr, {"TAT", "USER"}},
                                                   {"instance-kind"}});
        !s) {
      return s.error();
    }
    // A filter on a property every Ferry invocation shares matches all of them or none.
    for (const auto& f : *listing->filters) {
      const std::string_view shared = f.name == "instance-kind"        ? domain::kInstanceKind
                                      : f.name == "command-created-by" ? domain::kCreatedBy
                                                                       : "";
      matches_nothing = matches_nothing ||
                        (!shared.empty() &&
                         std::find(f.values.begin(), f.values.end(), shared) == f.values.end());
    }
  }
  if (matches_nothing) {
    return nlohmann::json{{"TotalCount", 0}, {"InvocationSet", nlohmann::json::array()}};
  }
  auto page = domain::describe_invocations(ctx, q);
  if (!page) {
    return page.error();
  }
  nlohmann::json set = nlohmann::json::array();
  for (const auto& summary : page->items) {
    set.push_back(invocation_to_json(summary));
  }
  return nlohmann::json{{"TotalCount", page->total}, {"InvocationSet", std::move(set)}};
}

Status describe_invocation_tasks(ServerContext& ctx, const ApiCall& call, Params& p,
                                 std::string& out) {
  bool hide = true;
  auto listing =
      read_listing(p,
                   {"InvocationTaskIds",
                    {"invocation-id", "invocation-task-id", "instance-id", "command-id"},
                    false},
                   [&hide](Params& more) { hide = more.opt_bool("HideOutput").value_or(true); });
  if (!listing) {
    return listing.error();
  }
  TaskQuery q;
  q.offset = listing->paging.offset;
  q.limit = listing->paging.limit;
  q.with_output = !hide;
  if (listing->ids) {
    if (auto s = domain::check_task_ids(*listing->ids); !s) {
      return s.error();
    }
    q.task_ids = *listing->ids;
  }
  if (listing->filters) {
    if (auto s = apply_filters(*listing->filters, {{"invocation-id", &q.invocation_ids},
                                                   {"invocation-task-id", &q.task_ids},
                                                   {"instance-id", &q.instance_ids},
                                                   {"command-id", &q.command_ids}});
        !s) {
      return s.error();
    }
  }
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
