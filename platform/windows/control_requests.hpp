// How the service's control handler (windows/service.cpp) reaches StopRequests and
// ReloadRequests (windows/stop_requests.cpp, reload_requests.cpp): the same paths as a console's
// Ctrl+C and the reload event. Private to platform/ (and its tests).
#pragma once

#include <string>

namespace ferry::platform::win32 {

// A stop request from any thread (`what` names it for logs: "service STOP"): runs the handler
// of this process's StopRequests on its loop, the first time only. One that comes before any
// StopRequests exists is kept and handed to the first one made; one that comes after close() is
// held back. True when a StopRequests took it.
bool request_stop(const std::string& what);

// The auto-reset event that asks the process with this pid to read its configuration again
// (ReloadRequests waits on it): Local\ferry-reload-<pid>.
std::wstring reload_event_name(unsigned long pid);

// Sets this process's reload event. False when no ReloadRequests is waiting.
bool request_reload();

}  // namespace ferry::platform::win32
