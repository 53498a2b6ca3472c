#include "ferry/cli/output_follow.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ferry/core/output_excerpt.hpp"

using ferry::kMaxOutputExcerpt;
using ferry::make_output_excerpt;
using namespace ferry::cli;

namespace {

constexpr std::size_t kHalf = kMaxOutputExcerpt / 2;
const std::string kEuro = "\xe2\x82\xac";  // 3 bytes

// What the user saw: stdout, and where a gap marker went (its position in stdout) with its count.
struct Seen {
  std::string out;
  std::optional<std::size_t> gap_at;
  std::uint64_t gap = 0;
  int notices = 0;
};

void add(Seen& seen, const std::vector<OutputPiece>& pieces) {
  for (const auto& p : pieces) {
    switch (p.kind) {
      case OutputPiece::Kind::kText:
        seen.out += p.text;
        break;
      case OutputPiece::Kind::kGap:
        REQUIRE_FALSE(seen.gap_at);  // one gap at most
        seen.gap_at = seen.out.size();
        seen.gap = p.bytes;
        break;
      case OutputPiece::Kind::kNotice:
        ++seen.notices;
        break;
    }
  }
}

// The live output the server keeps: at most `limit` bytes, not cut inside a UTF-8 sequence.
std::size_t live_cap(const std::string& output, std::size_t limit) {
  if (output.size() <= limit) {
    return output.size();
  }
  return make_output_excerpt(output.substr(0, limit), "", limit, limit).bytes.size();
}

// Follows `output` as the API shows it: live prefixes of the given sizes (capped like the
// server's), then the final excerpt.
Seen follow(const std::string& output, const std::vector<std::size_t>& live_sizes,
            std::size_t limit = kMaxOutputExcerpt) {
  OutputFollower f(limit);
  Seen seen;
  const std::size_t cap = live_cap(output, limit);
  for (std::size_t n : live_sizes) {
    seen.out += f.on_live(std::string_view(output).substr(0, std::min(n, cap)));
  }
  const auto excerpt = make_output_excerpt(output, output, output.size(), limit);
  add(seen, f.on_final(excerpt.bytes, excerpt.dropped));
  return seen;
}

std::size_t common_prefix(const std::string& a, const std::string& b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) {
    ++i;
  }
  return i;
}

std::size_t common_suffix(const std::string& a, const std::string& b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[a.size() - 1 - i] == b[b.size() - 1 - i]) {
    ++i;
  }
  return i;
}

// Nothing printed twice, nothing lost: stdout is a prefix of the output followed by a suffix of
// it, with exactly `gap` bytes between them. Returns the range of positions where the gap may
// be (several when the bytes around it repeat).
std::pair<std::size_t, std::size_t> check_whole(const std::string& output, const Seen& seen) {
  INFO("output " << output.size() << " bytes, stdout " << seen.out.size() << ", gap " << seen.gap);
  REQUIRE(seen.notices == 0);
  REQUIRE(seen.out.size() + seen.gap == output.size());
  const std::size_t cp = common_prefix(seen.out, output);
  const std::size_t cs = common_suffix(seen.out, output);
  REQUIRE(cp + cs >= seen.out.size());
  return {seen.out.size() - std::min(cs, seen.out.size()), cp};
}

// The gap marker sits where the bytes were dropped.
void check_exact(const std::string& output, const Seen& seen) {
  const auto [lo, hi] = check_whole(output, seen);
  if (seen.gap > 0) {
    REQUIRE(seen.gap_at);
    CHECK(*seen.gap_at >= lo);
    CHECK(*seen.gap_at <= hi);
  } else {
    CHECK(seen.out == output);
  }
}

std::string lines(int from, int to) {
  std::string s;
  for (int i = from; i <= to; ++i) {
    s += "line " + std::to_string(i) + "\n";
  }
  return s;
}

}  // namespace

