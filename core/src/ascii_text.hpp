// Private to core: byte-wise ASCII helpers for the parsers of scripts (parameters.cpp,
// script_command.cpp). No locale: a script's bytes mean the same on every machine.
#pragma once

#include <algorithm>
#include <string_view>

namespace ferry::detail {

inline char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Equal but for the case of ASCII letters.
inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

// `s` without its leading characters for which `is_trimmed` holds.
template <typename Pred>
std::string_view trim_front_if(std::string_view s, Pred is_trimmed) {
  while (!s.empty() && is_trimmed(s.front())) {
    s.remove_prefix(1);
  }
  return s;
}

// `s` without its leading and trailing characters for which `is_trimmed` holds.
template <typename Pred>
std::string_view trim_if(std::string_view s, Pred is_trimmed) {
  s = trim_front_if(s, is_trimmed);
  while (!s.empty() && is_trimmed(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace ferry::detail
