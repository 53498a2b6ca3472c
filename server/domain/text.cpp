#include "ferry/server/domain/text.hpp"

#include <algorithm>

namespace ferry::server::domain {
namespace {

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0U) == 0x80U;
}

}  // namespace

std::size_t utf8_length(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return !is_continuation(c); }));
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool is_short_text(std::string_view s, std::size_t max_bytes) {
  return s.size() <= max_bytes && !has_control(s);
}

std::string utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) {
    return std::string(s);
  }
  std::size_t cut = max;
  while (cut > 0 && is_continuation(s[cut])) {
    --cut;
  }
  return std::string(s.substr(0, cut));
}

}  // namespace ferry::server::domain
