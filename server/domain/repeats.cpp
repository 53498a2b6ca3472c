#include "ferry/server/domain/repeats.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>

#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/time.hpp"
#include "ferry/server/domain/instances.hpp"
#include "ferry/server/domain/invocation_listings.hpp"
#include "ferry/server/domain/invocations.hpp"
#include "ferry/server/domain/parameter_rules.hpp"
#include "ferry/server/domain/value_rules.hpp"
#include "ferry/server/store/store_errors.hpp"

namespace ferry::server::domain {
namespace {

namespace acs = codes::acs;

Error bad_frequency(const std::string& why) {
  return Error{acs::kInvalidFrequency, "Frequency: " + why};
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) {
    s.remove_suffix(1);
  }
  return s;
}

// `count` decimal digits at `pos` of `s` as a number; nullopt when they are not all digits.
std::optional<int> read_digits(std::string_view s, std::size_t pos, std::size_t count) {
  if (pos + count > s.size()) {
    return std::nullopt;
  }
  int v = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i])) == 0) {
      return std::nullopt;
    }
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// "N" followed by s, m, h or d: 1 to 9 digits.
Expected<Frequency> parse_rate(std::string_view body) {
  body = trim(body);
  if (body.size() < 2 || body.size() > 10) {
    return bad_frequency("rate(N unit): N of 1 to 9 digits and a unit s, m, h or d");
  }
  const char unit = static_cast<char>(std::tolower(static_cast<unsigned char>(body.back())));
  const auto n = read_digits(body, 0, body.size() - 1);
  static constexpr std::array<std::pair<char, int64_t>, 4> kUnits{
      {{'s', 1'000}, {'m', 60'000}, {'h', 3'600'000}, {'d', 86'400'000}}};
  const auto* u = std::find_if(kUnits.begin(), kUnits.end(),
                               [unit](const auto& entry) { return entry.first == unit; });
  if (!n || u == kUnits.end()) {
    return bad_frequency("rate(N unit): N of 1 to 9 digits and a unit s, m, h or d");
  }
  Frequency f;
  f.kind = Frequency::Kind::kRate;
  f.period_ms = int64_t{*n} * u->second;
  return f;
}

// "yyyy-MM-dd HH:mm:ss" and an optional zone.
Expected<Frequency> parse_at(std::string_view body) {
  body = trim(body);
  constexpr std::size_t kStamp = 19;  // yyyy-MM-dd HH:mm:ss
  const auto year = read_digits(body, 0, 4);
  const auto month = read_digits(body, 5, 2);
  const auto day = read_digits(body, 8, 2);
  const auto hour = read_digits(body, 11, 2);
  const auto minute = read_digits(body, 14, 2);
  const auto second = read_digits(body, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || body[4] != '-' || body[7] != '-' ||
      body[10] != ' ' || body[13] != ':' || body[16] != ':' ||
      (body.size() > kStamp && body[kStamp] != ' ')) {
    return bad_frequency("at(yyyy-MM-dd HH:mm:ss [time zone]) expected");
  }
  using namespace std::chrono;
  const year_month_day date{std::chrono::year{*year},
                            std::chrono::month{static_cast<unsigned>(*month)},
                            std::chrono::day{static_cast<unsigned>(*day)}};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 59) {
    return bad_frequency("at(): no such date or time");
  }
  cron::Zone zone;
  const std::string_view zone_name = trim(body.substr(std::min(body.size(), kStamp)));
  if (!zone_name.empty()) {
    auto found = cron::Zone::find(zone_name);
    if (!found) {
      return bad_frequency("at(): " + found.error().message);
    }
    zone = std::move(*found);
  }
  const seconds local =
      sys_days(date).time_since_epoch() + hours(*hour) + minutes(*minute) + seconds(*second);
  Frequency f;
  f.kind = Frequency::Kind::kAt;
  f.at_ms = duration_cast<milliseconds>(zone.to_sys(local).time_since_epoch()).count();
  return f;
}

// The body of `name(...)` when `text` is that call; nullopt otherwise.
std::optional<std::string_view> call_body(std::string_view text, std::string_view name) {
  if (text.size() < name.size() + 2 || !iequals(text.substr(0, name.size()), name) ||
      text[name.size()] != '(' || text.back() != ')') {
    return std::nullopt;
  }
  return text.substr(name.size() + 1, text.size() - name.size() - 2);
}

int64_t floor_seconds(int64_t ms) {
  return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

std::optional<int64_t> cron_after(const cron::Schedule& schedule, int64_t after_ms) {
  auto next = schedule.next_after(cron::SysSeconds(std::chrono::seconds(floor_seconds(after_ms))));
  if (!next) {
    return std::nullopt;
  }
  return next->time_since_epoch().count() * 1000;
}

}  // namespace

