#include "ferry/core/time.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <random>

using ferry::parse_rfc3339;
using ferry::to_rfc3339;
using std::chrono::system_clock;
using namespace std::chrono_literals;

namespace {

system_clock::time_point utc(std::chrono::year_month_day ymd, std::chrono::seconds time_of_day) {
  return system_clock::time_point{std::chrono::sys_days{ymd} + time_of_day};
}

}  // namespace

TEST_CASE("to_rfc3339 prints UTC with whole seconds", "[time]") {
  using std::chrono::November;
  CHECK(to_rfc3339(system_clock::time_point{}) == "1970-01-01T00:00:00Z");
  const auto t = utc(2026y / November / 25, 15h + 18min + 21s);
  CHECK(to_rfc3339(t) == "2026-11-25T15:18:21Z");
  // Fractions are cut, never rounded up into the next second.
  CHECK(to_rfc3339(t + 999ms) == "2026-11-25T15:18:21Z");
  CHECK(to_rfc3339(system_clock::time_point{} - 1s) == "1969-12-31T23:59:59Z");
  CHECK(to_rfc3339(system_clock::time_point{} - 1ms) == "1969-12-31T23:59:59Z");
  CHECK(to_rfc3339(utc(2000y / std::chrono::February / 29, 23h + 59min + 59s)) ==
        "2000-02-29T23:59:59Z");
}

TEST_CASE("parse_rfc3339 reads UTC, offsets and fractions", "[time]") {
  using std::chrono::August;
  using std::chrono::November;
  const auto base = utc(2026y / November / 25, 15h + 18min + 21s);
  CHECK(parse_rfc3339("2026-11-25T15:18:21Z") == base);
  CHECK(parse_rfc3339("2026-11-25t15:18:21z") == base);
  CHECK(parse_rfc3339("2026-11-25T15:18:21+00:00") == base);
  CHECK(parse_rfc3339("2026-11-25T15:18:21-00:00") == base);
  CHECK(parse_rfc3339("2021-09-01T00:00:00+08:00") == utc(2021y / August / 31, 16h));
  CHECK(parse_rfc3339("2026-11-25T10:48:21-04:30") == base);
  CHECK(parse_rfc3339("2026-11-25T15:18:21.5Z") == base + 500ms);
  CHECK(parse_rfc3339("2026-11-25T15:18:21.250+00:00") == base + 250ms);
  CHECK(parse_rfc3339("2026-11-25T15:18:21.000001Z") ==
        base + std::chrono::duration_cast<system_clock::duration>(1us));
  // Digits past the clock's precision are ignored.
  CHECK(parse_rfc3339("2026-11-25T15:18:21.1234567890123Z") ==
        base + std::chrono::duration_cast<system_clock::duration>(123456789ns));
  // A leap second lands on the next second.
  CHECK(parse_rfc3339("2016-12-31T23:59:60Z") == utc(2017y / std::chrono::January / 1, 0s));
  CHECK(parse_rfc3339("2024-02-29T00:00:00Z") == utc(2024y / std::chrono::February / 29, 0s));
}

TEST_CASE("parse_rfc3339 refuses what is not RFC 3339", "[time]") {
  const std::string bad =
      GENERATE(as<std::string>{}, "", "2026-11-25", "2026-11-25T15:18:21", "2026-11-25 15:18:21Z",
               "2026-11-25T15:18Z", "2026-1-25T15:18:21Z", "2026-11-25T15:18:21ZZ",
               "2026-11-25T15:18:21Z ", " 2026-11-25T15:18:21Z", "2026-13-01T00:00:00Z",
               "2026-00-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
               "2026-11-25T24:00:00Z", "2026-11-25T15:60:00Z", "2026-11-25T15:18:61Z",
               "2026-11-25T15:18:21+0800", "2026-11-25T15:18:21+08", "2026-11-25T15:18:21+24:00",
               "2026-11-25T15:18:21+08:60", "2026-11-25T15:18:21.Z", "2026-11-25T15:18:21,5Z",
               "2026-11-25T15:18:2aZ", "+026-11-25T15:18:21Z");
  CAPTURE(bad);
  CHECK_FALSE(parse_rfc3339(bad).has_value());
}

TEST_CASE("to_rfc3339 and parse_rfc3339 round-trip", "[time]") {
  std::mt19937_64 rng(20261125);
  // 1900 .. 2200
  std::uniform_int_distribution<int64_t> secs(-2'208'988'800, 7'258'118'400);
  for (int i = 0; i < 2000; ++i) {
    const system_clock::time_point t{std::chrono::seconds{secs(rng)}};
    const std::string text = to_rfc3339(t);
    CAPTURE(text);
    REQUIRE(text.size() == 20);
    const auto parsed = parse_rfc3339(text);
    REQUIRE(parsed.has_value());
    CHECK(*parsed == t);
  }
}

TEST_CASE("the millisecond forms agree with the time_point ones", "[time]") {
  // 2024-05-01T00:00:00.750Z: whole seconds when printed, milliseconds kept when read.
  CHECK(ferry::ms_to_rfc3339(1'714'521'600'750) == "2024-05-01T00:00:00Z");
  CHECK(ferry::parse_rfc3339_ms("2024-05-01T08:00:00.750+08:00") == 1'714'521'600'750);
  CHECK(ferry::parse_rfc3339_ms("2024-05-01 00:00:00") == std::nullopt);
}

// Found by tests/fuzz (journal, schedules): years the clock cannot hold overflowed its
// nanoseconds (undefined behaviour) on the way in and on the way out.
TEST_CASE("times outside what the clock holds are refused or clamped, never overflow", "[time]") {
  CHECK_FALSE(parse_rfc3339("4048-05-01T00:00:01Z").has_value());
  CHECK_FALSE(parse_rfc3339("1012-06-01T12:00:00Z").has_value());
  CHECK_FALSE(ferry::parse_rfc3339_ms("2262-04-12T00:00:00Z").has_value());
  CHECK(parse_rfc3339("2261-12-31T23:59:59Z").has_value());
  CHECK(parse_rfc3339("1678-01-01T00:00:00Z").has_value());
  // 1012-06-01T12:00:00Z in milliseconds, as an at() Frequency keeps it.
  CHECK(ferry::ms_to_rfc3339(-30'218'443'200'000) == "1012-06-01T12:00:00Z");
  CHECK(ferry::ms_to_rfc3339(INT64_MAX) == "9999-12-31T23:59:59Z");
  CHECK(ferry::ms_to_rfc3339(INT64_MIN) == "0000-01-01T00:00:00Z");
}
