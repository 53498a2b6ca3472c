// The listing and management commands of ferry, as plain functions over an Api. Each returns the
// exit code, or the Error for main to print as one line. The table builders are separate so that
// tests check them without a server.
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

struct TasksOptions {
  std::optional<std::string> invocation_id;
  std::optional<std::string> instance_id;
  std::int64_t limit = 20;
  bool output = false;  // print each task's Output (decoded) after the table
  bool json = false;
};

struct InvocationsOptions {
  std::int64_t limit = 20;
  bool json = false;
};

struct CommandsOptions {
  std::optional<std::string> name;
  std::int64_t limit = 20;
  bool json = false;
};

struct InstancesOptions {
  std::int64_t limit = 20;
  bool json = false;
};

struct CancelOptions {
  std::string invocation_id;
  std::vector<std::string> instances;  // empty: every task of the invocation
  bool json = false;
};

struct RegisterCodeOptions {
  std::optional<std::string> name;  // InstanceNamePrefix of the instances it registers
  std::optional<std::string> description;
  std::optional<std::int64_t> limit;            // RegisterLimit
  std::optional<std::int64_t> effective_hours;  // EffectiveTime
  bool json = false;
};

Expected<int> tasks_command(Api& api, const TasksOptions& options, Console& console);
Expected<int> invocations_command(Api& api, const InvocationsOptions& options, Console& console);
Expected<int> commands_command(Api& api, const CommandsOptions& options, Console& console);
Expected<int> instances_command(Api& api, const InstancesOptions& options, Console& console);
Expected<int> cancel_command(Api& api, const CancelOptions& options, Console& console);
// `endpoint` only goes into the hint on how to register an agent with the new code.
Expected<int> register_code_create_command(Api& api, const RegisterCodeOptions& options,
                                           const std::string& endpoint, Console& console);

// The tables, from the API's sets.
Table tasks_table(const nlohmann::json& task_set);
Table invocations_table(const nlohmann::json& invocation_set);
Table commands_table(const nlohmann::json& command_set);
Table instances_table(const nlohmann::json& instance_set);

// object[key] when it is a string / a non-negative integer; otherwise "" / 0 (a reply missing a
// field or giving it another type is shown, not fatal).
std::string json_string(const nlohmann::json& object, const char* key);
std::uint64_t json_count(const nlohmann::json& object, const char* key);

// A JSON value as a cell: strings as they are, null as "-", numbers and the rest as JSON.
std::string cell(const nlohmann::json& object, const char* key);
// The first line of base64 `content`, for a CONTENT column; "?" when it is not base64.
std::string content_summary(const nlohmann::json& content, std::size_t width = 40);

TableStyle table_style(const Console& console);

// What the commands share (invokers.cpp too).
// {"Name": name, "Values": [value]}, one entry of a Describe* action's Filters.
nlohmann::json filter(const char* name, const std::string& value);
// The reply as --json prints it: indented, one newline at the end.
void print_json(Console& console, const nlohmann::json& value);
void print_table(Console& console, const Table& table);
// response[key] when it is an array, else an empty one.
const nlohmann::json& set_of(const nlohmann::json& response, const char* key);
// 0 once the call went through, else its error.
Expected<int> exit_status(const Expected<nlohmann::json>& reply);
// Calls a Describe* action and prints the reply: as it came with --json, else its `set_key`
// array as a table. The reply, for what a command prints after the table.
Expected<nlohmann::json> describe_and_print(Api& api, const char* action,
                                            const nlohmann::json& params, bool json,
                                            const char* set_key,
                                            Table (*table_of)(const nlohmann::json&),
                                            Console& console);

}  // namespace ferry::cli
