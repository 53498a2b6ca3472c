// Cloud Assistant repeat modes through the domain: Frequency forms and rules, and (below) the
// runs that the scheduler and the heartbeats make, on a fake clock: no test sleeps.
#include "ferry/server/domain/repeats.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/time.hpp"
#include "ferry/server/domain/invocations.hpp"
#include "ferry/server/scheduler/scheduler.hpp"
#include "server_fixture.hpp"

using namespace ferry;
using namespace ferry::server;
using domain::Frequency;

namespace {

constexpr int64_t kSecond = 1'000;
constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kRepeatNow = ferry::test::kStartMs;  // 2024-05-01T00:00:00Z

int64_t utc_ms(const std::string& rfc3339) {
  auto t = parse_rfc3339_ms(rfc3339);
  REQUIRE(t);
  return *t;
}

std::string status_code(const Status& s) {
  return s ? std::string("ok") : s.error().code;
}

// The code check_repeat gives a Period Frequency with a 60 s timeout at kRepeatNow.
std::string period_code(const std::string& frequency, int64_t timeout_s = 60) {
  return status_code(
      domain::check_repeat({domain::RepeatMode::kPeriod, frequency}, timeout_s, kRepeatNow));
}

class WatcherCount final : public ScheduleWatcher {
 public:
  void schedules_changed() override { ++count; }
  int count = 0;
};

struct RepeatFixture : ferry::test::ServerFixture {
  RepeatFixture() {
    add_instance({.id = "rins-repeat1"});
    add_instance({.id = "rins-repeat2"});
  }

  // RunCommand of "echo {{who}}" (who=world) on both instances, repeating as `repeat` says.
  std::string run(domain::RepeatSpec repeat, int64_t timeout = 5) {
    domain::RunRequest r;
    r.command.content = base64_encode("echo {{who}}");
    r.command.enable_parameter = true;
    r.command.timeout = timeout;
    r.parameters = R"({"who":"world"})";
    r.instance_ids = {"rins-repeat1", "rins-repeat2"};
    r.repeat = std::move(repeat);
    auto made = domain::run_command(rctx, r);
    if (!made) {
      FAIL(made.error().code << ": " << made.error().message);
    }
    return made->invocation_id;
  }

  Invocation invocation(const std::string& id) {
    auto got = store->get_invocation(id);
    REQUIRE(got);
    REQUIRE(*got);
    return **got;
  }

  std::vector<InvocationTask> runs(const std::string& id, bool latest_only = false) {
    TaskQuery q;
    q.invocation_ids = {id};
    q.latest_run_only = latest_only;
    q.limit = 100;
    auto page = store->list_tasks(q);
    REQUIRE(page);
    return page->items;
  }

  Scheduler::Pass pass() {
    auto p = Scheduler::run_due(rctx);
    if (!p) {
      FAIL(p.error().code << ": " << p.error().message);
    }
    return *p;
  }

  WatcherCount watcher;
  ServerContext rctx{*store, clock, settings, notifier, presence, watcher};
};

}  // namespace

TEST_CASE("repeat modes parse in any case and print as Cloud Assistant spells them") {
  CHECK(domain::parse_repeat_mode("Once") == domain::RepeatMode::kOnce);
  CHECK(domain::parse_repeat_mode("period") == domain::RepeatMode::kPeriod);
  CHECK(domain::parse_repeat_mode("NEXTREBOOTONLY") == domain::RepeatMode::kNextRebootOnly);
  CHECK(domain::parse_repeat_mode("EveryReboot") == domain::RepeatMode::kEveryReboot);
  CHECK_FALSE(domain::parse_repeat_mode("Hourly"));
  CHECK(domain::to_string(domain::RepeatMode::kNextRebootOnly) == "NextRebootOnly");
}

