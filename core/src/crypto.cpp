// The parts of crypto.hpp that are the same on every OS; the digests, MACs and the random
// source are in crypto_openssl.cpp (Linux) or crypto_windows.cpp (Windows, CNG).
#include "ferry/core/crypto.hpp"

namespace ferry {

std::string sha256_hex(std::string_view data) {
  return hex_encode(sha256(data));
}

std::string hex_encode(std::string_view bytes) {
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kHex[b >> 4U];
    out += kHex[b & 0xFU];
  }
  return out;
}

Expected<std::string> random_id(std::string_view prefix, std::size_t n) {
  constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  // The largest multiple of 36 that fits in a byte: bytes at or above it are dropped so that
  // every character stays equally likely.
  constexpr std::size_t kLimit = 256U - 256U % kAlphabet.size();
  std::string out(prefix);
  out.reserve(prefix.size() + n);
  std::size_t needed = n;
  while (needed > 0) {
    // About 1.6% of bytes are rejected; a little headroom avoids a second round most times.
    auto bytes = random_bytes(needed + needed / 8 + 4);
    if (!bytes) {
      return bytes.error().wrap("generating an id");
    }
    for (const char c : *bytes) {
      const auto b = static_cast<std::size_t>(static_cast<unsigned char>(c));
      if (b >= kLimit) {
        continue;
      }
      out += kAlphabet[b % kAlphabet.size()];
      if (--needed == 0) {
        break;
      }
    }
  }
  return out;
}

Expected<std::string> uuid4() {
  auto bytes = random_bytes(16);
  if (!bytes) {
    return bytes.error().wrap("generating a UUID");
  }
  std::string& b = *bytes;
  b[6] = static_cast<char>((static_cast<unsigned char>(b[6]) & 0x0FU) | 0x40U);  // version 4
  b[8] = static_cast<char>((static_cast<unsigned char>(b[8]) & 0x3FU) | 0x80U);  // variant 10
  const std::string hex = hex_encode(b);
  return hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4) + '-' +
         hex.substr(16, 4) + '-' + hex.substr(20, 12);
}

}  // namespace ferry
