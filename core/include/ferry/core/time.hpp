#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry {

// "2026-11-25T15:18:21Z" (UTC, whole seconds).
std::string to_rfc3339(std::chrono::system_clock::time_point t);
std::string seconds_to_rfc3339(std::chrono::sys_seconds t);
// Parses "YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm|-hh:mm)" ('t' and 'z' too, as RFC 3339 allows).
// Fraction digits past the clock's precision are dropped; a leap second (:60) becomes the next
// second. nullopt for anything else, including out-of-range fields, years outside 1678..2261
// (which the clock cannot hold) and trailing text.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s);

// The same for times kept as Unix milliseconds, as the server's records keep them; times
// before year 0 or after 9999 are written as those years' ends.
std::string ms_to_rfc3339(int64_t unix_ms);
std::optional<int64_t> parse_rfc3339_ms(std::string_view s);

}  // namespace ferry
