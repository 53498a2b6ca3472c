// Invokers through the domain and the scheduler's pass, on a fake clock: no test sleeps. Every
// error code of seed 002 that a bad input reaches is shown here by that input.
#include "ferry/server/domain/invokers.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/time.hpp"
#include "ferry/server/domain/commands.hpp"
#include "ferry/server/scheduler/scheduler.hpp"
#include "ferry/server/store/sqlite_store.hpp"
#include "ferry/server/store/store_errors.hpp"
#include "server_fixture.hpp"

using namespace ferry;
using namespace ferry::server;

namespace {

constexpr int64_t kMinute = 60'000;

// RFC 3339 of a time in ms.
std::string at(int64_t ms) {
  return ms_to_rfc3339(ms);
}

domain::ScheduleFields sched(std::string policy, std::optional<std::string> recurrence = {},
                             std::optional<std::string> invoke_time = {},
                             std::optional<std::string> start_time = {},
                             std::optional<std::string> end_time = {}) {
  domain::ScheduleFields s;
  s.policy = std::move(policy);
  s.recurrence = std::move(recurrence);
  s.invoke_time = std::move(invoke_time);
  s.start_time = std::move(start_time);
  s.end_time = std::move(end_time);
  return s;
}

class CountingWatcher final : public ScheduleWatcher {
 public:
  void schedules_changed() override { ++count; }
  int count = 0;
};

struct InvokerFixture : ferry::test::ServerFixture {
  InvokerFixture() {
    add_instance({.id = "rins-online01"});
    add_instance({.id = "rins-online02"});
    add_instance({.id = "rins-windows1", .system = "Windows"});
    add_instance({.id = "rins-neverup1", .online = false});
    add_instance({.id = "rins-offline1", .online = false});
    REQUIRE(store->record_heartbeat("rins-offline1", "1.0.0", "Linux", {}, clock.now_ms()));
    plain_command = command("plain", "echo plain", false);
    param_command = command("greet", "echo hello {{who}}", true);
  }

  std::string command(const std::string& name, const std::string& script, bool parameters) {
    domain::CommandFields f;
    f.command_name = name;
    f.content = base64_encode(script);
    f.enable_parameter = parameters;
    auto id = domain::create_command(ictx, f);
    REQUIRE(id);
    return *id;
  }

  // A valid CreateInvoker request: a ONCE invoker a minute ahead on the first instance.
  domain::InvokerFields once(int64_t in_ms = kMinute) {
    domain::InvokerFields f;
    f.name = "nightly";
    f.type = "SCHEDULE";
    f.command_id = plain_command;
    f.instance_ids = std::vector<std::string>{"rins-online01"};
    f.schedule = sched("ONCE", std::nullopt, at(clock.now_ms() + in_ms));
    return f;
  }
  domain::InvokerFields recurrence(const std::string& cron) {
    domain::InvokerFields f = once();
    f.schedule = sched("RECURRENCE", cron);
    return f;
  }

  std::string create(const domain::InvokerFields& f) {
    auto id = domain::create_invoker(ictx, f);
    if (!id) {
      FAIL(id.error().code << ": " << id.error().message);
    }
    return *id;
  }

  Invoker invoker(const std::string& id) {
    auto got = store->get_invoker(id);
    REQUIRE(got);
    REQUIRE(*got);
    return **got;
  }

  std::vector<InvokerRecord> records(const std::string& id) {
    InvokerRecordQuery q;
    q.invoker_ids = {id};
    q.limit = 100;
    auto page = domain::describe_invoker_records(ictx, q);
    REQUIRE(page);
    return page->items;
  }

  Scheduler::Pass pass() {
    auto p = Scheduler::run_due(ictx);
    if (!p) {
      FAIL(p.error().code << ": " << p.error().message);
    }
    return *p;
  }

  CountingWatcher watcher;
  // The fixture's context, told of schedule changes through `watcher`.
  ServerContext ictx{*store, clock, settings, notifier, presence, watcher};
  std::string plain_command;
  std::string param_command;
};

// "OK" or the error's code (domain_test.cpp's code_of requires an error).
std::string outcome(const Expected<std::string>& r) {
  return r ? std::string("OK") : r.error().code;
}
std::string outcome(const Status& s) {
  return s ? std::string("OK") : s.error().code;
}

}  // namespace

