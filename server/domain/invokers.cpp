// The invoker actions of the domain and the firing of a slot.
//
// Codes chosen where the seeds are silent (seed 002 lists the codes, not the inputs):
//   - a malformed InvokerId: InvalidParameterValue.ID; an unknown one:
//     ResourceNotFound.InvokerNotFound;
//   - InstanceIds of more than one id form (ins- beside rins-):
//     InvalidParameterValue.InconsistentID; instances of different systems (Linux beside
//     Windows), for which one command cannot be right: InvalidParameterValue.InconsistentInstance;
//   - an instance whose agent never made contact since it registered:
//     ResourceUnavailable.AgentNotInstalled; one whose agent is not connected now:
//     ResourceUnavailable.AgentStatusNotOnline (the seed: "the client must be in Online
//     status"); checked when InstanceIds are given, not at each firing, where a task for an
//     offline agent waits DELIVER_DELAYED as any task does;
//   - a Type other than SCHEDULE, a Policy other than ONCE or RECURRENCE, EndTime not after
//     StartTime: InvalidParameterValue.Range;
//   - a field the policy does not take (Recurrence, StartTime or EndTime with ONCE):
//     InvalidParameter, unless "" (what DescribeInvokers shows for them); one it needs:
//     MissingParameter. InvokeTime with RECURRENCE is ignored: DescribeInvokers shows the next
//     slot there, and SDK code that modifies what it read sends it back;
//   - a crontab with no firing left (February 30, or every firing past EndTime):
//     InvalidParameterValue.InvalidCronExpression; an EndTime already past:
//     InvalidParameterValue.InvokeTimeExpired.
#include "ferry/server/domain/invokers.hpp"

#include <algorithm>
#include <chrono>
#include <map>

#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/time.hpp"
#include "ferry/server/domain/commands.hpp"
#include "ferry/server/domain/instances.hpp"
#include "ferry/server/domain/invocation_listings.hpp"
#include "ferry/server/domain/invocations.hpp"
#include "ferry/server/domain/text.hpp"
#include "ferry/server/domain/value_rules.hpp"
#include "ferry/server/store/store_errors.hpp"
#include "ferry/server/task_state.hpp"