TEST_CASE("rate(): each unit, the 60 s to 7 days range and the timeout rule") {
  auto f = domain::parse_frequency("rate(5m)");
  REQUIRE(f);
  CHECK(f->kind == Frequency::Kind::kRate);
  CHECK(f->period_ms == 5 * kMinuteMs);
  CHECK(domain::parse_frequency("rate(90s)")->period_ms == 90 * kSecond);
  CHECK(domain::parse_frequency("rate(2h)")->period_ms == 7'200'000);
  CHECK(domain::parse_frequency("rate(7d)")->period_ms == 7 * 86'400'000LL);

  CHECK(period_code("rate(60s)") == "InvalidParam.Frequency");  // not longer than Timeout 60
  CHECK(period_code("rate(60s)", 59) == "ok");
  CHECK(period_code("rate(59s)", 10) == "InvalidParam.Frequency");
  CHECK(period_code("rate(7d)") == "ok");
  CHECK(period_code("rate(8d)") == "InvalidParam.Frequency");
  CHECK(period_code("rate(169h)") == "InvalidParam.Frequency");
  CHECK(period_code("rate(5m)", 300) == "InvalidParam.Frequency");
  CHECK(period_code("rate(5m)", 299) == "ok");
  for (const char* bad :
       {"rate()", "rate(5)", "rate(m)", "rate(5w)", "rate(-5m)", "rate(5 m", "rate(1234567890s)"}) {
    INFO(bad);
    CHECK(period_code(bad) == "InvalidParam.Frequency");
  }
}

TEST_CASE("at(): UTC by default, IANA and GMT zones, to the second; the past is refused") {
  auto f = domain::parse_frequency("at(2024-05-01 10:15:30)");
  REQUIRE(f);
  CHECK(f->kind == Frequency::Kind::kAt);
  CHECK(f->at_ms == utc_ms("2024-05-01T10:15:30Z"));
  CHECK(domain::parse_frequency("at(2024-06-06 13:15:30 Asia/Shanghai)")->at_ms ==
        utc_ms("2024-06-06T05:15:30Z"));
  CHECK(domain::parse_frequency("at(2024-06-06 13:15:30 GMT-7:00)")->at_ms ==
        utc_ms("2024-06-06T20:15:30Z"));
  CHECK(domain::parse_frequency("at(2024-06-06 13:15:30 UTC)")->at_ms ==
        utc_ms("2024-06-06T13:15:30Z"));

  CHECK(period_code("at(2024-05-01 00:00:01)") == "ok");
  CHECK(period_code("at(2024-05-01 00:00:00)") == "InvalidParam.Frequency");  // now: passed
  CHECK(period_code("at(2023-12-31 23:00:00)") == "InvalidParam.Frequency");
  for (const char* bad : {"at(2024-02-30 10:00:00)", "at(2024-05-01 24:00:00)",
                          "at(2024-05-01T10:00:00)", "at(2024-5-1 10:00:00)",
                          "at(2024-05-01 10:00:00 Mars/Base)", "at(2024-05-01 10:00)", "at()"}) {
    INFO(bad);
    CHECK(period_code(bad) == "InvalidParam.Frequency");
  }
}

TEST_CASE("cron: Quartz with seconds, year and zone; 10 s and Timeout apart; firings left") {
  auto f = domain::parse_frequency("0 */20 * * * ?");
  REQUIRE(f);
  CHECK(f->kind == Frequency::Kind::kCron);
  CHECK(period_code("0 */20 * * * ?") == "ok");
  CHECK(period_code("0 15 10 ? * * 2030 Asia/Shanghai") == "ok");
  CHECK(period_code("0 0/30 10-11 * * ? 2030 GMT+8:00") == "ok");
  CHECK(period_code("*/10 * * * * ?", 10) == "ok");
  CHECK(period_code("*/5 * * * * ?", 1) == "InvalidParam.Frequency");    // 5 s apart
  CHECK(period_code("*/10 * * * * ?", 11) == "InvalidParam.Frequency");  // < Timeout
  CHECK(period_code("0,5 0 * * * ?", 1) == "InvalidParam.Frequency");    // once an hour
  CHECK(period_code("0 0 0 1 1 ? 2020") == "InvalidParam.Frequency");    // none left
  CHECK(period_code("0 0 0 30 2 ?") == "InvalidParam.Frequency");        // never
  CHECK(period_code("0 61 * * * ?") == "InvalidParam.Frequency");        // syntax
  CHECK(period_code("0 0 * * * ? 2030 Nowhere/City") == "InvalidParam.Frequency");
}

