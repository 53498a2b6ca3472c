// RunCommand, InvokeCommand and CancelInvocation as the domain sees them, and the invocation
// they share.
//
// Codes chosen where the seeds are silent:
//   - a well-formed instance id that is not a registered instance: ResourceNotFound.
//     InstanceNotFound (InvalidParameterValue.InvalidInstanceId stays for malformed ids);
//   - a malformed InvocationId: InvalidParameterValue.InvalidInvocationId; an unknown
//     invocation to cancel: ResourceNotFound.InvocationNotFound;
//   - CancelInvocation with nothing left to cancel (every targeted task final):
//     InvalidParameterValue, "already finished";
//   - Tags without SaveCommand: InvalidParameterValue (tags belong to a saved command only);
//   - an OutputCOSBucketUrl the server holds no credentials (or no region) for:
//     InvalidParameterValue.InvalidOutputCOSBucketUrl naming the bucket (cos/presigner.hpp).
#include "ferry/server/domain/invocations.hpp"

#include <algorithm>
#include <map>

#include "ferry/core/base64.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/parameters.hpp"
#include "ferry/server/cos/output_buckets.hpp"
#include "ferry/server/domain/instances.hpp"
#include "ferry/server/domain/invocation_listings.hpp"
#include "ferry/server/domain/parameter_rules.hpp"
#include "ferry/server/domain/value_rules.hpp"
#include "ferry/server/hidden_parameters.hpp"
#include "ferry/server/task_state.hpp"