TEST_CASE_METHOD(InvokerFixture, "every bad input of CreateInvoker gets its seed's code",
                 "[domain][invokers]") {
  struct Case {
    const char* what;
    std::function<void(domain::InvokerFields&)> change;
    const char* code;
  };
  const std::vector<Case> cases = {
      {"a name of 121 characters", [](auto& f) { f.name = std::string(121, 'n'); },
       codes::kTooLong},
      {"an empty name", [](auto& f) { f.name = ""; }, codes::kInvalidParameterValue},
      {"a type other than SCHEDULE", [](auto& f) { f.type = "EVENT"; }, codes::kRange},
      {"a malformed command id", [](auto& f) { f.command_id = "cmd-X"; },
       "InvalidParameterValue.InvalidCommandId"},
      {"an unknown command", [](auto& f) { f.command_id = "cmd-00000000"; },
       codes::kCommandNotFound},
      {"a malformed instance id",
       [](auto& f) { f.instance_ids = std::vector<std::string>{"not an id"}; },
       codes::kInvalidInstanceId},
      {"101 instances",
       [](auto& f) {
         std::vector<std::string> ids;
         for (int i = 0; i < 101; ++i) {
           ids.push_back("rins-" + std::to_string(10000000 + i));
         }
         f.instance_ids = ids;
       },
       codes::kLimitExceeded},
      {"ids of two forms",
       [](auto& f) {
         f.instance_ids = std::vector<std::string>{"rins-online01", "ins-online02"};
       },
       "InvalidParameterValue.InconsistentID"},
      {"an unknown instance",
       [](auto& f) { f.instance_ids = std::vector<std::string>{"rins-missing1"}; },
       codes::kInstanceNotFound},
      {"Linux and Windows instances",
       [](auto& f) {
         f.instance_ids = std::vector<std::string>{"rins-online01", "rins-windows1"};
       },
       "InvalidParameterValue.InconsistentInstance"},
      {"an agent that never made contact",
       [](auto& f) { f.instance_ids = std::vector<std::string>{"rins-neverup1"}; },
       "ResourceUnavailable.AgentNotInstalled"},
      {"an agent that is offline",
       [](auto& f) { f.instance_ids = std::vector<std::string>{"rins-offline1"}; },
       "ResourceUnavailable.AgentStatusNotOnline"},
      {"a user name of 257 characters", [](auto& f) { f.username = std::string(257, 'u'); },
       codes::kTooLong},
      {"parameters for a command without EnableParameter",
       [](auto& f) { f.parameters = R"({"who":"x"})"; },
       "InvalidParameterValue.SupportParametersOnlyIfEnableParameter"},
      {"parameters that are not JSON",
       [this](auto& f) {
         f.command_id = param_command;
         f.parameters = "{who";
       },
       codes::kParameterInvalidJsonFormat},
      {"parameters that leave a name of the script without a value",
       [this](auto& f) {
         f.command_id = param_command;
         f.parameters = R"({"other":"x"})";
       },
       codes::kLackOfParameterInfo},
      {"11 tags",
       [](auto& f) {
         std::vector<Tag> tags;
         for (int i = 0; i < 11; ++i) {
           tags.push_back({"k" + std::to_string(i), "v"});
         }
         f.tags = tags;
       },
       codes::kLimitExceeded},
      {"no ScheduleSettings", [](auto& f) { f.schedule.reset(); }, codes::kMissingParameter},
      {"a policy other than ONCE and RECURRENCE", [](auto& f) { f.schedule->policy = "DAILY"; },
       codes::kRange},
      {"ONCE without InvokeTime", [](auto& f) { f.schedule->invoke_time.reset(); },
       codes::kMissingParameter},
      {"ONCE with a Recurrence", [](auto& f) { f.schedule->recurrence = "* * * * *"; },
       codes::kInvalidParameter},
      {"an InvokeTime without an offset",
       [](auto& f) { f.schedule->invoke_time = "2030-01-01 10:00:00"; }, codes::kInvalidTimeFormat},
      {"an InvokeTime that has passed",
       [this](auto& f) { f.schedule->invoke_time = at(clock.now_ms() - 1000); },
       codes::kInvokeTimeExpired},
      {"RECURRENCE without a crontab", [](auto& f) { f.schedule = sched("RECURRENCE"); },
       codes::kMissingParameter},
      {"a crontab of four fields", [](auto& f) { f.schedule = sched("RECURRENCE", "0 0 1 *"); },
       codes::kInvalidCronExpression},
      {"a crontab that never fires",
       [](auto& f) { f.schedule = sched("RECURRENCE", "0 0 30 2 *"); },
       codes::kInvalidCronExpression},
      {"an EndTime before the StartTime",
       [this](auto& f) {
         f.schedule = sched("RECURRENCE", "0 * * * *", std::nullopt,
                            at(clock.now_ms() + 20 * kMinute), at(clock.now_ms() + 10 * kMinute));
       },
       codes::kRange},
      {"an EndTime that has passed",
       [this](auto& f) {
         f.schedule = sched("RECURRENCE", "0 * * * *", std::nullopt, std::nullopt,
                            at(clock.now_ms() - 1000));
       },
       codes::kInvokeTimeExpired},
      {"a StartTime that is no time",
       [](auto& f) { f.schedule = sched("RECURRENCE", "0 * * * *", std::nullopt, "tomorrow"); },
       codes::kInvalidTimeFormat},
  };
  for (const auto& c : cases) {
    domain::InvokerFields f = once();
    c.change(f);
    INFO(c.what);
    CHECK(outcome(domain::create_invoker(ictx, f)) == c.code);
  }
  // None of them left an invoker behind.
  auto page = store->list_invokers({});
  REQUIRE(page);
  CHECK(page->total == 0);
}