namespace ferry::server::domain {
namespace {

constexpr const char* kTypeSchedule = "SCHEDULE";
constexpr const char* kPolicyOnce = "ONCE";
constexpr const char* kPolicyRecurrence = "RECURRENCE";
constexpr const char* kInvalidId = "InvalidParameterValue.ID";
constexpr std::size_t kMaxRecurrence = 256;
// Missed slots counted one by one for the Reason; past this many it says "at least".
constexpr int kMaxMissedCounted = 1000;

Status check_invoker_id(const std::string& id) {
  return validate_ids({id}, "ivk-", kInvalidId, "InvokerId");
}

Expected<int64_t> parse_time(const char* field, const std::string& text) {
  auto t = parse_rfc3339_ms(text);
  if (!t) {
    return Error{
        codes::kInvalidTimeFormat,
        std::string(field) + ": not an RFC 3339 time with an offset (2026-01-31T08:00:00+08:00)"};
  }
  return *t;
}

Expected<InvokerSchedule> parse_schedule(const ScheduleFields& f, const cron::Zone& zone,
                                         int64_t now_ms) {
  InvokerSchedule out;
  out.policy = f.policy;
  if (f.policy == kPolicyOnce) {
    if (!f.invoke_time) {
      return Error{codes::kMissingParameter,
                   "ScheduleSettings.InvokeTime: required with Policy ONCE"};
    }
    // "" is what DescribeInvokers shows for them, sent back by a read-modify-write.
    const auto given = [](const std::optional<std::string>& v) { return v && !v->empty(); };
    if (given(f.recurrence) || given(f.start_time) || given(f.end_time)) {
      return Error{codes::kInvalidParameter,
                   "ScheduleSettings: Recurrence, StartTime and EndTime go with Policy "
                   "RECURRENCE, not ONCE"};
    }
    auto at = parse_time("ScheduleSettings.InvokeTime", *f.invoke_time);
    if (!at) {
      return at.error();
    }
    if (*at <= now_ms) {
      return Error{codes::kInvokeTimeExpired,
                   "ScheduleSettings.InvokeTime: " + f.invoke_time->substr(0, 64) + " has passed"};
    }
    out.invoke_time_ms = *at;
    return out;
  }
  if (f.policy != kPolicyRecurrence) {
    return Error{codes::kRange, "ScheduleSettings.Policy: ONCE or RECURRENCE"};
  }
  if (!f.recurrence) {
    return Error{codes::kMissingParameter,
                 "ScheduleSettings.Recurrence: required with Policy RECURRENCE"};
  }
  // InvokeTime is left alone: DescribeInvokers shows the next slot there, and a
  // read-modify-write sends it back.
  if (f.recurrence->size() > kMaxRecurrence) {
    return Error{codes::kTooLong, "ScheduleSettings.Recurrence: at most 256 characters"};
  }
  if (auto parsed = cron::Schedule::parse_crontab(*f.recurrence, zone); !parsed) {
    return parsed.error().wrap("ScheduleSettings.Recurrence");
  }
  out.recurrence = *f.recurrence;
  if (f.start_time && !f.start_time->empty()) {
    auto t = parse_time("ScheduleSettings.StartTime", *f.start_time);
    if (!t) {
      return t.error();
    }
    out.start_time_ms = *t;
  }
  if (f.end_time && !f.end_time->empty()) {
    auto t = parse_time("ScheduleSettings.EndTime", *f.end_time);
    if (!t) {
      return t.error();
    }
    if (*t <= now_ms) {
      return Error{codes::kInvokeTimeExpired,
                   "ScheduleSettings.EndTime: " + f.end_time->substr(0, 64) + " has passed"};
    }
    if (out.start_time_ms != 0 && *t <= out.start_time_ms) {
      return Error{codes::kRange, "ScheduleSettings.EndTime: must be after StartTime"};
    }
    out.end_time_ms = *t;
  }
  if (next_slot_after(out, zone, now_ms) == 0) {
    return Error{codes::kInvalidCronExpression,
                 "ScheduleSettings.Recurrence: '" + out.recurrence + "' never fires" +
                     (out.end_time_ms != 0 ? " before EndTime" : "")};
  }
  return out;
}

// The rules of each given field that need nothing but the field.
Status check_fields(const InvokerFields& f) {
  if (f.name) {
    if (f.name->empty()) {
      return invalid_value("Name", "must not be empty");
    }
    if (auto s = validate_text("Name", *f.name, kMaxInvokerName); !s) {
      return s;
    }
  }
  if (f.type && *f.type != kTypeSchedule) {
    return Error{codes::kRange, "Type: SCHEDULE is the only type"};
  }
  if (f.command_id) {
    if (auto s = validate_command_id(*f.command_id); !s) {
      return s;
    }
  }
  if (f.instance_ids) {
    if (f.instance_ids->empty()) {
      return invalid_value("InstanceIds", "at least one instance");
    }
    if (auto s = validate_instance_ids(*f.instance_ids, kMaxInvokerInstances); !s) {
      return s;
    }
    // One id form (what precedes the first '-') for the whole list.
    const auto form = [](const std::string& id) { return id.substr(0, id.find('-')); };
    for (const auto& id : *f.instance_ids) {
      if (form(id) != form(f.instance_ids->front())) {
        return Error{"InvalidParameterValue.InconsistentID",
                     "InstanceIds: " + f.instance_ids->front() + " and " + id +
                         " are ids of different forms"};
      }
    }
  }
  if (f.username && !f.username->empty()) {
    if (utf8_length(*f.username) > kMaxUsername) {
      return Error{codes::kTooLong, "Username: at most 256 characters"};
    }
    if (auto s = validate_username(*f.username); !s) {
      return s;
    }
  }
  if (f.tags) {
    if (auto s = validate_tags(*f.tags); !s) {
      return s;
    }
  }
  return {};
}

// Every instance registered, of one system, its agent online now.
Status check_instances(ServerContext& ctx, const std::vector<std::string>& ids) {
  auto found = registered_instances(ctx.store, ids);
  if (!found) {
    return found.error();
  }
  const RegisterInstance* first = nullptr;
  for (const auto& id : ids) {
    auto it = found->find(id);
    if (it == found->end()) {
      return Error{codes::kInstanceNotFound,
                   "InstanceIds: " + id + " is not a registered instance"};
    }
    const RegisterInstance& instance = it->second;
    if (first == nullptr) {
      first = &instance;
    } else if (instance.system_name != first->system_name) {
      return Error{"InvalidParameterValue.InconsistentInstance",
                   "InstanceIds: " + first->instance_id + " runs " + first->system_name + " and " +
                       id + " runs " + instance.system_name +
                       "; one invoker's command suits one system"};
    }
  }
  for (const auto& id : ids) {
    if (ctx.presence.is_online(id)) {
      continue;
    }
    const RegisterInstance& instance = found->at(id);
    if (instance.last_heartbeat_ms == 0 && instance.agent_version.empty()) {
      return Error{"ResourceUnavailable.AgentNotInstalled",
                   "InstanceIds: no agent of " + id + " has made contact since it registered"};
    }
    return Error{"ResourceUnavailable.AgentStatusNotOnline",
                 "InstanceIds: the agent of " + id + " is not online"};
  }
  return {};
}

std::optional<std::string> given_parameters(const std::string& text) {
  return text.empty() ? std::nullopt : std::optional<std::string>(text);
}

Error invoker_not_found(const std::string& id) {
  return Error{codes::kInvokerNotFound, "the invoker " + id + " does not exist"};
}

Expected<Invoker> get_invoker(ServerContext& ctx, const std::string& id) {
  auto found = ctx.store.get_invoker(id);
  if (!found) {
    return found.error();
  }
  if (!*found) {
    return invoker_not_found(id);
  }
  return std::move(**found);
}

// The slot an enabled invoker takes up at now: ONCE's time when it is still ahead.
Expected<int64_t> first_slot(const InvokerSchedule& schedule, const cron::Zone& zone,
                             int64_t now_ms) {
  const int64_t slot = next_slot_after(schedule, zone, now_ms);
  if (slot == 0 && schedule.policy == kPolicyOnce) {
    return Error{codes::kInvokeTimeExpired,
                 "ScheduleSettings.InvokeTime: " + ms_to_rfc3339(schedule.invoke_time_ms) +
                     " has passed; give the invoker a new time with ModifyInvoker"};
  }
  return slot;
}

// The outcome of a schedule's write; once written, the scheduler is told to look again.
template <typename Written>
Status announced(ServerContext& ctx, const Written& written) {
  if (!written) {
    return written.error();
  }
  ctx.schedules.schedules_changed();
  return {};
}

// Why the slot fired when it did: on time, or late, and which slots it stands for.
std::string firing_reason(const Invoker& invoker, const cron::Zone& zone, int64_t now_ms,
                          int64_t running_since_ms) {
  const int64_t slot = invoker.next_slot_ms;
  int missed = 0;
  int64_t last_missed = 0;
  for (int64_t next = next_slot_after(invoker.schedule, zone, slot);
       next != 0 && next <= now_ms && missed < kMaxMissedCounted;
       next = next_slot_after(invoker.schedule, zone, next)) {
    ++missed;
    last_missed = next;
  }
  if (missed > 0) {
    return "fired late, once for " + std::string(missed >= kMaxMissedCounted ? "at least " : "") +
           std::to_string(missed + 1) + " slots missed while no server was running (" +
           ms_to_rfc3339(slot) + " to " + ms_to_rfc3339(last_missed) + ")";
  }
  if (now_ms - slot > kLateFiringMs ||
      (running_since_ms != 0 && slot < running_since_ms - kDueBeforeStartMs)) {
    return "fired late: due at " + ms_to_rfc3339(slot) + " while no server was running";
  }
  return "scheduled for " + ms_to_rfc3339(slot);
}

// The invocation a firing makes, or the reason it can make none.
Expected<PreparedInvocation> invocation_for(ServerContext& ctx, const Invoker& invoker,
                                            std::string& reason) {
  auto command = get_saved_command(ctx, invoker.command_id);
  if (!command) {
    return command.error();
  }
  auto found = registered_instances(ctx.store, invoker.instance_ids);
  if (!found) {
    return found.error();
  }
  std::vector<std::string> instances;
  std::string skipped;
  for (const auto& id : invoker.instance_ids) {
    if (found->contains(id)) {
      instances.push_back(id);
    } else {
      skipped += (skipped.empty() ? "" : ", ") + id;
    }
  }
  if (instances.empty()) {
    return Error{codes::kInstanceNotFound, "none of its instances is registered any more"};
  }
  if (!skipped.empty()) {
    reason += "; skipped, no longer registered: " + skipped;
  }
  return prepare_invocation(ctx, *command,
                            InvocationSpec{instances,
                                           run_settings_of(*command, invoker.username),
                                           given_parameters(invoker.parameters),
                                           InvocationSource::kInvoker,
                                           {}});
}

}  // namespace

int64_t next_slot_after(const InvokerSchedule& schedule, const cron::Zone& zone, int64_t after_ms) {
  if (schedule.policy == kPolicyOnce) {
    return schedule.invoke_time_ms > after_ms ? schedule.invoke_time_ms : 0;
  }
  auto cron = cron::Schedule::parse_crontab(schedule.recurrence, zone);
  if (!cron) {
    return 0;
  }
  // Whole seconds: the slot strictly after the second holding after_ms, and not before the
  // second StartTime falls in.
  const auto floor_s = [](int64_t ms) { return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000); };
  int64_t from_s = floor_s(after_ms);
  if (schedule.start_time_ms != 0) {
    from_s = std::max(from_s, floor_s(schedule.start_time_ms + 999) - 1);
  }
  auto next = cron->next_after(cron::SysSeconds(std::chrono::seconds(from_s)));
  if (!next) {
    return 0;
  }
  const int64_t slot = next->time_since_epoch().count() * 1000;
  return schedule.end_time_ms != 0 && slot > schedule.end_time_ms ? 0 : slot;
}

