// stop_requests.hpp on Windows. Two sources of stop requests, both process-wide and on threads of
// their own: the console's control handler (SetConsoleCtrlHandler: Ctrl+C, Ctrl+Break, the
// console window closing, the system shutting down) and the service's STOP and SHUTDOWN controls
// (windows/service.cpp, through win32::request_stop). Both land in one routing table guarded by a
// mutex, which posts the first request to the loop of the StopRequests that is waiting.
//
// Without a StopRequests (before the first, after the last) the console's requests end the
// process as they would without us (the handler declines them), and a service control is kept
// for the next StopRequests: a service stopped while it starts is stopped once it can be.
// A user logging off is not a reason to stop (CTRL_LOGOFF_EVENT is ignored: a service gets it
// for every user's logoff).
//
// The console closing gives the process a few seconds after the handler returns before the
// system ends it; the handler does not wait for the loop.

#include "ferry/platform/stop_requests.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <mutex>
#include <optional>
#include <string>

#include "control_requests.hpp"
#include "win32.hpp"

namespace ferry::platform {
namespace stop_detail {

// What one StopRequests keeps alive for the requests already posted to its loop (named, not
// anonymous: StopRequests::Impl holds it).
struct StopListener {
  EventLoop& loop;
  StopRequests::Handler handler;
  std::atomic<bool> closed{false};
  bool fired = false;  // under the routing's mutex
  StopListener(EventLoop& l, StopRequests::Handler h) : loop(l), handler(std::move(h)) {}
};

}  // namespace stop_detail

namespace {

using stop_detail::StopListener;

// Process-wide because the OS's handlers are.
struct StopRouting {
  std::mutex mutex;
  std::shared_ptr<StopListener> listener;  // the StopRequests waiting, if any
  bool holding = false;                    // a StopRequests exists but has closed
  std::optional<std::string> early;        // a service control before any StopRequests
};

StopRouting& stop_routing() {
  static StopRouting routing;
  return routing;
}

// With the routing's mutex held.
void post_stop(const std::shared_ptr<StopListener>& listener, const std::string& what) {
  if (listener->fired) {
    return;
  }
  listener->fired = true;
  boost::asio::post(listener->loop, [listener, what] {
    if (!listener->closed) {
      listener->handler(what);
    }
  });
}

// Whether a StopRequests took (or held back) the request.
bool route_stop(const std::string& what, bool keep_if_unheard) {
  auto& routing = stop_routing();
  const std::lock_guard lock(routing.mutex);
  if (routing.listener) {
    post_stop(routing.listener, what);
    return true;
  }
  if (routing.holding) {
    return true;
  }
  if (keep_if_unheard && !routing.early) {
    routing.early = what;
  }
  return false;
}

BOOL WINAPI on_stop_console_event(DWORD type) {
  switch (type) {
    case CTRL_C_EVENT:
      return route_stop("Ctrl+C", false) ? TRUE : FALSE;
    case CTRL_BREAK_EVENT:
      return route_stop("Ctrl+Break", false) ? TRUE : FALSE;
    case CTRL_CLOSE_EVENT:
      return route_stop("console close", false) ? TRUE : FALSE;
    case CTRL_SHUTDOWN_EVENT:
      return route_stop("system shutdown", false) ? TRUE : FALSE;
    case CTRL_LOGOFF_EVENT:
      return TRUE;
    default:
      return FALSE;
  }
}

}  // namespace

namespace win32 {

bool request_stop(const std::string& what) {
  return route_stop(what, true);
}

}  // namespace win32

struct StopRequests::Impl {
  std::shared_ptr<StopListener> listener;
};

StopRequests::StopRequests(EventLoop& loop, Handler handler) : impl_(std::make_unique<Impl>()) {
  // Once per process, for good: without a listener the handler declines, as if it were not there.
  static const bool console_handler = ::SetConsoleCtrlHandler(on_stop_console_event, TRUE) != 0;
  (void)console_handler;
  impl_->listener = std::make_shared<StopListener>(loop, std::move(handler));
  auto& routing = stop_routing();
  const std::lock_guard lock(routing.mutex);
  routing.listener = impl_->listener;
  routing.holding = false;
  if (routing.early) {
    post_stop(routing.listener, *routing.early);
    routing.early.reset();
  }
}

StopRequests::~StopRequests() {
  close();
  auto& routing = stop_routing();
  const std::lock_guard lock(routing.mutex);
  routing.holding = false;
}

void StopRequests::close() {
  impl_->listener->closed = true;
  auto& routing = stop_routing();
  const std::lock_guard lock(routing.mutex);
  if (routing.listener == impl_->listener) {
    routing.listener.reset();
    routing.holding = true;
  }
}

}  // namespace ferry::platform
