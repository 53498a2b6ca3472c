// The daemon's two user-facing commands: `ferry-agent register` and `ferry-agent` (run).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/agent/audit_log.hpp"
#include "ferry/agent/daemon.hpp"
#include "ferry/core/config_layers.hpp"
#include "ferry/core/error.hpp"

namespace ferry::agent {

struct RegisterOptions {
  std::filesystem::path state_dir;
  std::string server_url;
  std::string register_code_id;
  std::string register_code;  // secret: never logged, never saved
  std::string ca_file;
  bool allow_plain_http = false;
  bool force = false;  // register again with a new key even when registered already
};

// Makes (or reuses, after a lost reply) the key, calls RegisterInstance, saves identity.json and
// prints the instance id on stdout. Returns the process exit code.
int register_command(const RegisterOptions& options);

// Read when --config is not given and it exists: /etc/ferry/ferry-agent.json; on Windows
// %ProgramData%\Ferry\ferry-agent.json (platform::default_agent_config_dir).
std::filesystem::path default_agent_config_file();
// register.json in the same directory (first_boot.hpp).
std::filesystem::path default_register_file();

// The agent's configuration file (JSON, docs/configuration.md). Every key is optional; an
// unknown key or a value out of range is an error naming it.
struct AgentConfig {
  std::filesystem::path state_dir;
  std::string log_level = "info";
  std::string log_file;  // empty: stderr (the journal under systemd)
  std::uint64_t log_max_size_mib = 10;
  std::size_t log_max_files = 5;
  std::optional<std::string> server_url;  // overrides the one saved at registration
  std::optional<std::string> ca_file;
  std::optional<bool> allow_plain_http;
  // Read at start when not registered, and when the machine id changed (first_boot.hpp).
  std::filesystem::path register_file = default_register_file();
  DaemonOptions daemon;
};

// Defaults for everything, with `state_dir` set.
AgentConfig default_agent_config();
// The file over `base`. Errors name the file, the key and the reason.
Expected<AgentConfig> load_agent_config(const std::filesystem::path& file, AgentConfig base);
// Every key's FERRY_<KEY> variable that `environment` holds, over `base`, read by the rules of
// config::ValueKind. Errors name the variable, the key and the reason.
Expected<AgentConfig> apply_agent_environment(AgentConfig base,
                                              const config::EnvironmentLookup& environment);
// One command-line flag's value for `key` (the flag is config::flag_name(key)), read like the
// key's variable. Errors name the flag and the reason.
Expected<AgentConfig> apply_agent_flag(AgentConfig base, std::string_view key,
                                       std::string_view value);

// Where the daemon's configuration comes from, in increasing precedence after the defaults.
struct AgentConfigSources {
  std::optional<std::filesystem::path> file;                         // --config: must exist
  std::filesystem::path default_file = default_agent_config_file();  // read if it exists
  config::EnvironmentLookup environment;                             // none: no variables are read
  std::vector<std::pair<std::string, std::string>> flags;  // {key, value} from the command line
};
// Defaults < file < FERRY_* variables < flags, and the local policy of the file tightened by the
// drop-ins beside it (read even when the file does not exist). Callable again (SIGHUP) with the
// same sources.
Expected<AgentConfig> resolve_agent_config(const AgentConfigSources& sources);

// The drop-in directory of a configuration file: /etc/ferry/ferry-agent.json has
// /etc/ferry/ferry-agent.d.
std::filesystem::path agent_drop_in_dir(const std::filesystem::path& config_file);
// `base` tightened (local_policy.hpp, tighten) by the "policy" of every *.json file in `dir`, in
// name order; a missing directory leaves it as it is. A drop-in holds nothing but "policy".
// Errors name the file and the key; an unreadable directory is an error too.
Expected<LocalPolicy> read_policy_drop_ins(const std::filesystem::path& dir, LocalPolicy base);

// Every key the file takes, sorted.
std::vector<std::string> agent_config_keys();

// Reads the configuration again as at the start: the same file, loader and command-line
// overrides (main.cpp makes it).
using ConfigLoader = std::function<Expected<AgentConfig>()>;
// Runs on SIGHUP with the configuration read again and found valid, after the daemon applied what
// it changes at run time (the log level, the reloadable DaemonOptions). What else can change
// live (issue 18: the local policy) plugs in here.
using ConfigReloadHook = std::function<void(const AgentConfig& new_config)>;

struct DaemonCommandOptions {
  std::filesystem::path config_file;  // the --config file, named in reload logs; "": none
  ConfigLoader load_config;           // empty: SIGHUP has nothing to read again
  std::vector<ConfigReloadHook> reload_hooks;
};

// `ferry-agent audit`: the audit log (audit_log.hpp) of a state dir, oldest line first.
struct AuditOptions {
  std::filesystem::path state_dir;
  AuditFilter filter;
  bool json = false;  // the JSON lines as they are, else one text line each
};
// What `ferry-agent audit` prints; errors: the log cannot be read.
Expected<std::string> audit_report(const AuditOptions& options);
// Prints audit_report() (a note on stderr for unreadable lines). Returns the exit code.
int audit_command(const AuditOptions& options);

// `<state>/agent.lock`: held by the daemon (and by `register` while it runs) so that one agent
// at a time uses a state dir.
std::filesystem::path agent_lock_file(const std::filesystem::path& state_dir);

// Runs the daemon in the foreground until SIGTERM or SIGINT; SIGHUP reloads the configuration
// (config_reload.hpp). Under systemd it speaks the notify protocol (READY, STATUS, RELOADING,
// STOPPING, WATCHDOG). Returns the process exit code.
int daemon_command(const AgentConfig& config, const DaemonCommandOptions& run = {});

}  // namespace ferry::agent