Expected<std::string> create_invoker(ServerContext& ctx, const InvokerFields& f) {
  if (auto s = check_fields(f); !s) {
    return s.error();
  }
  if (!f.schedule) {
    return Error{codes::kMissingParameter,
                 "ScheduleSettings: required for an invoker of Type SCHEDULE"};
  }
  const int64_t now = ctx.clock.now_ms();
  auto schedule = parse_schedule(*f.schedule, ctx.settings.schedule_zone, now);
  if (!schedule) {
    return schedule.error();
  }
  auto command = get_saved_command(ctx, f.command_id.value_or(""));
  if (!command) {
    return command.error();
  }
  if (auto s = check_invocation_parameters(*command, f.parameters); !s) {
    return s.error();
  }
  const std::vector<std::string> instance_ids = f.instance_ids.value_or(std::vector<std::string>{});
  if (auto s = check_instances(ctx, instance_ids); !s) {
    return s.error();
  }
  auto id = random_id("ivk-", 8);
  if (!id) {
    return id.error();
  }
  Invoker invoker;
  invoker.invoker_id = *id;
  invoker.name = f.name.value_or("");
  invoker.type = kTypeSchedule;
  invoker.command_id = command->command_id;
  invoker.username = f.username.value_or("");
  invoker.parameters = f.parameters.value_or("");
  invoker.instance_ids = instance_ids;
  invoker.enabled = true;
  invoker.schedule = *schedule;
  invoker.tags = f.tags.value_or(std::vector<Tag>{});
  invoker.next_slot_ms = next_slot_after(*schedule, ctx.settings.schedule_zone, now);
  invoker.created_ms = invoker.updated_ms = now;
  if (auto s = announced(ctx, ctx.store.insert_invoker(invoker)); !s) {
    return s.error();
  }
  return invoker.invoker_id;
}

