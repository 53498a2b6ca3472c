// SIGHUP: the agent's configuration read again, each key that changed named in the log (never
// its value), and the new configuration handed on; an invalid file changes nothing.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string_view>

#include "ferry/agent/commands.hpp"

namespace ferry::agent {

// Whether a change of `key` takes effect on SIGHUP (docs/configuration.md, "reloadable"); the
// others wait for the next start.
bool agent_key_reloadable(std::string_view key);

class ConfigReloader {
 public:
  // Reads `file` now, to know later what changed in it ("" when none was given).
  ConfigReloader(std::filesystem::path file, ConfigLoader load);

  // Loads the configuration again. Valid: runs `apply` with it, then logs at info one line per
  // key that changed in the file (applied, or waiting for a restart) and returns true.
  // Invalid: logs the error, keeps the running configuration and returns false.
  bool reload(const std::function<void(const AgentConfig&)>& apply);

 private:
  std::filesystem::path file_;
  ConfigLoader load_;
  nlohmann::json last_;  // the file as last read
};

}  // namespace ferry::agent
