#include "ferry/core/ed25519.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <string>

#include "ferry/core/base64.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "hex.hpp"

using namespace ferry;
using ferry::test::hex_decode;

namespace {

Ed25519PrivateKey generated() {
  auto key = Ed25519PrivateKey::generate();
  REQUIRE(key.has_value());
  return std::move(key).value();
}

// RFC 8032 section 7.1, TEST 1 and TEST 2: seed, public key, message, signature.
struct Rfc8032Vector {
  std::string_view seed;
  std::string_view public_key;
  std::string_view message;
  std::string_view signature;
};
constexpr std::array<Rfc8032Vector, 2> kRfc8032{{
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
     "1cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "\x72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
     "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
}};

// TEST 1's secret key as PKCS#8 PEM (written by `openssl pkey` from the DER
// 302e020100300506032b657004220420 || seed).
constexpr std::string_view kPem1 =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";

// A throwaway X25519 key (openssl genpkey -algorithm X25519): valid PKCS#8, wrong algorithm.
constexpr std::string_view kX25519Pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VuBCIEIEB0qgySufRqXmhyeFWGVocpq288URF1nS7msN40BZZ3\n"
    "-----END PRIVATE KEY-----\n";

// A throwaway Ed448 key (openssl genpkey -algorithm ED448): another algorithm's PKCS#8, whose
// key is not 32 bytes.
constexpr std::string_view kEd448Pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MEcCAQAwBQYDK2VxBDsEOT6Ue1WOqtQw5TYAsE/AelWQr2pCD+MnkA81wivYHSE/\n"
    "WBJxZnBstilzCJjKPFPpQ4mAQhc1m0xRUQ==\n"
    "-----END PRIVATE KEY-----\n";

}  // namespace

TEST_CASE("Ed25519 reproduces the RFC 8032 test vectors", "[ed25519]") {
  const auto [seed, public_key, message, signature] = GENERATE(from_range(kRfc8032));
  const auto key = Ed25519PrivateKey::from_seed(hex_decode(seed));
  REQUIRE(key.has_value());
  CHECK(hex_encode(key->public_key_raw()) == public_key);
  const auto sig = key->sign(message);
  REQUIRE(sig.has_value());
  CHECK(hex_encode(*sig) == signature);
  CHECK(ed25519_verify_raw(hex_decode(public_key), message, hex_decode(signature)));
  CHECK(ed25519_verify(base64_encode(hex_decode(public_key)), message,
                       base64_encode(hex_decode(signature))));
}

TEST_CASE("Ed25519 sign and verify round-trip through base64", "[ed25519]") {
  const auto key = generated();
  const std::string public_b64 = key.public_key_base64();
  CHECK(public_b64.size() == 44);
  CHECK(key.public_key_raw().size() == 32);
  const auto sig = key.sign_base64("hello ferry");
  REQUIRE(sig.has_value());
  CHECK(sig->size() == 88);
  CHECK(ed25519_verify(public_b64, "hello ferry", *sig));
  // Ed25519 signatures are deterministic.
  CHECK(key.sign_base64("hello ferry").value() == *sig);
  CHECK(generated().public_key_raw() != key.public_key_raw());
}

TEST_CASE("Ed25519 refuses a tampered message, signature or key", "[ed25519]") {
  const auto key = generated();
  const std::string message = "FERRY-ED25519-V1\nReportTaskFinish";
  const std::string sig = key.sign(message).value();
  std::string public_key = key.public_key_raw();

  std::string m = message;
  std::string s = sig;
  SECTION("message") {
    m.back() = 'X';
  }
  SECTION("message extended") {
    m += '\n';
  }
  SECTION("signature, first half (R)") {
    s[3] = static_cast<char>(s[3] ^ 0x01);
  }
  SECTION("signature, second half (S)") {
    s[40] = static_cast<char>(s[40] ^ 0x80);
  }
  SECTION("another key") {
    public_key = generated().public_key_raw();
  }
  CHECK_FALSE(ed25519_verify_raw(public_key, m, s));
  const auto status = ed25519_verify(base64_encode(public_key), m, base64_encode(s));
  REQUIRE_FALSE(status.has_value());
  CHECK(status.error().code == ferry::auth_codes::kSignatureFailure);
  CHECK(status.error().message == "Ed25519 signature does not match");
}

