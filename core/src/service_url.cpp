#include "ferry/core/service_url.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <optional>

#include "ferry/core/error_codes.hpp"

namespace ferry {
namespace {

bool valid_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Dotted-quad IPv4 as inet_pton(AF_INET) takes it: four decimal parts of 0..255, no leading
// zeros.
std::optional<std::array<std::uint8_t, 4>> parse_ipv4(std::string_view s) {
  std::array<std::uint8_t, 4> out{};
  for (int i = 0; i < 4; ++i) {
    const auto dot = s.find('.');
    const std::string_view part = i < 3 ? s.substr(0, dot) : s;
    if ((i < 3 && dot == std::string_view::npos) || part.empty() || part.size() > 3 ||
        !all_digits(part) || (part.size() > 1 && part[0] == '0')) {
      return std::nullopt;
    }
    const int v = std::stoi(std::string(part));
    if (v > 255) {
      return std::nullopt;
    }
    out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v);
    if (i < 3) {
      s.remove_prefix(dot + 1);
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return l >= 'a' && l <= 'f' ? l - 'a' + 10 : -1;
}

// IPv6 as inet_pton(AF_INET6) takes it: eight groups of 1..4 hex digits, at most one "::" for a
// run of zero groups, and optionally a dotted-quad IPv4 for the last two groups.
std::optional<std::array<std::uint8_t, 16>> parse_ipv6(std::string_view s) {
  std::array<std::uint16_t, 8> head{};
  std::array<std::uint16_t, 8> tail{};
  std::size_t n_head = 0;
  std::size_t n_tail = 0;
  bool gap = false;
  if (s.starts_with("::")) {
    gap = true;
    s.remove_prefix(2);
  } else if (s.starts_with(":")) {
    return std::nullopt;
  }
  while (!s.empty()) {
    auto& groups = gap ? tail : head;
    auto& n = gap ? n_tail : n_head;
    const auto colon = s.find(':');
    const std::string_view part = s.substr(0, colon);
    if (colon == std::string_view::npos && part.find('.') != std::string_view::npos) {
      auto v4 = parse_ipv4(part);
      if (!v4 || n_head + n_tail + 2 > 8) {
        return std::nullopt;
      }
      groups[n++] = static_cast<std::uint16_t>(((*v4)[0] << 8) | (*v4)[1]);
      groups[n++] = static_cast<std::uint16_t>(((*v4)[2] << 8) | (*v4)[3]);
      break;
    }
    if (part.empty() || part.size() > 4 || n_head + n_tail == 8) {
      return std::nullopt;
    }
    unsigned v = 0;
    for (char c : part) {
      const int h = hex_value(c);
      if (h < 0) {
        return std::nullopt;
      }
      v = v * 16 + static_cast<unsigned>(h);
    }
    groups[n++] = static_cast<std::uint16_t>(v);
    if (colon == std::string_view::npos) {
      break;
    }
    s.remove_prefix(colon + 1);
    if (s.starts_with(":")) {
      if (gap) {
        return std::nullopt;  // a second "::"
      }
      gap = true;
      s.remove_prefix(1);
    } else if (s.empty()) {
      return std::nullopt;  // a single trailing ':'
    }
  }
  if ((!gap && n_head != 8) || (gap && n_head + n_tail > 7)) {
    return std::nullopt;
  }
  std::array<std::uint16_t, 8> groups{};
  std::copy_n(head.begin(), n_head, groups.begin());
  std::copy_n(tail.begin(), n_tail, groups.begin() + static_cast<std::ptrdiff_t>(8 - n_tail));
  std::array<std::uint8_t, 16> out{};
  for (std::size_t i = 0; i < 8; ++i) {
    out[2 * i] = static_cast<std::uint8_t>(groups[i] >> 8);
    out[2 * i + 1] = static_cast<std::uint8_t>(groups[i] & 0xff);
  }
  return out;
}

}  // namespace

std::string ServiceUrl::to_string() const {
  return std::string(tls ? "https://" : "http://") + host_header + base_path;
}

bool is_loopback_host(std::string_view host) {
  std::string lower(host);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "localhost" || lower == "localhost.") {
    return true;
  }
  if (auto v4 = parse_ipv4(lower)) {
    return (*v4)[0] == 127;
  }
  if (auto v6 = parse_ipv6(lower)) {
    return std::all_of(v6->begin(), v6->end() - 1, [](std::uint8_t b) { return b == 0; }) &&
           v6->back() == 1;
  }
  return false;
}

Expected<ServiceUrl> parse_service_url(std::string_view url, bool allow_plain_http,
                                       std::string_view what, std::string_view allow_hint) {
  const auto bad = [&](std::string_view why) {
    return Error{codes::kInvalidParameterValue, std::string(what) + ": " + std::string(why)};
  };
  ServiceUrl out;
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    out.tls = false;
    rest = url.substr(7);
  } else {
    return bad("must start with https:// or http://");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return bad("a query or fragment is not allowed");
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return bad("user information is not allowed");
  }
  std::string_view port;
  bool port_given = false;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return bad("unclosed [ in the host");
    }
    out.host = std::string(authority.substr(1, close - 1));
    if (!parse_ipv6(out.host)) {
      return bad("not an IPv6 address inside [ ]");
    }
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return bad("unexpected characters after ]");
      }
      port = after.substr(1);
      port_given = true;
    }
  } else {
    const auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      port_given = true;
    }
    if (!std::all_of(out.host.begin(), out.host.end(), valid_host_char)) {
      return bad("the host holds characters a host name cannot have");
    }
  }
  if (out.host.empty()) {
    return bad("no host");
  }
  if (port_given) {
    const int n = port.size() <= 5 && all_digits(port) ? std::stoi(std::string(port)) : 0;
    if (n < 1 || n > 65535) {
      return bad("the port must be a number from 1 to 65535");
    }
    out.port = std::to_string(n);
  } else {
    out.port = out.tls ? "443" : "80";
  }
  while (path.ends_with('/')) {
    path.remove_suffix(1);
  }
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '%' || c == '\\') {
      return bad("the path may hold only plain characters");
    }
  }
  out.base_path = std::string(path);
  const bool v6 = out.host.find(':') != std::string::npos;
  out.host_header = v6 ? "[" + out.host + "]" : out.host;
  if (out.port != (out.tls ? "443" : "80")) {
    out.host_header += ":" + out.port;
  }
  if (!out.tls && !allow_plain_http && !is_loopback_host(out.host)) {
    return bad("plain http is allowed only to a loopback address (" + out.host +
               " is not one); use https, or " + std::string(allow_hint));
  }
  return out;
}

}  // namespace ferry