TEST_CASE("resolve_repeat: Frequency makes Period; the ACS codes of each bad input") {
  auto once = domain::resolve_repeat(std::nullopt, std::nullopt, 60, kRepeatNow);
  REQUIRE(once);
  CHECK(once->mode == domain::RepeatMode::kOnce);
  auto forced =
      domain::resolve_repeat(std::string("EveryReboot"), std::string("rate(5m)"), 60, kRepeatNow);
  REQUIRE(forced);
  CHECK(forced->mode == domain::RepeatMode::kPeriod);
  CHECK(forced->frequency == "rate(5m)");
  auto reboot = domain::resolve_repeat(std::string("nextrebootonly"), std::nullopt, 60, kRepeatNow);
  REQUIRE(reboot);
  CHECK(reboot->mode == domain::RepeatMode::kNextRebootOnly);

  const auto code = [](std::optional<std::string> mode, std::optional<std::string> frequency) {
    auto r = domain::resolve_repeat(mode, frequency, 60, kRepeatNow);
    return r ? std::string("ok") : r.error().code;
  };
  CHECK(code(std::string("Period"), std::nullopt) == codes::acs::kMissingFrequency);
  CHECK(code(std::string("Period"), std::string("")) == codes::acs::kMissingFrequency);
  CHECK(code(std::string("Weekly"), std::nullopt) == codes::acs::kInvalidRepeatMode);
  CHECK(code(std::string("Period"), std::string("rate(1m")) == codes::acs::kInvalidFrequency);
  CHECK(code(std::nullopt, std::string("at(2020-01-01 00:00:00)")) ==
        codes::acs::kInvalidFrequency);
  // A spec built by hand: only Period takes a Frequency.
  CHECK(status_code(domain::check_repeat({domain::RepeatMode::kOnce, "rate(5m)"}, 60,
                                         kRepeatNow)) == codes::acs::kInvalidFrequency);
}

TEST_CASE("next_run_after: rate anchored at its anchor, at() once, cron to the second") {
  auto rate = domain::parse_frequency("rate(5m)");
  REQUIRE(rate);
  const int64_t created = kRepeatNow + 1'234;
  CHECK(domain::next_run_after(*rate, created, created) == created + 5 * kMinuteMs);
  // Anchored at creation, not at when the last run ended: from any time, the next multiple.
  CHECK(domain::next_run_after(*rate, created, created + 5 * kMinuteMs) ==
        created + 10 * kMinuteMs);
  CHECK(domain::next_run_after(*rate, created, created + 27 * kMinuteMs) ==
        created + 30 * kMinuteMs);

  auto at = domain::parse_frequency("at(2024-05-01 10:00:00)");
  REQUIRE(at);
  CHECK(domain::next_run_after(*at, kRepeatNow, kRepeatNow) == utc_ms("2024-05-01T10:00:00Z"));
  CHECK(domain::next_run_after(*at, kRepeatNow, utc_ms("2024-05-01T10:00:00Z")) == 0);

  auto cron = domain::parse_frequency("*/10 * * * * ?");
  REQUIRE(cron);
  CHECK(domain::next_run_after(*cron, kRepeatNow, kRepeatNow) == kRepeatNow + 10 * kSecond);
  CHECK(domain::next_run_after(*cron, kRepeatNow, kRepeatNow + 10 * kSecond + 999) ==
        kRepeatNow + 20 * kSecond);
  auto ended = domain::parse_frequency("0 0 0 1 1 ? 2020");
  REQUIRE(ended);
  CHECK(domain::next_run_after(*ended, kRepeatNow, kRepeatNow) == 0);
}

