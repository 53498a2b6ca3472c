// reload_requests.hpp on Windows, which has no SIGHUP. A request is the auto-reset event
// Local\ferry-reload-<pid> (win32::reload_event_name), made by ReloadRequests and waited on
// through the loop (Asio's object_handle). Two ways to set it:
// - a service: SERVICE_CONTROL_PARAMCHANGE (`sc control <name> paramchange`), which the
//   control handler (windows/service.cpp) turns into the event (win32::request_reload);
// - a console program: any process of the same logon session and account opening the event by
//   name and setting it (the event has the default security of the agent's account; Local\ is
//   per session, so a service's event is out of reach of a user's console in another one).
// Without a ReloadRequests the event does not exist: a request is not heard, where SIGHUP's
// default action would end a POSIX process.

#include "ferry/platform/reload_requests.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/windows/object_handle.hpp>
#include <string>

#include "control_requests.hpp"
#include "win32.hpp"

namespace ferry::platform {

namespace win32 {

std::wstring reload_event_name(unsigned long pid) {
  return L"Local\\ferry-reload-" + std::to_wstring(pid);
}

bool request_reload() {
  const UniqueHandle event(
      ::OpenEventW(EVENT_MODIFY_STATE, FALSE, reload_event_name(::GetCurrentProcessId()).c_str()));
  return event.valid() && ::SetEvent(event.get()) != 0;
}

}  // namespace win32

struct ReloadRequests::Impl : std::enable_shared_from_this<Impl> {
  boost::asio::windows::object_handle event;
  std::function<void()> handler;
  Impl(EventLoop& loop, HANDLE e, std::function<void()> h)
      : event(loop, e), handler(std::move(h)) {}

  void wait() {
    event.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self) {
        return;
      }
      self->handler();
      self->wait();
    });
  }
};

ReloadRequests::ReloadRequests(EventLoop& loop, std::function<void()> handler) {
  HANDLE event = ::CreateEventW(nullptr, FALSE, FALSE,
                                win32::reload_event_name(::GetCurrentProcessId()).c_str());
  if (event == nullptr) {
    // Reloads are a convenience (the configuration is read at start anyway): no event, no
    // reloads, rather than no agent.
    return;
  }
  impl_ = std::make_shared<Impl>(loop, event, std::move(handler));
  impl_->wait();
}

ReloadRequests::~ReloadRequests() {
  close();
}

void ReloadRequests::close() {
  if (impl_) {
    // Closing the handle (ours is the only one) removes the named event as well.
    boost::system::error_code ignored;
    impl_->event.close(ignored);
  }
}

}  // namespace ferry::platform
