#include "ferry/core/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>
#include <memory>
#include <new>

#include "ferry/core/error_codes.hpp"
#include "openssl_support.hpp"

namespace ferry {
namespace {

using detail::bytes_of;
using detail::openssl_error_text;

constexpr std::size_t kSha256Size = 32;
constexpr std::size_t kSha1Size = 20;

std::string take(const unsigned char* p, std::size_t n) {
  return std::string(reinterpret_cast<const char*>(p), n);
}

// Fetched once: an explicit fetch per call would cost a provider lookup on every request.
EVP_MAC* hmac_algorithm() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) {
    throw std::bad_alloc();
  }
  return mac;
}

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

// HMAC with the digest `digest_name` whose output is `size` bytes.
std::string hmac(char* digest_name, std::size_t size, std::string_view key, std::string_view data) {
  const std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(hmac_algorithm()));
  const std::array<OSSL_PARAM, 2> params = {
      OSSL_PARAM_construct_utf8_string("digest", digest_name, 0),
      OSSL_PARAM_construct_end(),
  };
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  std::size_t len = 0;
  if (!ctx || EVP_MAC_init(ctx.get(), bytes_of(key), key.size(), params.data()) != 1 ||
      EVP_MAC_update(ctx.get(), bytes_of(data), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != size) {
    ERR_clear_error();
    throw std::bad_alloc();
  }
  return take(out.data(), len);
}

}  // namespace

std::string sha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  if (EVP_Digest(bytes_of(data), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != kSha256Size) {
    ERR_clear_error();
    throw std::bad_alloc();
  }
  return take(out.data(), len);
}

std::string sha256_hex(std::string_view data) {
  return hex_encode(sha256(data));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  static char digest_name[] = "SHA256";  // OSSL_PARAM wants a mutable pointer
  return hmac(digest_name, kSha256Size, key, data);
}

std::string hmac_sha1(std::string_view key, std::string_view data) {
  static char digest_name[] = "SHA1";
  return hmac(digest_name, kSha1Size, key, data);
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

Expected<std::string> random_bytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t done = 0;
  while (done < n) {
    const std::size_t chunk = std::min<std::size_t>(n - done, INT_MAX);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data() + done), static_cast<int>(chunk)) !=
        1) {
      return Error{codes::kInternalError, "random number generator: " + openssl_error_text()};
    }
    done += chunk;
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
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
