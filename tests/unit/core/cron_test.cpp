#include "ferry/core/cron.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ferry/core/error_codes.hpp"
#include "ferry/core/time.hpp"

using ferry::cron::Schedule;
using ferry::cron::SysSeconds;
using ferry::cron::Zone;

namespace {

enum class Form { kCrontab, kQuartz };

SysSeconds at(const std::string& rfc3339) {
  const auto t = ferry::parse_rfc3339(rfc3339);
  REQUIRE(t.has_value());
  return std::chrono::time_point_cast<std::chrono::seconds>(*t);
}

Zone zone(const std::string& name) {
  auto z = Zone::find(name);
  REQUIRE(z.has_value());
  return *z;
}

ferry::Expected<Schedule> parse(Form form, const std::string& expression,
                                const std::string& zone_name) {
  return form == Form::kCrontab ? Schedule::parse_crontab(expression, zone(zone_name))
                                : Schedule::parse_quartz(expression, zone(zone_name));
}

// The firings after `from`, up to `count` of them, in UTC RFC 3339.
std::vector<std::string> firings(const Schedule& s, const std::string& from, int count = 5) {
  std::vector<std::string> out;
  SysSeconds t = at(from);
  for (int i = 0; i < count; ++i) {
    const auto next = s.next_after(t);
    if (!next) {
      break;
    }
    REQUIRE(*next > t);
    out.push_back(ferry::to_rfc3339(*next));
    t = *next;
  }
  return out;
}

struct Case {
  Form form;
  std::string expression;
  std::string zone;
  std::string from;
  std::vector<std::string> next;
};

}  // namespace

