// Invokers: a saved command run on instances by a schedule (TAT's CreateInvoker and its
// siblings), and the firing of one of their slots, which the scheduler calls. docs/schedules.md
// says how slots, downtime and time zones behave.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ferry/core/cron.hpp"
#include "ferry/core/error.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/model.hpp"
#include "ferry/server/store/store.hpp"

namespace ferry::server::domain {

inline constexpr std::size_t kMaxInvokerName = 120;
inline constexpr std::size_t kMaxInvokerInstances = 100;
// A slot fired later than this after its time says so in its record's Reason; so does one that
// was due more than kDueBeforeStartMs before the scheduler firing it started (it was missed
// while no server ran one).
inline constexpr int64_t kLateFiringMs = 30'000;
inline constexpr int64_t kDueBeforeStartMs = 1'000;

// ScheduleSettings as the caller gives them: times as RFC 3339 text.
struct ScheduleFields {
  std::string policy;  // ONCE | RECURRENCE
  std::optional<std::string> recurrence;
  std::optional<std::string> invoke_time;
  std::optional<std::string> start_time;  // RECURRENCE only (a Ferry extension)
  std::optional<std::string> end_time;    // RECURRENCE only (a Ferry extension)
};

// An invoker's fields as a caller gives them; nullopt: not given. CreateInvoker needs Name,
// Type, CommandId, InstanceIds and ScheduleSettings; ModifyInvoker changes what it gives (not
// Tags).
struct InvokerFields {
  std::optional<std::string> name;
  std::optional<std::string> type;
  std::optional<std::string> command_id;
  std::optional<std::string> username;
  std::optional<std::string> parameters;  // a JSON object's text
  std::optional<std::vector<std::string>> instance_ids;
  std::optional<ScheduleFields> schedule;
  std::optional<std::vector<Tag>> tags;
};

// CreateInvoker. Returns the InvokerId.
Expected<std::string> create_invoker(ServerContext& ctx, const InvokerFields& fields);
// ModifyInvoker: the given fields replace the invoker's; the next slot follows a new schedule.
Status modify_invoker(ServerContext& ctx, const std::string& invoker_id,
                      const InvokerFields& changes);
// EnableInvoker / DisableInvoker. Enabling takes the schedule up from now: a ONCE invoker whose
// time passed cannot be enabled (InvalidParameterValue.InvokeTimeExpired).
Status set_invoker_enabled(ServerContext& ctx, const std::string& invoker_id, bool enabled);
// DeleteInvoker: the invoker and its records; the invocations it made stay.
Status delete_invoker(ServerContext& ctx, const std::string& invoker_id);

// InvokerIds of a listing: at most 100, each ivk-xxxxxxxx. InvalidParameterValue.ID.
Status check_invoker_ids(const std::vector<std::string>& ids);
// DescribeInvokers: a page, newest first.
Expected<Page<Invoker>> describe_invokers(ServerContext& ctx, const InvokerQuery& query);
// DescribeInvokerRecords: a page, newest slot first, each record's Result filled in: the status
// of its invocation now (InvocationStatus), or FAILED when it could make none.
Expected<Page<InvokerRecord>> describe_invoker_records(ServerContext& ctx,
                                                       const InvokerRecordQuery& query);

// The scheduler's side.

// The invoker's first slot strictly after `after_ms` in `zone` (its crontab's zone; ONCE ignores
// it), within StartTime and EndTime; 0 when it has none left.
int64_t next_slot_after(const InvokerSchedule& schedule, const cron::Zone& zone, int64_t after_ms);

// Fires the due slots `next_slot_ms` of enabled invokers at now: for each, makes the invocation
// (source INVOKER) through the same path as InvokeCommand, records it (or why it could not be
// made) and moves the invoker to its first slot after now, skipping the slots it missed (one
// firing for all of them, the Reason says so). All in one store transaction when it can be
// (Store::fire_invokers), each slot won by one server only.
struct SlotFirings {
  int fired = 0;   // slots this call fired (the others were fired by another server meanwhile)
  int failed = 0;  // slots the store could not fire: still due, to be tried again
  std::optional<Error> first_error;
};
// `running_since_ms`: when the calling scheduler started (0: unknown).
SlotFirings fire_invoker_slots(ServerContext& ctx, const std::vector<Invoker>& invokers,
                               int64_t running_since_ms = 0);

}  // namespace ferry::server::domain
