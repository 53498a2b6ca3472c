#include "ferry/agent/config_reload.hpp"

#include <spdlog/spdlog.h>

#include <set>
#include <string>

#include "ferry/core/config_changes.hpp"

namespace ferry::agent {

bool agent_key_reloadable(std::string_view key) {
  // Daemon::reload takes these; log_level is the logger's.
  static const std::set<std::string_view> kReloadable{"log_level",
                                                      "max_concurrent_tasks",
                                                      "kill_grace_ms",
                                                      "poll_interval_ms",
                                                      "live_output_interval_ms",
                                                      "reconnect_max_ms",
                                                      "retry_max_ms",
                                                      "shutdown_flush_ms",
                                                      "journal_max_tasks",
                                                      "journal_max_bytes",
                                                      "multipart_threshold_bytes",
                                                      "multipart_part_bytes",
                                                      "upload_min_window_ms",
                                                      "poweroff_command",
                                                      "reboot_command",
                                                      "policy",
                                                      "audit_max_size_mib",
                                                      "audit_max_files"};
  return kReloadable.contains(key);
}

ConfigReloader::ConfigReloader(std::filesystem::path file, ConfigLoader load)
    : file_(std::move(file)), load_(std::move(load)), last_(read_config_snapshot(file_)) {}

bool ConfigReloader::reload(const std::function<void(const AgentConfig&)>& apply) {
  if (!load_) {
    spdlog::info("reload: nothing to read again");
    return false;
  }
  auto next = load_();
  if (!next) {
    spdlog::error("reload: {}; the running configuration is kept", next.error().message);
    return false;
  }
  // Applied first: the new log level decides whether the lines below show.
  apply(*next);
  for (const auto& line : reload_report(file_, last_, agent_key_reloadable)) {
    spdlog::info("{}", line);
  }
  return true;
}

}  // namespace ferry::agent
