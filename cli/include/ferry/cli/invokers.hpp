// `ferry invokers`: scheduled runs of a saved command (TAT invokers of Type SCHEDULE), as plain
// functions over an Api like commands.hpp's. create sends CreateInvoker, list DescribeInvokers,
// enable / disable / delete their action, records DescribeInvokerRecords. Each returns the exit
// code, or the Error for main to print as one line.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ferry/cli/api.hpp"
#include "ferry/cli/console.hpp"
#include "ferry/cli/table.hpp"
#include "ferry/core/error.hpp"

namespace ferry::cli {

struct InvokerCreateOptions {
  std::string command_id;
  std::vector<std::string> instances;
  // Exactly one of them: --at runs once (Policy ONCE, InvokeTime), --cron on a 5-field crontab
  // (Policy RECURRENCE, Recurrence), optionally between --start and --end.
  std::optional<std::string> at;
  std::optional<std::string> cron;
  std::optional<std::string> start;  // StartTime, RFC 3339; only with --cron
  std::optional<std::string> end;    // EndTime, RFC 3339; only with --cron
  std::optional<std::string> name;   // default: the command id
  std::optional<std::string> username;
  std::vector<std::string> params;  // NAME=VALUE, as `ferry run --param`
  std::vector<std::string> tags;    // KEY=VALUE
  bool json = false;
};

struct InvokersListOptions {
  std::optional<std::string> command_id;
  std::int64_t limit = 20;
  bool json = false;
};

// enable, disable, delete.
struct InvokerIdOptions {
  std::string invoker_id;
  bool json = false;
};

struct InvokerRecordsOptions {
  std::vector<std::string> invoker_ids;  // empty: every invoker's records
  std::int64_t limit = 20;
  bool json = false;
};

// CreateInvoker's parameters for `options` (no I/O). What can be checked without the server is
// an error here: both or neither of --at and --cron, --start or --end without --cron, a bad
// --param or --tag. Times, the crontab and the ids are the server's to check.
Expected<nlohmann::json> create_invoker_params(const InvokerCreateOptions& options);

// "KEY=VALUE" ... -> [{"Key": KEY, "Value": VALUE}, ...]: split at the first '=', the key not
// empty, no key twice.
Expected<nlohmann::json> tags_json(const std::vector<std::string>& tags);

// Prints the new InvokerId (one line), or the reply with --json.
Expected<int> invokers_create_command(Api& api, const InvokerCreateOptions& options,
                                      Console& console);
Expected<int> invokers_list_command(Api& api, const InvokersListOptions& options, Console& console);
// Each prints "enabled: ID" / "disabled: ID" / "deleted: ID", or the reply with --json.
Expected<int> invokers_enable_command(Api& api, const InvokerIdOptions& options, Console& console);
Expected<int> invokers_disable_command(Api& api, const InvokerIdOptions& options, Console& console);
Expected<int> invokers_delete_command(Api& api, const InvokerIdOptions& options, Console& console);
Expected<int> invokers_records_command(Api& api, const InvokerRecordsOptions& options,
                                       Console& console);

// The tables, from DescribeInvokers' InvokerSet and DescribeInvokerRecords' InvokerRecordSet.
Table invokers_table(const nlohmann::json& invoker_set);
Table invoker_records_table(const nlohmann::json& record_set);

// An invoker's ScheduleSettings as one cell: "cron 0 3 * * *" (with " from START" and
// " until END" when the reply has them), "at 2026-12-07T10:00:00+08:00", else the Policy as it
// is ("-" when there is none).
std::string schedule_summary(const nlohmann::json& schedule_settings);

// An invoker's InstanceIds as one cell: the id when there is one, "FIRST +N" when there are
// N more, "-" when there are none.
std::string instances_summary(const nlohmann::json& instance_ids);

}  // namespace ferry::cli
