#include "ferry/core/cron.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <vector>

#include "ascii_text.hpp"
#include "cron_error.hpp"
#include "message_text.hpp"

namespace ferry::cron {
namespace {

using std::chrono::seconds;
using LocalSeconds = date::local_seconds;

constexpr int kFirstYear = 1970;
constexpr int kLastYear = 2099;
// Every pattern of days repeats within 400 Gregorian years: a schedule with no firing in that
// span has none at all.
constexpr int kSearchYears = 401;
constexpr std::size_t kMaxExpression = 256;

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED",
                                                       "THU", "FRI", "SAT"};

// One field of an expression: its name for messages, its numeric range and its names.
struct FieldSpec {
  const char* name;
  int min;
  int max;
  const std::array<std::string_view, 12>* month_names = nullptr;
  const std::array<std::string_view, 7>* day_names = nullptr;
  int first_name_value = 0;  // the value of the first name (JAN 1; SUN 0 in crontab, 1 in Quartz)
};

// A set of values as a bit per value: bit i + shift for index i of `set`.
ValueSet low_bits(const std::bitset<130>& set, int shift = 0) {
  ValueSet out;
  const auto offset = static_cast<std::size_t>(shift);
  for (std::size_t i = 0; i + offset < out.size(); ++i) {
    if (set.test(i)) {
      out.set(i + offset);
    }
  }
  return out;
}

class FieldParser {
 public:
  FieldParser(const FieldSpec& spec, std::string_view text) : spec_(spec), text_(text) {}

  [[nodiscard]] Error error(std::string_view why) const {
    return invalid_cron_expression(std::string(spec_.name) + " field " +
                                   detail::quote_for_message(text_) + ": " + std::string(why));
  }

  // A number or, where the field has them, a name.
  [[nodiscard]] Expected<int> value(std::string_view s) const {
    if (s.empty()) {
      return error("a value is missing");
    }
    int v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size()) {
      if (v < spec_.min || v > spec_.max) {
        return error(std::string(s) + " is out of " + std::to_string(spec_.min) + "-" +
                     std::to_string(spec_.max));
      }
      return v;
    }
    if (spec_.month_names != nullptr) {
      for (std::size_t i = 0; i < spec_.month_names->size(); ++i) {
        if (detail::iequals(s, (*spec_.month_names)[i])) {
          return spec_.first_name_value + static_cast<int>(i);
        }
      }
    }
    if (spec_.day_names != nullptr) {
      for (std::size_t i = 0; i < spec_.day_names->size(); ++i) {
        if (detail::iequals(s, (*spec_.day_names)[i])) {
          return spec_.first_name_value + static_cast<int>(i);
        }
      }
    }
    return error(detail::quote_for_message(s) + " is not a value of this field");
  }

  // `*`, `a`, `a-b`, each optionally `/step`; `a/step` runs from a to the field's end. Adds the
  // values to `set` (bit = value - the field's minimum) and returns whether the item was `*`.
  Expected<bool> item(std::string_view s, std::bitset<130>& set) const {
    std::string_view range = s;
    int step = 1;
    bool stepped = false;
    if (const auto slash = s.find('/'); slash != std::string_view::npos) {
      range = s.substr(0, slash);
      const std::string_view step_text = s.substr(slash + 1);
      const auto [end, ec] =
          std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
      if (ec != std::errc() || end != step_text.data() + step_text.size() || step < 1 ||
          step > spec_.max - spec_.min + 1) {
        return error("the step " + detail::quote_for_message(step_text) + " is not 1-" +
                     std::to_string(spec_.max - spec_.min + 1));
      }
      stepped = true;
    }
    int first = spec_.min;
    int last = spec_.max;
    const bool star = range == "*";
    if (!star) {
      if (const auto dash = range.find('-'); dash != std::string_view::npos && dash > 0) {
        auto a = value(range.substr(0, dash));
        if (!a) {
          return a.error();
        }
        auto b = value(range.substr(dash + 1));
        if (!b) {
          return b.error();
        }
        if (*a > *b) {
          return error("the range " + std::string(range) + " runs backwards");
        }
        first = *a;
        last = *b;
      } else {
        auto a = value(range);
        if (!a) {
          return a.error();
        }
        first = *a;
        last = stepped ? spec_.max : *a;
      }
    }
    for (int v = first; v <= last; v += step) {
      set.set(static_cast<std::size_t>(v - spec_.min));
    }
    return star && !stepped;
  }

  // A plain item (as item()) added to `values`, the value v at bit v - min + shift.
  [[nodiscard]] Status add_item(std::string_view s, ValueSet& values, int shift) const {
    std::bitset<130> set;
    if (auto star = item(s, set); !star) {
      return star.error();
    }
    values |= low_bits(set, shift);
    return {};
  }

