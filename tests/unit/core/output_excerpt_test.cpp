#include "ferry/core/output_excerpt.hpp"

#include <catch2/catch.hpp>
#include <random>
#include <string>

using ferry::HeadTailCapture;
using ferry::kMaxOutputExcerpt;
using ferry::make_output_excerpt;

namespace {

// Strict UTF-8 check (structure only: lead byte, then the right number of continuations).
bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    if (b < 0x80) {
      len = 1;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
    } else {
      return false;
    }
    if (i + len > s.size()) {
      return false;
    }
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
        return false;
      }
    }
    i += len;
  }
  return true;
}

ferry::OutputExcerpt whole(std::string_view data, std::size_t limit) {
  return make_output_excerpt(data, data, data.size(), limit);
}

ferry::OutputExcerpt streamed(std::string_view data, std::size_t limit, std::size_t chunk) {
  HeadTailCapture capture(limit);
  for (std::size_t i = 0; i < data.size(); i += chunk) {
    capture.append(data.substr(i, chunk));
  }
  CHECK(capture.total() == data.size());
  return capture.excerpt();
}

const std::string kTwo = "\xC3\xA9";           // é
const std::string kThree = "\xE2\x82\xAC";     // €
const std::string kFour = "\xF0\x9F\x98\x80";  // 😀

// 40 bytes: `start` bytes 'h', the sequence, then 't'.
std::string forty_bytes(std::size_t start, const std::string& seq) {
  const std::string head = std::string(start, 'h') + seq;
  return head + std::string(40 - head.size(), 't');
}

}  // namespace

TEST_CASE("the excerpt limit is 24 KiB", "[output]") {
  CHECK(kMaxOutputExcerpt == 24576);
}

TEST_CASE("an output within the limit is kept whole", "[output]") {
  const std::size_t size = GENERATE(std::size_t{0}, 1, kMaxOutputExcerpt - 1, kMaxOutputExcerpt);
  std::string data(size, 'x');
  for (std::size_t i = 0; i < size; i += 7) {
    data[i] = static_cast<char>('a' + i % 26);
  }
  const auto e = whole(data, kMaxOutputExcerpt);
  CHECK(e.bytes == data);
  CHECK(e.dropped == 0);
  const auto s = streamed(data, kMaxOutputExcerpt, 1000);
  CHECK(s.bytes == data);
  CHECK(s.dropped == 0);
}

TEST_CASE("one byte over the limit keeps the head and the tail", "[output]") {
  std::string data;
  for (std::size_t i = 0; i < kMaxOutputExcerpt + 1; ++i) {
    data += static_cast<char>('a' + i % 26);
  }
  const std::size_t half = kMaxOutputExcerpt / 2;
  const auto e = whole(data, kMaxOutputExcerpt);
  CHECK(e.bytes == data.substr(0, half) + data.substr(data.size() - half));
  CHECK(e.dropped == 1);
  CHECK(e.bytes.size() == kMaxOutputExcerpt);
  const auto s = streamed(data, kMaxOutputExcerpt, 4096);
  CHECK(s.bytes == e.bytes);
  CHECK(s.dropped == 1);
}

TEST_CASE("a large output keeps exactly limit/2 bytes of each end", "[output]") {
  std::string data(1'000'000, '.');
  data.replace(0, 5, "START");
  data.replace(data.size() - 3, 3, "END");
  const auto e = whole(data, kMaxOutputExcerpt);
  REQUIRE(e.bytes.size() == kMaxOutputExcerpt);
  CHECK(e.bytes.substr(0, 5) == "START");
  CHECK(e.bytes.substr(e.bytes.size() - 3) == "END");
  CHECK(e.dropped == 1'000'000 - kMaxOutputExcerpt);
}

TEST_CASE("the head cut never splits a UTF-8 sequence", "[output]") {
  // limit 16: the head keeps at most 8 bytes, data[0, 8).
  const std::size_t limit = 16;
  const std::string seq = GENERATE(kTwo, kThree, kFour);
  for (std::size_t start = 8 - seq.size() + 1; start < 8; ++start) {
    // The sequence straddles offset 8: it starts before the cut and ends after it.
    const std::string data = forty_bytes(start, seq);
    CAPTURE(seq.size(), start);
    const auto e = whole(data, limit);
    CHECK(e.bytes == std::string(start, 'h') + std::string(8, 't'));
    CHECK(e.dropped == data.size() - e.bytes.size());
  }
  // Ending exactly at the cut, the sequence is kept.
  std::string data = std::string(8 - seq.size(), 'h') + seq + std::string(40, 't');
  const auto e = whole(data, limit);
  CHECK(e.bytes == std::string(8 - seq.size(), 'h') + seq + std::string(8, 't'));
}

TEST_CASE("the tail starts at a sequence boundary", "[output]") {
  // limit 16, 40 bytes: the tail keeps at most data[32, 40).
  const std::size_t limit = 16;
  const std::string seq = GENERATE(kTwo, kThree, kFour);
  for (std::size_t start = 32 - seq.size() + 1; start < 32; ++start) {
    const std::string data = forty_bytes(start, seq);
    CAPTURE(seq.size(), start);
    const auto e = whole(data, limit);
    const std::size_t tail_len = 40 - (start + seq.size());
    CHECK(e.bytes == std::string(8, 'h') + std::string(tail_len, 't'));
    CHECK(e.dropped == 40 - 8 - tail_len);
  }
  // Starting exactly at the cut, the sequence is kept.
  const auto e = whole(forty_bytes(32, seq), limit);
  CHECK(e.bytes == std::string(8, 'h') + seq + std::string(8 - seq.size(), 't'));
}

