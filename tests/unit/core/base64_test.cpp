#include "ferry/core/base64.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "ferry/core/error_codes.hpp"

using ferry::base64_decode;
using ferry::base64_encode;

TEST_CASE("base64 encodes and decodes the RFC 4648 test vectors", "[base64]") {
  const auto [plain, encoded] = GENERATE(table<std::string, std::string>({
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  }));
  CAPTURE(plain);
  CHECK(base64_encode(plain) == encoded);
  const auto decoded = base64_decode(encoded);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == plain);
}

TEST_CASE("base64 uses '+' and '/' and round-trips every byte value", "[base64]") {
  CHECK(base64_encode("\xfb\xff") == "+/8=");
  CHECK(base64_encode("\xfb\xef\xbe") == "++++");
  CHECK(base64_encode("\xff\xff\xff") == "////");

  std::string all;
  for (int i = 0; i < 256; ++i) {
    all += static_cast<char>(i);
  }
  for (std::size_t len = 0; len <= all.size(); len += 37) {
    const std::string bytes = all.substr(0, len) + std::string(1, '\0');
    const auto decoded = base64_decode(base64_encode(bytes));
    REQUIRE(decoded.has_value());
    CHECK(*decoded == bytes);
  }
}

TEST_CASE("base64_decode is strict", "[base64]") {
  const std::string bad = GENERATE(as<std::string>{},
                                   "Zg=",         // length not a multiple of 4
                                   "Z",           // idem
                                   "Zg==\n",      // trailing newline
                                   "Zm9v\nYmFy",  // line break inside
                                   "Zm9v Zm9v",   // blank inside (and length 9)
                                   "Zm 9",        // blank, length 4
                                   " Zm9",        // leading blank
                                   "Zm9\t",       // tab
                                   "Z===",        // three padding characters
                                   "====",        // padding only
                                   "=Zg=",        // padding first
                                   "Zg=a",        // data after padding
                                   "Zm9v====",    // a whole group of padding
                                   "Zg==Zg==",    // padding in the middle
                                   "Zh==",        // non-zero unused bits ("f" is "Zg==")
                                   "Zm9=",        // non-zero unused bits ("fo" is "Zm8=")
                                   "Zm-v",        // URL-safe alphabet
                                   "Zm_v",        // idem
                                   "Zm9v\x80YmFy");
  CAPTURE(bad);
  const auto decoded = base64_decode(bad);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().code == ferry::codes::kCommandContentInvalid);
  CHECK_THAT(decoded.error().message, Catch::StartsWith("invalid base64: "));
}

TEST_CASE("base64_decode says what is wrong and where", "[base64]") {
  const auto space = base64_decode("Zm 9");
  REQUIRE_FALSE(space.has_value());
  CHECK(space.error().message ==
        "invalid base64: character 0x20 at offset 2 is not in the alphabet");

  const auto length = base64_decode("Zg=");
  REQUIRE_FALSE(length.has_value());
  CHECK(length.error().message == "invalid base64: length 3 is not a multiple of 4");

  const auto padding = base64_decode("Zg=a");
  REQUIRE_FALSE(padding.has_value());
  CHECK(padding.error().message == "invalid base64: padding '=' at offset 2 before the end");

  const auto bits = base64_decode("Zh==");
  REQUIRE_FALSE(bits.has_value());
  CHECK(bits.error().message == "invalid base64: non-zero unused bits at offset 1");
}
