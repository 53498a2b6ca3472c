// The schedule parsers: TAT's crontab (invokers), Cloud Assistant's Quartz cron and Frequency
// (rate, at, cron; RunCommand's Period). Parts (fuzz_input.hpp): an expression, a zone name.
// Properties: the next firing after a time is strictly after it, and a rate's next run is
// strictly after the time asked.
#include "ferry/core/cron.hpp"
#include "ferry/server/domain/repeats.hpp"
#include "fuzz_input.hpp"

namespace {

// 2024-05-01T00:00:00Z
constexpr std::int64_t kNowS = 1'714'521'600;

void check_next(const ferry::cron::Schedule& schedule) {
  const ferry::cron::SysSeconds now{std::chrono::seconds(kNowS)};
  auto next = schedule.next_after(now);
  if (next) {
    FERRY_FUZZ_CHECK(*next > now);
    auto after = schedule.next_after(*next);
    FERRY_FUZZ_CHECK(!after || *after > *next);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ferry::fuzz::Parts parts(data, size);
  const auto expression = parts.next();
  const auto zone_name = parts.next();
  ferry::cron::Zone zone;
  if (!zone_name.empty()) {
    auto found = ferry::cron::Zone::find(zone_name);
    if (!found) {
      return 0;
    }
    zone = *found;
  }
  if (auto schedule = ferry::cron::Schedule::parse_crontab(expression, zone)) {
    check_next(*schedule);
  }
  if (auto schedule = ferry::cron::Schedule::parse_quartz(expression, zone)) {
    check_next(*schedule);
  }
  if (auto frequency = ferry::server::domain::parse_frequency(expression)) {
    const std::int64_t now_ms = kNowS * 1000;
    (void)ferry::server::domain::check_frequency(*frequency, 60, now_ms);
    const auto next = ferry::server::domain::next_run_after(*frequency, now_ms, now_ms);
    FERRY_FUZZ_CHECK(next == 0 || next > now_ms);
  }
  return 0;
}
