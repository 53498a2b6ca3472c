#include "ferry/core/crypto.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <set>
#include <string>

using namespace ferry;

TEST_CASE("sha256 matches the FIPS 180-2 examples", "[crypto]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string raw = sha256("abc");
  CHECK(raw.size() == 32);
  CHECK(static_cast<unsigned char>(raw[0]) == 0xba);
  CHECK(hex_encode(raw) == sha256_hex("abc"));
}

TEST_CASE("sha256 hashes embedded NUL bytes", "[crypto]") {
  const std::string with_nul("a\0b", 3);
  CHECK(sha256_hex(with_nul) != sha256_hex("ab"));
  CHECK(sha256_hex(with_nul) == "59b271ae1bbcb1d31d41929817f4b16fb439eb4f31520b5ad1d5ce98920a7138");
}

TEST_CASE("hmac_sha256 matches RFC 4231", "[crypto]") {
  // Test case 1
  CHECK(hex_encode(hmac_sha256(std::string(20, '\x0b'), "Hi There")) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: a key shorter than the output
  CHECK(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than the block size is hashed first
  CHECK(hex_encode(hmac_sha256(std::string(131, '\xaa'),
                               "Test Using Larger Than Block-Size Key - Hash Key First")) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("hmac_sha1 matches RFC 2202", "[crypto]") {
  CHECK(hex_encode(hmac_sha1(std::string(20, '\x0b'), "Hi There")) ==
        "b617318655057264e28bc0b6fb378c8ef146be00");
  CHECK(hex_encode(hmac_sha1("Jefe", "what do ya want for nothing?")) ==
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  CHECK(hex_encode(hmac_sha1(std::string(80, '\xaa'),
                             "Test Using Larger Than Block-Size Key - Hash Key First")) ==
        "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

TEST_CASE("hmac_sha256 accepts an empty key and empty data", "[crypto]") {
  CHECK(hex_encode(hmac_sha256("", "")) ==
        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  CHECK(hmac_sha256("k", "").size() == 32);
}

TEST_CASE("hex_encode writes lowercase pairs", "[crypto]") {
  CHECK(hex_encode("") == "");
  CHECK(hex_encode(std::string("\x00\x01\xab\xff", 4)) == "0001abff");
  CHECK(hex_encode("Az") == "417a");
}

TEST_CASE("random_bytes returns the requested length and differs between calls", "[crypto]") {
  for (const std::size_t n : {0U, 1U, 32U, 1000U}) {
    const auto bytes = random_bytes(n);
    REQUIRE(bytes.has_value());
    CHECK(bytes->size() == n);
  }
  const auto a = random_bytes(32);
  const auto b = random_bytes(32);
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK(*a != *b);
}

TEST_CASE("constant_time_equal compares contents and lengths", "[crypto]") {
  CHECK(constant_time_equal("", ""));
  CHECK(constant_time_equal("abcdef", "abcdef"));
  CHECK_FALSE(constant_time_equal("abcdef", "abcdeg"));
  CHECK_FALSE(constant_time_equal("bbcdef", "abcdef"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
  CHECK_FALSE(constant_time_equal("", "a"));
  CHECK(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  CHECK_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST_CASE("random_id is the prefix and n characters of [a-z0-9]", "[crypto]") {
  const std::regex shape("cmd-[a-z0-9]{8}");
  for (int i = 0; i < 100; ++i) {
    const auto id = random_id("cmd-", 8);
    REQUIRE(id.has_value());
    CHECK(std::regex_match(*id, shape));
  }
  const auto bare = random_id("inv-", 0);
  REQUIRE(bare.has_value());
  CHECK(*bare == "inv-");
  const auto long_id = random_id("", 1000);
  REQUIRE(long_id.has_value());
  CHECK(long_id->size() == 1000);
}

TEST_CASE("random_id does not repeat and uses every character about equally", "[crypto]") {
  std::set<std::string> seen;
  std::map<char, int> counts;
  constexpr int kIds = 2000;
  constexpr int kLength = 18;
  for (int i = 0; i < kIds; ++i) {
    const auto id = random_id("invt-", kLength);
    REQUIRE(id.has_value());
    seen.insert(*id);
    for (const char c : id->substr(5)) {
      ++counts[c];
    }
  }
  CHECK(seen.size() == kIds);
  REQUIRE(counts.size() == 36);
  // 36000 draws: 1000 expected per character, standard deviation about 31. A bias of
  // 256 % 36 (the modulo mistake) would push 'a'..'d' to about 1125; the bounds are 6 sigma.
  for (const auto& [c, n] : counts) {
    CAPTURE(c);
    CHECK(n > 810);
    CHECK(n < 1190);
  }
}

TEST_CASE("uuid4 is a version 4, RFC variant UUID in lowercase", "[crypto]") {
  const std::regex shape("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const auto id = uuid4();
    REQUIRE(id.has_value());
    CHECK(id->size() == 36);
    CHECK(std::regex_match(*id, shape));
    seen.insert(*id);
  }
  CHECK(seen.size() == 200);
}