TEST_CASE("cron: the next firings of crontab and Quartz expressions") {
  const std::vector<Case> cases = {
      // crontab: steps, lists, names, the seed's first-of-the-month in UTC+8
      {Form::kCrontab,
       "*/15 * * * *",
       "UTC",
       "2026-01-01T00:07:00Z",
       {"2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z",
        "2026-01-01T01:00:00Z", "2026-01-01T01:15:00Z"}},
      {Form::kCrontab,
       "0 0 1 * *",
       "GMT+8:00",
       "2026-01-15T00:00:00Z",
       {"2026-01-31T16:00:00Z", "2026-02-28T16:00:00Z", "2026-03-31T16:00:00Z",
        "2026-04-30T16:00:00Z", "2026-05-31T16:00:00Z"}},
      {Form::kCrontab,
       "5-20/5 0 * * *",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-01-01T00:05:00Z", "2026-01-01T00:10:00Z", "2026-01-01T00:15:00Z",
        "2026-01-01T00:20:00Z", "2026-01-02T00:05:00Z"}},
      {Form::kCrontab,
       "10/20 * * * *",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-01-01T00:10:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:50:00Z",
        "2026-01-01T01:10:00Z", "2026-01-01T01:30:00Z"}},
      {Form::kCrontab,
       "0 18 * jan-MAR,DEC SAT,SUN",
       "UTC",
       "2026-03-27T00:00:00Z",
       {"2026-03-28T18:00:00Z", "2026-03-29T18:00:00Z", "2026-12-05T18:00:00Z",
        "2026-12-06T18:00:00Z", "2026-12-12T18:00:00Z"}},
      // day-of-week 7 is Sunday, as 0 is; strictly after a firing
      {Form::kCrontab,
       "0 0 * * 7",
       "UTC",
       "2026-03-01T00:00:00Z",
       {"2026-03-08T00:00:00Z", "2026-03-15T00:00:00Z", "2026-03-22T00:00:00Z",
        "2026-03-29T00:00:00Z", "2026-04-05T00:00:00Z"}},
      // both day fields restricted: the 1st of the month or a Monday
      {Form::kCrontab,
       "0 9 1 * MON",
       "UTC",
       "2026-06-01T10:00:00Z",
       {"2026-06-08T09:00:00Z", "2026-06-15T09:00:00Z", "2026-06-22T09:00:00Z",
        "2026-06-29T09:00:00Z", "2026-07-01T09:00:00Z"}},
      // leap days only; February 30 never
      {Form::kCrontab,
       "0 12 29 2 *",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z", "2036-02-29T12:00:00Z",
        "2040-02-29T12:00:00Z", "2044-02-29T12:00:00Z"}},
      {Form::kCrontab, "0 0 30 2 *", "UTC", "2026-01-01T00:00:00Z", {}},
      {Form::kCrontab, "0 0 31 4,6,9,11 *", "UTC", "2026-01-01T00:00:00Z", {}},
      // Europe/Berlin, clocks forward on 2026-03-29 at 02:00: 02:30 that day fires once, at 03:00
      {Form::kCrontab,
       "30 2 * * *",
       "Europe/Berlin",
       "2026-03-27T12:00:00Z",
       {"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z",
        "2026-03-31T00:30:00Z", "2026-04-01T00:30:00Z"}},
      // ... and back on 2026-10-25 at 03:00: 02:30 happens twice and fires the first time
      {Form::kCrontab,
       "30 2 * * *",
       "Europe/Berlin",
       "2026-10-23T12:00:00Z",
       {"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z",
        "2026-10-27T01:30:00Z", "2026-10-28T01:30:00Z"}},
      // America/New_York, back on 2026-11-01 at 02:00: 01:00 and 01:30 fire once, in EDT
      {Form::kCrontab,
       "*/30 1-2 * * *",
       "America/New_York",
       "2026-11-01T04:00:00Z",
       {"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z",
        "2026-11-01T07:30:00Z", "2026-11-02T06:00:00Z"}},
      // ... forward on 2026-03-08 at 02:00: 02:00 and 02:30 that day fire once, at 03:00 EDT
      {Form::kCrontab,
       "*/30 2 * * *",
       "America/New_York",
       "2026-03-07T12:00:00Z",
       {"2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T06:30:00Z",
        "2026-03-10T06:00:00Z", "2026-03-10T06:30:00Z"}},
      // Quartz: the seed's examples, with their years and zones
      {Form::kQuartz,
       "0 15 10 ? * * 2022 Asia/Shanghai",
       "UTC",
       "2022-12-29T00:00:00Z",
       {"2022-12-29T02:15:00Z", "2022-12-30T02:15:00Z", "2022-12-31T02:15:00Z"}},
      {Form::kQuartz,
       "0 0/30 10-11 * * ? 2022 GMT+8:00",
       "UTC",
       "2022-06-01T00:00:00Z",
       {"2022-06-01T02:00:00Z", "2022-06-01T02:30:00Z", "2022-06-01T03:00:00Z",
        "2022-06-01T03:30:00Z", "2022-06-02T02:00:00Z"}},
      {Form::kQuartz,
       "0 0/5 14 * 10 ? 2022/2 UTC",
       "UTC",
       "2022-10-31T14:50:00Z",
       {"2022-10-31T14:55:00Z", "2024-10-01T14:00:00Z", "2024-10-01T14:05:00Z",
        "2024-10-01T14:10:00Z", "2024-10-01T14:15:00Z"}},
      {Form::kQuartz,
       "0 */20 * * * ?",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-01-01T00:20:00Z", "2026-01-01T00:40:00Z", "2026-01-01T01:00:00Z",
        "2026-01-01T01:20:00Z", "2026-01-01T01:40:00Z"}},
      {Form::kQuartz,
       "*/20 * * * * ?",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-01-01T00:00:20Z", "2026-01-01T00:00:40Z", "2026-01-01T00:01:00Z",
        "2026-01-01T00:01:20Z", "2026-01-01T00:01:40Z"}},
      // the default zone applies when the expression names none; a 7th field may be the zone
      {Form::kQuartz,
       "0 30 2 * * ?",
       "Europe/Berlin",
       "2026-03-27T12:00:00Z",
       {"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z",
        "2026-03-31T00:30:00Z", "2026-04-01T00:30:00Z"}},
      {Form::kQuartz,
       "0 30 2 * * ? Europe/Berlin",
       "UTC",
       "2026-10-23T12:00:00Z",
       {"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z",
        "2026-10-27T01:30:00Z", "2026-10-28T01:30:00Z"}},
      // L, L-n, LW, nW
      {Form::kQuartz,
       "0 0 12 L * ?",
       "UTC",
       "2028-01-15T00:00:00Z",
       {"2028-01-31T12:00:00Z", "2028-02-29T12:00:00Z", "2028-03-31T12:00:00Z",
        "2028-04-30T12:00:00Z", "2028-05-31T12:00:00Z"}},
      {Form::kQuartz,
       "0 0 0 L-2 * ?",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-01-29T00:00:00Z", "2026-02-26T00:00:00Z", "2026-03-29T00:00:00Z",
        "2026-04-28T00:00:00Z", "2026-05-29T00:00:00Z"}},
      {Form::kQuartz,
       "0 0 0 LW * ?",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z", "2026-03-31T00:00:00Z",
        "2026-04-30T00:00:00Z", "2026-05-29T00:00:00Z"}},
      {Form::kQuartz,
       "0 0 0 15W * ?",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-01-15T00:00:00Z", "2026-02-16T00:00:00Z", "2026-03-16T00:00:00Z",
        "2026-04-15T00:00:00Z", "2026-05-15T00:00:00Z"}},
      // 1W on a Saturday moves to Monday the 3rd, never back into the month before
      {Form::kQuartz, "0 0 0 1W 8 ? 2026", "UTC", "2026-01-01T00:00:00Z", {"2026-08-03T00:00:00Z"}},
      // n#k and nL: the third Friday, the last Friday (Sunday is 1)
      {Form::kQuartz,
       "0 0 9 ? * 6#3",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-01-16T09:00:00Z", "2026-02-20T09:00:00Z", "2026-03-20T09:00:00Z",
        "2026-04-17T09:00:00Z", "2026-05-15T09:00:00Z"}},
      {Form::kQuartz,
       "0 0 9 ? * 6L",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-01-30T09:00:00Z", "2026-02-27T09:00:00Z", "2026-03-27T09:00:00Z",
        "2026-04-24T09:00:00Z", "2026-05-29T09:00:00Z"}},
      {Form::kQuartz,
       "0 0 0 ? * 1",
       "UTC",
       "2026-03-01T00:00:00Z",
       {"2026-03-08T00:00:00Z", "2026-03-15T00:00:00Z", "2026-03-22T00:00:00Z",
        "2026-03-29T00:00:00Z", "2026-04-05T00:00:00Z"}},
      // year ranges end the schedule
      {Form::kQuartz,
       "0 0 0 1 1 ? 2027-2029",
       "UTC",
       "2026-06-01T00:00:00Z",
       {"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", "2029-01-01T00:00:00Z"}},
      {Form::kQuartz, "0 0 0 1 1 ? 2020", "UTC", "2026-06-01T00:00:00Z", {}},
  };
  for (const auto& c : cases) {
    INFO(c.expression << " in " << c.zone << " after " << c.from);
    auto s = parse(c.form, c.expression, c.zone);
    REQUIRE(s.has_value());
    CHECK(firings(*s, c.from) == c.next);
  }
}

