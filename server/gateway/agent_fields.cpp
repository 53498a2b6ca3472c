#include "agent_fields.hpp"

#include <algorithm>
#include <charconv>

#include "ferry/core/time.hpp"
#include "ferry/server/domain/value_rules.hpp"

namespace ferry::server {

std::optional<int64_t> parse_decimal(std::string_view text) {
  int64_t v = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return v;
}

bool is_token(std::string_view s, std::size_t min, std::size_t max) {
  const auto token_char = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  };
  return s.size() >= min && s.size() <= max && std::all_of(s.begin(), s.end(), token_char);
}

Expected<int64_t> parse_time_field(std::string_view field, const std::optional<std::string>& text) {
  if (!text || text->empty()) {
    return int64_t{0};
  }
  auto t = parse_rfc3339_ms(*text);
  if (!t) {
    return domain::invalid_value(field, "must be an RFC 3339 time such as 2024-05-01T12:00:00Z");
  }
  return *t;
}

}  // namespace ferry::server
