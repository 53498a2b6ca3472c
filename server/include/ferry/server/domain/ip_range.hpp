// The IpAddressRange of a register code and the test of an agent's address against it.
#pragma once

#include <string_view>

#include "ferry/core/error.hpp"

namespace ferry::server::domain {

// "" (no limit), an IPv4 address in dotted decimal ("192.168.1.1") or a CIDRv4 block whose host
// bits are zero ("192.168.0.0/16"). Octets and the prefix length are plain decimal without
// leading zeros, so that one range has one spelling. InvalidParameterValue.
Status validate_ip_range(std::string_view range);
// True when `ipv4` lies in `range` (validate_ip_range's forms; "" admits every address). A
// malformed address or range admits nothing: registration refuses rather than guesses.
bool ip_in_range(std::string_view ipv4, std::string_view range);

}  // namespace ferry::server::domain