TEST_CASE("follow: a short output, with and without live views", "[cli][follow]") {
  const std::string output = lines(1, 50);
  SECTION("nothing live: the final output whole") {
    const Seen s = follow(output, {});
    CHECK(s.out == output);
    CHECK_FALSE(s.gap_at);
  }
  SECTION("live views, then only the rest") {
    OutputFollower f;
    CHECK(f.on_live(output.substr(0, 7)) == output.substr(0, 7));
    CHECK(f.on_live(output.substr(0, 7)).empty());  // nothing new
    CHECK(f.on_live(output.substr(0, 100)) == output.substr(7, 93));
    const auto rest = f.on_final(output, 0);
    REQUIRE(rest.size() == 1);
    CHECK(rest[0].text == output.substr(100));
    CHECK(f.on_final(output, 0).empty());  // once only
  }
  SECTION("all of it live: nothing more at the end") {
    const Seen s = follow(output, {output.size()});
    CHECK(s.out == output);
  }
}

TEST_CASE("follow: live views that do not extend what was printed are skipped", "[cli][follow]") {
  OutputFollower f;
  CHECK(f.on_live("hello wor") == "hello wor");
  CHECK(f.on_live("hello").empty());            // shorter
  CHECK(f.on_live("HELLO WORLD!").empty());     // different
  CHECK(f.on_live("hello world\n") == "ld\n");  // continues again
  CHECK(f.printed_bytes() == 12);
}

TEST_CASE("follow: a large output with nothing seen live", "[cli][follow]") {
  const std::string output = lines(1, 20000);
  const auto excerpt = make_output_excerpt(output, output, output.size());
  REQUIRE(excerpt.dropped > 0);
  const Seen s = follow(output, {});
  CHECK(s.out == excerpt.bytes);
  REQUIRE(s.gap_at);
  CHECK(*s.gap_at == kHalf);
  CHECK(s.gap == excerpt.dropped);
  check_exact(output, s);
}

TEST_CASE("follow: a large output with a live prefix inside the head", "[cli][follow]") {
  const std::string output = lines(1, 20000);
  const Seen s = follow(output, {100, 5000});
  check_exact(output, s);
  CHECK(*s.gap_at == kHalf);
  CHECK(s.gap == output.size() - 2 * kHalf);
}

TEST_CASE("follow: a live prefix past the head shortens the gap", "[cli][follow]") {
  const std::string output = lines(1, 20000);
  const Seen s = follow(output, {20000});
  check_exact(output, s);
  REQUIRE(s.gap_at);
  CHECK(*s.gap_at == 20000);
  CHECK(s.gap == output.size() - kHalf - 20000);
  CHECK(s.out.substr(20000) == output.substr(output.size() - kHalf));
}

TEST_CASE("follow: a live prefix reaching into the tail leaves no gap", "[cli][follow]") {
  const std::string output = lines(1, 3500);  // a little over 24 KiB
  REQUIRE(output.size() > kMaxOutputExcerpt);
  REQUIRE(output.size() < kMaxOutputExcerpt + kHalf);
  const Seen s = follow(output, {kMaxOutputExcerpt});
  CHECK(s.out == output);
  CHECK_FALSE(s.gap_at);
}

TEST_CASE("follow: a multi-byte character cut at the head's end", "[cli][follow]") {
  // "a" then euros: the head's 12 KiB end 2 bytes into a euro sign, which the head drops.
  std::string output = "a";
  while (output.size() < 50'000) {
    output += kEuro;
  }
  output += "\nend\n";
  const auto excerpt = make_output_excerpt(output, output, output.size());
  REQUIRE(excerpt.bytes.size() < kMaxOutputExcerpt);
  const auto h = excerpt_head_length(excerpt.bytes, excerpt.dropped, "");
  REQUIRE(h);
  CHECK(*h == kHalf - 2);

  for (std::size_t p :
       {std::size_t{0}, kHalf - 3, kHalf - 2, kHalf - 1, kHalf, kHalf + 1, std::size_t{20000}}) {
    INFO("live prefix " << p);
    check_exact(output, follow(output, {p}));
  }
}

