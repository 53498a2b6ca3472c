// The operating system asking the agent to stop: SIGTERM (how systemd stops a service) and
// SIGINT (Ctrl-C) on POSIX; a Windows service's STOP and SHUTDOWN controls go here too.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "ferry/platform/event_loop.hpp"

namespace ferry::platform {

class StopRequests {
 public:
  // `what` names the request for logs ("SIGTERM").
  using Handler = std::function<void(std::string_view what)>;

  // From now on, the first stop request runs `handler` on `loop` instead of ending the process.
  StopRequests(EventLoop& loop, Handler handler);
  // From here on a request ends the process as it would without us.
  ~StopRequests();
  StopRequests(const StopRequests&) = delete;
  StopRequests& operator=(const StopRequests&) = delete;

  // Stops waiting: the loop has no more work of ours, and a request that comes meanwhile is
  // held back (not acted on) until the destructor.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::platform
