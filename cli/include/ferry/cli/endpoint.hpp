// The API endpoint ferry talks to, and the plain-HTTP rule that ferry-server and ferry-agent
// follow too (agent/include/ferry/agent/server_url.hpp): https always; http only to a loopback
// address unless explicitly allowed, since the requests carry signatures and command contents.
#pragma once

#include <string>
#include <string_view>

#include "ferry/core/error.hpp"

namespace ferry::cli {

struct Endpoint {
  bool tls = true;
  std::string host;         // name or address, IPv6 without brackets
  std::string host_header;  // what Host says and TC3 signs: host[:port], IPv6 in brackets
  std::string base_path;    // "" or "/prefix" without a trailing slash
  // scheme://host_header + base_path, as a person would write it.
  [[nodiscard]] std::string base_url() const;
  // base_url() + "/": where the API requests go.
  [[nodiscard]] std::string api_url() const;
  [[nodiscard]] bool loopback() const;
};

// True for "localhost", 127.0.0.0/8 and ::1.
bool is_loopback_host(std::string_view host);

// Parses http(s)://host[:port][/base]; no user information, query or fragment. Plain http to a
// host that is not loopback is refused unless `allow_plain_http`. Errors name what is wrong.
Expected<Endpoint> parse_endpoint(std::string_view url, bool allow_plain_http);

}  // namespace ferry::cli