std::string_view to_string(RepeatMode mode) {
  static constexpr std::string_view kNames[] = {"Once", "Period", "NextRebootOnly", "EveryReboot"};
  return kNames[static_cast<std::size_t>(mode)];
}

std::optional<RepeatMode> parse_repeat_mode(std::string_view text) {
  for (auto mode : {RepeatMode::kOnce, RepeatMode::kPeriod, RepeatMode::kNextRebootOnly,
                    RepeatMode::kEveryReboot}) {
    if (iequals(text, to_string(mode))) {
      return mode;
    }
  }
  return std::nullopt;
}

Expected<Frequency> parse_frequency(std::string_view text) {
  if (text.size() > kMaxFrequency) {
    return bad_frequency("at most 256 characters");
  }
  text = trim(text);
  if (text.empty()) {
    return bad_frequency("empty");
  }
  if (auto body = call_body(text, "rate")) {
    return parse_rate(*body);
  }
  if (auto body = call_body(text, "at")) {
    return parse_at(*body);
  }
  auto schedule = cron::Schedule::parse_quartz(text, cron::Zone{});
  if (!schedule) {
    return bad_frequency(schedule.error().message);
  }
  Frequency f;
  f.kind = Frequency::Kind::kCron;
  f.cron = std::move(*schedule);
  return f;
}

Status check_frequency(const Frequency& f, int64_t timeout_s, int64_t now_ms) {
  const int64_t timeout_ms = timeout_s * 1000;
  switch (f.kind) {
    case Frequency::Kind::kRate:
      if (f.period_ms < kMinRateMs || f.period_ms > kMaxRateMs) {
        return bad_frequency("a rate from 60 seconds to 7 days");
      }
      if (f.period_ms <= timeout_ms) {
        return bad_frequency("the rate must be longer than the Timeout");
      }
      return {};
    case Frequency::Kind::kAt:
      if (f.at_ms <= now_ms) {
        return bad_frequency("at(): " + ms_to_rfc3339(f.at_ms) + " has passed");
      }
      return {};
    case Frequency::Kind::kCron: {
      auto first = cron_after(*f.cron, now_ms);
      if (!first) {
        return bad_frequency("the cron expression has no firing left");
      }
      int64_t previous = *first;
      for (int i = 0; i < kCronGapProbe; ++i) {
        auto next = cron_after(*f.cron, previous);
        if (!next) {
          break;
        }
        const int64_t gap = *next - previous;
        if (gap < kMinCronGapMs || gap < timeout_ms) {
          return bad_frequency("firings at " + ms_to_rfc3339(previous) + " and " +
                               ms_to_rfc3339(*next) +
                               " are less than 10 seconds or the Timeout apart");
        }
        previous = *next;
      }
      return {};
    }
  }
  return bad_frequency("unknown kind");
}

Status check_repeat(const RepeatSpec& spec, int64_t timeout_s, int64_t now_ms) {
  if (spec.mode != RepeatMode::kPeriod) {
    if (!spec.frequency.empty()) {
      return bad_frequency("only RepeatMode Period takes a Frequency");
    }
    return {};
  }
  if (spec.frequency.empty()) {
    return Error{acs::kMissingFrequency, "Frequency: required with RepeatMode Period"};
  }
  auto f = parse_frequency(spec.frequency);
  if (!f) {
    return f.error();
  }
  return check_frequency(*f, timeout_s, now_ms);
}

Expected<RepeatSpec> resolve_repeat(const std::optional<std::string>& repeat_mode,
                                    const std::optional<std::string>& frequency, int64_t timeout_s,
                                    int64_t now_ms) {
  RepeatSpec spec;
  if (repeat_mode && !repeat_mode->empty()) {
    auto mode = parse_repeat_mode(*repeat_mode);
    if (!mode) {
      return Error{acs::kInvalidRepeatMode,
                   "RepeatMode: Once, Period, NextRebootOnly or EveryReboot"};
    }
    spec.mode = *mode;
  }
  if (frequency && !frequency->empty()) {
    spec.mode = RepeatMode::kPeriod;
    spec.frequency = std::string(trim(*frequency));
  }
  if (auto s = check_repeat(spec, timeout_s, now_ms); !s) {
    return s.error();
  }
  return spec;
}