TEST_CASE("follow: every live prefix of mixed-width text around the cuts", "[cli][follow]") {
  // Widths 1 to 4 in turn, so the cuts land inside sequences of each length.
  const std::vector<std::string> chars{"a", "\xc3\xa9", kEuro, "\xf0\x9d\x84\x9e", "\n"};
  std::string output;
  for (std::size_t i = 0; output.size() < 40'000; ++i) {
    output += chars[(i * 7 + i / 3) % chars.size()];
  }
  for (std::size_t p = kHalf - 8; p <= kHalf + 8; ++p) {
    INFO("live prefix " << p);
    const Seen s = follow(output, {p});
    check_whole(output, s);
    if (p >= kHalf) {
      check_exact(output, s);
    }
  }
}

TEST_CASE("follow: small limits, random valid UTF-8, every live prefix", "[cli][follow]") {
  // With a limit of 16 to 40 bytes the cuts and overlaps can be tried exhaustively. The stdout
  // must always be whole; the gap marker exact once the live prefix covers the head's bytes,
  // and otherwise at most 3 bytes off (where nothing tells which side a cut character was on).
  const std::vector<std::string> chars{"a", "b", "\n", "\xc3\xa9", kEuro, "\xf0\x9d\x84\x9e"};
  std::mt19937 rng(12345);
  for (std::size_t limit : {16U, 24U, 40U}) {
    for (int round = 0; round < 300; ++round) {
      std::string output;
      const std::size_t target = rng() % (4 * limit);
      while (output.size() < target) {
        output += chars[rng() % chars.size()];
      }
      const std::size_t cap = live_cap(output, limit);
      for (std::size_t p = 0; p <= cap; ++p) {
        INFO("limit " << limit << " round " << round << " prefix " << p);
        const Seen s = follow(output, {p / 2, p}, limit);
        const auto [lo, hi] = check_whole(output, s);
        if (s.gap > 0) {
          REQUIRE(s.gap_at);
          if (p >= limit / 2) {
            CHECK(*s.gap_at >= lo);
            CHECK(*s.gap_at <= hi);
          } else {
            CHECK(*s.gap_at + 3 >= lo);
            CHECK(*s.gap_at <= hi + 3);
          }
        }
      }
    }
  }
}

TEST_CASE("follow: binary output is never printed twice or lost silently", "[cli][follow]") {
  // Not UTF-8 at all: random bytes. The follower may fall back to printing the final excerpt
  // whole, but then it says so.
  std::mt19937 rng(777);
  const std::size_t limit = 16;
  for (int round = 0; round < 2000; ++round) {
    std::string output;
    const std::size_t target = limit + 1 + rng() % (3 * limit);
    while (output.size() < target) {
      output += static_cast<char>(rng() % 4 == 0 ? 'x' : 0x80 + static_cast<int>(rng() % 128));
    }
    const std::size_t cap = live_cap(output, limit);
    for (std::size_t p = 0; p <= cap; ++p) {
      INFO("round " << round << " prefix " << p);
      const Seen s = follow(output, {p}, limit);
      if (s.notices > 0) {
        continue;
      }
      check_whole(output, s);
    }
  }
}

TEST_CASE("follow: a final output that does not continue the live one", "[cli][follow]") {
  OutputFollower f;
  CHECK(f.on_live("first version\n") == "first version\n");
  const auto pieces = f.on_final("second version\n", 0);
  REQUIRE(pieces.size() == 2);
  CHECK(pieces[0].kind == OutputPiece::Kind::kNotice);
  CHECK(pieces[1].text == "second version\n");
}

TEST_CASE("follow: the gap marker", "[cli][follow]") {
  CHECK(gap_marker(84318) == "... [84318 bytes dropped] ...");
  CHECK(gap_marker(1) == "... [1 byte dropped] ...");
}

TEST_CASE("line prefixes for several instances", "[cli][follow]") {
  LinePrefixer p("rins-1");
  CHECK(p.feed("one\ntw") == "rins-1 | one\n");
  CHECK(p.feed("o\nthree") == "rins-1 | two\n");
  CHECK(p.feed("") == "");
  CHECK(p.flush() == "rins-1 | three\n");
  CHECK(p.flush().empty());
  CHECK(p.feed("\n\n") == "rins-1 | \nrins-1 | \n");
}
