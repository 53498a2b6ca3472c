// ed25519.hpp over libgcrypt: the Windows backend, chosen in core/CMakeLists.txt (Windows' own
// CNG has no Ed25519; docs/architecture.md says why this library). libgcrypt reads and writes no
// PEM, so the PKCS#8 form of RFC 8410 is read and written here; a new key's seed comes from
// random_bytes() (BCryptGenRandom), never from libgcrypt's own generator.
#include <gcrypt.h>

#include <array>
#include <climits>
#include <cstring>
#include <memory>
#include <new>
#include <optional>

#include "ferry/core/base64.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/ed25519.hpp"
#include "ferry/core/error_codes.hpp"

// The header names the key by OpenSSL's struct so that it needs no backend's header; here that
// name is this backend's key. It lives in libgcrypt's secure memory, which gcry_free wipes.
struct evp_pkey_st {
  std::array<unsigned char, ferry::kEd25519PublicKeySize> seed;
  std::array<unsigned char, ferry::kEd25519PublicKeySize> public_key;
};

namespace ferry {
namespace {

constexpr std::size_t kSeedSize = 32;
constexpr std::string_view kPemBegin = "-----BEGIN PRIVATE KEY-----";
constexpr std::string_view kPemEnd = "-----END PRIVATE KEY-----";
// PKCS#8 of an Ed25519 key (RFC 8410 section 7), all but the 32-byte seed at its end:
// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }.
// (A length given: the bytes hold a NUL.)
constexpr std::string_view kPkcs8Prefix{
    "\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20", 16};
constexpr std::string_view kEd25519Oid = "\x2b\x65\x70";
// The group order L of RFC 8032, little-endian: a signature's S must be below it.
constexpr std::array<unsigned char, 32> kOrder = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

struct SexpFree {
  void operator()(gcry_sexp_t sexp) const { gcry_sexp_release(sexp); }
};
using Sexp = std::unique_ptr<gcry_sexp, SexpFree>;
struct ContextFree {
  void operator()(gcry_ctx_t ctx) const { gcry_ctx_release(ctx); }
};
struct MpiFree {
  void operator()(gcry_mpi_t mpi) const { gcry_mpi_release(mpi); }
};

// libgcrypt is set up once, before its first use: a secure memory pool for the keys (locked
// memory does not exist on Windows; the pool is still wiped on free), then "finished".
bool gcrypt_ready() {
  static const bool ready = [] {
    if (gcry_check_version(GCRYPT_VERSION) == nullptr) {
      return false;
    }
    gcry_control(GCRYCTL_INIT_SECMEM, 32768, 0);
    gcry_control(GCRYCTL_AUTO_EXPAND_SECMEM, 32768, 0);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    return true;
  }();
  return ready;
}

Error internal(std::string_view what, gcry_error_t err) {
  return Error{codes::kInternalError, std::string(what) + ": " + gcry_strerror(err)};
}

Error invalid_key(std::string message) {
  return Error{codes::kInvalidParameterValue, std::move(message)};
}

Error not_a_private_key() {
  return invalid_key("Ed25519 private key: not an unencrypted PEM private key");
}

// Overwrites a buffer that held a secret; the volatile keeps the stores.
void wipe(std::string& secret) {
  volatile char* p = secret.data();
  for (std::size_t i = 0; i < secret.size(); ++i) {
    p[i] = 0;
  }
}

// A DER reader of just what PKCS#8 needs: definite lengths of up to two bytes, minimal form.
class DerReader {
 public:
  explicit DerReader(std::string_view der) : rest_(der) {}

  [[nodiscard]] bool empty() const { return rest_.empty(); }
  [[nodiscard]] bool at(unsigned char tag) const {
    return !rest_.empty() && static_cast<unsigned char>(rest_[0]) == tag;
  }

  // The content of the next element when its tag is `tag`.
  std::optional<std::string_view> next(unsigned char tag) {
    if (rest_.size() < 2 || !at(tag)) {
      return std::nullopt;
    }
    std::size_t length = static_cast<unsigned char>(rest_[1]);
    std::size_t header = 2;
    if (length >= 0x80) {
      const std::size_t count = length & 0x7fU;
      if (count == 0 || count > 2 || rest_.size() < 2 + count) {
        return std::nullopt;
      }
      length = 0;
      for (std::size_t i = 0; i < count; ++i) {
        length = (length << 8U) | static_cast<unsigned char>(rest_[2 + i]);
      }
      if (length < 0x80 || (count == 2 && length < 0x100)) {
        return std::nullopt;  // not the shortest form
      }
      header += count;
    }
    if (rest_.size() - header < length) {
      return std::nullopt;
    }
    const std::string_view content = rest_.substr(header, length);
    rest_.remove_prefix(header + length);
    return content;
  }

