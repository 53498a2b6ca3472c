// The server URL an agent is given, and the rule for plain HTTP that the server, the agent and
// the client share: https always; http only to a loopback address unless explicitly allowed.
#pragma once

#include <string>
#include <string_view>

#include "ferry/core/error.hpp"

namespace ferry::agent {

struct ServerUrl {
  bool tls = true;
  std::string host;  // name or address, IPv6 without brackets
  std::string port;  // "443", "80" or as given
  std::string
      base_path;  // "" or "/prefix" (no trailing slash): requests go to base_path + "/agent"
  std::string host_header;  // the Host header: host[:port], IPv6 in brackets

  // The URL in its normal form (scheme://host:port/base), for logs and the saved identity.
  [[nodiscard]] std::string to_string() const;
};

// True for "localhost", 127.0.0.0/8 and ::1 (the plain-HTTP exemption).
bool is_loopback_host(std::string_view host);

// Parses http(s)://host[:port][/base]. No user info, query or fragment. Plain http to a host
// that is not loopback is refused unless `allow_plain_http`. Errors: InvalidParameterValue,
// naming what is wrong.
Expected<ServerUrl> parse_server_url(std::string_view url, bool allow_plain_http);

}  // namespace ferry::agent
