// The agent's local policy (issue 18): what this machine accepts, whatever the server sends. It
// is read from the "policy" object of the agent's configuration file and tightened by the
// drop-in files beside it (docs/configuration.md, "Local policy"); a task outside it is refused
// START_FAILED before anything of it runs. Plain data and pure functions, no OS calls, so that
// the Windows build can take it as it is.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/core/task.hpp"

namespace ferry::agent {

// Every rule is off (allows everything) by default: an agent without a policy behaves as before.
// An unset list (nullopt) allows any value; an empty one allows none.
struct LocalPolicy {
  std::optional<std::set<std::string>> allowed_users;  // Username; "" counts as "root"
  std::set<std::string> denied_users;
  std::optional<std::set<CommandType>> allowed_command_types;
  std::optional<std::int64_t> max_timeout_seconds;
  // Absolute, normalised path prefixes, compared by whole components; "~" stands for a task
  // without WorkingDirectory (the user's home, unknown before the user is looked up).
  std::optional<std::vector<std::string>> allowed_working_directories;
  bool allow_parameters = true;  // EnableParameter
  bool allow_launcher = true;    // Launcher
  bool allow_containers = true;  // ContainerId / ContainerName
  bool allow_file_sends = true;  // File (SendFile)
  // Whether exit code 193 / 194 may power off or reboot the machine (journal.hpp, PowerAction).
  // It cannot be known before the task runs, so it is not a refusal: the action is skipped.
  bool allow_exit_code_power_actions = true;
  // Lowercase hex SHA-256 of the script as run (after parameter substitution), or of a sent
  // file's content.
  std::optional<std::set<std::string>> allowed_script_sha256;

  // Whether any rule is set (for the log line at start and reload).
  [[nodiscard]] bool restricts() const;

  friend bool operator==(const LocalPolicy&, const LocalPolicy&) = default;
};

// The "policy" object. `where` starts every error (the file and key); an unknown key, a value of
// the wrong type or out of range is an error, so that a typo never leaves a rule silently off.
Expected<LocalPolicy> parse_local_policy(const nlohmann::json& j, const std::string& where);

// `base` tightened by `drop_in`: a drop-in may only narrow what is allowed, never widen it. Lists
// of what is allowed are intersected (working directory prefixes: the areas both allow), denied
// users are joined, the smaller timeout wins and a switch is on only when both leave it on.
LocalPolicy tighten(const LocalPolicy& base, const LocalPolicy& drop_in);

// Why a task is refused: the rule's key and the value that broke it (never the script).
struct PolicyRefusal {
  std::string rule;    // e.g. "denied_users"
  std::string detail;  // e.g. "root"; may be empty

  // "refused by local policy: denied_users (root)": the task's ErrorInfo.
  [[nodiscard]] std::string error_info() const;
};

// The first rule `task` breaks, or nothing. `payload_sha256` is the digest of the script as it
// would run (or of the file a File task sends); nullopt when it could not be made (the task then
// fails anyway), which only allowed_script_sha256 minds.
std::optional<PolicyRefusal> check_local_policy(const LocalPolicy& policy, const Task& task,
                                                const std::optional<std::string>& payload_sha256);

}  // namespace ferry::agent