 private:
  const FieldSpec& spec_;
  std::string_view text_;
};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const auto pos = s.find(sep, start);
    out.push_back(s.substr(start, pos - start));
    if (pos == std::string_view::npos) {
      return out;
    }
    start = pos + 1;
  }
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) {
      ++i;
    }
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') {
      ++i;
    }
    if (i > start) {
      out.push_back(s.substr(start, i - start));
    }
  }
  return out;
}

// A plain field (seconds, minutes, hours, months, years): a comma list of items. The set is
// indexed from the field's minimum. Returns whether the field was `*` (or `?` where allowed).
Expected<bool> plain_field(const FieldSpec& spec, std::string_view text, std::bitset<130>& set,
                           bool question_allowed) {
  FieldParser p(spec, text);
  if (question_allowed && text == "?") {
    set.set();
    return true;
  }
  bool any = false;
  for (const auto item : split(text, ',')) {
    auto star = p.item(item, set);
    if (!star) {
      return star.error();
    }
    any = any || *star;
  }
  if (any) {
    set.set();
  }
  return any;
}

// A plain field to parse into `values` (bit = value), and where to note whether it was `*`.
struct FieldTarget {
  const FieldSpec* spec;
  std::string_view text;
  ValueSet* values;
  bool* any = nullptr;
};

Status parse_fields(std::initializer_list<FieldTarget> targets) {
  for (const auto& t : targets) {
    std::bitset<130> set;
    auto any = plain_field(*t.spec, t.text, set, false);
    if (!any) {
      return any.error();
    }
    *t.values = low_bits(set, t.spec->min);
    if (t.any != nullptr) {
      *t.any = *any;
    }
  }
  return {};
}

// The next value >= `from` in `set`, or -1.
int next_in(const ValueSet& set, int from, int max) {
  for (int v = std::max(from, 0); v <= max; ++v) {
    if (set.test(static_cast<std::size_t>(v))) {
      return v;
    }
  }
  return -1;
}

unsigned last_day_of(int year, unsigned month) {
  return static_cast<unsigned>(
      date::year_month_day_last(date::year(year), date::month_day_last(date::month(month))).day());
}

unsigned weekday_of(int year, unsigned month, unsigned day) {
  return date::weekday(date::sys_days(date::year(year) / date::month(month) / date::day(day)))
      .c_encoding();
}

// The weekday (Monday-Friday) nearest to `day` within its month, as Quartz's `nW`.
unsigned nearest_weekday(int year, unsigned month, unsigned day) {
  const unsigned last = last_day_of(year, month);
  const unsigned wd = weekday_of(year, month, day);
  if (wd == 6) {  // Saturday: the Friday before, or the Monday after on the 1st
    return day > 1 ? day - 1 : day + 2;
  }
  if (wd == 0) {  // Sunday: the Monday after, or the Friday before on the last day
    return day < last ? day + 1 : day - 2;
  }
  return day;
}

}  // namespace

Expected<Schedule> Schedule::parse_crontab(std::string_view expression, const Zone& zone) {
  if (expression.size() > kMaxExpression) {
    return invalid_cron_expression("longer than " + std::to_string(kMaxExpression) + " characters");
  }
  const auto fields = words(expression);
  if (fields.size() != 5) {
    return invalid_cron_expression(
        "expected 5 fields (minute hour day-of-month month day-of-week), got " +
        std::to_string(fields.size()));
  }
  Schedule s;
  s.zone_ = zone;
  s.seconds_.set(0);
  static const FieldSpec kMinute{"minute", 0, 59};
  static const FieldSpec kHour{"hour", 0, 23};
  static const FieldSpec kDay{"day-of-month", 1, 31};
  static const FieldSpec kMonth{"month", 1, 12, &kMonthNames, nullptr, 1};
  static const FieldSpec kWeekday{"day-of-week", 0, 7, nullptr, &kDayNames, 0};
  ValueSet weekdays;
  if (auto r = parse_fields({{&kMinute, fields[0], &s.minutes_},
                             {&kHour, fields[1], &s.hours_},
                             {&kDay, fields[2], &s.day_.days, &s.day_.any_day},
                             {&kMonth, fields[3], &s.months_},
                             {&kWeekday, fields[4], &weekdays, &s.day_.any_weekday}});
      !r) {
    return r.error();
  }
  s.day_.weekdays = weekdays & ValueSet(0x7F);
  if (weekdays.test(7)) {
    s.day_.weekdays.set(0);  // 7 is Sunday too
  }
  return s;
}

