// Glue with the service manager. On Linux: systemd's notify protocol (Type=notify units); a
// no-op when the process was not started by systemd. A Windows service control handler goes
// beside it later.
#pragma once

#include <string_view>

namespace ferry::platform {

// Sends `state` ("READY=1", "STOPPING=1", "STATUS=...") to the service manager, if any.
// Returns false only when a manager is configured and the message could not be sent.
bool notify_service(std::string_view state);

// Process-wide settings of a long-running network service, made once at its start: a write to a
// connection the peer has closed fails with an error instead of ending the process (POSIX:
// SIGPIPE ignored).
void prepare_service_process();

}  // namespace ferry::platform