int64_t next_run_after(const Frequency& f, int64_t anchor_ms, int64_t after_ms) {
  switch (f.kind) {
    case Frequency::Kind::kRate: {
      if (f.period_ms <= 0) {
        return 0;
      }
      if (after_ms < anchor_ms) {
        return anchor_ms + f.period_ms;
      }
      return anchor_ms + ((after_ms - anchor_ms) / f.period_ms + 1) * f.period_ms;
    }
    case Frequency::Kind::kAt:
      return f.at_ms > after_ms ? f.at_ms : 0;
    case Frequency::Kind::kCron:
      return cron_after(*f.cron, after_ms).value_or(0);
  }
  return 0;
}

namespace {

bool is_store_failure(const Error& e) {
  return e.code == codes::kInternalError || e.code == store_codes::kFailed;
}

// The firing of `inv`'s due slot at now: the slot after now, and a run on each target that is
// not stopped and is still registered. A Frequency that no longer parses ends the schedule; a
// run that cannot be made (content the API would have refused) is left out rather than keep the
// slot due for ever. Errors are the store's only: the slot stays due.
Expected<RepeatFiring> repeat_firing_of(ServerContext& ctx, const Invocation& inv, int64_t now) {
  RepeatFiring f;
  f.invocation_id = inv.invocation_id;
  f.slot_ms = inv.next_slot_ms;
  f.now_ms = now;
  auto frequency = parse_frequency(inv.frequency);
  f.next_slot_ms = frequency ? next_run_after(*frequency, inv.next_slot_ms, now) : 0;
  std::vector<std::string> ids;
  for (const auto& target : inv.targets) {
    if (!target.stopped) {
      ids.push_back(target.instance_id);
    }
  }
  auto registered = registered_instances(ctx.store, ids);
  if (!registered) {
    return registered.error();
  }
  for (const auto& id : ids) {
    if (!registered->contains(id)) {
      continue;  // deleted since: no run there
    }
    auto task = make_run_task(ctx, inv, id, inv.next_slot_ms);
    if (task) {
      f.tasks.push_back(std::move(*task));
    } else if (is_store_failure(task.error())) {
      return task.error();
    }
  }
  return f;
}

}  // namespace

SlotFirings fire_repeat_slots(ServerContext& ctx, const std::vector<Invocation>& due) {
  const int64_t now = ctx.clock.now_ms();
  SlotFirings out;
  const auto failed = [&out](const Error& e) {
    if (out.failed++ == 0) {
      out.first_error = e;
    }
  };
  std::vector<RepeatFiring> firings;
  firings.reserve(due.size());
  for (const Invocation& inv : due) {
    auto f = repeat_firing_of(ctx, inv, now);
    if (!f) {
      failed(f.error());  // the slot stays due, to be fired on a retry
      continue;
    }
    firings.push_back(std::move(*f));
  }
  const auto fired_ones = [&](const std::vector<RunsFired>& fired) {
    for (const auto& one : fired) {
      if (one.fired) {
        ++out.fired;
        notify_ready_tasks(ctx, one.tasks);
      }
    }
  };
  if (firings.empty()) {
    return out;
  }
  // One transaction for the batch; if it fails, each firing on its own.
  if (auto fired = ctx.store.fire_repeats(firings)) {
    fired_ones(*fired);
    return out;
  } else if (firings.size() == 1) {
    failed(fired.error());
    return out;
  }
  for (auto& f : firings) {
    if (auto fired = ctx.store.fire_repeats({f})) {
      fired_ones(*fired);
    } else {
      failed(fired.error());
    }
  }
  return out;
}

Expected<std::vector<InvocationTask>> record_agent_boot(ServerContext& ctx,
                                                        const RegisterInstance& instance,
                                                        const std::string& boot_id) {
  if (boot_id.empty() || boot_id == instance.boot_id) {
    return std::vector<InvocationTask>{};
  }
  BootReport report;
  report.instance_id = instance.instance_id;
  report.boot_id = boot_id;
  report.now_ms = ctx.clock.now_ms();
  // Runs are prepared even for what looks like a first report: another server may have stored
  // a boot id meanwhile, and then this is a boot. The store decides.
  auto invocations = ctx.store.reboot_invocations(instance.instance_id);
  if (!invocations) {
    return invocations.error();
  }
  for (const auto& inv : *invocations) {
    auto task = make_run_task(ctx, inv, instance.instance_id);
    if (!task) {
      return task.error();
    }
    report.tasks.push_back(std::move(*task));
  }
  auto recorded = ctx.store.record_boot(report);
  if (!recorded) {
    return recorded.error();
  }
  notify_ready_tasks(ctx, recorded->tasks);
  return std::move(recorded->tasks);
}

