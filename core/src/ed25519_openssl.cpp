// ed25519.hpp over OpenSSL 3: the Linux backend, chosen in core/CMakeLists.txt.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <climits>
#include <new>

#include "ferry/core/crypto.hpp"
#include "ferry/core/ed25519.hpp"
#include "ferry/core/error_codes.hpp"
#include "openssl_support.hpp"

namespace ferry {
namespace {

using detail::bytes_of;
using detail::openssl_error_text;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

Error internal(std::string_view what) {
  return Error{codes::kInternalError, std::string(what) + ": " + openssl_error_text()};
}

Error invalid_key(std::string message) {
  ERR_clear_error();
  return Error{codes::kInvalidParameterValue, std::move(message)};
}

// Refuses any passphrase prompt: an encrypted key file is an error, never a read from the
// terminal.
int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) {
  return 0;
}

}  // namespace

void Ed25519PrivateKey::Free::operator()(evp_pkey_st* key) const {
  EVP_PKEY_free(key);
}

Expected<Ed25519PrivateKey> Ed25519PrivateKey::generate() {
  const std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &key) != 1) {
    return internal("generating an Ed25519 key");
  }
  return Ed25519PrivateKey(key);
}

Expected<Ed25519PrivateKey> Ed25519PrivateKey::from_pem(std::string_view pem) {
  if (pem.size() > INT_MAX) {
    return invalid_key("Ed25519 private key: PEM too large");
  }
  const std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return internal("reading an Ed25519 private key");
  }
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
  if (raw == nullptr) {
    return invalid_key("Ed25519 private key: not an unencrypted PEM private key");
  }
  Ed25519PrivateKey key(raw);
  if (EVP_PKEY_is_a(raw, "ED25519") != 1) {
    return invalid_key("Ed25519 private key: the PEM holds a key of another type");
  }
  return key;
}

Expected<Ed25519PrivateKey> Ed25519PrivateKey::from_seed(std::string_view seed) {
  if (seed.size() != 32) {
    return invalid_key("Ed25519 private key: the seed must be 32 bytes");
  }
  EVP_PKEY* key =
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes_of(seed), seed.size());
  if (key == nullptr) {
    return internal("importing an Ed25519 private key");
  }
  return Ed25519PrivateKey(key);
}

Expected<std::string> Ed25519PrivateKey::to_pem() const {
  // A secure-heap BIO, so the buffer holding the key is wiped when it is freed.
  const std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_secmem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return internal("writing an Ed25519 private key");
  }
  char* data = nullptr;
  const long len = BIO_ctrl(bio.get(), BIO_CTRL_INFO, 0, static_cast<void*>(&data));
  if (len <= 0 || data == nullptr) {
    return internal("writing an Ed25519 private key");
  }
  return std::string(data, static_cast<std::size_t>(len));
}

std::string Ed25519PrivateKey::public_key_raw() const {
  std::array<unsigned char, kEd25519PublicKeySize> buf{};
  std::size_t len = buf.size();
  if (EVP_PKEY_get_raw_public_key(key_.get(), buf.data(), &len) != 1 || len != buf.size()) {
    // Every key this class holds is an Ed25519 key, so this is an allocation failure.
    ERR_clear_error();
    throw std::bad_alloc();
  }
  return std::string(reinterpret_cast<const char*>(buf.data()), len);
}

Expected<std::string> Ed25519PrivateKey::sign(std::string_view message) const {
  const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::array<unsigned char, kEd25519SignatureSize> sig{};
  std::size_t len = sig.size();
  // Pure Ed25519 hashes the message itself: no digest may be set, and the message is passed
  // whole to the one-shot EVP_DigestSign.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, bytes_of(message), message.size()) != 1 ||
      len != sig.size()) {
    return internal("Ed25519 signing");
  }
  return std::string(reinterpret_cast<const char*>(sig.data()), len);
}

bool ed25519_verify_raw(std::string_view public_key, std::string_view message,
                        std::string_view signature) {
  if (public_key.size() != kEd25519PublicKeySize || signature.size() != kEd25519SignatureSize) {
    return false;
  }
  const std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, bytes_of(public_key), public_key.size()));
  const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  const bool ok = key && ctx &&
                  EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
                  EVP_DigestVerify(ctx.get(), bytes_of(signature), signature.size(),
                                   bytes_of(message), message.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace ferry