TEST_CASE_METHOD(InvokerFixture,
                 "ScheduleSettings as DescribeInvokers shows them are accepted back",
                 "[domain][invokers]") {
  // A recurrence shows its next slot in InvokeTime; a ONCE invoker shows Recurrence "".
  domain::InvokerFields f = recurrence("0 * * * *");
  f.schedule->invoke_time = at(clock.now_ms() + 3600'000);
  const std::string id = create(f);
  CHECK(invoker(id).schedule.invoke_time_ms == 0);
  domain::InvokerFields back;
  back.schedule = sched("ONCE", "", at(clock.now_ms() + kMinute), "", "");
  REQUIRE(domain::modify_invoker(ictx, id, back));
  CHECK(invoker(id).schedule.policy == "ONCE");
  CHECK(invoker(id).next_slot_ms == clock.now_ms() + kMinute);
}

TEST_CASE_METHOD(InvokerFixture, "InvalidCronExpression names the field at fault",
                 "[domain][invokers]") {
  auto r = domain::create_invoker(ictx, recurrence("0 25 * * *"));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == codes::kInvalidCronExpression);
  CHECK(r.error().message.find("Recurrence") != std::string::npos);
  CHECK(r.error().message.find("hour") != std::string::npos);
}

TEST_CASE_METHOD(InvokerFixture, "the invoker actions on ids: malformed, unknown",
                 "[domain][invokers]") {
  CHECK(outcome(domain::set_invoker_enabled(ictx, "ivk-BAD", true)) == "InvalidParameterValue.ID");
  CHECK(outcome(domain::delete_invoker(ictx, "invoker")) == "InvalidParameterValue.ID");
  CHECK(outcome(domain::check_invoker_ids({"ivk-12345678", "ivk-1"})) ==
        "InvalidParameterValue.ID");
  // Unknown ids come back in the store's code, which the TAT envelope maps to
  // ResourceNotFound.InvokerNotFound.
  CHECK(outcome(domain::set_invoker_enabled(ictx, "ivk-00000000", false)) ==
        store_codes::kInvokerNotFound);
  CHECK(outcome(domain::delete_invoker(ictx, "ivk-00000000")) == store_codes::kInvokerNotFound);
  CHECK(outcome(domain::modify_invoker(ictx, "ivk-00000000", {})) == codes::kInvokerNotFound);
}