namespace {

constexpr std::size_t kMaxStopInstances = 100;

Error nothing_to_stop(const std::string& id) {
  return Error{acs::kOperationForbidden,
               "the invocation " + id + " has nothing left to stop on the targeted instances"};
}

Expected<Invocation> existing_invocation(ServerContext& ctx, const std::string& id) {
  if (auto s =
          validate_ids({id}, "inv-", "InvalidParameterValue.InvalidInvocationId", "InvocationId");
      !s) {
    return s.error();
  }
  auto inv = ctx.store.get_invocation(id);
  if (!inv) {
    return inv.error();
  }
  if (!*inv) {
    return Error{"ResourceNotFound.InvocationNotFound", "the invocation " + id + " does not exist"};
  }
  return std::move(**inv);
}

bool is_live(TaskStatus s) {
  return !is_final(s);
}

}  // namespace

Status stop_invocation(ServerContext& ctx, const std::string& id,
                       const std::vector<std::string>& instance_ids) {
  if (auto s = validate_instance_ids(instance_ids, kMaxStopInstances); !s) {
    return s;
  }
  auto inv = existing_invocation(ctx, id);
  if (!inv) {
    return inv.error();
  }
  const auto named = [&](const std::string& instance) {
    return instance_ids.empty() ||
           std::find(instance_ids.begin(), instance_ids.end(), instance) != instance_ids.end();
  };
  auto tasks = invocation_tasks(ctx.store, {id});
  if (!tasks) {
    return tasks.error();
  }
  for (const auto& instance : instance_ids) {
    const bool target = std::any_of(inv->targets.begin(), inv->targets.end(),
                                    [&](const auto& t) { return t.instance_id == instance; });
    const bool has_task = std::any_of(tasks->begin(), tasks->end(),
                                      [&](const auto& t) { return t.instance_id == instance; });
    if (!target && !has_task) {
      return Error{codes::kInvalidInstanceId,
                   "InstanceIds: the invocation " + id + " does not run on " + instance};
    }
  }
  bool schedule_ended = false;
  if (inv->repeat_mode != to_string(RepeatMode::kOnce)) {
    const int64_t now = ctx.clock.now_ms();
    auto stopped = ctx.store.modify_invocation(id, [&](Invocation& i) -> Status {
      if (i.schedule_state != schedule_states::kScheduled) {
        return {};  // ended already: only tasks may be left to cancel
      }
      bool any_left = false;
      for (auto& target : i.targets) {
        if (named(target.instance_id) && !target.stopped) {
          target.stopped = true;
          schedule_ended = true;
        }
        any_left = any_left || !target.stopped;
      }
      if (!any_left) {
        i.schedule_state = schedule_states::kStopped;
        i.next_slot_ms = 0;
      }
      i.updated_ms = now;
      return {};
    });
    if (!stopped) {
      return stopped.error();
    }
  }
  std::vector<InvocationTask> live;
  for (auto& t : *tasks) {
    if (named(t.instance_id) && is_live(t.status)) {
      live.push_back(std::move(t));
    }
  }
  auto any_live = cancel_tasks(ctx, live);
  if (!any_live) {
    return any_live.error();
  }
  if (schedule_ended) {
    ctx.schedules.schedules_changed();
  }
  if (!schedule_ended && !*any_live) {
    return nothing_to_stop(id);
  }
  return {};
}

Status modify_invocation_schedule(ServerContext& ctx, const std::string& id,
                                  const ScheduleChanges& changes) {
  auto inv = existing_invocation(ctx, id);
  if (!inv) {
    return inv.error();
  }
  const int64_t now = ctx.clock.now_ms();
  const auto ended = [&](const Invocation& i) -> Status {
    if (i.repeat_mode == to_string(RepeatMode::kOnce) ||
        i.schedule_state != schedule_states::kScheduled) {
      return Error{acs::kOperationForbidden,
                   "the invocation " + id + " has no runs to come: nothing to modify"};
    }
    return {};
  };
  if (auto s = ended(*inv); !s) {
    return s;
  }
  int64_t next_slot = inv->next_slot_ms;
  if (changes.frequency) {
    if (inv->repeat_mode != to_string(RepeatMode::kPeriod)) {
      return Error{acs::kOperationForbidden,
                   "Frequency: the invocation " + id + " runs at reboots, not on a schedule"};
    }
    if (auto s = check_repeat({RepeatMode::kPeriod, *changes.frequency}, inv->timeout, now); !s) {
      return s;
    }
    next_slot = next_run_after(*parse_frequency(*changes.frequency), now, now);
  }
  const std::string content = changes.content.value_or(inv->command_content);
  const std::string parameters = changes.parameters.value_or(inv->parameters);
  if (changes.content || changes.parameters) {
    if (content.empty() || !base64_decode(content)) {
      return Error{codes::kCommandContentInvalid, "CommandContent: not base64"};
    }
    // The runs to come must substitute: the same rules as RunCommand's Parameters.
    Command c;
    c.content = content;
    c.enable_parameter = inv->enable_parameter;
    c.default_parameters = inv->default_parameters;
    if (auto s = check_invocation_parameters(
            c, parameters.empty() ? std::nullopt : std::optional<std::string>(parameters));
        !s) {
      return s;
    }
  }
  auto modified = ctx.store.modify_invocation(id, [&](Invocation& i) -> Status {
    if (auto s = ended(i); !s) {
      return s;  // it ended meanwhile
    }
    if (changes.frequency) {
      i.frequency = *changes.frequency;
      i.next_slot_ms = next_slot;
    }
    i.command_content = content;
    i.parameters = parameters;
    i.updated_ms = now;
    return {};
  });
  if (!modified) {
    return modified.error();
  }
  if (changes.frequency) {
    ctx.schedules.schedules_changed();
  }
  return {};
}