TEST_CASE("cron: every invalid form names its field") {
  struct Invalid {
    Form form;
    std::string expression;
    std::string what;  // in the message
  };
  const std::vector<Invalid> cases = {
      {Form::kCrontab, "", "expected 5 fields"},
      {Form::kCrontab, "* * * *", "expected 5 fields"},
      {Form::kCrontab, "* * * * * *", "expected 5 fields"},
      {Form::kCrontab, "60 * * * *", "minute field"},
      {Form::kCrontab, "-1 * * * *", "minute field"},
      {Form::kCrontab, "*/0 * * * *", "minute field"},
      {Form::kCrontab, "*/61 * * * *", "minute field"},
      {Form::kCrontab, "5-1 * * * *", "runs backwards"},
      {Form::kCrontab, "1,,2 * * * *", "minute field"},
      {Form::kCrontab, "? * * * *", "minute field"},
      {Form::kCrontab, "* 24 * * *", "hour field"},
      {Form::kCrontab, "* * 0 * *", "day-of-month field"},
      {Form::kCrontab, "* * 32 * *", "day-of-month field"},
      {Form::kCrontab, "* * L * *", "day-of-month field"},
      {Form::kCrontab, "* * * 13 *", "month field"},
      {Form::kCrontab, "* * * FOO *", "month field"},
      {Form::kCrontab, "* * * * 8", "day-of-week field"},
      {Form::kCrontab, "* * * * MON#2", "day-of-week field"},
      {Form::kCrontab, std::string(300, '*'), "longer than 256"},

      {Form::kQuartz, "* * * * *", "expected 6 to 8 fields"},
      {Form::kQuartz, "0 0 0 * * ? 2026 UTC extra", "expected 6 to 8 fields"},
      {Form::kQuartz, "60 0 0 * * ?", "seconds field"},
      {Form::kQuartz, "0 60 0 * * ?", "minutes field"},
      {Form::kQuartz, "0 0 24 * * ?", "hours field"},
      {Form::kQuartz, "0 0 0 L-31 * ?", "day-of-month field"},
      {Form::kQuartz, "0 0 0 32W * ?", "day-of-month field"},
      {Form::kQuartz, "0 0 0 * ? ?", "month field"},
      {Form::kQuartz, "0 0 0 ? * 0", "day-of-week field"},
      {Form::kQuartz, "0 0 0 ? * 8", "day-of-week field"},
      {Form::kQuartz, "0 0 0 ? * 6#6", "day-of-week field"},
      {Form::kQuartz, "0 0 0 ? * 6#0", "day-of-week field"},
      {Form::kQuartz, "0 0 0 ? * XL", "day-of-week field"},
      {Form::kQuartz, "0 0 0 * * ? 1969", "year field"},
      {Form::kQuartz, "0 0 0 * * ? 2100", "year field"},
      {Form::kQuartz, "0 0 0 * * ? Mars/Olympus", "time zone \"Mars/Olympus\""},
      {Form::kQuartz, "0 0 0 * * ? ../../etc/passwd", "time zone"},
      {Form::kQuartz, "0 0 0 * * ? 2026 CST", "time zone \"CST\""},
      {Form::kQuartz, "0 0 0 * * ? 2026 GMT+08:00", "time zone \"GMT+08:00\""},
      {Form::kQuartz, "0 0 0 * * ? 2026 GMT+15:00", "time zone \"GMT+15:00\""},
      {Form::kQuartz, "0 0 0 * * ? 2026 GMT-13", "time zone \"GMT-13\""},
      {Form::kQuartz, "0 0 0 * * ? 2026 GMT+8:5", "time zone \"GMT+8:5\""},
  };
  for (const auto& c : cases) {
    INFO(c.expression);
    auto s = parse(c.form, c.expression, "UTC");
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error().code == ferry::codes::kInvalidCronExpression);
    CHECK_THAT(s.error().message, Catch::Contains(c.what));
  }
}

