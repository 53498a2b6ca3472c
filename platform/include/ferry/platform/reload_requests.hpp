// The operating system asking a service to read its configuration again: SIGHUP on POSIX (what
// systemd's ExecReload=/bin/kill -HUP $MAINPID sends).
#pragma once

#include <functional>
#include <memory>

#include "ferry/platform/event_loop.hpp"

namespace ferry::platform {

class ReloadRequests {
 public:
  // From now on each request runs `handler` on `loop` instead of ending the process.
  ReloadRequests(EventLoop& loop, std::function<void()> handler);
  // From here on a request ends the process as it would without us.
  ~ReloadRequests();
  ReloadRequests(const ReloadRequests&) = delete;
  ReloadRequests& operator=(const ReloadRequests&) = delete;

  // Stops waiting: the loop has no more work of ours.
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ferry::platform
