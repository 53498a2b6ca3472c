// The time zones of cron schedules: IANA names through date/tz (the system's tz database), UTC
// and GMT offsets.
#include <date/tz.h>

#include <algorithm>
#include <charconv>
#include <exception>

#include "cron_error.hpp"
#include "ferry/core/cron.hpp"
#include "message_text.hpp"

namespace ferry::cron {
namespace {

using std::chrono::seconds;
using LocalSeconds = date::local_seconds;

bool is_zone_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '+' || c == '/';
}

// "GMT+8:00", "GMT-7", "GMT+5:30": the offset, or none when `s` is not of that form.
std::optional<Expected<seconds>> gmt_offset(std::string_view s) {
  if (s.size() < 5 || s.substr(0, 3) != "GMT" || (s[3] != '+' && s[3] != '-')) {
    return std::nullopt;
  }
  const bool negative = s[3] == '-';
  std::string_view rest = s.substr(4);
  const auto bad = [&s](std::string_view why) -> Expected<seconds> {
    return invalid_cron_expression("time zone " + detail::quote_for_message(s) + ": " +
                                   std::string(why));
  };
  std::string_view hours_text = rest;
  std::string_view minutes_text;
  if (const auto colon = rest.find(':'); colon != std::string_view::npos) {
    hours_text = rest.substr(0, colon);
    minutes_text = rest.substr(colon + 1);
    if (minutes_text.size() != 2) {
      return bad("the minutes are not two digits");
    }
  }
  if (hours_text.empty() || hours_text.size() > 2 ||
      (hours_text.size() == 2 && hours_text[0] == '0')) {
    return bad("the hour is not 0-14 without a leading zero");
  }
  int hours = 0;
  int minutes = 0;
  const auto h = std::from_chars(hours_text.data(), hours_text.data() + hours_text.size(), hours);
  if (h.ec != std::errc() || h.ptr != hours_text.data() + hours_text.size()) {
    return bad("the hour is not a number");
  }
  if (!minutes_text.empty()) {
    const auto m =
        std::from_chars(minutes_text.data(), minutes_text.data() + minutes_text.size(), minutes);
    if (m.ec != std::errc() || m.ptr != minutes_text.data() + minutes_text.size() || minutes > 59) {
      return bad("the minutes are not 00-59");
    }
  }
  const int total = hours * 60 + minutes;
  if (negative ? total > 12 * 60 : total > 14 * 60) {
    return bad("the offset is outside -12:00 to +14:00");
  }
  return seconds((negative ? -total : total) * 60);
}

}  // namespace

Expected<Zone> Zone::find(std::string_view name) {
  Zone z;
  if (name == "UTC" || name == "GMT") {
    z.name_ = std::string(name);
    return z;
  }
  if (auto offset = gmt_offset(name)) {
    if (!*offset) {
      return offset->error();
    }
    z.offset_ = **offset;
    z.name_ = std::string(name);
    return z;
  }
  const bool plausible = !name.empty() && name.size() <= 64 && name.front() != '/' &&
                         name.find("..") == std::string_view::npos &&
                         std::all_of(name.begin(), name.end(), is_zone_char);
  if (plausible) {
    try {
      z.tz_ = date::locate_zone(name);
      z.name_ = std::string(name);
      return z;
    } catch (const std::exception&) {  // not in the tz database
    }
  }
  return invalid_cron_expression("unknown time zone " + detail::quote_for_message(name) +
                                 " (an IANA name such as Asia/Shanghai, UTC, or GMT+8:00)");
}

seconds Zone::to_local(SysSeconds t) const {
  if (tz_ == nullptr) {
    return t.time_since_epoch() + offset_;
  }
  return tz_->to_local(t).time_since_epoch();
}

SysSeconds Zone::to_sys(seconds local) const {
  if (tz_ == nullptr) {
    return SysSeconds(local - offset_);
  }
  const LocalSeconds l(local);
  const date::local_info info = tz_->get_info(l);
  switch (info.result) {
    case date::local_info::nonexistent:
      return date::floor<seconds>(info.second.begin);
    case date::local_info::ambiguous:
    case date::local_info::unique:
    default:
      return SysSeconds(local - info.first.offset);
  }
}

}  // namespace ferry::cron
