// Private helpers for error messages that quote user input.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ferry::detail {

// `s` in double quotes, for an error message: control and non-ASCII bytes, '"' and '\\' escaped
// as \xNN and long input cut at `max` bytes with "...", so that a message stays one short,
// printable, unambiguous line.
inline std::string quote_for_message(std::string_view s, std::size_t max = 64) {
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i == max) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
      out += "\\x";
      out += kHex[c >> 4U];
      out += kHex[c & 0xFU];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

}  // namespace ferry::detail
