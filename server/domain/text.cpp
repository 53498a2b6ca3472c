#include "ferry/server/domain/text.hpp"

#include <algorithm>
#include <cstdint>

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

bool is_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    uint32_t cp = 0;
    if (lead < 0x80U) {
      ++i;
      continue;
    }
    if ((lead & 0xE0U) == 0xC0U) {
      extra = 1;
      cp = lead & 0x1FU;
    } else if ((lead & 0xF0U) == 0xE0U) {
      extra = 2;
      cp = lead & 0x0FU;
    } else if ((lead & 0xF8U) == 0xF0U) {
      extra = 3;
      cp = lead & 0x07U;
    } else {
      return false;
    }
    if (extra >= s.size() - i) {
      return false;  // cut short
    }
    for (std::size_t k = 1; k <= extra; ++k) {
      if (!is_continuation(s[i + k])) {
        return false;
      }
      cp = (cp << 6U) | (static_cast<unsigned char>(s[i + k]) & 0x3FU);
    }
    constexpr uint32_t kMinimum[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinimum[extra] || cp > 0x10FFFFU || (cp >= 0xD800U && cp <= 0xDFFFU)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
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
