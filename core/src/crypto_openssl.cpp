// crypto.hpp over OpenSSL 3 (EVP): the Linux backend, chosen in core/CMakeLists.txt.
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

#include "ferry/core/crypto.hpp"
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

std::string hmac_sha256(std::string_view key, std::string_view data) {
  static char digest_name[] = "SHA256";  // OSSL_PARAM wants a mutable pointer
  return hmac(digest_name, kSha256Size, key, data);
}

std::string hmac_sha1(std::string_view key, std::string_view data) {
  static char digest_name[] = "SHA1";
  return hmac(digest_name, kSha1Size, key, data);
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

}  // namespace ferry