TEST_CASE_METHOD(RepeatFixture,
                 "rate(): no task at creation, a run per instance every period "
                 "anchored at creation, missed periods fired once",
                 "[domain][repeats]") {
  const int64_t created = clock.now_ms();
  const std::string id = run({domain::RepeatMode::kPeriod, "rate(5m)"});
  CHECK(watcher.count == 1);
  Invocation inv = invocation(id);
  CHECK(inv.repeat_mode == "Period");
  CHECK(inv.frequency == "rate(5m)");
  CHECK(inv.schedule_state == schedule_states::kScheduled);
  CHECK(inv.next_slot_ms == created + 5 * kMinuteMs);
  CHECK(inv.targets.size() == 2);
  CHECK(runs(id).empty());
  CHECK(pass().next_slot_ms == created + 5 * kMinuteMs);

  clock.set_ms(created + 5 * kMinuteMs - 1);
  CHECK(pass().fired == 0);
  clock.set_ms(created + 5 * kMinuteMs + 400);  // a run that starts late...
  CHECK(pass().fired == 1);
  auto first = runs(id);
  REQUIRE(first.size() == 2);
  for (const auto& t : first) {
    CHECK(t.run_number == 1);
    CHECK(t.slot_ms == created + 5 * kMinuteMs);
    CHECK(t.parameters == R"({"who":"world"})");
  }
  CHECK(notifier.kicks().size() == 2);
  // ...does not move the next one: anchored at creation.
  CHECK(invocation(id).next_slot_ms == created + 10 * kMinuteMs);
  CHECK(pass().fired == 0);

  // Down from minute 6 to minute 27: the slots of minutes 10 to 25 fire once, then 30.
  clock.set_ms(created + 27 * kMinuteMs);
  const auto late = pass();
  CHECK(late.fired == 1);
  CHECK(late.next_slot_ms == created + 30 * kMinuteMs);
  CHECK(runs(id).size() == 4);
  const auto latest = runs(id, true);
  REQUIRE(latest.size() == 2);
  CHECK(latest[0].run_number == 2);
  CHECK(latest[0].slot_ms == created + 10 * kMinuteMs);
  inv = invocation(id);
  CHECK(inv.targets[0].repeats == 2);
  CHECK(inv.schedule_state == schedule_states::kScheduled);  // a rate never ends by itself
}

TEST_CASE_METHOD(RepeatFixture, "at(): one run at the instant, to the second, then Finished",
                 "[domain][repeats]") {
  // 08:00:10 in Shanghai is 00:00:10 UTC: ten seconds after the fixture's now.
  const std::string id =
      run({domain::RepeatMode::kPeriod, "at(2024-05-01 08:00:10 Asia/Shanghai)"});
  CHECK(invocation(id).next_slot_ms == kRepeatNow + 10 * kSecond);
  clock.set_ms(kRepeatNow + 10 * kSecond - 1);
  CHECK(pass().fired == 0);
  clock.set_ms(kRepeatNow + 10 * kSecond);
  const auto fired = pass();
  CHECK(fired.fired == 1);
  CHECK_FALSE(fired.next_slot_ms);
  CHECK(runs(id).size() == 2);
  const Invocation inv = invocation(id);
  CHECK(inv.schedule_state == schedule_states::kFinished);
  CHECK(inv.next_slot_ms == 0);
  clock.set_ms(kRepeatNow + 86'400'000);
  CHECK(pass().fired == 0);
  CHECK(runs(id).size() == 2);
}

TEST_CASE_METHOD(RepeatFixture, "cron: a seconds-level schedule runs twice, 10 s apart",
                 "[domain][repeats]") {
  const std::string id = run({domain::RepeatMode::kPeriod, "*/10 * * * * ?"}, 5);
  CHECK(invocation(id).next_slot_ms == kRepeatNow + 10 * kSecond);
  clock.set_ms(kRepeatNow + 10 * kSecond);
  CHECK(pass().fired == 1);
  CHECK(pass().fired == 0);  // the same slot never twice
  clock.set_ms(kRepeatNow + 20 * kSecond + 3);
  const auto second = pass();
  CHECK(second.fired == 1);
  CHECK(second.next_slot_ms == kRepeatNow + 30 * kSecond);
  const auto latest = runs(id, true);
  REQUIRE(latest.size() == 2);
  CHECK(latest[0].run_number == 2);
  CHECK(latest[0].slot_ms == kRepeatNow + 20 * kSecond);
  CHECK(runs(id).size() == 4);
}