namespace ferry::server::domain {
namespace {

constexpr std::size_t kMaxCancelInstances = 100;

// The command's defaults overlaid by the caller's Parameters; with EnableParameter every custom
// name the script uses must end up with a value, since the agent would fail the task otherwise.
Expected<std::map<std::string, std::string>> merge_parameters(
    const Command& c, const std::optional<std::map<std::string, std::string>>& given) {
  std::map<std::string, std::string> merged;
  if (!c.default_parameters.empty()) {
    auto defaults = parse_parameter_object("DefaultParameters", c.default_parameters);
    if (!defaults) {
      return defaults.error();
    }
    merged = std::move(*defaults);
  }
  if (given) {
    for (const auto& [k, v] : *given) {
      merged[k] = v;
    }
  }
  if (auto s = validate_parameters(merged); !s) {
    return s.error().wrap("Parameters");
  }
  auto script = base64_decode(c.content);
  if (!script) {
    return Error{codes::kCommandContentInvalid, "Content: " + script.error().message};
  }
  auto refs = referenced_parameters(*script);
  if (!refs) {
    return refs.error().wrap("Content");
  }
  std::string missing;
  for (const auto& name : *refs) {
    if (!merged.contains(name)) {
      missing += (missing.empty() ? "" : ", ") + name;
    }
  }
  if (!missing.empty()) {
    return Error{
        codes::kLackOfParameterInfo,
        "the command uses parameters with no value in Parameters or the defaults: " + missing};
  }
  return merged;
}

// The caller's Parameters (kept as given on the invocation) and what each task carries: the
// caller's over the command's defaults, every name the script uses covered; nothing when the
// command has parameters off.
struct InvocationParameters {
  std::string given_json;
  std::map<std::string, std::string> merged;
};

Expected<InvocationParameters> resolve_parameters(const Command& c,
                                                  const std::optional<std::string>& text) {
  std::optional<std::map<std::string, std::string>> given;
  if (text) {
    if (!c.enable_parameter) {
      return Error{"InvalidParameterValue.SupportParametersOnlyIfEnableParameter",
                   "Parameters need a command with EnableParameter true"};
    }
    auto parsed = parse_parameter_object("Parameters", *text);
    if (!parsed) {
      return parsed.error();
    }
    given = std::move(*parsed);
  }
  InvocationParameters out;
  if (given) {
    out.given_json = parameter_map_to_json(*given);
  }
  if (c.enable_parameter) {
    auto merged = merge_parameters(c, given);
    if (!merged) {
      return merged.error();
    }
    out.merged = std::move(*merged);
  }
  return out;
}

// A run that names a bucket needs one the server can sign for now: refused here, the caller
// learns it at once instead of from every task's OutputUploadCOSErrorInfo later. Commands are
// checked for the URL's syntax only (the operator may configure the bucket after).
Status check_output_bucket(const ServerContext& ctx, const std::string& url) {
  if (url.empty()) {
    return {};
  }
  if (auto bucket = cos::usable_bucket(url, ctx.settings.output_buckets); !bucket) {
    return bucket.error();
  }
  return {};
}

// The Parameters an invocation keeps ("" when none were given) as resolve_parameters takes them.
std::optional<std::string> kept_parameters(const std::string& text) {
  return text.empty() ? std::nullopt : std::optional<std::string>(text);
}

// A new task of `inv` on `instance` with the invocation's content and settings: PENDING, or
// DELIVER_DELAYED while its agent is offline.
Expected<InvocationTask> new_task(ServerContext& ctx, const Invocation& inv,
                                  const std::string& instance, const std::string& parameters,
                                  int64_t now) {
  auto task_id = random_id("invt-", 8);
  if (!task_id) {
    return task_id.error();
  }
  InvocationTask t;
  t.invocation_task_id = *task_id;
  t.invocation_id = inv.invocation_id;
  t.command_id = inv.command_id;
  t.command_name = inv.command_name;
  t.instance_id = instance;
  t.status = TaskStatus::kPending;
  if (!ctx.presence.is_online(instance) &&
      can_transition(TaskStatus::kPending, TaskStatus::kDeliverDelayed)) {
    t.status = TaskStatus::kDeliverDelayed;
  }
  t.document =
      CommandDocument{inv.command_content,       inv.command_type, inv.timeout,
                      inv.working_directory,     inv.username,     inv.output_cos_bucket_url,
                      inv.output_cos_key_prefix, inv.execution,    inv.file};
  t.enable_parameter = inv.enable_parameter;
  t.parameters = parameters;
  t.invocation_source = inv.invocation_source;
  t.created_ms = t.updated_ms = now;
  return t;
}

}  // namespace

RunSettings run_settings_of(const Command& c, const std::string& username) {
  return RunSettings{c.working_directory,
                     c.timeout,
                     username.empty() ? c.username : username,
                     c.output_cos_bucket_url,
                     c.output_cos_key_prefix,
                     ExecutionSettings{c.launcher, "", "", ""}};
}

Status check_invocation_parameters(const Command& c, const std::optional<std::string>& parameters) {
  if (auto p = resolve_parameters(c, parameters); !p) {
    return p.error();
  }
  return {};
}

std::string_view to_string(InvocationSource source) {
  static constexpr std::string_view kNames[] = {"USER", "INVOKER", "SCHEDULE"};
  return kNames[static_cast<std::size_t>(source)];
}

Expected<PreparedInvocation> prepare_invocation(ServerContext& ctx, const Command& c,
                                                const InvocationSpec& spec) {
  auto params = resolve_parameters(c, spec.parameters);
  if (!params) {
    return params.error();
  }
  if (auto s = check_output_bucket(ctx, spec.run.output_cos_bucket_url); !s) {
    return s.error();
  }
  if (auto s = check_execution(spec.run.execution, c.command_type); !s) {
    return s.error();
  }
  if (auto s = require_registered_instances(ctx.store, spec.instance_ids); !s) {
    return s.error();
  }
  const int64_t now = ctx.clock.now_ms();
  if (auto s = check_repeat(spec.repeat, spec.run.timeout, now); !s) {
    return s.error();
  }
  auto invocation_id = random_id("inv-", 8);
  if (!invocation_id) {
    return invocation_id.error();
  }
  const RunSettings& run = spec.run;
  const std::string source(to_string(spec.source));
  PreparedInvocation out;
  Invocation& inv = out.invocation;
  inv.invocation_id = *invocation_id;
  inv.command_id = c.command_id;
  inv.command_name = c.command_name;
  inv.description = c.description;
  inv.parameters = params->given_json;
  inv.default_parameters = c.default_parameters;
  inv.instance_kind = kInstanceKind;
  inv.username = run.username;
  inv.invocation_source = source;
  inv.command_content = c.content;
  inv.command_type = c.command_type;
  inv.timeout = run.timeout;
  inv.working_directory = run.working_directory;
  inv.output_cos_bucket_url = run.output_cos_bucket_url;
  inv.output_cos_key_prefix = run.output_cos_key_prefix;
  inv.execution = run.execution;
  inv.created_ms = inv.updated_ms = now;

  inv.enable_parameter = c.enable_parameter;
  inv.repeat_mode = std::string(to_string(spec.repeat.mode));

  if (spec.repeat.mode != RepeatMode::kOnce) {
    // Runs come later: the instances wait as targets.
    inv.frequency = spec.repeat.frequency;
    inv.schedule_state = schedule_states::kScheduled;
    if (spec.repeat.mode == RepeatMode::kPeriod) {
      auto f = parse_frequency(spec.repeat.frequency);
      if (!f) {
        return f.error();
      }
      inv.next_slot_ms = next_run_after(*f, now, now);
    }
    for (const auto& instance : spec.instance_ids) {
      inv.targets.push_back(InvocationTarget{instance, 0, false});
    }
    return out;
  }
  const std::string parameters = c.enable_parameter ? parameter_map_to_json(params->merged) : "";
  // The tasks carry the values to their agents; the invocation of one run only shows them, so
  // it keeps hidden ones masked (a repeat invocation keeps them for its later runs).
  inv.parameters = shown_parameters(inv.parameters, inv.command_content);
  out.tasks.reserve(spec.instance_ids.size());
  for (const auto& instance : spec.instance_ids) {
    auto t = new_task(ctx, inv, instance, parameters, now);
    if (!t) {
      return t.error();
    }
    out.tasks.push_back(std::move(*t));
  }
  return out;
}

Expected<InvocationTask> make_run_task(ServerContext& ctx, const Invocation& inv,
                                       const std::string& instance_id, int64_t slot_ms) {
  Command c;
  c.content = inv.command_content;
  c.enable_parameter = inv.enable_parameter;
  c.default_parameters = inv.default_parameters;
  auto params = resolve_parameters(c, kept_parameters(inv.parameters));
  if (!params) {
    return params.error();
  }
  auto t = new_task(ctx, inv, instance_id,
                    inv.enable_parameter ? parameter_map_to_json(params->merged) : "",
                    ctx.clock.now_ms());
  if (t) {
    t->slot_ms = slot_ms;
  }
  return t;
}

void notify_ready_tasks(ServerContext& ctx, const std::vector<InvocationTask>& tasks) {
  for (const auto& t : tasks) {
    if (t.status == TaskStatus::kPending) {
      ctx.notifier.task_ready(t.instance_id, t.invocation_task_id);
    }
  }
}

Expected<std::string> create_invocation(ServerContext& ctx, const Command& c,
                                        const InvocationSpec& spec, bool new_command) {
  auto prepared = prepare_invocation(ctx, c, spec);
  if (!prepared) {
    return prepared.error();
  }
  if (new_command && c.saved) {
    if (auto s = check_command_quota(ctx); !s) {
      return s.error();
    }
  }
  const std::optional<Command> stored = new_command ? std::optional<Command>(c) : std::nullopt;
  if (auto s = ctx.store.insert_invocation(stored, prepared->invocation, prepared->tasks); !s) {
    return s.error();
  }
  if (prepared->invocation.next_slot_ms != 0) {
    ctx.schedules.schedules_changed();
  }
  notify_ready_tasks(ctx, prepared->tasks);
  return prepared->invocation.invocation_id;
}

Expected<RunResult> run_command(ServerContext& ctx, const RunRequest& r) {
  const CommandFields given = new_command_fields(r.command);
  Command c;
  c.saved = r.save_command;
  c.created_by = kCreatedBy;
  apply_command_fields(given, c);
  if (auto s = check_command_fields(ctx.settings, given, c.command_type); !s) {
    return s.error();
  }
  if (auto s = validate_instance_ids(r.instance_ids,
                                     static_cast<std::size_t>(ctx.settings.max_run_instances));
      !s) {
    return s.error();
  }
  // Cloud Assistant tags the run itself: its unsaved command keeps them for the listings.
  if (!c.tags.empty() && !c.saved && given.text_rules == TextRules::kTat) {
    return Error{codes::kInvalidParameterValue,
                 "Tags: tags belong to a saved command; set SaveCommand to true or drop Tags"};
  }
  auto command_id = random_id("cmd-", 8);
  if (!command_id) {
    return command_id.error();
  }
  c.command_id = *command_id;
  // A saved command must be findable by name later; its id is a name nobody else has.
  if (!given.command_name && c.saved) {
    c.command_name = c.command_id;
  }
  c.created_ms = c.updated_ms = ctx.clock.now_ms();
  RunSettings run = run_settings_of(c);
  run.execution.termination_mode = r.execution.termination_mode;
  run.execution.container_id = r.execution.container_id;
  run.execution.container_name = r.execution.container_name;
  InvocationSpec spec{r.instance_ids, run, r.parameters, InvocationSource::kUser, r.repeat};
  auto invocation_id = create_invocation(ctx, c, spec, true);
  if (!invocation_id) {
    return invocation_id.error();
  }
  return RunResult{c.command_id, *invocation_id};
}

Expected<std::string> invoke_command(ServerContext& ctx, const InvokeRequest& r) {
  if (auto s = validate_ids({r.command_id}, "cmd-", "InvalidParameterValue.InvalidCommandId",
                            "CommandId");
      !s) {
    return s.error();
  }
  auto c = get_saved_command(ctx, r.command_id);
  if (!c) {
    return c.error();
  }
  // An empty override means "not given": the command's own setting applies.
  const auto pick = [](const std::optional<std::string>& v, const std::string& fallback) {
    return v && !v->empty() ? *v : fallback;
  };
  const RunSettings run{
      pick(r.overrides.working_directory, c->working_directory),
      r.overrides.timeout.value_or(c->timeout),
      pick(r.overrides.username, c->username),
      pick(r.overrides.output_cos_bucket_url, c->output_cos_bucket_url),
      pick(r.overrides.output_cos_key_prefix, c->output_cos_key_prefix),
      ExecutionSettings{r.execution.launcher.empty() ? c->launcher : r.execution.launcher,
                        r.execution.termination_mode, r.execution.container_id,
                        r.execution.container_name}};
  CommandFields picked;
  picked.working_directory = run.working_directory;
  picked.timeout = run.timeout;
  if (!run.username.empty()) {
    picked.username = run.username;
  }
  picked.output_cos_bucket_url = run.output_cos_bucket_url;
  picked.output_cos_key_prefix = run.output_cos_key_prefix;
  if (auto s = check_command_fields(ctx.settings, picked, c->command_type); !s) {
    return s.error();
  }
  if (auto s = validate_instance_ids(r.instance_ids,
                                     static_cast<std::size_t>(ctx.settings.max_run_instances));
      !s) {
    return s.error();
  }
  return create_invocation(ctx, *c,
                           InvocationSpec{r.instance_ids, run, r.parameters, r.source, r.repeat});
}

Status cancel_invocation(ServerContext& ctx, const std::string& id,
                         const std::optional<std::vector<std::string>>& instance_ids) {
  if (auto s =
          validate_ids({id}, "inv-", "InvalidParameterValue.InvalidInvocationId", "InvocationId");
      !s) {
    return s;
  }
  if (instance_ids) {
    if (auto s = validate_instance_ids(*instance_ids, kMaxCancelInstances); !s) {
      return s;
    }
  }
  auto inv = ctx.store.get_invocation(id);
  if (!inv) {
    return inv.error();
  }
  if (!*inv) {
    return Error{"ResourceNotFound.InvocationNotFound", "the invocation " + id + " does not exist"};
  }
  auto tasks = invocation_tasks(ctx.store, {id});
  if (!tasks) {
    return tasks.error();
  }
  std::vector<InvocationTask> targets;
  // An empty list names no subset: the whole invocation is meant, as when it is absent.
  if (instance_ids && !instance_ids->empty()) {
    for (const auto& instance : *instance_ids) {
      auto it = std::find_if(tasks->begin(), tasks->end(),
                             [&](const InvocationTask& t) { return t.instance_id == instance; });
      if (it == tasks->end()) {
        return Error{"InvalidParameterValue.InvalidInstanceId",
                     "InstanceIds: the invocation " + id + " has no task on " + instance};
      }
      targets.push_back(*it);
    }
  } else {
    targets = std::move(*tasks);
  }
  auto any_live = cancel_tasks(ctx, targets);
  if (!any_live) {
    return any_live.error();
  }
  if (!*any_live) {
    return Error{codes::kInvalidParameterValue,
                 "the invocation " + id + " has already finished on the targeted instances"};
  }
  return {};
}

Expected<bool> cancel_tasks(ServerContext& ctx, const std::vector<InvocationTask>& tasks) {
  const int64_t now = ctx.clock.now_ms();
  std::vector<std::pair<std::string, std::string>> to_notify;  // instance, task
  bool any_live = false;
  for (const InvocationTask& target : tasks) {
    // Decided inside the store's transaction: the agent may have moved the task meanwhile.
    CancelMove move;
    auto updated = ctx.store.modify_task(target.invocation_task_id, [&](InvocationTask& t) {
      move = cancel_task(t, now);
      return move.changed;
    });
    if (!updated) {
      return updated.error();
    }
    any_live = any_live || move.live;
    if (move.notify) {
      to_notify.emplace_back(target.instance_id, target.invocation_task_id);
    }
  }
  for (const auto& [instance, task] : to_notify) {
    ctx.notifier.task_cancelled(instance, task);
  }
  return any_live;
}

}  // namespace ferry::server::domain
