// Private to core: what crypto.cpp and ed25519.cpp both need around OpenSSL calls.
#pragma once

#include <openssl/err.h>

#include <array>
#include <string>
#include <string_view>

namespace ferry::detail {

// The bytes of `s` for OpenSSL. An empty view may hold nullptr, which OpenSSL reads as "no
// input" rather than "zero-length input" (EVP_MAC_init would keep the previous key instead of an
// empty one), so an empty view gets a valid pointer.
inline const unsigned char* bytes_of(std::string_view s) {
  static constexpr unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

// The oldest error of OpenSSL's thread-local queue as text, the queue emptied: left there,
// errors would surface in an unrelated later call.
inline std::string openssl_error_text() {
  const unsigned long err = ERR_get_error();
  ERR_clear_error();
  if (err == 0) {
    return "unknown OpenSSL error";
  }
  std::array<char, 256> buf{};
  ERR_error_string_n(err, buf.data(), buf.size());
  return std::string(buf.data());
}

}  // namespace ferry::detail