std::string_view acs_task_status(TaskStatus s) {
  switch (s) {
    case TaskStatus::kPending:
    case TaskStatus::kDelivering:
    case TaskStatus::kDeliverDelayed:
      return "Pending";
    case TaskStatus::kRunning:
      return "Running";
    case TaskStatus::kSuccess:
      return "Success";
    case TaskStatus::kFailed:
    case TaskStatus::kStartFailed:
      return "Failed";
    case TaskStatus::kTimeout:
    case TaskStatus::kTaskTimeout:
      return "Timeout";
    case TaskStatus::kDeliverFailed:
      return "Aborted";
    case TaskStatus::kCancelling:
      return "Stopping";
    case TaskStatus::kCancelled:
      return "Cancelled";
    case TaskStatus::kTerminated:
      return "Terminated";
  }
  return "Failed";
}

AcsInvocationStatus acs_invocation_status(const Invocation& inv,
                                          const std::vector<InvocationTask>& latest_tasks) {
  AcsInvocationStatus out;
  const bool scheduled = inv.schedule_state == schedule_states::kScheduled;
  const auto latest_on = [&](const std::string& instance) -> const InvocationTask* {
    const InvocationTask* found = nullptr;
    for (const auto& t : latest_tasks) {
      if (t.instance_id == instance && (found == nullptr || t.run_number > found->run_number)) {
        found = &t;
      }
    }
    return found;
  };
  if (inv.targets.empty()) {
    for (const auto& t : latest_tasks) {
      out.instances.push_back({t.instance_id, acs_task_status(t.status), t.run_number, &t});
    }
  }
  for (const auto& target : inv.targets) {
    InstanceStatus s{target.instance_id, "", target.repeats, latest_on(target.instance_id)};
    if (s.latest != nullptr && is_live(s.latest->status)) {
      s.status = acs_task_status(s.latest->status);
    } else if (scheduled && !target.stopped) {
      s.status = "Scheduled";
    } else if (target.stopped || inv.schedule_state == schedule_states::kStopped) {
      s.status = "Cancelled";
    } else {
      s.status = s.latest != nullptr ? acs_task_status(s.latest->status) : "Cancelled";
    }
    out.instances.push_back(s);
  }
  const auto any = [&](std::string_view status) {
    return std::any_of(out.instances.begin(), out.instances.end(),
                       [&](const InstanceStatus& i) { return i.status == status; });
  };
  const auto count = [&](std::string_view status) {
    return std::count_if(out.instances.begin(), out.instances.end(),
                         [&](const InstanceStatus& i) { return i.status == status; });
  };
  for (std::string_view status : {"Stopping", "Running", "Pending", "Scheduled"}) {
    if (any(status)) {
      out.status = status;
      return out;
    }
  }
  if (inv.schedule_state == schedule_states::kStopped || any("Cancelled") || any("Terminated")) {
    out.status = "Stopped";
  } else if (count("Success") == static_cast<std::ptrdiff_t>(out.instances.size())) {
    out.status = "Success";
  } else if (count("Success") == 0) {
    out.status = "Failed";
  } else {
    out.status = "PartialFailed";
  }
  return out;
}

std::string_view legacy_invoke_status(std::string_view status) {
  if (status == "Success") {
    return "Finished";
  }
  if (status == "Failed" || status == "PartialFailed") {
    return "Failed";
  }
  if (status == "Stopped") {
    return "Stopped";
  }
  return "Running";
}

}  // namespace ferry::server::domain
