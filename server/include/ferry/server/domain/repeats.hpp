// Cloud Assistant's repeat modes (RunCommand / InvokeCommand RepeatMode and Frequency): what a
// Frequency means, when its runs fall, and the rules a caller's values must keep. The runs
// themselves are made by the scheduler (Period) and by the agents' heartbeats (the reboot
// modes); docs/schedules.md tells the whole story.
//
// Codes (core/error_codes.hpp, ferry::codes::acs):
//   - Period without a Frequency: MissingParam.Frequency;
//   - a Frequency that does not parse, or breaks a rule (rate outside 60 s .. 7 days or not
//     longer than the Timeout; at() in the past; a cron with no firing left, or two firings
//     less than 10 s or less than the Timeout apart): InvalidParam.Frequency;
//   - a RepeatMode other than Once, Period, NextRebootOnly, EveryReboot (any case):
//     InvalidRepeatMode.NotFound.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/cron.hpp"
#include "ferry/core/error.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/domain/invokers.hpp"
#include "ferry/server/model.hpp"

namespace ferry::server::domain {

enum class RepeatMode { kOnce, kPeriod, kNextRebootOnly, kEveryReboot };  // in to_string's order
// "Once", "Period", "NextRebootOnly", "EveryReboot": Invocation::repeat_mode as stored and shown.
std::string_view to_string(RepeatMode mode);
// Any case; nullopt for anything else.
std::optional<RepeatMode> parse_repeat_mode(std::string_view text);
[[nodiscard]] inline bool is_reboot_mode(RepeatMode mode) {
  return mode == RepeatMode::kNextRebootOnly || mode == RepeatMode::kEveryReboot;
}

// How an invocation repeats. The default is a single run now: every TAT invocation.
struct RepeatSpec {
  RepeatMode mode = RepeatMode::kOnce;
  std::string frequency;  // Period only: rate(...), at(...) or a Quartz cron
};

// Bounds of Frequency (seed 004).
inline constexpr int64_t kMinRateMs = 60'000;
inline constexpr int64_t kMaxRateMs = 7 * 86'400'000LL;
inline constexpr int64_t kMinCronGapMs = 10'000;
// How many consecutive firings of a cron are checked for the minimum gap.
inline constexpr int kCronGapProbe = 1000;
inline constexpr std::size_t kMaxFrequency = 256;

// A Frequency as parsed: one of three kinds.
struct Frequency {
  enum class Kind { kRate, kAt, kCron };
  Kind kind = Kind::kRate;
  int64_t period_ms = 0;               // kRate
  int64_t at_ms = 0;                   // kAt: the instant, UTC
  std::optional<cron::Schedule> cron;  // kCron, in its zone (UTC when it names none)
};

// `rate(N s|m|h|d)`, `at(yyyy-MM-dd HH:mm:ss [zone])` (zone: an IANA name, UTC, GMT, GMT+8:00;
// default UTC) or a Quartz cron with seconds, optional year and zone (default UTC). Syntax only:
// InvalidParam.Frequency naming what is wrong.
Expected<Frequency> parse_frequency(std::string_view text);
// The rules of a parsed Frequency for runs of `timeout_s` seconds, made at now_ms (see the codes
// above).
Status check_frequency(const Frequency& frequency, int64_t timeout_s, int64_t now_ms);

// RunCommand's and InvokeCommand's RepeatMode and Frequency as the caller gives them (nullopt:
// absent), checked for runs of `timeout_s` seconds made at now_ms. A Frequency makes the mode
// Period whatever RepeatMode says (a reboot mode included); without either the mode is Once.
Expected<RepeatSpec> resolve_repeat(const std::optional<std::string>& repeat_mode,
                                    const std::optional<std::string>& frequency, int64_t timeout_s,
                                    int64_t now_ms);
// The same rules for a spec already built (Period needs a valid Frequency; the other modes take
// none).
Status check_repeat(const RepeatSpec& spec, int64_t timeout_s, int64_t now_ms);

// The first run of `frequency` strictly after `after_ms`; 0 when none is left. A rate's runs
// fall at anchor_ms + k * period (k >= 1): the anchor is the invocation's creation (or the
// change of its Frequency), or any run of that chain. A cron's runs are whole seconds.
int64_t next_run_after(const Frequency& frequency, int64_t anchor_ms, int64_t after_ms);

// The scheduler's side: fires the due slots (next_slot_ms) of Scheduled Period invocations at
// now. Each slot makes one run (a new task) on each target instance that is not stopped and
// still registered, and moves the invocation to its first slot after now: slots missed while
// no server ran fire once, not once each (a rate stays anchored: the next slot is the first of
// its chain after now). With no slot left the schedule is Finished. All in one store
// transaction when it can be (Store::fire_repeats), each slot won by one server only.
SlotFirings fire_repeat_slots(ServerContext& ctx, const std::vector<Invocation>& due);

// The heartbeat's side: the agent of `instance` (as read before this report: its stored
// boot_id) reported `boot_id`. The first report ever and the same boot id again only store it;
// a different one means the machine booted: each Scheduled NextRebootOnly invocation that has
// not run there yet and each EveryReboot invocation targeting the instance (not stopped there)
// gets one run, once per boot whichever server sees the report (Store::record_boot). Returns
// the runs made (their agents are kicked). "" reports nothing.
Expected<std::vector<InvocationTask>> record_agent_boot(ServerContext& ctx,
                                                        const RegisterInstance& instance,
                                                        const std::string& boot_id);

// StopInvocation. Ends the schedule of a repeat invocation (no more runs) or, when
// `instance_ids` names some, takes those instances out of it (it ends when none is left), and
// cancels the invocation's tasks there that are still to run or running (cancel_tasks). Codes:
// a malformed id InvalidParameterValue.InvalidInvocationId; an unknown one
// ResourceNotFound.InvocationNotFound; an instance the invocation does not run on
// InvalidParameterValue.InvalidInstanceId; nothing left to stop (the schedule already ended
// there and no task is live; a Once invocation whose tasks are all final) Operation.Forbidden.
Status stop_invocation(ServerContext& ctx, const std::string& invocation_id,
                       const std::vector<std::string>& instance_ids = {});

// ModifyInvocationAttribute's changes of a repeat invocation, for its later runs (a run made
// already keeps what it was made with); nullopt: unchanged.
struct ScheduleChanges {
  std::optional<std::string> frequency;   // Period only: checked as at creation, re-anchored now
  std::optional<std::string> content;     // base64
  std::optional<std::string> parameters;  // a JSON object's text ("" drops them)
};
// Codes: those of stop_invocation for the id; Operation.Forbidden for an invocation whose
// schedule has ended, a Once invocation, or a Frequency for a reboot mode; check_repeat's for a
// bad Frequency; the Parameters rules of RunCommand (InvalidParameterValue.*) for content and
// parameters that do not suit each other.
Status modify_invocation_schedule(ServerContext& ctx, const std::string& invocation_id,
                                  const ScheduleChanges& changes);

// Cloud Assistant's statuses of an invocation, computed here only:
//   per instance (InvokeInstances[].InvocationStatus), from its latest run (TaskStatus):
//     PENDING, DELIVERING, DELIVER_DELAYED -> Pending; RUNNING -> Running; SUCCESS -> Success;
//     FAILED, START_FAILED -> Failed; TIMEOUT, TASK_TIMEOUT -> Timeout; DELIVER_FAILED ->
//     Aborted; CANCELLING -> Stopping; CANCELLED -> Cancelled; TERMINATED -> Terminated;
//     and, where no run is live: Scheduled while the schedule still holds runs for the
//     instance (Scheduled, instance not stopped); Cancelled when it was stopped there before
//     any run or after its last run ended;
//   whole invocation (InvocationStatus), in this order: Stopping if an instance is; Running if
//     one is; Pending if one is; Scheduled if one is; Stopped when StopInvocation ended the
//     schedule or an instance is Cancelled or Terminated; Success when every instance is;
//     Failed when none is; PartialFailed otherwise;
//   the legacy InvokeStatus / InvokeRecordStatus: Running for Pending, Scheduled, Running and
//     Stopping; Finished for Success; Failed for Failed and PartialFailed; Stopped.
// The per-instance word for one run's TaskStatus (the first mapping above).
std::string_view acs_task_status(TaskStatus status);
struct InstanceStatus {
  std::string instance_id;
  std::string_view status;
  int64_t repeats = 0;                     // runs made there (Repeats)
  const InvocationTask* latest = nullptr;  // its latest run, when it has one (points into tasks)
};
struct AcsInvocationStatus {
  std::string_view status;
  std::vector<InstanceStatus> instances;  // the targets (a Once invocation: its tasks) in order
};
// `latest_tasks`: the invocation's latest run on each instance (TaskQuery::latest_run_only).
AcsInvocationStatus acs_invocation_status(const Invocation& invocation,
                                          const std::vector<InvocationTask>& latest_tasks);
std::string_view legacy_invoke_status(std::string_view invocation_status);

}  // namespace ferry::server::domain