// RFC 8032 5.1.7: S must be below the group order L, or S + L would verify as well and one
// signature would have two forms.
TEST_CASE("Ed25519 refuses a signature whose S is not reduced", "[ed25519]") {
  const auto& test1 = kRfc8032[0];
  const std::string sig = hex_decode(test1.signature);
  // L, little-endian.
  const std::string order =
      hex_decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  std::string unreduced = sig;
  unsigned carry = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    const unsigned sum =
        static_cast<unsigned char>(sig[32 + i]) + static_cast<unsigned char>(order[i]) + carry;
    unreduced[32 + i] = static_cast<char>(sum & 0xffU);
    carry = sum >> 8U;
  }
  REQUIRE(carry == 0);
  REQUIRE(unreduced != sig);
  const std::string public_key = hex_decode(test1.public_key);
  CHECK(ed25519_verify_raw(public_key, test1.message, sig));
  CHECK_FALSE(ed25519_verify_raw(public_key, test1.message, unreduced));
}

// Every signature is 64 bytes, whatever its bytes are: a backend that handed the halves over as
// numbers could drop a leading zero byte. Fixed seeds, so that some signatures do have zero
// bytes at the ends of their halves (checked).
TEST_CASE("Ed25519 signatures are always 64 bytes and verify", "[ed25519]") {
  int zero_ends = 0;
  for (int i = 0; i < 64; ++i) {
    const auto key = Ed25519PrivateKey::from_seed(sha256("seed " + std::to_string(i)));
    REQUIRE(key.has_value());
    const std::string public_key = key->public_key_raw();
    for (int j = 0; j < 8; ++j) {
      const std::string message = "message " + std::to_string(j);
      const auto sig = key->sign(message);
      REQUIRE(sig.has_value());
      REQUIRE(sig->size() == 64);
      CHECK(ed25519_verify_raw(public_key, message, *sig));
      for (const std::size_t at : {0U, 31U, 32U, 63U}) {
        zero_ends += (*sig)[at] == '\0' ? 1 : 0;
      }
    }
  }
  CHECK(zero_ends > 0);
}

TEST_CASE("Ed25519 refuses malformed keys and signatures", "[ed25519]") {
  const auto key = generated();
  const std::string public_b64 = key.public_key_base64();
  const std::string sig_b64 = key.sign_base64("m").value();

  SECTION("public key not base64") {
    const auto status = ed25519_verify("not base64!", "m", sig_b64);
    REQUIRE_FALSE(status.has_value());
    CHECK(status.error().code == ferry::codes::kInvalidParameterValue);
    CHECK(status.error().message == "Ed25519 public key: not base64");
  }
  SECTION("public key of 31 bytes") {
    const auto status = ed25519_verify(base64_encode(key.public_key_raw().substr(1)), "m", sig_b64);
    REQUIRE_FALSE(status.has_value());
    CHECK(status.error().code == ferry::codes::kInvalidParameterValue);
    CHECK(status.error().message == "Ed25519 public key: 31 bytes, expected 32");
    CHECK_FALSE(ed25519_public_key_from_base64(base64_encode(std::string(33, 'k'))).has_value());
  }
  SECTION("signature not base64") {
    const auto status = ed25519_verify(public_b64, "m", "@@@@");
    REQUIRE_FALSE(status.has_value());
    CHECK(status.error().code == ferry::auth_codes::kSignatureFailure);
    CHECK(status.error().message == "Ed25519 signature: expected base64 of 64 bytes");
  }
  SECTION("signature of 63 bytes") {
    const std::string short_sig = key.sign("m").value().substr(1);
    const auto status = ed25519_verify(public_b64, "m", base64_encode(short_sig));
    REQUIRE_FALSE(status.has_value());
    CHECK(status.error().code == ferry::auth_codes::kSignatureFailure);
    CHECK_FALSE(ed25519_verify_raw(key.public_key_raw(), "m", short_sig));
  }
  SECTION("a valid public key decodes to its raw bytes") {
    const auto raw = ed25519_public_key_from_base64(public_b64);
    REQUIRE(raw.has_value());
    CHECK(*raw == key.public_key_raw());
  }
}