TEST_CASE_METHOD(RepeatFixture, "a repeat RunCommand with a bad Frequency makes nothing",
                 "[domain][repeats]") {
  const auto code = [&](domain::RepeatSpec repeat) {
    domain::RunRequest r;
    r.command.content = base64_encode("echo hi");
    r.command.timeout = 60;
    r.instance_ids = {"rins-repeat1"};
    r.repeat = std::move(repeat);
    auto made = domain::run_command(rctx, r);
    return made ? std::string("ok") : made.error().code;
  };
  CHECK(code({domain::RepeatMode::kPeriod, ""}) == codes::acs::kMissingFrequency);
  CHECK(code({domain::RepeatMode::kPeriod, "rate(1m)"}) == codes::acs::kInvalidFrequency);
  CHECK(code({domain::RepeatMode::kPeriod, "at(2024-04-30 23:59:59)"}) ==
        codes::acs::kInvalidFrequency);
  CHECK(code({domain::RepeatMode::kPeriod, "*/20 * * * * ?"}) == codes::acs::kInvalidFrequency);
  InvocationQuery q;
  CHECK(store->list_invocations(q)->total == 0);
  CHECK(code({domain::RepeatMode::kEveryReboot, ""}) == "ok");
  CHECK(store->list_invocations(q)->total == 1);
}

TEST_CASE_METHOD(RepeatFixture,
                 "reboots: NextRebootOnly runs once per instance, EveryReboot at "
                 "every boot, the first report and a repeated boot id never",
                 "[domain][repeats]") {
  const std::string next_only = run({domain::RepeatMode::kNextRebootOnly, ""});
  const std::string every = run({domain::RepeatMode::kEveryReboot, ""});
  CHECK(watcher.count == 0);  // nothing for the scheduler
  CHECK(invocation(every).next_slot_ms == 0);
  CHECK(invocation(every).schedule_state == schedule_states::kScheduled);

  // The instance as the gateway reads it before each report.
  const auto report = [&](const std::string& instance_id, const std::string& boot_id) {
    auto inst = store->get_instance(instance_id);
    REQUIRE(inst);
    REQUIRE(*inst);
    auto made = domain::record_agent_boot(rctx, **inst, boot_id);
    if (!made) {
      FAIL(made.error().code << ": " << made.error().message);
    }
    return made->size();
  };
  CHECK(report("rins-repeat1", "boot-a") == 0);  // first report ever
  CHECK(report("rins-repeat1", "boot-a") == 0);
  CHECK(report("rins-repeat1", "") == 0);
  CHECK(report("rins-repeat1", "boot-b") == 2);  // a boot: one run of each
  CHECK(report("rins-repeat1", "boot-b") == 0);  // the same boot again
  CHECK(notifier.kicks().size() == 2);
  CHECK(report("rins-repeat1", "boot-c") == 1);  // EveryReboot only
  CHECK(runs(next_only).size() == 1);
  const auto every_runs = runs(every, true);
  REQUIRE(every_runs.size() == 1);
  CHECK(every_runs[0].run_number == 2);
  CHECK(runs(every).size() == 2);
  CHECK(invocation(next_only).schedule_state == schedule_states::kScheduled);

  // The other instance: its first boot after its first report; then NextRebootOnly is done.
  CHECK(report("rins-repeat2", "x-1") == 0);
  CHECK(report("rins-repeat2", "x-2") == 2);
  CHECK(invocation(next_only).schedule_state == schedule_states::kFinished);
  CHECK(invocation(next_only).targets ==
        std::vector<InvocationTarget>{{"rins-repeat1", 1, false}, {"rins-repeat2", 1, false}});
  CHECK(report("rins-repeat2", "x-3") == 1);
}