TEST_CASE("cron: zones by IANA name, UTC and GMT offsets") {
  CHECK(zone("UTC").to_local(at("2026-07-01T12:00:00Z")) ==
        at("2026-07-01T12:00:00Z").time_since_epoch());
  CHECK(zone("GMT+5:30").to_local(at("2026-07-01T12:00:00Z")) ==
        at("2026-07-01T17:30:00Z").time_since_epoch());
  CHECK(zone("GMT-7").to_local(at("2026-07-01T12:00:00Z")) ==
        at("2026-07-01T05:00:00Z").time_since_epoch());
  const Zone berlin = zone("Europe/Berlin");
  CHECK(berlin.name() == "Europe/Berlin");
  // summer and winter offsets; local times in a gap map to its end, repeated ones to the first
  CHECK(berlin.to_local(at("2026-07-01T12:00:00Z")) ==
        at("2026-07-01T14:00:00Z").time_since_epoch());
  CHECK(berlin.to_local(at("2026-01-01T12:00:00Z")) ==
        at("2026-01-01T13:00:00Z").time_since_epoch());
  CHECK(berlin.to_sys(at("2026-03-29T02:30:00Z").time_since_epoch()) == at("2026-03-29T01:00:00Z"));
  CHECK(berlin.to_sys(at("2026-10-25T02:30:00Z").time_since_epoch()) == at("2026-10-25T00:30:00Z"));
  for (const char* bad : {"", "Europe/Nowhere", "/etc/localtime", "GMT+", "utc"}) {
    INFO(bad);
    auto z = Zone::find(bad);
    REQUIRE_FALSE(z.has_value());
    CHECK(z.error().code == ferry::codes::kInvalidCronExpression);
  }
}
