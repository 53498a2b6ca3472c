// The measures of text the value rules share: length in characters, control characters, and a
// cut that keeps UTF-8 sequences whole.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ferry::server::domain {

// UTF-8 code points; invalid bytes count one each.
std::size_t utf8_length(std::string_view s);

// A byte below 0x20 or 0x7f (UTF-8 above 0x7f is text).
bool has_control(std::string_view s);

// Well-formed UTF-8: no stray continuation byte, no overlong form, no surrogate, nothing past
// U+10FFFF.
bool is_utf8(std::string_view s);

// At most `max_bytes` bytes without control characters: the agents' names, versions and URLs.
bool is_short_text(std::string_view s, std::size_t max_bytes);

// At most `max` bytes of `s`, never ending inside a UTF-8 sequence.
std::string utf8_prefix(std::string_view s, std::size_t max);

}  // namespace ferry::server::domain
