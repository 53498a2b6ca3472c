// Glue with the service manager. On Linux: systemd's notify protocol (Type=notify units), written
// here without libsystemd; everything is a no-op when the process was not started by systemd
// (NOTIFY_SOCKET unset). A Windows service control handler goes beside it later.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

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

// Process-wide settings of a long-running network service, made once at its start: a write to a
// connection the peer has closed fails with an error instead of ending the process (POSIX:
// SIGPIPE ignored).
void prepare_service_process();

}  // namespace ferry::platform
