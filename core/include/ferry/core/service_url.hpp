// The URL of a Ferry server as ferry-agent and ferry are given it, and the plain-HTTP rule that
// ferry-server follows too: https always; http only to a loopback address unless explicitly
// allowed, since the requests carry signatures and command contents.
#pragma once

#include <string>
#include <string_view>

#include "ferry/core/error.hpp"

namespace ferry {

struct ServiceUrl {
  bool tls = true;
  std::string host;       // name or address, IPv6 without brackets
  std::string port;       // "443", "80" or as given, without leading zeros
  std::string base_path;  // "" or "/prefix", no trailing slash
  // What Host says and TC3 signs: host[:port], the port only when it is not the scheme's
  // default, IPv6 in brackets.
  std::string host_header;

  // scheme://host_header + base_path: the URL in its normal form, for logs and saved settings.
  [[nodiscard]] std::string to_string() const;
};

// True for "localhost" (any case, with or without the final dot), 127.0.0.0/8 and ::1.
bool is_loopback_host(std::string_view host);

// Parses http(s)://host[:port][/base]; no user information, query or fragment, no empty port.
// Plain http to a host that is not loopback is refused unless `allow_plain_http`; the error
// then ends with `allow_hint` (how this program allows it). Errors are InvalidParameterValue,
// "<what>: <reason>".
Expected<ServiceUrl> parse_service_url(std::string_view url, bool allow_plain_http,
                                       std::string_view what, std::string_view allow_hint);

}  // namespace ferry