 private:
  std::string_view rest_;
};

// The DER between the first BEGIN and END PRIVATE KEY lines; nullopt when there is none.
std::optional<std::string> pem_private_key_der(std::string_view pem) {
  const auto begin = pem.find(kPemBegin);
  if (begin == std::string_view::npos) {
    return std::nullopt;
  }
  const auto body_start = begin + kPemBegin.size();
  const auto end = pem.find(kPemEnd, body_start);
  if (end == std::string_view::npos) {
    return std::nullopt;
  }
  std::string body;
  for (const char c : pem.substr(body_start, end - body_start)) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') {
      body += c;
    }
  }
  auto der = base64_decode(body);
  wipe(body);
  if (!der) {
    return std::nullopt;
  }
  return std::move(*der);
}

// The seed of a PKCS#8 PrivateKeyInfo (version 0, attributes allowed and ignored), as OpenSSL 3
// reads it: the other algorithms' keys are "of another type", anything else is not a key.
Expected<std::string_view> pkcs8_ed25519_seed(std::string_view der) {
  DerReader outer(der);
  const auto info = outer.next(0x30);
  if (!info || !outer.empty()) {
    return not_a_private_key();
  }
  DerReader fields(*info);
  const auto version = fields.next(0x02);
  const auto algorithm = fields.next(0x30);
  const auto private_key = fields.next(0x04);
  if (fields.at(0xa0)) {
    (void)fields.next(0xa0);  // attributes
  }
  if (!version || *version != std::string_view("\x00", 1) || !algorithm || !private_key ||
      !fields.empty()) {
    return not_a_private_key();
  }
  DerReader identifier(*algorithm);
  const auto oid = identifier.next(0x06);
  if (!oid) {
    return not_a_private_key();
  }
  if (*oid != kEd25519Oid) {
    return invalid_key("Ed25519 private key: the PEM holds a key of another type");
  }
  DerReader inner(*private_key);
  const auto seed = inner.next(0x04);
  // RFC 8410: Ed25519's identifier has no parameters.
  if (!identifier.empty() || !seed || seed->size() != kSeedSize || !inner.empty()) {
    return not_a_private_key();
  }
  return *seed;
}

Expected<Sexp> checked(gcry_sexp_t sexp, gcry_error_t err) {
  if (err != 0) {
    return internal("Ed25519: building a libgcrypt expression", err);
  }
  return Sexp(sexp);
}

// An expression of `format` with one or two %b (byte string) arguments.
Expected<Sexp> build(const char* format, std::string_view a) {
  if (a.size() > INT_MAX) {
    return Error{codes::kInvalidParameterValue, "Ed25519: input too large"};
  }
  gcry_sexp_t sexp = nullptr;
  const gcry_error_t err =
      gcry_sexp_build(&sexp, nullptr, format, static_cast<int>(a.size()), a.data());
  return checked(sexp, err);
}
Expected<Sexp> build(const char* format, std::string_view a, std::string_view b) {
  gcry_sexp_t sexp = nullptr;
  const gcry_error_t err = gcry_sexp_build(&sexp, nullptr, format, static_cast<int>(a.size()),
                                           a.data(), static_cast<int>(b.size()), b.data());
  return checked(sexp, err);
}

std::string_view view(const unsigned char* p, std::size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

// Pure Ed25519 (RFC 8032): the message itself, hashed with SHA-512 inside the algorithm. An
// empty message is one byte-less value, which libgcrypt wants as a non-null pointer.
Expected<Sexp> message_expression(std::string_view message) {
  static constexpr char kEmpty = 0;
  return build("(data(flags eddsa)(hash-algo sha512)(value %b))",
               message.empty() ? std::string_view(&kEmpty, 0) : message);
}

// The value of the token `name` (r or s) of a signature expression, 32 bytes or nothing.
std::optional<std::string> signature_half(gcry_sexp_t signature, const char* name) {
  const Sexp token(gcry_sexp_find_token(signature, name, 0));
  if (!token) {
    return std::nullopt;
  }
  std::size_t length = 0;
  const char* data = gcry_sexp_nth_data(token.get(), 1, &length);
  if (data == nullptr || length != kEd25519SignatureSize / 2) {
    return std::nullopt;
  }
  return std::string(data, length);  // copied: it lives in the token
}

// RFC 8032 section 5.1.7: S must be below the group order, or S + L would verify as well.
bool below_order(std::string_view s) {
  for (std::size_t i = kOrder.size(); i-- > 0;) {
    const auto byte = static_cast<unsigned char>(s[i]);
    if (byte != kOrder[i]) {
      return byte < kOrder[i];
    }
  }
  return false;
}

}  // namespace

void Ed25519PrivateKey::Free::operator()(evp_pkey_st* key) const {
  gcry_free(key);
}