TEST_CASE_METHOD(RepeatFixture,
                 "stop_invocation ends the schedule and cancels live runs; "
                 "stopping what has ended is refused",
                 "[domain][repeats]") {
  const int64_t created = clock.now_ms();
  const std::string id = run({domain::RepeatMode::kPeriod, "rate(5m)"});
  CHECK(domain::acs_invocation_status(invocation(id), runs(id, true)).status == "Scheduled");
  clock.set_ms(created + 5 * kMinuteMs);
  REQUIRE(pass().fired == 1);
  auto view = domain::acs_invocation_status(invocation(id), runs(id, true));
  CHECK(view.status == "Pending");
  REQUIRE(view.instances.size() == 2);
  CHECK(view.instances[0].repeats == 1);
  REQUIRE(view.instances[0].latest != nullptr);

  // One instance drops out: its pending run is cancelled, the other goes on.
  const int before = watcher.count;
  REQUIRE(domain::stop_invocation(rctx, id, {"rins-repeat1"}));
  CHECK(watcher.count == before + 1);
  Invocation inv = invocation(id);
  CHECK(inv.schedule_state == schedule_states::kScheduled);
  CHECK(inv.targets[0].stopped);
  CHECK_FALSE(inv.targets[1].stopped);
  for (const auto& t : runs(id)) {  // never delivered: cancelled at once, nobody to tell
    CHECK(t.status ==
          (t.instance_id == "rins-repeat1" ? TaskStatus::kCancelled : TaskStatus::kPending));
  }
  CHECK(status_code(domain::stop_invocation(rctx, id, {"rins-repeat1"})) ==
        codes::acs::kOperationForbidden);
  clock.set_ms(created + 10 * kMinuteMs);
  REQUIRE(pass().fired == 1);
  CHECK(runs(id).size() == 3);  // rins-repeat1 got no second run

  // The whole invocation: no more slots, the live run cancelled; then nothing left to stop.
  REQUIRE(domain::stop_invocation(rctx, id));
  inv = invocation(id);
  CHECK(inv.schedule_state == schedule_states::kStopped);
  CHECK(inv.next_slot_ms == 0);
  CHECK(domain::acs_invocation_status(inv, runs(id, true)).status == "Stopped");
  clock.set_ms(created + 15 * kMinuteMs);
  CHECK(pass().fired == 0);
  CHECK(status_code(domain::stop_invocation(rctx, id)) == codes::acs::kOperationForbidden);
  CHECK(status_code(domain::stop_invocation(rctx, id, {"rins-other99"})) ==
        codes::kInvalidInstanceId);
  CHECK(status_code(domain::stop_invocation(rctx, "inv-00000000")) ==
        "ResourceNotFound.InvocationNotFound");
  CHECK(status_code(domain::stop_invocation(rctx, "bogus")) ==
        "InvalidParameterValue.InvalidInvocationId");
}