Status modify_invoker(ServerContext& ctx, const std::string& id, const InvokerFields& changes) {
  if (auto s = check_invoker_id(id); !s) {
    return s;
  }
  if (auto s = check_fields(changes); !s) {
    return s;
  }
  if (changes.tags) {
    return Error{codes::kInvalidParameter, "Tags: ModifyInvoker does not change tags"};
  }
  auto current = get_invoker(ctx, id);
  if (!current) {
    return current.error();
  }
  const int64_t now = ctx.clock.now_ms();
  std::optional<InvokerSchedule> schedule;
  if (changes.schedule) {
    auto parsed = parse_schedule(*changes.schedule, ctx.settings.schedule_zone, now);
    if (!parsed) {
      return parsed.error();
    }
    schedule = std::move(*parsed);
  }
  // The command and the Parameters must suit each other as they will be after the change.
  if (changes.command_id || changes.parameters) {
    auto command = get_saved_command(ctx, changes.command_id.value_or(current->command_id));
    if (!command) {
      return command.error();
    }
    const std::string parameters = changes.parameters.value_or(current->parameters);
    if (auto s = check_invocation_parameters(*command, given_parameters(parameters)); !s) {
      return s;
    }
  }
  if (changes.instance_ids) {
    if (auto s = check_instances(ctx, *changes.instance_ids); !s) {
      return s;
    }
  }
  auto modified = ctx.store.modify_invoker(id, [&](Invoker& inv) -> Status {
    if (changes.name) {
      inv.name = *changes.name;
    }
    if (changes.command_id) {
      inv.command_id = *changes.command_id;
    }
    if (changes.username) {
      inv.username = *changes.username;
    }
    if (changes.parameters) {
      inv.parameters = *changes.parameters;
    }
    if (changes.instance_ids) {
      inv.instance_ids = *changes.instance_ids;
    }
    if (schedule) {
      inv.schedule = *schedule;
      inv.next_slot_ms = next_slot_after(*schedule, ctx.settings.schedule_zone, now);
    }
    inv.updated_ms = now;
    return {};
  });
  return announced(ctx, modified);
}

