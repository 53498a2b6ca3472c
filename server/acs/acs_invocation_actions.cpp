// RunCommand, InvokeCommand, DescribeInvocations, DescribeInvocationResults, StopInvocation.
#include <algorithm>
#include <map>

#include "acs_handlers.hpp"
#include "acs_vocabulary.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/server/acs/acs_codes.hpp"
#include "ferry/server/domain/commands.hpp"
#include "ferry/server/domain/invocations.hpp"
#include "ferry/server/domain/repeats.hpp"
#include "ferry/server/domain/text.hpp"
#include "ferry/server/domain/value_rules.hpp"

namespace ferry::server::acs {
namespace {

// WindowsPasswordName names a secret in Alibaba's Parameter Store: at most 255 characters there,
// and a store this server does not have (a user is switched to without a password).
void refuse_windows_password_name(AcsFields& p) {
  auto name = p.opt_string("WindowsPasswordName");
  if (!name || name->empty()) {
    return;
  }
  if (name->size() > 255) {
    p.fail(Error{codes::acs::kWindowsPasswordNameExceedLimit,
                 "The length of the WindowsPasswordName exceeds the upper limit of 255."});
    return;
  }
  p.fail(Error{codes::acs::kParameterStoreNotSupported,
               "WindowsPasswordName: Parameter Store is not supported by this server."});
}

// RepeatMode and Frequency, checked with the run's timeout (domain::resolve_repeat's codes).
struct RepeatText {
  std::optional<std::string> mode;
  std::optional<std::string> frequency;
};
RepeatText read_repeat(AcsFields& p) {
  RepeatText r{p.opt_string("RepeatMode"), p.opt_string("Frequency")};
  if (r.mode && r.mode->empty()) {
    r.mode.reset();
  }
  if (r.frequency && r.frequency->empty()) {
    r.frequency.reset();
  }
  return r;
}

std::optional<std::string> read_username(AcsFields& p) {
  auto username = p.opt_string("Username");
  if (username && username->size() > 255) {
    p.fail(Error{codes::acs::kUsernameExceedLimit,
                 "The length of the username exceeds the upper limit of 255."});
  }
  if (username && username->empty()) {
    return std::nullopt;
  }
  return username;
}

// The summary with its tasks' outputs (a listing reads tasks without them), the live output of
// running ones included.
Expected<domain::InvocationSummary> tasks_with_output(ServerContext& ctx,
                                                      domain::InvocationSummary s) {
  TaskQuery q;
  q.invocation_ids = {s.invocation.invocation_id};
  q.limit = domain::kListAllPage;
  auto page = domain::describe_tasks(ctx, q);
  if (!page) {
    return page.error();
  }
  s.tasks.clear();
  for (auto& view : page->items) {
    if (view.live_log) {
      view.task.output = base64_encode(*view.live_log);
    }
    s.tasks.push_back(std::move(view.task));
  }
  return s;
}

// TerminationMode, ContainerId, ContainerName of a run (the domain checks them:
// check_execution).
ExecutionSettings read_execution(AcsFields& p) {
  ExecutionSettings e;
  e.termination_mode = p.opt_string("TerminationMode").value_or("");
  e.container_id = p.opt_string("ContainerId").value_or("");
  e.container_name = p.opt_string("ContainerName").value_or("");
  return e;
}

// Seed 004: InstanceId.N up to 100, and at most 100 instances found by ResourceTag.
constexpr int64_t kMaxTargets = 100;

}  // namespace

Reply run_command(ServerContext& ctx, AcsFields& p) {
  domain::RunRequest r;
  r.command.command_type = read_command_type(p, true);
  const bool keep = p.opt_bool("KeepCommand").value_or(false);
  r.command.content = read_content(p, keep ? kMaxKeptContent : kMaxRunContent, true);
  read_command_texts(p, r.command);
  if (r.command.command_name && r.command.command_name->empty()) {
    r.command.command_name.reset();
  }
  r.command.username = read_username(p);
  r.command.enable_parameter = p.opt_bool("EnableParameter");
  r.command.tags = read_tags(p);
  r.execution = read_execution(p);
  const RepeatText repeat = read_repeat(p);
  refuse_windows_password_name(p);
  const auto parameters = p.opt_string("Parameters");
  r.instance_ids =
      read_targets(ctx, p, std::min<int64_t>(kMaxTargets, ctx.settings.max_run_instances));
  r.save_command = keep;
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (auto s = check_platforms(ctx, *r.command.command_type, r.instance_ids); !s) {
    return s.error();
  }
  auto resolved = resolve_parameters(parameters, r.command.enable_parameter.value_or(false),
                                     *r.command.content);
  if (!resolved) {
    return resolved.error();
  }
  r.parameters = *resolved;
  auto spec = domain::resolve_repeat(repeat.mode, repeat.frequency,
                                     r.command.timeout.value_or(kDefaultTimeoutSeconds),
                                     ctx.clock.now_ms());
  if (!spec) {
    return spec.error();
  }
  r.repeat = *spec;
  auto result = domain::run_command(ctx, r);
  if (!result) {
    return to_acs_error(result.error());
  }
  return nlohmann::json{{"CommandId", result->command_id}, {"InvokeId", result->invocation_id}};
}

Reply invoke_command(ServerContext& ctx, AcsFields& p) {
  domain::InvokeRequest r;
  r.command_id = p.req_string("CommandId");
  r.overrides.working_directory = read_working_dir(p);
  r.overrides.timeout = p.opt_int("Timeout");
  r.overrides.username = read_username(p);
  r.execution = read_execution(p);
  r.execution.launcher = read_launcher(p).value_or("");
  const RepeatText repeat = read_repeat(p);
  refuse_windows_password_name(p);
  const auto parameters = p.opt_string("Parameters");
  r.instance_ids =
      read_targets(ctx, p, std::min<int64_t>(kMaxTargets, ctx.settings.max_run_instances));
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto command = domain::get_saved_command(ctx, r.command_id);
  if (!command) {
    return to_acs_error(command.error());
  }
  if (auto s = check_platforms(ctx, command->command_type, r.instance_ids); !s) {
    return s.error();
  }
  auto resolved = resolve_parameters(parameters, command->enable_parameter, command->content);
  if (!resolved) {
    return resolved.error();
  }
  r.parameters = *resolved;
  auto spec =
      domain::resolve_repeat(repeat.mode, repeat.frequency,
                             r.overrides.timeout.value_or(command->timeout), ctx.clock.now_ms());
  if (!spec) {
    return spec.error();
  }
  r.repeat = *spec;
  auto id = domain::invoke_command(ctx, r);
  if (!id) {
    return to_acs_error(id.error());
  }
  return nlohmann::json{{"InvokeId", *id}};
}

Reply describe_invocations(ServerContext& ctx, AcsFields& p) {
  InvocationQuery q;
  q.sends_file = false;  // deliveries are DescribeSendFileResults'

  if (auto id = p.opt_string("InvokeId"); id && !id->empty()) {
    q.invocation_ids = {*id};
  }
  if (auto id = p.opt_string("CommandId"); id && !id->empty()) {
    q.command_ids = {*id};
  }
  if (auto id = p.opt_string("InstanceId"); id && !id->empty()) {
    q.instance_ids = {*id};
  }
  const auto command_name = p.opt_string("CommandName");
  const auto command_type = read_command_type(p, false, "CommandType");
  const auto invoke_status = p.opt_string("InvokeStatus");
  const bool include_output = p.opt_bool("IncludeOutput").value_or(false);
  const bool plain = read_plain_text(p);
  if (auto mode = p.opt_string("RepeatMode"); mode && !mode->empty()) {
    auto parsed = domain::parse_repeat_mode(*mode);
    if (!parsed) {
      p.fail(Error{codes::acs::kInvalidRepeatMode, "The specified repeat mode does not exist."});
    } else {
      q.repeat_modes = {std::string(domain::to_string(*parsed))};
    }
  }
  const Paging paging = read_paging(p);
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  // What the store cannot filter: the command's name and type, the status made of the tasks.
  const bool filtered = (command_name && !command_name->empty()) || command_type ||
                        (invoke_status && !invoke_status->empty());
  const auto keep = [&](const domain::InvocationSummary& s) {
    return (!command_name || command_name->empty() || s.invocation.command_name == *command_name) &&
           (!command_type || s.invocation.command_type == *command_type) &&
           (!invoke_status || invoke_status->empty() || has_invocation_status(s, *invoke_status));
  };
  nlohmann::json invocations = nlohmann::json::array();
  auto total = invocation_page(ctx, q, paging, filtered ? InvocationFilter(keep) : nullptr,
                               [&](const domain::InvocationSummary& s) -> Status {
                                 if (!include_output) {
                                   invocations.push_back(invocation_json(s, plain, false));
                                   return {};
                                 }
                                 auto with_output = tasks_with_output(ctx, s);
                                 if (!with_output) {
                                   return to_acs_error(with_output.error());
                                 }
                                 invocations.push_back(invocation_json(*with_output, plain, true));
                                 return {};
                               });
  if (!total) {
    return total.error();
  }
  nlohmann::json out{{"Invocations", {{"Invocation", std::move(invocations)}}}};
  write_paging(out, paging, *total);
  return out;
}

Reply describe_invocation_results(ServerContext& ctx, AcsFields& p) {
  TaskQuery q;
  q.sends_file = false;  // deliveries are DescribeSendFileResults'

  const auto invoke_id = p.opt_string("InvokeId");
  if (invoke_id && !invoke_id->empty()) {
    q.invocation_ids = {*invoke_id};
  }
  if (auto id = p.opt_string("InstanceId"); id && !id->empty()) {
    q.instance_ids = {*id};
  }
  if (auto id = p.opt_string("CommandId"); id && !id->empty()) {
    q.command_ids = {*id};
  }
  if (auto status = p.opt_string("InvokeRecordStatus"); status && !status->empty()) {
    q.statuses = statuses_of_record_status(*status);
    if (q.statuses.empty()) {
      p.fail(Error{codes::kInvalidParameter,
                   "InvokeRecordStatus must be Running, Finished, Failed or Stopped."});
    }
  }
  // Every run is a task of the invocation; without IncludeHistory only each instance's latest.
  q.latest_run_only = !p.opt_bool("IncludeHistory").value_or(false);
  const bool plain = read_plain_text(p);
  const Paging paging = read_paging(p);
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  q.offset = paging.offset;
  q.limit = paging.size;
  auto page = domain::describe_tasks(ctx, q);
  if (!page) {
    return to_acs_error(page.error());
  }
  std::map<std::string, Invocation> invocations;
  nlohmann::json results = nlohmann::json::array();
  for (const auto& view : page->items) {
    const std::string& id = view.task.invocation_id;
    if (!invocations.count(id)) {
      auto inv = ctx.store.get_invocation(id);
      if (!inv) {
        return to_acs_error(inv.error());
      }
      invocations[id] = inv->value_or(Invocation{});
    }
    results.push_back(result_json(view, invocations[id], plain));
  }
  nlohmann::json inner{{"InvocationResults", {{"InvocationResult", std::move(results)}}}};
  write_paging(inner, paging, page->total);
  return nlohmann::json{{"Invocation", std::move(inner)}};
}

namespace {

// The command invocation `id`, InvalidInvokeId.NotFound without one. A file delivery is not one:
// Cloud Assistant keeps those apart (SendFile, DescribeSendFileResults).
Expected<Invocation> find_command_invocation(ServerContext& ctx, const std::string& id) {
  auto found = ctx.store.get_invocation(id);
  if (!found) {
    return to_acs_error(found.error());
  }
  if (!*found || (*found)->sends_file()) {
    return Error{codes::acs::kInvokeIdNotFound, "The specified invocation does not exist."};
  }
  return std::move(**found);
}

}  // namespace

Reply stop_invocation(ServerContext& ctx, AcsFields& p) {
  const std::string id = p.req_string("InvokeId");
  const auto instance_ids = p.opt_list("InstanceId");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (auto found = find_command_invocation(ctx, id); !found) {
    return found.error();
  }
  if (auto s = domain::stop_invocation(ctx, id, instance_ids.value_or(std::vector<std::string>{}));
      !s) {
    return to_acs_error(s.error());
  }
  return nlohmann::json::object();
}

Reply modify_invocation_attribute(ServerContext& ctx, AcsFields& p) {
  const std::string id = p.req_string("InvokeId");
  domain::ScheduleChanges changes;
  changes.frequency = p.opt_string("Frequency");
  changes.content = read_content(p, kMaxRunContent, false);
  const auto parameters = p.opt_string("Parameters");
  p.opt_bool("EnableParameter");  // the invocation keeps its command's setting
  if (auto ids = p.opt_list("InstanceId"); ids && !ids->empty()) {
    p.fail(Error{"Operation.Forbidden",
                 "InstanceId.N: an invocation's instances cannot be changed here."});
  }
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto found = find_command_invocation(ctx, id);
  if (!found) {
    return found.error();
  }
  const Invocation& inv = *found;
  if (parameters || changes.content) {
    auto resolved =
        resolve_parameters(parameters ? parameters : std::optional<std::string>(),
                           inv.enable_parameter, changes.content.value_or(inv.command_content));
    if (!resolved) {
      return resolved.error();
    }
    changes.parameters = resolved->value_or("");
  }
  if (auto s = domain::modify_invocation_schedule(ctx, id, changes); !s) {
    return to_acs_error(s.error());
  }
  return nlohmann::json{{"CommandId", inv.command_id}};
}

}  // namespace ferry::server::acs
