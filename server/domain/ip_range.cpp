#include "ferry/server/domain/ip_range.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>

#include "ferry/core/error_codes.hpp"

namespace ferry::server::domain {
namespace {

// A dotted-decimal IPv4 address as a 32-bit number; nullopt for anything else.
std::optional<uint32_t> parse_ipv4(std::string_view text) {
  uint32_t value = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (text.empty() || text.front() != '.') {
        return std::nullopt;
      }
      text.remove_prefix(1);
    }
    std::size_t n = 0;
    uint32_t octet = 0;
    while (n < text.size() && n < 4 && std::isdigit(static_cast<unsigned char>(text[n])) != 0) {
      octet = octet * 10 + static_cast<uint32_t>(text[n] - '0');
      ++n;
    }
    if (n == 0 || n > 3 || octet > 255 || (n > 1 && text.front() == '0')) {
      return std::nullopt;
    }
    value = (value << 8U) | octet;
    text.remove_prefix(n);
  }
  if (!text.empty()) {
    return std::nullopt;
  }
  return value;
}

struct Ipv4Block {
  uint32_t network = 0;
  uint32_t mask = 0;
};

std::optional<Ipv4Block> parse_ipv4_block(std::string_view range) {
  const auto slash = range.find('/');
  auto address = parse_ipv4(range.substr(0, slash));
  if (!address) {
    return std::nullopt;
  }
  unsigned prefix = 32;
  if (slash != std::string_view::npos) {
    const auto digits = range.substr(slash + 1);
    if (digits.empty() || digits.size() > 2 || (digits.size() > 1 && digits.front() == '0') ||
        !std::all_of(digits.begin(), digits.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; })) {
      return std::nullopt;
    }
    prefix = 0;
    for (char c : digits) {
      prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (prefix > 32) {
      return std::nullopt;
    }
  }
  // A shift by 32 is undefined, hence the special case of /0.
  const uint32_t mask = prefix == 0 ? 0U : ~uint32_t{0} << (32U - prefix);
  if ((*address & ~mask) != 0) {
    return std::nullopt;
  }
  return Ipv4Block{*address, mask};
}

}  // namespace

Status validate_ip_range(std::string_view range) {
  if (range.empty() || parse_ipv4_block(range)) {
    return {};
  }
  return Error{codes::kInvalidParameterValue,
               "IpAddressRange: must be an IPv4 address such as 192.168.1.1 or a CIDRv4 block "
               "with its host bits zero such as 192.168.0.0/16"};
}

bool ip_in_range(std::string_view ipv4, std::string_view range) {
  auto address = parse_ipv4(ipv4);
  if (!address) {
    return false;
  }
  if (range.empty()) {
    return true;
  }
  auto block = parse_ipv4_block(range);
  return block && (*address & block->mask) == block->network;
}

}  // namespace ferry::server::domain
