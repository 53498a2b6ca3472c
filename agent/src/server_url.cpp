#include "ferry/agent/server_url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "ferry/core/error_codes.hpp"

namespace ferry::agent {
namespace {

Error bad_url(std::string_view why) {
  return Error{codes::kInvalidParameterValue, "server URL: " + std::string(why)};
}

bool valid_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::string ServerUrl::to_string() const {
  return std::string(tls ? "https://" : "http://") + host_header + base_path;
}

bool is_loopback_host(std::string_view host) {
  std::string lower(host);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "localhost" || lower == "localhost.") {
    return true;
  }
  in_addr v4{};
  if (::inet_pton(AF_INET, lower.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, lower.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) != 0;
  }
  return false;
}

Expected<ServerUrl> parse_server_url(std::string_view url, bool allow_plain_http) {
  ServerUrl out;
  std::string_view rest;
  if (url.starts_with("https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    out.tls = false;
    rest = url.substr(7);
  } else {
    return bad_url("must start with https:// or http://");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return bad_url("a query or fragment is not allowed");
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return bad_url("user information is not allowed");
  }
  std::string_view port;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return bad_url("unclosed [ in the host");
    }
    out.host = std::string(authority.substr(1, close - 1));
    in6_addr v6{};
    if (::inet_pton(AF_INET6, out.host.c_str(), &v6) != 1) {
      return bad_url("not an IPv6 address inside [ ]");
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return bad_url("unexpected characters after ]");
      }
      port = after.substr(1);
    }
  } else {
    const auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
    }
    if (!std::all_of(out.host.begin(), out.host.end(), valid_host_char)) {
      return bad_url("the host holds characters a host name cannot have");
    }
  }
  if (out.host.empty()) {
    return bad_url("no host");
  }
  if (port.empty()) {
    out.port = out.tls ? "443" : "80";
  } else {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return bad_url("the port must be a number from 1 to 65535");
    }
    const int n = std::stoi(std::string(port));
    if (n < 1 || n > 65535) {
      return bad_url("the port must be a number from 1 to 65535");
    }
    out.port = std::to_string(n);
  }
  while (path.ends_with('/')) {
    path.remove_suffix(1);
  }
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '%' || c == '\\') {
      return bad_url("the path may hold only plain characters");
    }
  }
  out.base_path = std::string(path);
  const bool v6 = out.host.find(':') != std::string::npos;
  out.host_header = v6 ? "[" + out.host + "]" : out.host;
  const bool default_port = (out.tls && out.port == "443") || (!out.tls && out.port == "80");
  if (!default_port) {
    out.host_header += ":" + out.port;
  }
  if (!out.tls && !allow_plain_http && !is_loopback_host(out.host)) {
    return bad_url("plain http is allowed only to a loopback address (" + out.host +
                   " is not one); use https, or allow plain http explicitly");
  }
  return out;
}

}  // namespace ferry::agent
