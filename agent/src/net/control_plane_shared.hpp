// What the two implementations of ControlPlane share (http_control_plane.cpp, Boost.Beast, on
// Linux; winhttp_control_plane.cpp on Windows), so that both map replies and bound their work
// alike. Private to agent/src.
#pragma once

#include <cstddef>
#include <string>

#include "ferry/agent/control_plane.hpp"

namespace ferry::agent::net_shared {

// Two exchanges at a time let a slow report not hold up DescribeTasks; a task's own reports are
// sent one after another by the daemon, so their order never depends on this.
inline constexpr std::size_t kMaxConcurrentCalls = 2;
// The largest push message taken; a bigger one ends the socket.
inline constexpr std::size_t kMaxPushMessage = 64 * 1024;

// The "Response" object of an /agent reply body (or of a refused upgrade's), or why there is
// none: a body that is not the protocol's envelope is a transport error, whatever the status.
CallResult to_call_result(unsigned status, const std::string& body);

}  // namespace ferry::agent::net_shared
