// What the machine says about itself, for registration and heartbeats.
#pragma once

#include <string>
#include <vector>

namespace ferry::platform {

// The OS as the agent protocol names it: "Linux" (or "Windows").
std::string os_name();

// The host name; empty when unknown.
std::string host_name();

// The machine's addresses that are up and not loopback (nor IPv6 link-local), IPv4 first, at
// most 32.
std::vector<std::string> local_addresses();

// The machine's stable id (/etc/machine-id on Linux); empty when unknown or not plausible.
std::string machine_id();

}  // namespace ferry::platform