TEST_CASE_METHOD(RepeatFixture,
                 "modify_invocation_schedule re-anchors the Frequency and "
                 "changes what later runs run",
                 "[domain][repeats]") {
  const int64_t created = clock.now_ms();
  const std::string id = run({domain::RepeatMode::kPeriod, "rate(5m)"});
  clock.set_ms(created + 2 * kMinuteMs);
  domain::ScheduleChanges to_ten;
  to_ten.frequency = "rate(10m)";
  const int before = watcher.count;
  REQUIRE(domain::modify_invocation_schedule(rctx, id, to_ten));
  CHECK(watcher.count == before + 1);
  CHECK(invocation(id).next_slot_ms == created + 12 * kMinuteMs);  // anchored at the change

  domain::ScheduleChanges content;
  content.content = base64_encode("echo {{who}} again");
  content.parameters = R"({"who":"moon"})";
  REQUIRE(domain::modify_invocation_schedule(rctx, id, content));
  clock.set_ms(created + 12 * kMinuteMs);
  REQUIRE(pass().fired == 1);
  const auto fired = runs(id);
  REQUIRE(fired.size() == 2);
  CHECK(fired[0].document.content == base64_encode("echo {{who}} again"));
  CHECK(fired[0].parameters == R"({"who":"moon"})");

  const auto code = [&](domain::ScheduleChanges c) {
    return status_code(domain::modify_invocation_schedule(rctx, id, c));
  };
  domain::ScheduleChanges bad;
  bad.frequency = "rate(30s)";
  CHECK(code(bad) == codes::acs::kInvalidFrequency);
  bad = {};
  bad.content = base64_encode("echo {{where}}");  // a name with no value
  CHECK(code(bad) == codes::kLackOfParameterInfo);
  bad = {};
  bad.content = "***";
  CHECK(code(bad) == codes::kCommandContentInvalid);
  CHECK(invocation(id).frequency == "rate(10m)");

  const std::string reboot = run({domain::RepeatMode::kEveryReboot, ""});
  domain::ScheduleChanges freq;
  freq.frequency = "rate(5m)";
  CHECK(status_code(domain::modify_invocation_schedule(rctx, reboot, freq)) ==
        codes::acs::kOperationForbidden);
  REQUIRE(domain::stop_invocation(rctx, id));
  CHECK(code(to_ten) == codes::acs::kOperationForbidden);
}

TEST_CASE("acs_invocation_status: per instance and whole, in the documented order",
          "[domain][repeats]") {
  Invocation once;
  once.repeat_mode = "Once";
  const auto task = [](const std::string& instance, TaskStatus status) {
    InvocationTask t;
    t.instance_id = instance;
    t.status = status;
    return t;
  };
  const auto whole = [&](const Invocation& inv, std::vector<InvocationTask> tasks) {
    return std::string(domain::acs_invocation_status(inv, tasks).status);
  };
  CHECK(whole(once, {task("a", TaskStatus::kSuccess), task("b", TaskStatus::kSuccess)}) ==
        "Success");
  CHECK(whole(once, {task("a", TaskStatus::kSuccess), task("b", TaskStatus::kTimeout)}) ==
        "PartialFailed");
  CHECK(whole(once, {task("a", TaskStatus::kFailed), task("b", TaskStatus::kStartFailed)}) ==
        "Failed");
  CHECK(whole(once, {task("a", TaskStatus::kRunning), task("b", TaskStatus::kDeliverDelayed)}) ==
        "Running");
  CHECK(whole(once, {task("a", TaskStatus::kCancelling), task("b", TaskStatus::kRunning)}) ==
        "Stopping");
  CHECK(whole(once, {task("a", TaskStatus::kSuccess), task("b", TaskStatus::kTerminated)}) ==
        "Stopped");
  const auto mixed = domain::acs_invocation_status(
      once, {task("a", TaskStatus::kDeliverFailed), task("b", TaskStatus::kTaskTimeout)});
  CHECK(mixed.instances[0].status == "Aborted");
  CHECK(mixed.instances[1].status == "Timeout");

  Invocation period;
  period.repeat_mode = "Period";
  period.schedule_state = schedule_states::kScheduled;
  period.targets = {{"a", 1, false}, {"b", 0, false}};
  const auto scheduled = domain::acs_invocation_status(period, {task("a", TaskStatus::kFailed)});
  CHECK(scheduled.status == "Scheduled");
  CHECK(scheduled.instances[0].status == "Scheduled");
  CHECK(scheduled.instances[1].latest == nullptr);
  period.schedule_state = schedule_states::kFinished;
  CHECK(whole(period, {task("a", TaskStatus::kSuccess), task("b", TaskStatus::kSuccess)}) ==
        "Success");
  CHECK(domain::legacy_invoke_status("Scheduled") == "Running");
  CHECK(domain::legacy_invoke_status("PartialFailed") == "Failed");
  CHECK(domain::legacy_invoke_status("Success") == "Finished");
  CHECK(domain::legacy_invoke_status("Stopped") == "Stopped");
}
