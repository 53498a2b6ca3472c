#include "ferry/core/base64.hpp"

#include <array>
#include <cstdint>

#include "ferry/core/error_codes.hpp"

namespace ferry {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr int kInvalid = -1;

constexpr std::array<int, 256> make_decode_table() {
  std::array<int, 256> table{};
  for (auto& v : table) {
    v = kInvalid;
  }
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  }
  return table;
}
constexpr std::array<int, 256> kDecode = make_decode_table();

Error invalid(std::string what) {
  return Error{codes::kCommandContentInvalid, "invalid base64: " + std::move(what)};
}

std::string hex_byte(unsigned char c) {
  constexpr std::string_view kHex = "0123456789abcdef";
  return std::string("0x") + kHex[c >> 4U] + kHex[c & 0xFU];
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16U |
                       static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8U |
                       static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out += kAlphabet[(n >> 18U) & 0x3FU];
    out += kAlphabet[(n >> 12U) & 0x3FU];
    out += kAlphabet[(n >> 6U) & 0x3FU];
    out += kAlphabet[n & 0x3FU];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 0) {
    return out;
  }
  uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16U;
  if (rest == 2) {
    n |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8U;
  }
  out += kAlphabet[(n >> 18U) & 0x3FU];
  out += kAlphabet[(n >> 12U) & 0x3FU];
  out += rest == 2 ? kAlphabet[(n >> 6U) & 0x3FU] : '=';
  out += '=';
  return out;
}

Expected<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return invalid("length " + std::to_string(text.size()) + " is not a multiple of 4");
  }
  // Padding is legal only as the last one or two characters.
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    padding = text[text.size() - 2] == '=' ? 2 : 1;
  }
  const std::size_t data_chars = text.size() - padding;

  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t acc = 0;
  for (std::size_t i = 0; i < data_chars; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const int v = kDecode[c];
    if (v == kInvalid) {
      return invalid(c == '=' ? "padding '=' at offset " + std::to_string(i) + " before the end"
                              : "character " + hex_byte(c) + " at offset " + std::to_string(i) +
                                    " is not in the alphabet");
    }
    acc = acc << 6U | static_cast<uint32_t>(v);
    if (i % 4 == 3) {
      out += static_cast<char>((acc >> 16U) & 0xFFU);
      out += static_cast<char>((acc >> 8U) & 0xFFU);
      out += static_cast<char>(acc & 0xFFU);
      acc = 0;
    }
  }
  // A canonical encoding leaves the bits that fall outside the last byte zero.
  if (padding == 2) {
    if ((acc & 0xFU) != 0) {
      return invalid("non-zero unused bits at offset " + std::to_string(data_chars - 1));
    }
    out += static_cast<char>((acc >> 4U) & 0xFFU);
  } else if (padding == 1) {
    if ((acc & 0x3U) != 0) {
      return invalid("non-zero unused bits at offset " + std::to_string(data_chars - 1));
    }
    out += static_cast<char>((acc >> 10U) & 0xFFU);
    out += static_cast<char>((acc >> 2U) & 0xFFU);
  }
  return out;
}

}  // namespace ferry
