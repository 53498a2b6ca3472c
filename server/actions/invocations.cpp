// RunCommand, InvokeCommand, CancelInvocation, DescribeInvocations, DescribeInvocationTasks.
//
// Codes chosen where the seeds are silent:
//   - a well-formed instance id that is not a registered instance: ResourceNotFound.
//     InstanceNotFound (InvalidParameterValue.InvalidInstanceId stays for malformed ids);
//   - a malformed InvocationId / InvocationTaskId: InvalidParameterValue.InvalidInvocationId /
//     InvalidParameterValue.InvalidInvocationTaskId; an unknown invocation to cancel:
//     ResourceNotFound.InvocationNotFound;
//   - CancelInvocation with nothing left to cancel (every targeted task final):
//     InvalidParameterValue, "already finished";
//   - Tags without SaveCommand: InvalidParameterValue (tags belong to a saved command only).
#include <algorithm>
#include <iterator>
#include <map>
#include <set>

#include "ferry/core/base64.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/output_excerpt.hpp"
#include "ferry/core/parameters.hpp"
#include "ferry/server/actions/actions.hpp"
#include "ferry/server/api/json_writer.hpp"
#include "ferry/server/api/validation.hpp"
#include "ferry/server/task_state.hpp"

namespace ferry::server {
namespace {

constexpr std::size_t kMaxIds = 100;
constexpr std::size_t kMaxCancelInstances = 100;
// The model knows CVM and LIGHTHOUSE only; Ferry's targets are all registered instances, shown
// as CVM so that SDK code switching on the kind keeps working.
constexpr const char* kInstanceKind = "CVM";
// Ferry has no public (TAT-made) commands: everything it runs was created by the user.
constexpr const char* kCreatedBy = "USER";
constexpr int64_t kAllPage = 500;

bool is_id(const std::string& id, std::string_view prefix) {
  return id.size() == prefix.size() + 8 && id.rfind(prefix, 0) == 0 &&
         std::all_of(id.begin() + static_cast<std::ptrdiff_t>(prefix.size()), id.end(),
                     [](unsigned char c) { return std::islower(c) != 0 || std::isdigit(c) != 0; });
}

Status check_ids(const std::vector<std::string>& ids, std::string_view prefix, const char* code,
                 std::string_view field) {
  for (const auto& id : ids) {
    if (!is_id(id, prefix)) {
      return Error{code, std::string(field) + ": '" + id.substr(0, 64) +
                             "' is not an id of the form " + std::string(prefix) + "xxxxxxxx"};
    }
  }
  return {};
}

Status first_error(std::initializer_list<Status> checks) {
  for (const Status& s : checks) {
    if (!s) {
      return s;
    }
  }
  return {};
}

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

// Every id must be a registered instance.
Status check_instances(Store& store, const std::vector<std::string>& ids) {
  RegisterInstanceQuery q;
  q.instance_ids = ids;
  q.limit = static_cast<int64_t>(ids.size());
  auto page = store.list_instances(q);
  if (!page) {
    return page.error();
  }
  std::set<std::string> found;
  for (const auto& i : page->items) {
    found.insert(i.instance_id);
  }
  for (const auto& id : ids) {
    if (!found.contains(id)) {
      return Error{codes::kInstanceNotFound,
                   "InstanceIds: " + id + " is not a registered instance"};
    }
  }
  return {};
}

// Per-invocation settings that InvokeCommand may override and RunCommand takes as given.
struct RunSettings {
  std::string working_directory;
  int64_t timeout = 60;
  std::string username;
  std::string output_cos_bucket_url;
  std::string output_cos_key_prefix;
};

struct Created {
  std::string invocation_id;
};

// One invocation, one task per instance, inserted together (with `new_command` when set).
// Tasks for connected agents start PENDING and are kicked; the others wait DELIVER_DELAYED
// until their agent connects.
Expected<Created> create_invocation(ServerContext& ctx, const Command& c,
                                    const std::optional<Command>& new_command,
                                    const RunSettings& run, const std::string& given_parameters,
                                    const std::map<std::string, std::string>& merged,
                                    const std::vector<std::string>& instance_ids) {
  const int64_t now = ctx.clock.now_ms();
  auto invocation_id = random_id("inv-", 8);
  if (!invocation_id) {
    return invocation_id.error();
  }
  Invocation inv;
  inv.invocation_id = *invocation_id;
  inv.command_id = c.command_id;
  inv.command_name = c.command_name;
  inv.description = c.description;
  inv.parameters = given_parameters;
  inv.default_parameters = c.default_parameters;
  inv.instance_kind = kInstanceKind;
  inv.username = run.username;
  inv.invocation_source = "USER";
  inv.command_content = c.content;
  inv.command_type = c.command_type;
  inv.timeout = run.timeout;
  inv.working_directory = run.working_directory;
  inv.output_cos_bucket_url = run.output_cos_bucket_url;
  inv.output_cos_key_prefix = run.output_cos_key_prefix;
  inv.created_ms = inv.updated_ms = now;

  const std::string parameters = c.enable_parameter ? parameter_map_to_json(merged) : "";
  std::vector<InvocationTask> tasks;
  tasks.reserve(instance_ids.size());
  for (const auto& instance : instance_ids) {
    auto task_id = random_id("invt-", 8);
    if (!task_id) {
      return task_id.error();
    }
    InvocationTask t;
    t.invocation_task_id = *task_id;
    t.invocation_id = inv.invocation_id;
    t.command_id = c.command_id;
    t.command_name = c.command_name;
    t.instance_id = instance;
    t.status = TaskStatus::kPending;
    if (!ctx.presence.is_online(instance) &&
        can_transition(TaskStatus::kPending, TaskStatus::kDeliverDelayed)) {
      t.status = TaskStatus::kDeliverDelayed;
    }
    t.document.content = c.content;
    t.document.command_type = c.command_type;
    t.document.timeout = run.timeout;
    t.document.working_directory = run.working_directory;
    t.document.username = run.username;
    t.document.output_cos_bucket_url = run.output_cos_bucket_url;
    t.document.output_cos_key_prefix = run.output_cos_key_prefix;
    t.enable_parameter = c.enable_parameter;
    t.parameters = parameters;
    t.invocation_source = "USER";
    t.created_ms = t.updated_ms = now;
    tasks.push_back(std::move(t));
  }
  if (auto s = ctx.store.insert_invocation(new_command, inv, tasks); !s) {
    return s.error();
  }
  for (const auto& t : tasks) {
    if (t.status == TaskStatus::kPending) {
      ctx.notifier.task_ready(t.instance_id, t.invocation_task_id);
    }
  }
  return Created{inv.invocation_id};
}

// DefaultParameters / DefaultParameterConfs of RunCommand, the same rules as CreateCommand.
Status apply_defaults(Params& p, Command& c) {
  auto defaults = p.opt_string("DefaultParameters");
  auto confs = p.opt_parameter_confs("DefaultParameterConfs");
  if (!p.ok() || (!defaults && !confs)) {
    return {};
  }
  if (defaults && confs) {
    return Error{"InvalidParameter.ConflictParameter",
                 "DefaultParameters and DefaultParameterConfs cannot be given together"};
  }
  if (!c.enable_parameter) {
    return Error{"InvalidParameterValue.SupportParametersOnlyIfEnableParameter",
                 "default parameters need EnableParameter to be true"};
  }
  if (defaults) {
    auto parsed = parse_parameter_object("DefaultParameters", *defaults);
    if (!parsed) {
      return parsed.error();
    }
    c.default_parameters = parameter_map_to_json(*parsed);
    return {};
  }
  auto parsed = parameter_confs_to_map(*confs);
  if (!parsed) {
    return parsed.error();
  }
  c.default_parameter_confs = *confs;
  c.default_parameters = parameter_map_to_json(*parsed);
  return {};
}

// The caller's Parameters, parsed, refused when the command has parameters off.
Expected<std::optional<std::map<std::string, std::string>>> read_given_parameters(
    const std::optional<std::string>& text, bool enable_parameter) {
  if (!text) {
    return std::optional<std::map<std::string, std::string>>();
  }
  if (!enable_parameter) {
    return Error{"InvalidParameterValue.SupportParametersOnlyIfEnableParameter",
                 "Parameters need a command with EnableParameter true"};
  }
  auto parsed = parse_parameter_object("Parameters", *text);
  if (!parsed) {
    return parsed.error();
  }
  return std::optional<std::map<std::string, std::string>>(std::move(*parsed));
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
  auto given = read_given_parameters(text, c.enable_parameter);
  if (!given) {
    return given.error();
  }
  InvocationParameters out;
  if (*given) {
    out.given_json = parameter_map_to_json(**given);
  }
  if (c.enable_parameter) {
    auto merged = merge_parameters(c, *given);
    if (!merged) {
      return merged.error();
    }
    out.merged = std::move(*merged);
  }
  return out;
}

Expected<nlohmann::json> run_command(ServerContext& ctx, Params& p) {
  Command c;
  c.content = p.req_string("Content");
  auto instance_ids = p.req_string_list("InstanceIds");
  auto name = p.opt_string("CommandName");
  c.description = p.opt_string("Description").value_or("");
  c.command_type = p.opt_string("CommandType").value_or("SHELL");
  c.working_directory = p.opt_string("WorkingDirectory").value_or("");
  c.timeout = p.opt_int("Timeout").value_or(60);
  c.saved = p.opt_bool("SaveCommand").value_or(false);
  c.enable_parameter = p.opt_bool("EnableParameter").value_or(false);
  auto parameters_text = p.opt_string("Parameters");
  c.tags = p.opt_tags("Tags").value_or(std::vector<Tag>{});
  c.username = p.opt_string("Username").value_or("");
  c.output_cos_bucket_url = p.opt_string("OutputCOSBucketUrl").value_or("");
  c.output_cos_key_prefix = p.opt_string("OutputCOSKeyPrefix").value_or("");
  c.created_by = kCreatedBy;
  if (auto s = apply_defaults(p, c); !s) {
    return s.error();
  }
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (auto s = first_error(
          {name ? validate_command_name(*name, false) : Status{}, validate_content(c.content),
           validate_description(c.description), validate_command_type(c.command_type),
           validate_working_directory(c.working_directory, c.command_type),
           validate_timeout(c.timeout),
           c.username.empty() ? Status{} : validate_username(c.username),
           c.output_cos_bucket_url.empty() ? Status{}
                                           : validate_cos_bucket_url(c.output_cos_bucket_url),
           validate_cos_key_prefix(c.output_cos_key_prefix), validate_tags(c.tags),
           validate_instance_ids(instance_ids,
                                 static_cast<std::size_t>(ctx.settings.max_run_instances))});
      !s) {
    return s.error();
  }
  if (!c.tags.empty() && !c.saved) {
    return Error{codes::kInvalidParameterValue,
                 "Tags: tags belong to a saved command; set SaveCommand to true or drop Tags"};
  }
  auto params = resolve_parameters(c, parameters_text);
  if (!params) {
    return params.error();
  }
  if (auto s = check_instances(ctx.store, instance_ids); !s) {
    return s.error();
  }
  auto command_id = random_id("cmd-", 8);
  if (!command_id) {
    return command_id.error();
  }
  c.command_id = *command_id;
  // A saved command must be findable by name later; its id is a name nobody else has.
  c.command_name = name ? *name : (c.saved ? c.command_id : "");
  if (c.saved) {
    auto count = ctx.store.count_saved_commands();
    if (!count) {
      return count.error();
    }
    if (*count >= ctx.settings.command_quota) {
      return Error{
          "ResourceUnavailable.UserHasNoQuotaCode",
          "the quota of " + std::to_string(ctx.settings.command_quota) + " commands is used up"};
    }
  }
  c.created_ms = c.updated_ms = ctx.clock.now_ms();
  const RunSettings run{c.working_directory, c.timeout, c.username, c.output_cos_bucket_url,
                        c.output_cos_key_prefix};
  auto created =
      create_invocation(ctx, c, c, run, params->given_json, params->merged, instance_ids);
  if (!created) {
    return created.error();
  }
  return nlohmann::json{{"CommandId", c.command_id}, {"InvocationId", created->invocation_id}};
}

Expected<nlohmann::json> invoke_command(ServerContext& ctx, Params& p) {
  const std::string command_id = p.req_string("CommandId");
  auto instance_ids = p.req_string_list("InstanceIds");
  auto parameters_text = p.opt_string("Parameters");
  auto username = p.opt_string("Username");
  auto dir = p.opt_string("WorkingDirectory");
  auto timeout = p.opt_int("Timeout");
  auto bucket = p.opt_string("OutputCOSBucketUrl");
  auto prefix = p.opt_string("OutputCOSKeyPrefix");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (auto s =
          check_ids({command_id}, "cmd-", "InvalidParameterValue.InvalidCommandId", "CommandId");
      !s) {
    return s.error();
  }
  auto found = ctx.store.get_command(command_id);
  if (!found) {
    return found.error();
  }
  if (!*found || !(*found)->saved) {
    return Error{codes::kCommandNotFound, "the command " + command_id + " does not exist"};
  }
  const Command& c = **found;
  // An empty override means "not given": the command's own setting applies.
  const auto pick = [](const std::optional<std::string>& v, const std::string& fallback) {
    return v && !v->empty() ? *v : fallback;
  };
  const RunSettings run{pick(dir, c.working_directory), timeout.value_or(c.timeout),
                        pick(username, c.username), pick(bucket, c.output_cos_bucket_url),
                        pick(prefix, c.output_cos_key_prefix)};
  if (auto s = first_error(
          {validate_working_directory(run.working_directory, c.command_type),
           validate_timeout(run.timeout),
           run.username.empty() ? Status{} : validate_username(run.username),
           run.output_cos_bucket_url.empty() ? Status{}
                                             : validate_cos_bucket_url(run.output_cos_bucket_url),
           validate_cos_key_prefix(run.output_cos_key_prefix),
           validate_instance_ids(instance_ids,
                                 static_cast<std::size_t>(ctx.settings.max_run_instances))});
      !s) {
    return s.error();
  }
  auto params = resolve_parameters(c, parameters_text);
  if (!params) {
    return params.error();
  }
  if (auto s = check_instances(ctx.store, instance_ids); !s) {
    return s.error();
  }
  auto created = create_invocation(ctx, c, std::nullopt, run, params->given_json, params->merged,
                                   instance_ids);
  if (!created) {
    return created.error();
  }
  return nlohmann::json{{"InvocationId", created->invocation_id}};
}

// Every task of the listed invocations (an invocation has at most max_run_instances tasks, but
// a page of invocations may hold many).
Expected<std::vector<InvocationTask>> tasks_of(Store& store, const std::vector<std::string>& ids) {
  std::vector<InvocationTask> out;
  if (ids.empty()) {
    return out;
  }
  TaskQuery q;
  q.invocation_ids = ids;
  q.limit = kAllPage;
  q.with_output = false;
  for (;;) {
    auto page = store.list_tasks(q);
    if (!page) {
      return page.error();
    }
    const auto n = static_cast<int64_t>(page->items.size());
    std::move(page->items.begin(), page->items.end(), std::back_inserter(out));
    q.offset += n;
    if (n < q.limit || q.offset >= page->total) {
      return out;
    }
  }
}

Expected<nlohmann::json> cancel_invocation(ServerContext& ctx, Params& p) {
  const std::string id = p.req_string("InvocationId");
  auto instance_ids = p.opt_string_list("InstanceIds");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (auto s = check_ids({id}, "inv-", "InvalidParameterValue.InvalidInvocationId", "InvocationId");
      !s) {
    return s.error();
  }
  if (instance_ids) {
    if (auto s = validate_instance_ids(*instance_ids, kMaxCancelInstances); !s) {
      return s.error();
    }
  }
  auto inv = ctx.store.get_invocation(id);
  if (!inv) {
    return inv.error();
  }
  if (!*inv) {
    return Error{"ResourceNotFound.InvocationNotFound", "the invocation " + id + " does not exist"};
  }
  auto tasks = tasks_of(ctx.store, {id});
  if (!tasks) {
    return tasks.error();
  }
  std::vector<const InvocationTask*> targets;
  // An empty list names no subset: the whole invocation is meant, as when it is absent.
  if (instance_ids && !instance_ids->empty()) {
    for (const auto& instance : *instance_ids) {
      auto it = std::find_if(tasks->begin(), tasks->end(),
                             [&](const InvocationTask& t) { return t.instance_id == instance; });
      if (it == tasks->end()) {
        return Error{"InvalidParameterValue.InvalidInstanceId",
                     "InstanceIds: the invocation " + id + " has no task on " + instance};
      }
      targets.push_back(&*it);
    }
  } else {
    for (const auto& t : *tasks) {
      targets.push_back(&t);
    }
  }
  const int64_t now = ctx.clock.now_ms();
  std::vector<std::pair<std::string, std::string>> to_notify;  // instance, task
  bool any_live = false;
  for (const InvocationTask* target : targets) {
    // Decided inside the store's transaction: the agent may have moved the task meanwhile.
    bool live = false;
    bool notify = false;
    auto updated = ctx.store.modify_task(target->invocation_task_id, [&](InvocationTask& t) {
      live = !is_final(t.status);
      notify = false;
      const bool undelivered =
          t.status == TaskStatus::kPending || t.status == TaskStatus::kDeliverDelayed;
      if (undelivered && can_transition(t.status, TaskStatus::kCancelled)) {
        t.status = TaskStatus::kCancelled;
        t.end_ms = now;
      } else if ((t.status == TaskStatus::kDelivering || t.status == TaskStatus::kRunning) &&
                 can_transition(t.status, TaskStatus::kCancelling)) {
        t.status = TaskStatus::kCancelling;
        notify = true;
      } else {
        // CANCELLING already: the agent is told again in case the first kick was lost.
        notify = t.status == TaskStatus::kCancelling;
        return false;
      }
      t.cancel_requested = true;
      t.updated_ms = now;
      return true;
    });
    if (!updated) {
      return updated.error();
    }
    any_live = any_live || live;
    if (notify) {
      to_notify.emplace_back(target->instance_id, target->invocation_task_id);
    }
  }
  if (!any_live) {
    return Error{codes::kInvalidParameterValue,
                 "the invocation " + id + " has already finished on the targeted instances"};
  }
  for (const auto& [instance, task] : to_notify) {
    ctx.notifier.task_cancelled(instance, task);
  }
  return nlohmann::json::object();
}

nlohmann::json invocation_to_json(const Invocation& inv, const std::vector<InvocationTask>& tasks) {
  nlohmann::json basics = nlohmann::json::array();
  std::vector<TaskStatus> statuses;
  int64_t start = 0;
  int64_t end = 0;
  int64_t updated = inv.updated_ms;
  bool all_final = !tasks.empty();
  for (const auto& t : tasks) {
    basics.push_back({{"InvocationTaskId", t.invocation_task_id},
                      {"TaskStatus", std::string(to_string(t.status))},
                      {"InstanceId", t.instance_id}});
    statuses.push_back(t.status);
    if (t.start_ms != 0 && (start == 0 || t.start_ms < start)) {
      start = t.start_ms;
    }
    end = std::max(end, t.end_ms);
    updated = std::max(updated, t.updated_ms);
    all_final = all_final && is_final(t.status);
  }
  return nlohmann::json{{"InvocationId", inv.invocation_id},
                        {"CommandId", inv.command_id},
                        {"CommandName", inv.command_name},
                        {"InvocationStatus", std::string(aggregate_invocation_status(statuses))},
                        {"InvocationTaskBasicInfoSet", std::move(basics)},
                        {"Description", inv.description},
                        {"StartTime", format_time(start)},
                        {"EndTime", all_final ? format_time(end) : ""},
                        {"CreatedTime", format_time(inv.created_ms)},
                        {"UpdatedTime", format_time(updated)},
                        {"Parameters", inv.parameters},
                        {"DefaultParameters", inv.default_parameters},
                        {"InstanceKind", inv.instance_kind},
                        {"Username", inv.username},
                        {"InvocationSource", inv.invocation_source},
                        {"CommandContent", inv.command_content},
                        {"CommandType", inv.command_type},
                        {"Timeout", inv.timeout},
                        {"WorkingDirectory", inv.working_directory},
                        {"OutputCOSBucketUrl", inv.output_cos_bucket_url},
                        {"OutputCOSKeyPrefix", inv.output_cos_key_prefix}};
}

// A filter on a property every Ferry invocation shares matches all of them or none.
bool constant_filter_matches(const Filter& f, std::string_view value) {
  return std::find(f.values.begin(), f.values.end(), value) != f.values.end();
}

Expected<nlohmann::json> describe_invocations(ServerContext& ctx, Params& p) {
  auto listing = read_listing(p, "InvocationIds");
  if (!listing) {
    return listing.error();
  }
  auto& ids = listing->ids;
  auto& filters = listing->filters;
  InvocationQuery q;
  q.offset = listing->paging.offset;
  q.limit = listing->paging.limit;
  bool matches_nothing = false;
  if (ids) {
    if (ids->size() > kMaxIds) {
      return Error{codes::kLimitExceeded, "InvocationIds: at most 100 ids"};
    }
    if (auto s =
            check_ids(*ids, "inv-", "InvalidParameterValue.InvalidInvocationId", "InvocationIds");
        !s) {
      return s.error();
    }
    q.invocation_ids = *ids;
  }
  if (filters) {
    if (auto s = validate_filters(
            *filters, {"invocation-id", "command-id", "command-created-by", "instance-kind"},
            false);
        !s) {
      return s.error();
    }
    for (const auto& f : *filters) {
      if (f.name == "invocation-id") {
        q.invocation_ids.insert(q.invocation_ids.end(), f.values.begin(), f.values.end());
      } else if (f.name == "command-id") {
        q.command_ids.insert(q.command_ids.end(), f.values.begin(), f.values.end());
      } else if (f.name == "command-created-by") {
        for (const auto& v : f.values) {
          if (v != "TAT" && v != "USER") {
            return Error{"InvalidParameterValue.InvalidFilter",
                         "Filters: command-created-by is TAT or USER, not " + v};
          }
        }
        matches_nothing = matches_nothing || !constant_filter_matches(f, kCreatedBy);
      } else {
        matches_nothing = matches_nothing || !constant_filter_matches(f, kInstanceKind);
      }
    }
  }
  if (matches_nothing) {
    return nlohmann::json{{"TotalCount", 0}, {"InvocationSet", nlohmann::json::array()}};
  }
  auto page = ctx.store.list_invocations(q);
  if (!page) {
    return page.error();
  }
  std::vector<std::string> page_ids;
  for (const auto& inv : page->items) {
    page_ids.push_back(inv.invocation_id);
  }
  auto tasks = tasks_of(ctx.store, page_ids);
  if (!tasks) {
    return tasks.error();
  }
  std::map<std::string, std::vector<InvocationTask>> by_invocation;
  for (auto& t : *tasks) {
    by_invocation[t.invocation_id].push_back(std::move(t));
  }
  nlohmann::json set = nlohmann::json::array();
  for (const auto& inv : page->items) {
    auto& own = by_invocation[inv.invocation_id];
    // Tasks in a stable order (the store lists newest first, and siblings share a time).
    std::sort(own.begin(), own.end(), [](const InvocationTask& a, const InvocationTask& b) {
      return a.instance_id < b.instance_id;
    });
    set.push_back(invocation_to_json(inv, own));
  }
  return nlohmann::json{{"TotalCount", page->total}, {"InvocationSet", std::move(set)}};
}

Status describe_invocation_tasks(ServerContext& ctx, const ApiCall& call, Params& p,
                                 std::string& out) {
  bool hide = true;
  auto listing = read_listing(p, "InvocationTaskIds", [&hide](Params& more) {
    hide = more.opt_bool("HideOutput").value_or(true);
  });
  if (!listing) {
    return listing.error();
  }
  auto& ids = listing->ids;
  auto& filters = listing->filters;
  TaskQuery q;
  q.offset = listing->paging.offset;
  q.limit = listing->paging.limit;
  q.with_output = !hide;
  if (ids) {
    if (ids->size() > kMaxIds) {
      return Error{codes::kLimitExceeded, "InvocationTaskIds: at most 100 ids"};
    }
    if (auto s = check_ids(*ids, "invt-", "InvalidParameterValue.InvalidInvocationTaskId",
                           "InvocationTaskIds");
        !s) {
      return s.error();
    }
    q.task_ids = *ids;
  }
  if (filters) {
    if (auto s = validate_filters(
            *filters, {"invocation-id", "invocation-task-id", "instance-id", "command-id"}, false);
        !s) {
      return s.error();
    }
    for (const auto& f : *filters) {
      auto& field = f.name == "invocation-id"        ? q.invocation_ids
                    : f.name == "invocation-task-id" ? q.task_ids
                    : f.name == "instance-id"        ? q.instance_ids
                                                     : q.command_ids;
      field.insert(field.end(), f.values.begin(), f.values.end());
    }
  }
  auto page = ctx.store.list_tasks(q);
  if (!page) {
    return page.error();
  }
  // Live output of tasks still running, read before anything is written.
  std::vector<std::optional<std::string>> live(page->items.size());
  std::size_t estimate = 128;
  for (std::size_t i = 0; i < page->items.size(); ++i) {
    const auto& t = page->items[i];
    if (!hide && !is_final(t.status) && t.output.empty()) {
      auto log = ctx.store.task_log(t.invocation_task_id);
      if (!log) {
        return log.error();
      }
      if (!log->empty()) {
        live[i] = std::move(*log);
      }
    }
    // Only a bounded excerpt of a live log is shown, base64-encoded.
    const std::size_t live_shown = live[i] ? std::min(live[i]->size(), kMaxOutputExcerpt) : 0;
    estimate += 1024 + t.output.size() + t.document.content.size() + t.command_name.size() +
                t.error_info.size() + live_shown / 3 * 4 + 4;
  }
  // Keys in sorted order, as nlohmann::json (a std::map) writes them.
  out.reserve(out.size() + estimate);
  JsonWriter w(out);
  w.begin_object();
  w.key("InvocationTaskSet");
  w.begin_array();
  for (std::size_t i = 0; i < page->items.size(); ++i) {
    write_invocation_task(w, page->items[i], live[i]);
  }
  w.end_array();
  w.field("RequestId", call.request_id);
  w.field("TotalCount", page->total);
  w.end_object();
  return {};
}

}  // namespace

void write_invocation_task(JsonWriter& w, const InvocationTask& t,
                           const std::optional<std::string>& live_log) {
  TimeText time;
  const auto time_field = [&](std::string_view name, int64_t ms) {
    w.field(name, format_time(ms, time));
  };
  std::string live_output;
  uint64_t dropped = t.dropped;
  if (live_log) {
    const auto excerpt = make_output_excerpt(*live_log, *live_log, live_log->size());
    live_output = base64_encode(excerpt.bytes);
    dropped = excerpt.dropped;
  }
  w.begin_object();
  w.key("CommandDocument");
  w.begin_object();
  w.field("CommandType", t.document.command_type);
  w.field("Content", t.document.content);
  w.field("OutputCOSBucketUrl", t.document.output_cos_bucket_url);
  w.field("OutputCOSKeyPrefix", t.document.output_cos_key_prefix);
  w.field("Timeout", t.document.timeout);
  w.field("Username", t.document.username);
  w.field("WorkingDirectory", t.document.working_directory);
  w.end_object();
  w.field("CommandId", t.command_id);
  w.field("CommandName", t.command_name);
  time_field("CreatedTime", t.created_ms);
  time_field("EndTime", t.end_ms);
  w.field("ErrorInfo", t.error_info);
  w.field("InstanceId", t.instance_id);
  w.field("InvocationId", t.invocation_id);
  w.field("InvocationSource", t.invocation_source);
  w.field("InvocationTaskId", t.invocation_task_id);
  time_field("StartTime", t.start_ms);
  w.key("TaskResult");
  w.begin_object();
  w.key("Dropped");
  w.unsigned_integer(dropped);
  time_field("ExecEndTime", t.exec_end_ms);
  time_field("ExecStartTime", t.exec_start_ms);
  // ExitCode is null until the agent reports one: 0 or -1 would read as a real exit status.
  w.key("ExitCode");
  if (t.exit_code) {
    w.integer(*t.exit_code);
  } else {
    w.null();
  }
  w.field("Output", live_log ? live_output : t.output);
  w.field("OutputUploadCOSErrorInfo", t.output_upload_error);
  w.field("OutputUrl", t.output_url);
  w.end_object();
  w.field("TaskStatus", to_string(t.status));
  time_field("UpdatedTime", t.updated_ms);
  w.end_object();
}

void register_invocation_actions(ApiFront& api, ServerContext& ctx) {
  api.add_action("RunCommand",
                 {[&ctx](const ApiCall&, Params& p) { return run_command(ctx, p); }, true});
  api.add_action("InvokeCommand",
                 {[&ctx](const ApiCall&, Params& p) { return invoke_command(ctx, p); }});
  api.add_action("CancelInvocation",
                 {[&ctx](const ApiCall&, Params& p) { return cancel_invocation(ctx, p); }});
  api.add_action("DescribeInvocations",
                 {[&ctx](const ApiCall&, Params& p) { return describe_invocations(ctx, p); }});
  api.add_action("DescribeInvocationTasks",
                 {.serialized = [&ctx](const ApiCall& call, Params& p, std::string& out) {
                   return describe_invocation_tasks(ctx, call, p, out);
                 }});
}

}  // namespace ferry::server