Expected<Ed25519PrivateKey> Ed25519PrivateKey::generate() {
  auto seed = random_bytes(kSeedSize);
  if (!seed) {
    return seed.error().wrap("generating an Ed25519 key");
  }
  auto key = from_seed(*seed);
  wipe(*seed);
  return key;
}

Expected<Ed25519PrivateKey> Ed25519PrivateKey::from_pem(std::string_view pem) {
  auto der = pem_private_key_der(pem);
  if (!der) {
    return not_a_private_key();
  }
  auto seed = pkcs8_ed25519_seed(*der);
  auto key = seed ? from_seed(*seed) : Expected<Ed25519PrivateKey>(seed.error());
  wipe(*der);
  return key;
}

Expected<Ed25519PrivateKey> Ed25519PrivateKey::from_seed(std::string_view seed) {
  if (seed.size() != kSeedSize) {
    return invalid_key("Ed25519 private key: the seed must be 32 bytes");
  }
  if (!gcrypt_ready()) {
    return Error{codes::kInternalError, "libgcrypt: the library is older than its header"};
  }
  void* memory = gcry_malloc_secure(sizeof(evp_pkey_st));
  if (memory == nullptr) {
    throw std::bad_alloc();
  }
  Ed25519PrivateKey key(new (memory) evp_pkey_st{});
  std::memcpy(key.key_->seed.data(), seed.data(), kSeedSize);

  // The public key is the secret scalar's multiple of the base point, which libgcrypt computes
  // for the "q@eddsa" of a context made from the private key alone.
  auto private_key = build("(private-key(ecc(curve Ed25519)(flags eddsa)(d %b)))",
                           view(key.key_->seed.data(), kSeedSize));
  if (!private_key) {
    return private_key.error();
  }
  gcry_ctx_t raw_context = nullptr;
  if (const gcry_error_t err = gcry_mpi_ec_new(&raw_context, private_key->get(), nullptr);
      err != 0) {
    return internal("deriving an Ed25519 public key", err);
  }
  const std::unique_ptr<gcry_context, ContextFree> context(raw_context);
  const std::unique_ptr<gcry_mpi, MpiFree> point(gcry_mpi_ec_get_mpi("q@eddsa", context.get(), 1));
  unsigned int bits = 0;
  const void* encoded = point ? gcry_mpi_get_opaque(point.get(), &bits) : nullptr;
  if (encoded == nullptr || bits != 8 * kEd25519PublicKeySize) {
    return Error{codes::kInternalError, "deriving an Ed25519 public key: no point"};
  }
  std::memcpy(key.key_->public_key.data(), encoded, kEd25519PublicKeySize);
  return key;
}

Expected<std::string> Ed25519PrivateKey::to_pem() const {
  std::string der(kPkcs8Prefix);
  der.append(view(key_->seed.data(), kSeedSize));
  std::string pem(kPemBegin);
  pem += '\n';
  pem += base64_encode(der);  // 64 characters: one PEM line
  pem += '\n';
  pem += kPemEnd;
  pem += '\n';
  wipe(der);
  return pem;
}

std::string Ed25519PrivateKey::public_key_raw() const {
  return std::string(view(key_->public_key.data(), kEd25519PublicKeySize));
}

Expected<std::string> Ed25519PrivateKey::sign(std::string_view message) const {
  // The public key given with the secret spares libgcrypt deriving it again.
  auto private_key = build("(private-key(ecc(curve Ed25519)(flags eddsa)(q %b)(d %b)))",
                           view(key_->public_key.data(), kEd25519PublicKeySize),
                           view(key_->seed.data(), kSeedSize));
  if (!private_key) {
    return private_key.error();
  }
  auto data = message_expression(message);
  if (!data) {
    return data.error();
  }
  gcry_sexp_t raw_signature = nullptr;
  if (const gcry_error_t err = gcry_pk_sign(&raw_signature, data->get(), private_key->get());
      err != 0) {
    return internal("Ed25519 signing", err);
  }
  const Sexp signature(raw_signature);
  const auto r = signature_half(signature.get(), "r");
  const auto s = signature_half(signature.get(), "s");
  if (!r || !s) {
    return Error{codes::kInternalError, "Ed25519 signing: unexpected signature form"};
  }
  return *r + *s;
}

bool ed25519_verify_raw(std::string_view public_key, std::string_view message,
                        std::string_view signature) {
  if (public_key.size() != kEd25519PublicKeySize || signature.size() != kEd25519SignatureSize ||
      !below_order(signature.substr(32)) || !gcrypt_ready()) {
    return false;
  }
  auto key = build("(public-key(ecc(curve Ed25519)(flags eddsa)(q %b)))", public_key);
  auto sig = build("(sig-val(eddsa(r %b)(s %b)))", signature.substr(0, 32), signature.substr(32));
  auto data = message_expression(message);
  return key && sig && data && gcry_pk_verify(sig->get(), data->get(), key->get()) == 0;
}

}  // namespace ferry
