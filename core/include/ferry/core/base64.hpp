#pragma once

#include <string>
#include <string_view>

#include "ferry/core/error.hpp"

namespace ferry {

// Standard alphabet (RFC 4648 section 4) with padding.
std::string base64_encode(std::string_view bytes);

// Strict decoding: the standard alphabet only, length a multiple of 4, '=' only as the final
// one or two characters, no whitespace, unused bits zero. Errors carry the code
// InvalidParameterValue.CommandContentInvalid and say what is wrong and where.
Expected<std::string> base64_decode(std::string_view text);

}  // namespace ferry
