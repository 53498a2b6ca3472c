// Glue with the service manager. On Linux: systemd's notify protocol (Type=notify units), written
// here without libsystemd; everything is a no-op when the process was not started by systemd
// (NOTIFY_SOCKET unset). On Windows: the service control manager (SCM), through
// run_service_or_console() and the same ServiceNotifier (windows/service.cpp).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/platform/event_loop.hpp"

namespace ferry::platform {

// Where the service manager listens and how often it wants to hear that we are alive.
struct ServiceManagerSettings {
  std::string notify_socket;              // "": no manager; "/path" or "@abstract-name"
  std::chrono::microseconds watchdog{0};  // 0: no watchdog
};

// Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID (the watchdog is ours only when
// WATCHDOG_PID is unset or names this process), then removes the three from the environment so
// that the processes we start (task supervisors, tasks) cannot speak for us. Call once, early,
// before any thread starts.
ServiceManagerSettings take_service_manager_settings();

// Sends `message` ("READY=1", "STATUS=...", lines separated by '\n') as one datagram to `socket`
// (a path, or an abstract name when it starts with '@'), as systemd's notify protocol defines.
Status send_service_notification(const std::string& socket, std::string_view message);

// Tells the service manager how the service is doing, on one event loop. Every method is a no-op
// without a manager. Not thread-safe: call it on the loop's thread.
//
// On Windows the manager is the SCM when `main` runs as a service (run_service_or_console), and
// `settings` is not used: ready() reports SERVICE_RUNNING (until then the service is
// START_PENDING), stopping() SERVICE_STOP_PENDING (each call a further checkpoint with a new
// wait hint); reloading(), status() and the watchdog have no SCM counterpart and do nothing.
class ServiceNotifier {
 public:
  // STATUS= lines go out at most once per `status_interval` (the latest text wins).
  ServiceNotifier(EventLoop& loop, ServiceManagerSettings settings,
                  std::chrono::milliseconds status_interval = std::chrono::seconds(1));
  ~ServiceNotifier();  // stop()
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  [[nodiscard]] bool enabled() const;
  // Half of the manager's watchdog timeout; zero when there is none.
  [[nodiscard]] std::chrono::microseconds watchdog_interval() const;

  // READY=1: the service serves (again, after reloading()).
  void ready();
  // RELOADING=1 with MONOTONIC_USEC= (the monotonic clock now), before a reload; ready() ends it.
  void reloading();
  // STOPPING=1: the service began to stop.
  void stopping();
  // STATUS=<text>, sent when it differs from the last one sent. Control characters become
  // spaces (the protocol is line-based).
  void status(std::string_view text);
  // WATCHDOG=1 now and then every watchdog_interval() from a timer on the loop, so that a loop
  // that hangs stops the pings and the manager restarts the service. No-op without a watchdog.
  void start_watchdog();
  // Stops the watchdog pings and drops a status not yet sent: the loop has no more work of ours.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Runs `main` (the program's body; its result the exit code) as the service named `name` when
// the service manager started this process, or as a console program otherwise, and returns its
// exit code. Call it once, from the program's main thread.
// - Windows: StartServiceCtrlDispatcherW first; when that fails with
//   ERROR_FAILED_SERVICE_CONTROLLER_CONNECT (not started by the SCM) `main` runs directly. As a
//   service: START_PENDING, then RUNNING at ServiceNotifier::ready(); STOP and SHUTDOWN report
//   STOP_PENDING and go to StopRequests' handler (one made after the control came gets it),
//   PARAMCHANGE to ReloadRequests'; at the end STOPPED with `main`'s code
//   (ERROR_SERVICE_SPECIFIC_ERROR and the code when it is not 0, which lets the recovery
//   actions of install_service restart it). `main` runs on a thread the SCM starts, not this
//   one; an exception out of it ends the process (a crash, which the recovery actions restart
//   too). `name` is what the dispatcher is told: for a service of its own process the SCM does
//   not hold it against the name the service was installed under.
// - Linux: systemd starts an ordinary process: `main` runs directly.
int run_service_or_console(std::string_view name, const std::function<int()>& main);

// Whether run_service_or_console runs `main` as a service with no console and no stderr to log
// to (a Windows service): then logs go to a file. Always false on Linux, where systemd hands
// stderr to the journal.
bool in_service_mode();

// A service as install_service registers it with the service manager.
struct ServiceDefinition {
  std::string name;          // the key name: "ferry-agent" (no '/' or '\', at most 256)
  std::string display_name;  // what the Services console shows; empty: `name`
  std::string description;
  std::filesystem::path program;  // absolute
  std::vector<std::string> args;  // after the program, quoted by the C runtime's rules
};

// Windows: creates the service (own process, started at boot: SERVICE_AUTO_START, as
// LocalSystem) with its description and recovery actions: restart after 5 s, three times, the
// count reset after a day without failure, also when it stops with a non-zero exit code (the
// failure-actions-on-non-crash flag; a service manager without that setting, as wine's, keeps
// the restarts after crashes only). Errors: InvalidParameterValue for a definition that cannot
// be one (a name the SCM refuses, a relative program), InternalError with the SCM's reason
// (administrators only; an existing service of that name is not replaced).
// Linux: an error (the package installs systemd/ferry-agent.service).
Status install_service(const ServiceDefinition& service);

// Windows: stops the service when it runs (waiting at most `stop_timeout` for STOPPED), then
// deletes it. Errors: InternalError (not installed, did not stop in time: then it is not
// deleted, or the SCM's reason). Linux: an error, as install_service.
Status uninstall_service(std::string_view name, std::chrono::milliseconds stop_timeout);

// Process-wide settings of a long-running network service, made once at its start: a write to a
// connection the peer has closed fails with an error instead of ending the process (POSIX:
// SIGPIPE ignored).
void prepare_service_process();

}  // namespace ferry::platform
