// ferry-server's main thread once the server serves: the signals (SIGTERM and SIGINT stop it,
// SIGHUP reloads) and the service manager's notify protocol (READY, STATUS, RELOADING, STOPPING,
// WATCHDOG), on one event loop.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"
#include "ferry/platform/service.hpp"
#include "ferry/server/config.hpp"

namespace ferry::server {

struct ServiceLoopHooks {
  // The STATUS= line now ("listening on URL, N agents connected"); asked every status_poll and
  // sent when it changed.
  std::function<std::string()> status;
  std::chrono::milliseconds status_poll{2000};
  // Runs on SIGHUP, between RELOADING=1 and READY=1.
  std::function<void()> reload;
};

// Sends READY=1, then runs on the calling thread until SIGTERM or SIGINT: STATUS= lines,
// WATCHDOG=1 from this loop's timer (a hung loop stops them), RELOADING=1 + reload + READY=1 on
// each SIGHUP. Sends STOPPING=1 and returns the stopping signal's name ("SIGTERM"). The three
// signals may be blocked in every thread (so that none ends the process before this runs): it
// unblocks them in the calling thread once it handles them.
std::string run_service_loop(const platform::ServiceManagerSettings& manager,
                             const ServiceLoopHooks& hooks);

// Whether SIGHUP applies a change of `key` in ferry-server's file (docs/configuration.md); the
// others wait for the next start.
bool server_key_reloadable(std::string_view key);

// SIGHUP for ferry-server: the configuration read again through `load` (the file and the command
// line, as at start), each key that changed in the file named in the log (never its value).
class ServerConfigReloader {
 public:
  using Loader = std::function<Expected<ServerConfig>()>;
  // Reads `file` now ("" when none was given), to know later what changed in it.
  ServerConfigReloader(std::filesystem::path file, Loader load);

  // What applies the reloadable keys besides the log level (the rate limits), given the new
  // configuration; set once the parts it changes exist.
  void set_apply(std::function<void(const ServerConfig&)> apply) { apply_ = std::move(apply); }

  // Valid: applies the log level and the rest (set_apply), logs one line per changed key and
  // returns true. Invalid: logs why, keeps the running configuration and returns false.
  bool reload();

 private:
  std::filesystem::path file_;
  Loader load_;
  std::function<void(const ServerConfig&)> apply_;
  nlohmann::json last_;
};

}  // namespace ferry::server
