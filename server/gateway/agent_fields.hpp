// Internal to server/gateway/: the value rules of the agent protocol's fields that several of
// its parts read (headers, task ids, report times).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"

namespace ferry::server {

// Instance and task ids as the agent sends them.
inline constexpr std::size_t kMaxIdLength = 64;

// A decimal integer and nothing else.
std::optional<int64_t> parse_decimal(std::string_view text);

// `min` to `max` characters of [A-Za-z0-9_-].
bool is_token(std::string_view s, std::size_t min, std::size_t max);

// RFC 3339 text to Unix milliseconds; absent or "" is 0 (not given). InvalidParameterValue
// naming `field`.
Expected<int64_t> parse_time_field(std::string_view field, const std::optional<std::string>& text);

}  // namespace ferry::server