Status set_invoker_enabled(ServerContext& ctx, const std::string& id, bool enabled) {
  if (auto s = check_invoker_id(id); !s) {
    return s;
  }
  const int64_t now = ctx.clock.now_ms();
  auto modified = ctx.store.modify_invoker(id, [&](Invoker& inv) -> Status {
    if (inv.enabled == enabled) {
      return {};  // nothing to change: an enabled invoker keeps the slot it is due at
    }
    if (enabled) {
      auto slot = first_slot(inv.schedule, ctx.settings.schedule_zone, now);
      if (!slot) {
        return slot.error();
      }
      inv.next_slot_ms = *slot;
    }
    inv.enabled = enabled;
    inv.updated_ms = now;
    return {};
  });
  return announced(ctx, modified);
}

Status delete_invoker(ServerContext& ctx, const std::string& id) {
  if (auto s = check_invoker_id(id); !s) {
    return s;
  }
  return announced(ctx, ctx.store.delete_invoker(id));
}

Status check_invoker_ids(const std::vector<std::string>& ids) {
  if (auto s = validate_id_count(ids, "InvokerIds"); !s) {
    return s;
  }
  return validate_ids(ids, "ivk-", kInvalidId, "InvokerIds");
}

Expected<Page<Invoker>> describe_invokers(ServerContext& ctx, const InvokerQuery& query) {
  return ctx.store.list_invokers(query);
}

