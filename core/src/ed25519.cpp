// The parts of ed25519.hpp that are the same on every OS; the keys, signing and verifying are in
// ed25519_openssl.cpp (Linux) or ed25519_gcrypt.cpp (Windows).
#include "ferry/core/ed25519.hpp"

#include <algorithm>

#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"

namespace ferry {

std::string Ed25519PrivateKey::public_key_base64() const {
  return base64_encode(public_key_raw());
}

Expected<std::string> Ed25519PrivateKey::sign_base64(std::string_view message) const {
  auto sig = sign(message);
  if (!sig) {
    return sig.error();
  }
  return base64_encode(*sig);
}

// Any 32 bytes are a public key to check signatures with: like OpenSSL's raw import, no more is
// checked here (a point that is not on the curve only ever fails verification).
Expected<std::string> ed25519_public_key_from_base64(std::string_view public_key_b64) {
  auto raw = base64_decode(public_key_b64);
  if (!raw) {
    return Error{codes::kInvalidParameterValue, "Ed25519 public key: not base64"};
  }
  if (raw->size() != kEd25519PublicKeySize) {
    return Error{codes::kInvalidParameterValue,
                 "Ed25519 public key: " + std::to_string(raw->size()) + " bytes, expected 32"};
  }
  return std::move(*raw);
}

Status ed25519_verify(std::string_view public_key_b64, std::string_view message,
                      std::string_view signature_b64) {
  auto key = ed25519_public_key_from_base64(public_key_b64);
  if (!key) {
    return key.error();
  }
  auto sig = base64_decode(signature_b64);
  if (!sig || sig->size() != kEd25519SignatureSize) {
    return Error{auth_codes::kSignatureFailure, "Ed25519 signature: expected base64 of 64 bytes"};
  }
  if (!ed25519_verify_raw(*key, message, *sig)) {
    return Error{auth_codes::kSignatureFailure, "Ed25519 signature does not match"};
  }
  return {};
}

Expected<std::string> agent_signing_string(std::string_view action,
                                           std::string_view body_sha256_hex, std::int64_t timestamp,
                                           std::string_view nonce, std::string_view instance_id) {
  const auto bad = [](std::string_view field) {
    return field.find_first_of("\r\n") != std::string_view::npos;
  };
  if (bad(action) || bad(nonce) || bad(instance_id)) {
    return Error{codes::kInvalidParameterValue,
                 "agent signing string: a field contains a line break"};
  }
  const bool digest_ok = body_sha256_hex.size() == 64 &&
                         std::all_of(body_sha256_hex.begin(), body_sha256_hex.end(), [](char c) {
                           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                         });
  if (!digest_ok) {
    return Error{codes::kInvalidParameterValue,
                 "agent signing string: the body digest must be 64 lowercase hex characters"};
  }
  std::string out(kAgentSigningVersion);
  out.append("\n").append(action);
  out.append("\n").append(body_sha256_hex);
  out.append("\n").append(std::to_string(timestamp));
  out.append("\n").append(nonce);
  out.append("\n").append(instance_id);
  return out;
}

}  // namespace ferry