TEST_CASE("invalid bytes are kept as they are", "[output]") {
  const std::size_t limit = 8;  // 4 bytes each end
  SECTION("stray continuation byte at the end of the head") {
    const auto e = whole(
        "abc\x80"
        "0123456789wxyz",
        limit);
    CHECK(e.bytes == "abc\x80wxyz");
  }
  SECTION("bytes that never lead a sequence") {
    const auto e = whole(
        "ab\xFF\xFE"
        "0123456789\xF8wxy",
        limit);
    CHECK(e.bytes == "ab\xFF\xFE\xF8wxy");
  }
  SECTION("a sequence completed in the head is kept even if followed by stray bytes") {
    const auto e = whole("a" + kTwo +
                             "\x80"
                             "0123456789wxyz",
                         limit);
    CHECK(e.bytes == "a" + kTwo + "\x80wxyz");
  }
  SECTION("at most three leading continuation bytes are skipped in the tail") {
    const auto e = whole("abcd0123456789\x80\x80\x80\x80", limit);
    CHECK(e.bytes == "abcd\x80");
    CHECK(e.dropped == 13);
  }
  SECTION("four continuation bytes ending the head: kept") {
    const auto e = whole(
        "\x80\x80\x80\x80"
        "0123456789wxyz",
        limit);
    CHECK(e.bytes == "\x80\x80\x80\x80wxyz");
  }
}

TEST_CASE("make_output_excerpt joins a head and a tail that overlap", "[output]") {
  // 10 bytes with limit 10: head holds 6, tail 5 (one byte in common).
  const auto e = make_output_excerpt("012345", "56789", 10, 10);
  CHECK(e.bytes == "0123456789");
  CHECK(e.dropped == 0);
}

TEST_CASE("tiny limits", "[output]") {
  CHECK(whole("abc", 0).bytes.empty());
  CHECK(whole("abc", 0).dropped == 3);
  CHECK(whole("a", 1).bytes == "a");
  CHECK(whole("ab", 1).bytes.empty());
  CHECK(whole("abc", 2).bytes == "ac");
  CHECK(streamed("abc", 0, 1).dropped == 3);
  CHECK(streamed("a", 1, 1).bytes == "a");
  CHECK(streamed("abc", 2, 2).bytes == "ac");
}

TEST_CASE("HeadTailCapture gives the excerpt of the whole output (property)", "[output]") {
  std::mt19937 rng(0xFE44);  // fixed seed: failures reproduce
  const std::vector<std::string> pieces = {"a",    "b",    "\n",       kTwo,   kThree, kFour,
                                           "\x80", "\xC3", "\xE2\x82", "\xF0", "\xFF"};
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
  std::uniform_int_distribution<std::size_t> small_limit(0, 40);
  for (int iteration = 0; iteration < 3000; ++iteration) {
    const std::size_t limit = iteration % 100 == 0 ? kMaxOutputExcerpt : small_limit(rng);
    std::uniform_int_distribution<std::size_t> length(0, 3 * limit + 5);
    const std::size_t target = length(rng);
    std::string data;
    while (data.size() < target) {
      data += pieces[pick(rng)];
    }
    HeadTailCapture capture(limit);
    std::uniform_int_distribution<std::size_t> chunk(0, limit + 3);
    for (std::size_t pos = 0; pos < data.size();) {
      const std::size_t n = std::min(chunk(rng), data.size() - pos);
      capture.append(std::string_view(data).substr(pos, n));
      pos += n;
    }
    const auto expected = whole(data, limit);
    const auto got = capture.excerpt();
    CAPTURE(iteration, limit, data.size());
    REQUIRE(capture.total() == data.size());
    REQUIRE(got.bytes == expected.bytes);
    REQUIRE(got.dropped == expected.dropped);
    REQUIRE(got.bytes.size() <= limit);
    REQUIRE(got.dropped + got.bytes.size() == data.size());
  }
}

TEST_CASE("the excerpt of valid UTF-8 is valid UTF-8 (property)", "[output]") {
  std::mt19937 rng(24 * 1024);
  const std::vector<std::string> chars = {"a", "z", " ", kTwo, kThree, kFour};
  std::uniform_int_distribution<std::size_t> pick(0, chars.size() - 1);
  for (int iteration = 0; iteration < 2000; ++iteration) {
    const std::size_t limit = 8 + static_cast<std::size_t>(iteration % 33);
    std::string data;
    while (data.size() < 3 * limit) {
      data += chars[pick(rng)];
    }
    const auto e = whole(data, limit);
    CAPTURE(iteration, limit);
    REQUIRE(is_valid_utf8(data));
    CHECK(is_valid_utf8(e.bytes));
    // At most 3 bytes are given up at each cut.
    CHECK(e.bytes.size() + 6 >= 2 * (limit / 2));
    CHECK(data.substr(0, 1) == e.bytes.substr(0, 1));
  }
}