TEST_CASE("Ed25519 private keys round-trip through PKCS#8 PEM", "[ed25519]") {
  SECTION("the RFC 8032 key has a known PEM form") {
    const auto& test1 = kRfc8032[0];
    const auto key = Ed25519PrivateKey::from_seed(hex_decode(test1.seed));
    REQUIRE(key.has_value());
    const auto pem = key->to_pem();
    REQUIRE(pem.has_value());
    CHECK(*pem == kPem1);
    const auto loaded = Ed25519PrivateKey::from_pem(kPem1);
    REQUIRE(loaded.has_value());
    CHECK(hex_encode(loaded->public_key_raw()) == test1.public_key);
    CHECK(hex_encode(loaded->sign(test1.message).value()) == test1.signature);
  }
  SECTION("a generated key signs the same after reloading") {
    const auto key = generated();
    const auto pem = key.to_pem();
    REQUIRE(pem.has_value());
    CHECK(pem->starts_with("-----BEGIN PRIVATE KEY-----\n"));
    const auto loaded = Ed25519PrivateKey::from_pem(*pem);
    REQUIRE(loaded.has_value());
    CHECK(loaded->public_key_raw() == key.public_key_raw());
    CHECK(loaded->sign("x").value() == key.sign("x").value());
  }
  SECTION("garbage, truncated and foreign PEM are refused") {
    const auto [pem, message] = GENERATE(table<std::string, std::string>({
        {"", "Ed25519 private key: not an unencrypted PEM private key"},
        {"hello", "Ed25519 private key: not an unencrypted PEM private key"},
        {std::string(kPem1.substr(0, 60)),
         "Ed25519 private key: not an unencrypted PEM private key"},
        {std::string(kX25519Pem), "Ed25519 private key: the PEM holds a key of another type"},
        {std::string(kEd448Pem), "Ed25519 private key: the PEM holds a key of another type"},
        {"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
         "Ed25519 private key: not an unencrypted PEM private key"},
    }));
    const auto key = Ed25519PrivateKey::from_pem(pem);
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error().code == ferry::codes::kInvalidParameterValue);
    CHECK(key.error().message == message);
  }
  SECTION("a seed of the wrong size is refused") {
    const auto key = Ed25519PrivateKey::from_seed(std::string(31, 's'));
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error().code == ferry::codes::kInvalidParameterValue);
  }
}

TEST_CASE("agent_signing_string joins the versioned fields with newlines", "[ed25519]") {
  const std::string digest = ferry::sha256_hex(R"({"TaskId":"invt-5oa8jajm"})");
  const auto s =
      agent_signing_string("ReportTaskStart", digest, 1764083901, "n0nce", "rins-12345678");
  REQUIRE(s.has_value());
  CHECK(*s ==
        "FERRY-ED25519-V1\nReportTaskStart\n" + digest + "\n1764083901\nn0nce\nrins-12345678");

  const auto empty_body = agent_signing_string("DescribeTasks", ferry::sha256_hex(""), 0, "n", "");
  REQUIRE(empty_body.has_value());
  CHECK(*empty_body ==
        "FERRY-ED25519-V1\nDescribeTasks\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n0\nn\n");

  const auto key = generated();
  const auto sig = key.sign_base64(*s);
  REQUIRE(sig.has_value());
  CHECK(ed25519_verify(key.public_key_base64(), *s, *sig));
  const auto other =
      agent_signing_string("ReportTaskStart", digest, 1764083902, "n0nce", "rins-12345678");
  CHECK_FALSE(ed25519_verify(key.public_key_base64(), other.value(), *sig));
}

TEST_CASE("agent_signing_string refuses fields that would make it ambiguous", "[ed25519]") {
  const std::string digest = ferry::sha256_hex("");
  const auto [action, body_digest, nonce, instance, message] =
      GENERATE_COPY(table<std::string, std::string, std::string, std::string, std::string>({
          {"A\nB", digest, "n", "rins-1", "agent signing string: a field contains a line break"},
          {"A", digest, "n\r", "rins-1", "agent signing string: a field contains a line break"},
          {"A", digest, "n", "rins-1\n", "agent signing string: a field contains a line break"},
          {"A", digest.substr(1), "n", "rins-1",
           "agent signing string: the body digest must be 64 lowercase hex characters"},
          {"A", std::string(64, 'F'), "n", "rins-1",
           "agent signing string: the body digest must be 64 lowercase hex characters"},
      }));
  const auto s = agent_signing_string(action, body_digest, 1, nonce, instance);
  REQUIRE_FALSE(s.has_value());
  CHECK(s.error().code == ferry::codes::kInvalidParameterValue);
  CHECK(s.error().message == message);
}
