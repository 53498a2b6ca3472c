// Hashing, MACs and randomness over OpenSSL 3 (EVP). Byte strings travel as std::string /
// std::string_view holding raw bytes; hex is always lowercase.
//
// Digest and MAC computations cannot fail on valid input; if OpenSSL itself fails (out of
// memory, a broken provider) they throw std::bad_alloc, like any other allocation in the
// caller. Randomness can fail for reasons a caller may want to report, so it returns Expected.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"
#include "ferry/core/error_codes.hpp"

namespace ferry {

// SHA-256 of `data`: 32 raw bytes.
std::string sha256(std::string_view data);
// SHA-256 of `data`: 64 lowercase hex characters.
std::string sha256_hex(std::string_view data);
// HMAC-SHA256(key, data): 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);
// HMAC-SHA1(key, data): 20 raw bytes (Alibaba Cloud's signature v1 still uses it).
std::string hmac_sha1(std::string_view key, std::string_view data);
// Lowercase hex of raw bytes.
std::string hex_encode(std::string_view bytes);

// `n` bytes from OpenSSL's CSPRNG. Error code InternalError when the generator fails.
Expected<std::string> random_bytes(std::size_t n);

// Compares in time that depends only on the lengths, so that a MAC check does not reveal
// how many leading bytes of a guess were right.
bool constant_time_equal(std::string_view a, std::string_view b);

// `prefix` followed by `n` characters of [a-z0-9], each uniformly distributed (rejection
// sampling, no modulo bias): random_id("cmd-", 8) -> "cmd-5oa8jajm".
Expected<std::string> random_id(std::string_view prefix, std::size_t n);

// A random (version 4, RFC 9562) UUID in lowercase 8-4-4-4-12 form, as API RequestIds use.
Expected<std::string> uuid4();

}  // namespace ferry
