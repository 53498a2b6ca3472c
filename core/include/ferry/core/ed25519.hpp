// Ed25519 keys of the agents (RFC 8032, over OpenSSL 3). An agent makes its key pair at
// registration, keeps the private key on disk as PKCS#8 PEM and sends the server the public
// key as base64 of its 32 raw bytes; every later agent request carries a signature over
// agent_signing_string(...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace ferry {

inline constexpr std::size_t kEd25519PublicKeySize = 32;
inline constexpr std::size_t kEd25519SignatureSize = 64;
inline constexpr std::string_view kAgentSigningVersion = "FERRY-ED25519-V1";

// A private key (and its public half). Movable, not copyable; the key is freed (and wiped by
// OpenSSL) with the object.
class Ed25519PrivateKey {
 public:
  // A new random key pair.
  static Expected<Ed25519PrivateKey> generate();
  // From PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), unencrypted. Errors: InvalidParameterValue.
  static Expected<Ed25519PrivateKey> from_pem(std::string_view pem);
  // From the 32-byte secret seed of RFC 8032 (what its test vectors call the secret key).
  static Expected<Ed25519PrivateKey> from_seed(std::string_view seed);

  // PKCS#8 PEM. Secret: write it with owner-only permissions, never log it.
  [[nodiscard]] Expected<std::string> to_pem() const;
  // The 32 raw bytes of the public key, and their base64 (what registration sends).
  [[nodiscard]] std::string public_key_raw() const;
  [[nodiscard]] std::string public_key_base64() const;

  // The 64-byte signature of `message` (pure Ed25519: the message itself, not a digest).
  [[nodiscard]] Expected<std::string> sign(std::string_view message) const;
  // The same, base64-encoded.
  [[nodiscard]] Expected<std::string> sign_base64(std::string_view message) const;

 private:
  struct Free {
    void operator()(evp_pkey_st* key) const;
  };
  explicit Ed25519PrivateKey(evp_pkey_st* key) : key_(key) {}
  std::unique_ptr<evp_pkey_st, Free> key_;
};

// Decodes and checks a public key given as base64 of 32 raw bytes.
// Errors: InvalidParameterValue (bad base64, wrong length, not a valid key).
Expected<std::string> ed25519_public_key_from_base64(std::string_view public_key_b64);

// Checks `signature` (64 raw bytes) over `message` with a raw 32-byte public key.
bool ed25519_verify_raw(std::string_view public_key, std::string_view message,
                        std::string_view signature);

// Checks a base64 signature over `message` with a base64 public key. Errors:
// InvalidParameterValue when the public key is malformed (a registration problem),
// AuthFailure.SignatureFailure when the signature is malformed or does not match.
Status ed25519_verify(std::string_view public_key_b64, std::string_view message,
                      std::string_view signature_b64);

// The string an agent signs for one request, the fields joined by '\n':
//   FERRY-ED25519-V1
//   <action>
//   <hex sha256 of the body>
//   <timestamp, decimal Unix seconds>
//   <nonce>
//   <instance id>
// A field containing '\n' or '\r' would let two different requests sign the same string, so
// it is refused, as is a digest that is not 64 lowercase hex characters
// (InvalidParameterValue).
Expected<std::string> agent_signing_string(std::string_view action,
                                           std::string_view body_sha256_hex, std::int64_t timestamp,
                                           std::string_view nonce, std::string_view instance_id);

}  // namespace ferry