TEST_CASE_METHOD(InvokerFixture, "a ONCE invoker fires once at its time and disables itself",
                 "[domain][invokers][scheduler]") {
  const int64_t due = clock.now_ms() + kMinute;
  domain::InvokerFields f = once();
  f.instance_ids = std::vector<std::string>{"rins-online01", "rins-online02"};
  f.username = "backup";
  f.tags = std::vector<Tag>{{"team", "ops"}};
  const std::string id = create(f);
  CHECK(watcher.count == 1);
  CHECK(invoker(id).next_slot_ms == due);
  CHECK(invoker(id).enabled);

  // Not before its time.
  clock.advance_ms(kMinute - 1);
  auto early = pass();
  CHECK(early.fired == 0);
  CHECK(early.next_slot_ms == due);
  CHECK(records(id).empty());

  clock.advance_ms(1);
  CHECK(pass().fired == 1);
  auto recs = records(id);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].slot_ms == due);
  CHECK(recs[0].invoke_ms == due);
  CHECK(recs[0].reason.find("scheduled for") == 0);
  CHECK(recs[0].result == "PENDING");
  const auto tasks = tasks_of(recs[0].invocation_id);
  REQUIRE(tasks.size() == 2);
  CHECK(tasks[0].invocation_source == "INVOKER");
  CHECK(tasks[0].document.username == "backup");
  CHECK(notifier.kicks().size() == 2);
  auto inv = store->get_invocation(recs[0].invocation_id);
  REQUIRE(inv);
  REQUIRE(*inv);
  CHECK((*inv)->invocation_source == "INVOKER");
  CHECK((*inv)->command_id == plain_command);

  // Done: disabled, nothing left to fire, and enabling it again needs a new time.
  CHECK_FALSE(invoker(id).enabled);
  clock.advance_ms(kMinute);
  auto after = pass();
  CHECK(after.fired == 0);
  CHECK_FALSE(after.next_slot_ms);
  CHECK(records(id).size() == 1);
  CHECK(outcome(domain::set_invoker_enabled(ictx, id, true)) == codes::kInvokeTimeExpired);

  // The record's Result follows the invocation.
  for (const auto& t : tasks) {
    REQUIRE(store->modify_task(t.invocation_task_id, [](InvocationTask& task) {
      task.status = TaskStatus::kSuccess;
      return true;
    }));
  }
  CHECK(records(id)[0].result == "SUCCESS");
}

TEST_CASE_METHOD(InvokerFixture, "a recurrence fires each slot, and once for a downtime",
                 "[domain][invokers][scheduler]") {
  // kStartMs is midnight: the slots are every five minutes from 00:05.
  const std::string id = create(recurrence("*/5 * * * *"));
  const int64_t first = ferry::test::kStartMs + 5 * kMinute;
  CHECK(invoker(id).next_slot_ms == first);
  for (int i = 0; i < 3; ++i) {
    clock.set_ms(first + i * 5 * kMinute + 200);  // the scheduler wakes a little late
    CHECK(pass().fired == 1);
    CHECK(invoker(id).next_slot_ms == first + (i + 1) * 5 * kMinute);
  }
  CHECK(records(id).size() == 3);

  // The server is down for 22 minutes: four slots pass (00:20 to 00:35); one firing stands for
  // all of them and the next slot is the first one ahead.
  clock.set_ms(first + 2 * 5 * kMinute + 22 * kMinute);
  auto p = pass();
  CHECK(p.fired == 1);
  CHECK(p.next_slot_ms == ferry::test::kStartMs + 40 * kMinute);
  auto recs = records(id);
  REQUIRE(recs.size() == 4);
  CHECK(recs[0].slot_ms == ferry::test::kStartMs + 20 * kMinute);  // newest first
  CHECK(recs[0].reason.find("fired late, once for 4 slots") == 0);
  CHECK(recs[0].reason.find(at(ferry::test::kStartMs + 35 * kMinute)) != std::string::npos);
  CHECK(recs[1].reason.find("scheduled for") == 0);
}

TEST_CASE_METHOD(InvokerFixture, "a ONCE invoker whose time passed while down fires late, once",
                 "[domain][invokers][scheduler]") {
  const std::string id = create(once());
  clock.advance_ms(3 * 3600'000);
  CHECK(pass().fired == 1);
  CHECK(pass().fired == 0);
  auto recs = records(id);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].reason.find("fired late: due at ") == 0);
  CHECK(recs[0].invoke_ms - recs[0].slot_ms == 3 * 3600'000 - kMinute);
}

