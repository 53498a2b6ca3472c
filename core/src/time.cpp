#include "ferry/core/time.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>

namespace ferry {
namespace {

using std::chrono::days;
using std::chrono::seconds;
using std::chrono::sys_days;
using std::chrono::system_clock;

// The years a system_clock::time_point (64-bit nanoseconds since 1970) holds whole.
constexpr int kMinYear = 1678;
constexpr int kMaxYear = 2261;
// The milliseconds of 0000-01-01T00:00:00Z and of 9999-12-31T23:59:59.999Z.
constexpr int64_t kMinFormattedMs = -62'167'219'200'000;
constexpr int64_t kMaxFormattedMs = 253'402'300'799'999;

// Reads exactly `n` decimal digits at `pos`.
std::optional<int> digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) {
    return std::nullopt;
  }
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return std::nullopt;
    }
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::string to_rfc3339(system_clock::time_point t) {
  return seconds_to_rfc3339(std::chrono::floor<seconds>(t));
}

std::string seconds_to_rfc3339(std::chrono::sys_seconds secs) {
  const auto day = std::chrono::floor<days>(secs);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{secs - day};
  std::array<char, 32> buf{};
  const int n = std::snprintf(
      buf.data(), buf.size(), "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
      static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
      static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
      static_cast<int>(hms.seconds().count()));
  return std::string(buf.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
}

std::optional<system_clock::time_point> parse_rfc3339(std::string_view s) {
  // Fixed layout up to the seconds: YYYY-MM-DDTHH:MM:SS
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  const auto year = digits(s, 0, 4);
  const auto month = digits(s, 5, 2);
  const auto day = digits(s, 8, 2);
  const auto hour = digits(s, 11, 2);
  const auto minute = digits(s, 14, 2);
  const auto second = digits(s, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{*year},
                                        std::chrono::month{static_cast<unsigned>(*month)},
                                        std::chrono::day{static_cast<unsigned>(*day)}};
  // Second 60 is a leap second (RFC 3339 allows it); it lands on the next minute's first second.
  // Years outside kMinYear..kMaxYear do not fit a system_clock time point (nanoseconds).
  if (*year < kMinYear || *year > kMaxYear || !ymd.ok() || *hour > 23 || *minute > 59 ||
      *second > 60) {
    return std::nullopt;
  }

  std::size_t pos = 19;
  system_clock::duration fraction{0};
  if (s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    std::chrono::nanoseconds::rep nanos = 0;
    std::chrono::nanoseconds::rep scale = 100'000'000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      // Digits past nanoseconds are accepted and ignored.
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) {
      return std::nullopt;
    }
    fraction = std::chrono::duration_cast<system_clock::duration>(std::chrono::nanoseconds{nanos});
  }

  seconds offset{0};
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const auto oh = digits(s, pos + 1, 2);
    const auto om = digits(s, pos + 4, 2);
    if (!oh || !om || s[pos + 3] != ':' || *oh > 23 || *om > 59) {
      return std::nullopt;
    }
    offset = std::chrono::hours{*oh} + std::chrono::minutes{*om};
    if (s[pos] == '-') {
      offset = -offset;
    }
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) {
    return std::nullopt;
  }
  const auto local =
      sys_days{ymd} + std::chrono::hours{*hour} + std::chrono::minutes{*minute} + seconds{*second};
  return system_clock::time_point{local - offset} + fraction;
}

std::string ms_to_rfc3339(int64_t unix_ms) {
  // Not through system_clock's nanoseconds, which end in 2262; years past 9999 are written as
  // 9999 (a message quoting a time far off stays readable).
  const int64_t ms = std::clamp(unix_ms, kMinFormattedMs, kMaxFormattedMs);
  return seconds_to_rfc3339(std::chrono::floor<seconds>(
      std::chrono::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(ms))));
}

std::optional<int64_t> parse_rfc3339_ms(std::string_view s) {
  auto t = parse_rfc3339(s);
  if (!t) {
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}

}  // namespace ferry
