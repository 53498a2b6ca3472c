// The daemon's two user-facing commands: `ferry-agent register` and `ferry-agent` (run).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "ferry/agent/daemon.hpp"
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

// The agent's configuration file (JSON, docs/configuration.md). Every key is optional; an
// unknown key or a value out of range is an error naming it.
struct AgentConfig {
  std::filesystem::path state_dir;
  std::string log_level = "info";
  std::optional<std::string> server_url;  // overrides the one saved at registration
  std::optional<std::string> ca_file;
  std::optional<bool> allow_plain_http;
  // Read at start when not registered, and when the machine id changed (first_boot.hpp).
  std::filesystem::path register_file = "/etc/ferry/register.json";
  DaemonOptions daemon;
};

// Defaults for everything, with `state_dir` set.
AgentConfig default_agent_config();
Expected<AgentConfig> load_agent_config(const std::filesystem::path& file, AgentConfig base);

// Runs the daemon in the foreground until SIGTERM or SIGINT. Returns the process exit code.
int daemon_command(const AgentConfig& config);

}  // namespace ferry::agent
