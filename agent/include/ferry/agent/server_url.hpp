// The server URL an agent is given: core's ServiceUrl (ferry/core/service_url.hpp, shared with
// the ferry client), with the agent's wording in errors.
#pragma once

#include <string_view>

#include "ferry/core/error.hpp"
#include "ferry/core/service_url.hpp"

namespace ferry::agent {

using ServerUrl = ServiceUrl;
using ferry::is_loopback_host;

// Errors: InvalidParameterValue, "server URL: <reason>".
inline Expected<ServerUrl> parse_server_url(std::string_view url, bool allow_plain_http) {
  return parse_service_url(url, allow_plain_http, "server URL", "register with --allow-plain-http");
}

}  // namespace ferry::agent