namespace {

// Quartz's day-of-month: `?`, `*`, `L`, `L-n`, `LW`, `nW`, or a list of plain items.
Status quartz_days(std::string_view text, ValueSet& days, bool& any, bool& last, int& last_offset,
                   bool& last_weekday, ValueSet& nearest) {
  static const FieldSpec kDay{"day-of-month", 1, 31};
  FieldParser p(kDay, text);
  if (text == "?" || text == "*") {
    any = true;
    return {};
  }
  any = false;
  for (const auto item : split(text, ',')) {
    if (item == "L") {
      last = true;
    } else if (item == "LW") {
      last_weekday = true;
    } else if (item.size() > 2 && item.substr(0, 2) == "L-") {
      auto n = p.value(item.substr(2));
      if (!n || *n > 30) {
        return p.error("L-n takes n from 1 to 30");
      }
      last = true;
      last_offset = *n;
    } else if (item.size() > 1 && item.back() == 'W') {
      auto n = p.value(item.substr(0, item.size() - 1));
      if (!n) {
        return n.error();
      }
      nearest.set(static_cast<std::size_t>(*n));
    } else if (auto s = p.add_item(item, days, 1); !s) {
      return s;
    }
  }
  return {};
}

// Quartz's day-of-week (1-7, Sunday 1): `?`, `*`, `nL`, `n#k`, or a list of plain items.
Status quartz_weekdays(std::string_view text, ValueSet& weekdays, bool& any, ValueSet& last,
                       std::array<ValueSet, 7>& nth) {
  static const FieldSpec kWeekday{"day-of-week", 1, 7, nullptr, &kDayNames, 1};
  FieldParser p(kWeekday, text);
  if (text == "?" || text == "*") {
    any = true;
    return {};
  }
  any = false;
  for (const auto item : split(text, ',')) {
    if (const auto hash = item.find('#'); hash != std::string_view::npos) {
      auto wd = p.value(item.substr(0, hash));
      if (!wd) {
        return wd.error();
      }
      const std::string_view k_text = item.substr(hash + 1);
      if (k_text.size() != 1 || k_text[0] < '1' || k_text[0] > '5') {
        return p.error("n#k takes k from 1 to 5");
      }
      nth[static_cast<std::size_t>(*wd - 1)].set(static_cast<std::size_t>(k_text[0] - '0'));
    } else if (item.size() > 1 && item.back() == 'L') {
      auto wd = p.value(item.substr(0, item.size() - 1));
      if (!wd) {
        return wd.error();
      }
      last.set(static_cast<std::size_t>(*wd - 1));
    } else if (auto s = p.add_item(item, weekdays, 0); !s) {  // 1 (Sunday) at bit 0
      return s;
    }
  }
  return {};
}

bool looks_like_year(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '*' || c == '?' || c == ',' || c == '-' || c == '/';
  });
}

}  // namespace

Expected<Schedule> Schedule::parse_quartz(std::string_view expression, const Zone& default_zone) {
  if (expression.size() > kMaxExpression) {
    return invalid_cron_expression("longer than " + std::to_string(kMaxExpression) + " characters");
  }
  auto fields = words(expression);
  if (fields.size() < 6 || fields.size() > 8) {
    return invalid_cron_expression(
        "expected 6 to 8 fields (seconds minutes hours day-of-month month day-of-week [year] "
        "[time zone]), got " +
        std::to_string(fields.size()));
  }
  Schedule s;
  s.zone_ = default_zone;
  std::optional<std::string_view> year_text;
  if (fields.size() == 8) {
    year_text = fields[6];
    auto z = Zone::find(fields[7]);
    if (!z) {
      return z.error();
    }
    s.zone_ = *z;
  } else if (fields.size() == 7) {
    if (looks_like_year(fields[6])) {
      year_text = fields[6];
    } else {
      auto z = Zone::find(fields[6]);
      if (!z) {
        return z.error();
      }
      s.zone_ = *z;
    }
  }
  static const FieldSpec kSecond{"seconds", 0, 59};
  static const FieldSpec kMinute{"minutes", 0, 59};
  static const FieldSpec kHour{"hours", 0, 23};
  static const FieldSpec kMonth{"month", 1, 12, &kMonthNames, nullptr, 1};
  static const FieldSpec kYear{"year", kFirstYear, kLastYear};
  if (auto r = parse_fields({{&kSecond, fields[0], &s.seconds_},
                             {&kMinute, fields[1], &s.minutes_},
                             {&kHour, fields[2], &s.hours_}});
      !r) {
    return r.error();
  }
  DayRules& d = s.day_;
  if (auto r = quartz_days(fields[3], d.days, d.any_day, d.last_day, d.last_day_offset,
                           d.last_weekday, d.nearest_weekday);
      !r) {
    return r.error();
  }
  if (auto r = parse_fields({{&kMonth, fields[4], &s.months_}}); !r) {
    return r.error();
  }
  if (auto r = quartz_weekdays(fields[5], d.weekdays, d.any_weekday, d.last_of_month, d.nth); !r) {
    return r.error();
  }
  if (year_text) {
    auto any = plain_field(kYear, *year_text, s.years_, true);
    if (!any) {
      return any.error();
    }
    s.any_year_ = *any;
  }
  return s;
}

