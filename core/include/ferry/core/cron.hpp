// Cron schedules: when a recurring command fires next. One library reads both forms Ferry
// serves: the 5-field crontab of TAT's invokers (minute hour day-of-month month day-of-week) and
// the Quartz form of Cloud Assistant's Frequency (seconds first, an optional year, `?`, `L`, `W`,
// `#`, and an optional trailing time zone). docs/schedules.md lists what each form accepts.
//
// Times are evaluated in a time zone: an IANA zone of the system's tz database (through the
// date/tz library), UTC, or a fixed GMT offset. Daylight saving time: a local time that does not
// exist (the clocks jump over it) fires once, at the first instant after the jump; a local time
// that happens twice (the clocks go back) fires once, the first time.
#pragma once

#include <array>
#include <bitset>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"

namespace date {
class time_zone;
}

namespace ferry::cron {

using SysSeconds = std::chrono::time_point<std::chrono::system_clock, std::chrono::seconds>;

// A time zone: an IANA zone, or a fixed offset from UTC.
class Zone {
 public:
  // UTC, a fixed offset of zero.
  Zone() = default;

  // "Europe/Berlin" (IANA), "UTC", "GMT", or an offset "GMT+8:00" / "GMT-7" / "GMT+5:30" (no
  // leading zero in the hour, -12 to +14, as Cloud Assistant spells them). Unknown names:
  // InvalidParameterValue.InvalidCronExpression naming the zone.
  static Expected<Zone> find(std::string_view name);

  [[nodiscard]] const std::string& name() const { return name_; }

  // Local civil time, in seconds since 1970-01-01T00:00 local, of the instant `t`.
  [[nodiscard]] std::chrono::seconds to_local(SysSeconds t) const;
  // The instant of local civil time `local`: the first of two when the clocks went back over
  // it, the end of the gap when they jumped over it.
  [[nodiscard]] SysSeconds to_sys(std::chrono::seconds local) const;

 private:
  const date::time_zone* tz_ = nullptr;
  std::chrono::seconds offset_{0};
  std::string name_ = "UTC";
};

// The values one field admits, as a bit per value.
using ValueSet = std::bitset<64>;

class Schedule {
 public:
  // TAT's RECURRENCE: "minute hour day-of-month month day-of-week", evaluated in `zone`.
  // Lists, ranges, steps (`*/15`, `1-30/2`, `5/10`), month and weekday names (JAN, MON),
  // day-of-week 0-7 with 0 and 7 both Sunday. When both day fields are restricted, a day that
  // matches either fires (cron's OR rule).
  static Expected<Schedule> parse_crontab(std::string_view expression, const Zone& zone);

  // Cloud Assistant's cron: "seconds minutes hours day-of-month month day-of-week [year] [zone]";
  // day-of-week 1-7 with 1 Sunday, `?` for no value, `L` (last day, `L-3`, `LW`, `5L`), `nW`
  // (nearest weekday), `5#3` (third Thursday), years 1970-2099. Without a zone in the
  // expression it is evaluated in `default_zone`.
  static Expected<Schedule> parse_quartz(std::string_view expression, const Zone& default_zone);

  // The first firing strictly after `t`; none when no firing is left (a year range that has
  // passed, February 30) within the next 400 years.
  [[nodiscard]] std::optional<SysSeconds> next_after(SysSeconds t) const;

  [[nodiscard]] const Zone& zone() const { return zone_; }

 private:
  struct DayRules {
    ValueSet days;                // 1-31
    bool any_day = true;          // `*` or `?`
    bool last_day = false;        // L or L-n
    int last_day_offset = 0;      // n of L-n
    bool last_weekday = false;    // LW
    ValueSet nearest_weekday;     // nW: 1-31
    ValueSet weekdays;            // 0-6, Sunday 0
    bool any_weekday = true;      // `*` or `?`
    ValueSet last_of_month;       // 5L: the last such weekday of the month (0-6)
    std::array<ValueSet, 7> nth;  // 5#3: nth[weekday] holds 3
  };

  [[nodiscard]] bool day_matches(int year, unsigned month, unsigned day) const;

  ValueSet seconds_;
  ValueSet minutes_;
  ValueSet hours_;
  ValueSet months_;  // 1-12
  DayRules day_;
  std::bitset<130> years_;  // 1970-2099
  bool any_year_ = true;
  Zone zone_;
};

}  // namespace ferry::cron