Expected<Page<InvokerRecord>> describe_invoker_records(ServerContext& ctx,
                                                       const InvokerRecordQuery& query) {
  auto page = ctx.store.list_invoker_records(query);
  if (!page) {
    return page;
  }
  std::vector<std::string> invocation_ids;
  for (const auto& r : page->items) {
    if (!r.invocation_id.empty()) {
      invocation_ids.push_back(r.invocation_id);
    }
  }
  auto tasks = invocation_tasks(ctx.store, invocation_ids);
  if (!tasks) {
    return tasks.error();
  }
  std::map<std::string, std::vector<TaskStatus>> statuses;
  for (const auto& t : *tasks) {
    statuses[t.invocation_id].push_back(t.status);
  }
  for (auto& r : page->items) {
    if (r.invocation_id.empty()) {
      r.result = r.result.empty() ? "FAILED" : r.result;
    } else {
      r.result = std::string(aggregate_invocation_status(statuses[r.invocation_id]));
    }
  }
  return page;
}

SlotFirings fire_invoker_slots(ServerContext& ctx, const std::vector<Invoker>& invokers,
                               int64_t running_since_ms) {
  const cron::Zone& zone = ctx.settings.schedule_zone;
  const int64_t now = ctx.clock.now_ms();
  SlotFirings out;
  const auto failed = [&out](const Error& e) {
    if (out.failed++ == 0) {
      out.first_error = e;
    }
  };
  std::vector<InvokerFiring> firings;
  firings.reserve(invokers.size());
  for (const Invoker& invoker : invokers) {
    InvokerFiring f;
    f.invoker_id = invoker.invoker_id;
    f.slot_ms = invoker.next_slot_ms;
    f.enabled_after = invoker.schedule.policy != kPolicyOnce;
    f.next_slot_ms = f.enabled_after ? next_slot_after(invoker.schedule, zone, now) : 0;
    f.now_ms = now;
    f.record.invoker_id = invoker.invoker_id;
    f.record.slot_ms = invoker.next_slot_ms;
    f.record.invoke_ms = now;
    std::string reason = firing_reason(invoker, zone, now, running_since_ms);
    auto prepared = invocation_for(ctx, invoker, reason);
    if (prepared) {
      f.record.invocation_id = prepared->invocation.invocation_id;
      f.invocation = std::move(prepared->invocation);
      f.tasks = std::move(prepared->tasks);
    } else if (prepared.error().code == codes::kInternalError ||
               prepared.error().code == store_codes::kFailed) {
      failed(prepared.error());  // the store failed: the slot stays due, to be fired on a retry
      continue;
    } else {
      f.record.result = "FAILED";
      reason = "not fired (" + reason + "): " + prepared.error().message;
    }
    f.record.reason = std::move(reason);
    firings.push_back(std::move(f));
  }
  if (firings.empty()) {
    return out;
  }
  const auto fired_ones = [&](const std::vector<InvokerFiring>& batch,
                              const std::vector<bool>& fired) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (fired[i]) {
        ++out.fired;
        notify_ready_tasks(ctx, batch[i].tasks);
      }
    }
  };
  // One transaction for the whole batch; if it fails, each firing on its own, so that one that
  // cannot be written does not hold back the others.
  if (auto fired = ctx.store.fire_invokers(firings)) {
    fired_ones(firings, *fired);
    return out;
  } else if (firings.size() == 1) {
    failed(fired.error());
    return out;
  }
  for (auto& f : firings) {
    std::vector<InvokerFiring> one;
    one.push_back(std::move(f));
    if (auto fired = ctx.store.fire_invokers(one)) {
      fired_ones(one, *fired);
    } else {
      failed(fired.error());
    }
  }
  return out;
}

}  // namespace ferry::server::domain