TEST_CASE_METHOD(InvokerFixture, "a slot due before the scheduler started is marked late",
                 "[domain][invokers][scheduler]") {
  const std::string id = create(once(10'000));
  // A scheduler started 3 s after the slot: late, even though only 5 s have passed.
  clock.advance_ms(15'000);
  auto p = Scheduler::run_due(ictx, 100, ferry::test::kStartMs + 13'000);
  REQUIRE(p);
  CHECK(p->fired == 1);
  auto recs = records(id);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].reason.find("fired late: due at ") == 0);

  // One that started before the slot, firing it 5 s late: on schedule.
  const std::string on_time = create(once(10'000));
  clock.advance_ms(15'000);
  REQUIRE(Scheduler::run_due(ictx, 100, ferry::test::kStartMs));
  CHECK(records(on_time).at(0).reason.find("scheduled for ") == 0);
}

TEST_CASE_METHOD(InvokerFixture, "disabled invokers do not fire; enabling takes up from now",
                 "[domain][invokers][scheduler]") {
  const std::string id = create(recurrence("0 * * * *"));
  REQUIRE(domain::set_invoker_enabled(ictx, id, false));
  clock.advance_ms(3 * 3600'000 + 1000);
  CHECK(pass().fired == 0);
  CHECK(records(id).empty());
  REQUIRE(domain::set_invoker_enabled(ictx, id, true));
  // No catch-up for the hours it was disabled: the next slot is the next hour.
  CHECK(invoker(id).next_slot_ms == ferry::test::kStartMs + 4 * 3600'000);
  CHECK(pass().fired == 0);
}

TEST_CASE_METHOD(InvokerFixture, "modify changes what and when; describe shows it",
                 "[domain][invokers]") {
  const std::string id = create(recurrence("0 * * * *"));
  domain::InvokerFields changes;
  changes.name = "renamed";
  changes.command_id = param_command;
  changes.parameters = R"({"who":"ops"})";
  changes.instance_ids = std::vector<std::string>{"rins-online02"};
  changes.schedule = sched("RECURRENCE", "30 2 * * MON-FRI");
  REQUIRE(domain::modify_invoker(ictx, id, changes));
  CHECK(watcher.count == 2);
  Invoker got = invoker(id);
  CHECK(got.name == "renamed");
  CHECK(got.command_id == param_command);
  CHECK(got.parameters == R"({"who":"ops"})");
  CHECK(got.instance_ids == std::vector<std::string>{"rins-online02"});
  CHECK(got.schedule.recurrence == "30 2 * * MON-FRI");
  // 2024-05-01 is a Wednesday: 02:30 the same day.
  CHECK(got.next_slot_ms == ferry::test::kStartMs + 150 * kMinute);

  // Parameters must still suit the command after the change.
  domain::InvokerFields back;
  back.command_id = plain_command;
  CHECK(outcome(domain::modify_invoker(ictx, id, back)) ==
        "InvalidParameterValue.SupportParametersOnlyIfEnableParameter");
  domain::InvokerFields offline;
  offline.instance_ids = std::vector<std::string>{"rins-offline1"};
  CHECK(outcome(domain::modify_invoker(ictx, id, offline)) ==
        "ResourceUnavailable.AgentStatusNotOnline");
  CHECK(invoker(id).instance_ids == std::vector<std::string>{"rins-online02"});

  clock.set_ms(ferry::test::kStartMs + 150 * kMinute);
  REQUIRE(pass().fired == 1);
  const auto tasks = tasks_of(records(id)[0].invocation_id);
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].instance_id == "rins-online02");
  CHECK(tasks[0].parameters == R"({"who":"ops"})");

  REQUIRE(domain::delete_invoker(ictx, id));
  CHECK(watcher.count == 3);
  auto gone = store->get_invoker(id);
  REQUIRE(gone);
  CHECK_FALSE(*gone);
  CHECK(records(id).empty());
}

TEST_CASE_METHOD(InvokerFixture, "crontabs are read in the server's zone, across DST",
                 "[domain][invokers][scheduler]") {
  auto berlin = cron::Zone::find("Europe/Berlin");
  REQUIRE(berlin);
  settings.schedule_zone = *berlin;
  // 2024-03-31 02:30 does not exist in Berlin (02:00 CET -> 03:00 CEST): it fires once, at
  // 03:00 CEST = 01:00Z. The day before, 02:30 CET = 01:30Z.
  clock.set_ms(1'711'756'800'000);  // 2024-03-30T00:00:00Z
  const std::string id = create(recurrence("30 2 * * *"));
  CHECK(invoker(id).next_slot_ms == 1'711'762'200'000);  // 2024-03-30T01:30:00Z
  clock.set_ms(1'711'762'200'000);
  REQUIRE(pass().fired == 1);
  CHECK(invoker(id).next_slot_ms == 1'711'846'800'000);  // 2024-03-31T01:00:00Z
  clock.set_ms(1'711'846'800'000);
  REQUIRE(pass().fired == 1);
  CHECK(invoker(id).next_slot_ms == 1'711'931'400'000);  // 2024-04-01T00:30:00Z (CEST)
}

TEST_CASE_METHOD(InvokerFixture, "a firing that cannot run is recorded FAILED and moves on",
                 "[domain][invokers][scheduler]") {
  domain::InvokerFields f = recurrence("*/10 * * * *");
  f.instance_ids = std::vector<std::string>{"rins-online01", "rins-online02"};
  const std::string id = create(f);
  // An instance deleted since: the firing runs on the others and says so.
  REQUIRE(store->delete_instance("rins-online02"));
  clock.set_ms(ferry::test::kStartMs + 10 * kMinute);
  REQUIRE(pass().fired == 1);
  auto recs = records(id);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].reason.find("skipped, no longer registered: rins-online02") != std::string::npos);
  CHECK(tasks_of(recs[0].invocation_id).size() == 1);

  // The command deleted: no invocation, a FAILED record naming why, the next slot still taken.
  REQUIRE(domain::delete_commands(ictx, {plain_command}));
  clock.set_ms(ferry::test::kStartMs + 20 * kMinute);
  REQUIRE(pass().fired == 1);
  recs = records(id);
  REQUIRE(recs.size() == 2);
  CHECK(recs[0].invocation_id.empty());
  CHECK(recs[0].result == "FAILED");
  CHECK(recs[0].reason.find("does not exist") != std::string::npos);
  CHECK(invoker(id).next_slot_ms == ferry::test::kStartMs + 30 * kMinute);
}

TEST_CASE_METHOD(InvokerFixture, "StartTime and EndTime bound the slots", "[domain][invokers]") {
  domain::InvokerFields f = recurrence("0 * * * *");
  f.schedule->start_time = at(ferry::test::kStartMs + 5 * 3600'000);  // 05:00, a slot itself
  f.schedule->end_time = at(ferry::test::kStartMs + 7 * 3600'000 + 1);
  const std::string id = create(f);
  CHECK(invoker(id).next_slot_ms == ferry::test::kStartMs + 5 * 3600'000);
  for (int hour = 5; hour <= 7; ++hour) {
    clock.set_ms(ferry::test::kStartMs + hour * 3600'000);
    CHECK(pass().fired == 1);
  }
  CHECK(invoker(id).next_slot_ms == 0);
  clock.set_ms(ferry::test::kStartMs + 9 * 3600'000);
  CHECK(pass().fired == 0);
  CHECK(records(id).size() == 3);
}

TEST_CASE_METHOD(InvokerFixture, "two servers on one store fire each slot exactly once",
                 "[domain][invokers][scheduler]") {
  // A second server: its own Store object on the same database file, its own context.
  auto other_store = open_sqlite_store(dir / "ferry.db", clock);
  REQUIRE(other_store);
  ferry::test::RecordingNotifier other_notifier;
  ServerContext other{**other_store, clock, settings, other_notifier, presence};
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(create(recurrence("* * * * *")));
  }
  constexpr int kSlots = 40;
  int fired = 0;
  for (int slot = 1; slot <= kSlots; ++slot) {
    clock.set_ms(ferry::test::kStartMs + slot * kMinute);
    int fired_a = 0;
    std::thread t([&] {
      auto p = Scheduler::run_due(other);
      REQUIRE(p);
      fired_a = p->fired;
    });
    fired += pass().fired;
    t.join();
    fired += fired_a;
  }
  CHECK(fired == 4 * kSlots);
  for (const auto& id : ids) {
    auto recs = records(id);
    REQUIRE(recs.size() == kSlots);
    std::set<int64_t> slots;
    for (const auto& r : recs) {
      slots.insert(r.slot_ms);
    }
    CHECK(slots.size() == kSlots);
  }
  InvocationQuery q;
  q.sources = {"INVOKER"};
  q.limit = 1;
  auto invocations = store->list_invocations(q);
  REQUIRE(invocations);
  CHECK(invocations->total == 4 * kSlots);
  CHECK(notifier.kicks().size() + other_notifier.kicks().size() == 4 * kSlots);
}

TEST_CASE_METHOD(InvokerFixture, "many slots due at once fire in one pass, batch after batch",
                 "[domain][invokers][scheduler]") {
  constexpr int kInvokers = 150;  // more than one batch of run_due's 100
  for (int i = 0; i < kInvokers; ++i) {
    create(recurrence("*/10 * * * *"));
  }
  clock.set_ms(ferry::test::kStartMs + 10 * kMinute);
  auto p = Scheduler::run_due(ictx, 100);
  if (!p) {
    FAIL(p.error().message);
  }
  CHECK(p->fired == kInvokers);
  CHECK_FALSE(p->failed);
  CHECK(p->next_slot_ms == ferry::test::kStartMs + 20 * kMinute);
  InvokerRecordQuery q;
  q.limit = 1;
  auto page = store->list_invoker_records(q);
  REQUIRE(page);
  CHECK(page->total == kInvokers);
  CHECK(notifier.kicks().size() == kInvokers);
}