bool Schedule::day_matches(int year, unsigned month, unsigned day) const {
  const DayRules& r = day_;
  if (r.any_day && r.any_weekday) {
    return true;
  }
  const unsigned last = last_day_of(year, month);
  bool by_day = false;
  if (!r.any_day) {
    by_day = r.days.test(day) ||
             (r.last_day && static_cast<int>(day) == static_cast<int>(last) - r.last_day_offset) ||
             (r.last_weekday && day == nearest_weekday(year, month, last));
    for (unsigned n = 1; !by_day && n <= last; ++n) {
      by_day = r.nearest_weekday.test(n) && nearest_weekday(year, month, n) == day;
    }
  }
  bool by_weekday = false;
  if (!r.any_weekday) {
    const unsigned wd = weekday_of(year, month, day);
    by_weekday = r.weekdays.test(wd) || (r.last_of_month.test(wd) && day + 7 > last) ||
                 r.nth[wd].test((day - 1) / 7 + 1);
  }
  if (r.any_day) {
    return by_weekday;
  }
  if (r.any_weekday) {
    return by_day;
  }
  return by_day || by_weekday;  // both restricted: either fires, as cron does
}

std::optional<SysSeconds> Schedule::next_after(SysSeconds t) const {
  using date::days;
  LocalSeconds local(zone_.to_local(t) + seconds(1));
  const int limit_year =
      static_cast<int>(date::year_month_day(date::floor<days>(local)).year()) + kSearchYears;
  for (;;) {
    const auto day_start = date::floor<days>(local);
    const date::year_month_day ymd(day_start);
    const int year = static_cast<int>(ymd.year());
    const auto month = static_cast<unsigned>(ymd.month());
    const auto day = static_cast<unsigned>(ymd.day());
    if (year > limit_year || (!any_year_ && year > kLastYear)) {
      return std::nullopt;
    }
    if (!any_year_ &&
        (year < kFirstYear || !years_.test(static_cast<std::size_t>(year - kFirstYear)))) {
      local = LocalSeconds(date::local_days(date::year(year + 1) / 1 / 1));
      continue;
    }
    if (!months_.test(month)) {
      const int next = next_in(months_, static_cast<int>(month) + 1, 12);
      local = next > 0
                  ? LocalSeconds(date::local_days(
                        date::year(year) / date::month(static_cast<unsigned>(next)) / date::day(1)))
                  : LocalSeconds(date::local_days(date::year(year + 1) / 1 / 1));
      continue;
    }
    const auto next_day = LocalSeconds(day_start + days(1));
    if (!day_matches(year, month, day)) {
      local = next_day;
      continue;
    }
    const auto time = local - LocalSeconds(day_start);
    const auto hms = date::hh_mm_ss<seconds>(time);
    const int hour = static_cast<int>(hms.hours().count());
    const int minute = static_cast<int>(hms.minutes().count());
    const int second = static_cast<int>(hms.seconds().count());
    const LocalSeconds midnight(day_start);
    if (!hours_.test(static_cast<std::size_t>(hour))) {
      const int h = next_in(hours_, hour + 1, 23);
      local = h < 0 ? next_day : midnight + std::chrono::hours(h);
      continue;
    }
    if (!minutes_.test(static_cast<std::size_t>(minute))) {
      const int m = next_in(minutes_, minute + 1, 59);
      local = m < 0 ? midnight + std::chrono::hours(hour + 1)
                    : midnight + std::chrono::hours(hour) + std::chrono::minutes(m);
      continue;
    }
    if (!seconds_.test(static_cast<std::size_t>(second))) {
      const int sec = next_in(seconds_, second + 1, 59);
      local = sec < 0 ? midnight + std::chrono::hours(hour) + std::chrono::minutes(minute + 1)
                      : midnight + std::chrono::hours(hour) + std::chrono::minutes(minute) +
                            seconds(sec);
      continue;
    }
    // A local time the schedule names. Its instant may lie at or before `t` when the clocks
    // went back (the repeated hour fired the first time) or jumped (the gap fired once at its
    // end): then the search goes on.
    const SysSeconds at = zone_.to_sys(local.time_since_epoch());
    if (at > t) {
      return at;
    }
    local += seconds(1);
  }
}

}  // namespace ferry::cron
