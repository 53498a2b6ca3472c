#include "ferry/cli/endpoint.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "ferry/core/error_codes.hpp"

namespace ferry::cli {
namespace {

Error bad_endpoint(std::string_view url, std::string_view why) {
  return Error{codes::kInvalidParameterValue,
               "endpoint " + std::string(url.substr(0, 200)) + ": " + std::string(why)};
}

bool valid_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string Endpoint::base_url() const {
  return std::string(tls ? "https://" : "http://") + host_header + base_path;
}

std::string Endpoint::api_url() const {
  return base_url() + "/";
}

bool Endpoint::loopback() const {
  return is_loopback_host(host);
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
    return (ntohl(v4.s_addr) >> 24U) == 127U;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, lower.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) != 0;
  }
  return false;
}

Expected<Endpoint> parse_endpoint(std::string_view url, bool allow_plain_http) {
  Endpoint out;
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    out.tls = false;
    rest = url.substr(7);
  } else {
    return bad_endpoint(url, "must start with https:// or http://");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return bad_endpoint(url, "a query or fragment is not allowed");
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return bad_endpoint(url, "user information is not allowed");
  }
  std::string_view port;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return bad_endpoint(url, "unclosed [ in the host");
    }
    out.host = std::string(authority.substr(1, close - 1));
    in6_addr v6{};
    if (::inet_pton(AF_INET6, out.host.c_str(), &v6) != 1) {
      return bad_endpoint(url, "not an IPv6 address inside [ ]");
    }
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return bad_endpoint(url, "unexpected characters after ]");
      }
      port = after.substr(1);
      if (port.empty()) {
        return bad_endpoint(url, "empty port");
      }
    }
  } else {
    const auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) {
        return bad_endpoint(url, "empty port");
      }
    }
    if (!std::all_of(out.host.begin(), out.host.end(), valid_host_char)) {
      return bad_endpoint(url, "the host holds characters a host name cannot have");
    }
  }
  if (out.host.empty()) {
    return bad_endpoint(url, "no host");
  }
  std::string port_text;  // empty: the scheme's default port
  if (!port.empty()) {
    const bool number = port.size() <= 5 && all_digits(port);
    const int n = number ? std::stoi(std::string(port)) : 0;
    if (n < 1 || n > 65535) {
      return bad_endpoint(url, "the port must be a number from 1 to 65535");
    }
    if ((out.tls && n != 443) || (!out.tls && n != 80)) {
      port_text = std::to_string(n);
    }
  }
  const bool v6 = out.host.find(':') != std::string::npos;
  out.host_header = v6 ? "[" + out.host + "]" : out.host;
  if (!port_text.empty()) {
    out.host_header += ":" + port_text;
  }
  while (path.ends_with('/')) {
    path.remove_suffix(1);
  }
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '%' || c == '\\') {
      return bad_endpoint(url, "the path may hold only plain characters");
    }
  }
  out.base_path = std::string(path);
  if (!out.tls && !allow_plain_http && !out.loopback()) {
    return bad_endpoint(url, "plain http is allowed only to a loopback address (" + out.host +
                                 " is not one); use https, or --allow-plain-http");
  }
  return out;
}

}  // namespace ferry::cli
