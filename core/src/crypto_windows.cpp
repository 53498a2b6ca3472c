// crypto.hpp over Windows CNG (bcrypt.dll, part of every Windows since Vista): the Windows
// backend, chosen in core/CMakeLists.txt. Digests and MACs through the algorithm providers,
// randomness from the system's preferred generator (BCryptGenRandom).
#include <windows.h>
// bcrypt.h needs the types of windows.h first.
#include <bcrypt.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>
#include <new>

#include "ferry/core/crypto.hpp"

namespace ferry {
namespace {

constexpr std::size_t kSha256Size = 32;
constexpr std::size_t kSha1Size = 20;
constexpr std::size_t kMaxChunk = std::numeric_limits<ULONG>::max();

// NT_SUCCESS without its C cast.
bool cng_ok(NTSTATUS status) {
  return status >= 0;
}

// Algorithm handles are opened once and shared: CNG allows one handle in many threads, and
// opening one costs a provider lookup. Never closed (they live as long as the process).
BCRYPT_ALG_HANDLE open_algorithm(const wchar_t* id, ULONG flags) {
  BCRYPT_ALG_HANDLE handle = nullptr;
  if (!cng_ok(BCryptOpenAlgorithmProvider(&handle, id, nullptr, flags))) {
    throw std::bad_alloc();
  }
  return handle;
}

BCRYPT_ALG_HANDLE sha256_algorithm() {
  static const BCRYPT_ALG_HANDLE handle = open_algorithm(BCRYPT_SHA256_ALGORITHM, 0);
  return handle;
}
BCRYPT_ALG_HANDLE hmac_sha256_algorithm() {
  static const BCRYPT_ALG_HANDLE handle =
      open_algorithm(BCRYPT_SHA256_ALGORITHM, BCRYPT_ALG_HANDLE_HMAC_FLAG);
  return handle;
}
BCRYPT_ALG_HANDLE hmac_sha1_algorithm() {
  static const BCRYPT_ALG_HANDLE handle =
      open_algorithm(BCRYPT_SHA1_ALGORITHM, BCRYPT_ALG_HANDLE_HMAC_FLAG);
  return handle;
}

// CNG takes non-const byte pointers for input it only reads.
PUCHAR input_bytes(std::string_view s) {
  static UCHAR empty = 0;
  return s.empty() ? &empty : reinterpret_cast<PUCHAR>(const_cast<char*>(s.data()));
}

// The digest (`key` empty and unused for a plain hash) or MAC of `data`, `size` bytes. The data
// goes in chunks because CNG counts bytes in 32 bits.
std::string digest(BCRYPT_ALG_HANDLE algorithm, std::size_t size, std::string_view key,
                   std::string_view data) {
  if (key.size() > kMaxChunk) {
    throw std::bad_alloc();
  }
  BCRYPT_HASH_HANDLE hash = nullptr;
  if (!cng_ok(BCryptCreateHash(algorithm, &hash, nullptr, 0, input_bytes(key),
                               static_cast<ULONG>(key.size()), 0))) {
    throw std::bad_alloc();
  }
  bool ok = true;
  do {
    const std::string_view chunk = data.substr(0, kMaxChunk);
    ok = cng_ok(BCryptHashData(hash, input_bytes(chunk), static_cast<ULONG>(chunk.size()), 0));
    data.remove_prefix(chunk.size());
  } while (ok && !data.empty());
  std::string out(size, '\0');
  ok = ok && cng_ok(BCryptFinishHash(hash, reinterpret_cast<PUCHAR>(out.data()),
                                     static_cast<ULONG>(out.size()), 0));
  BCryptDestroyHash(hash);
  if (!ok) {
    throw std::bad_alloc();
  }
  return out;
}

}  // namespace

std::string sha256(std::string_view data) {
  return digest(sha256_algorithm(), kSha256Size, {}, data);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  return digest(hmac_sha256_algorithm(), kSha256Size, key, data);
}

std::string hmac_sha1(std::string_view key, std::string_view data) {
  return digest(hmac_sha1_algorithm(), kSha1Size, key, data);
}

Expected<std::string> random_bytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t done = 0;
  while (done < n) {
    const std::size_t chunk = std::min(n - done, kMaxChunk);
    const NTSTATUS status =
        BCryptGenRandom(nullptr, reinterpret_cast<PUCHAR>(out.data() + done),
                        static_cast<ULONG>(chunk), BCRYPT_USE_SYSTEM_PREFERRED_RNG);
    if (!cng_ok(status)) {
      std::array<char, 16> code{};
      std::snprintf(code.data(), code.size(), "0x%08lx", static_cast<unsigned long>(status));
      return Error{
          codes::kInternalError,
          std::string("random number generator: BCryptGenRandom failed, NTSTATUS ") + code.data()};
    }
    done += chunk;
  }
  return out;
}

// Every byte is looked at whatever the earlier ones were; the volatile keeps the compiler from
// stopping at the first difference.
bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  volatile unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    difference = static_cast<unsigned char>(
        difference | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  }
  return difference == 0;
}

}  // namespace ferry
