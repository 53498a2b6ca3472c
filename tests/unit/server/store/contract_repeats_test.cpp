// The Store contract: Cloud Assistant's repeat invocations. Their targets, the scheduler's
// reads of due Period slots, fire_repeats (each slot once however many servers try, runs
// numbered per instance, the latest run flagged) and record_boot (each boot's runs once).
#include <string>
#include <vector>

#include "store_contract.hpp"

namespace ferry::test::contract {

namespace {

// A Scheduled repeat invocation `id` of `mode` on rins-a and rins-b, next slot `next_slot`.
Invocation make_repeat(const std::string& id, const std::string& mode, int64_t next_slot = 0,
                       int64_t created_ms = 1000) {
  Invocation inv = make_invocation(id, "cmd-1", created_ms);
  inv.repeat_mode = mode;
  inv.frequency = mode == "Period" ? "rate(5m)" : "";
  inv.enable_parameter = true;
  inv.schedule_state = schedule_states::kScheduled;
  inv.next_slot_ms = next_slot;
  inv.targets = {{"rins-a", 0, false}, {"rins-b", 0, false}};
  return inv;
}

RepeatFiring repeat_firing(const std::string& id, int64_t slot, int64_t next,
                           const std::vector<std::string>& instances = {"rins-a", "rins-b"}) {
  RepeatFiring f;
  f.invocation_id = id;
  f.slot_ms = slot;
  f.next_slot_ms = next;
  f.now_ms = slot + 3;
  for (const auto& instance : instances) {
    auto t = make_task("t-" + id + "-" + instance + "-" + std::to_string(slot), id, instance, slot);
    t.slot_ms = slot;
    t.run_number = 99;  // the store numbers runs itself
    t.latest_run = false;
    f.tasks.push_back(t);
  }
  return f;
}

Invocation stored_invocation(Store& store, const std::string& id) {
  auto got = require_value(store.get_invocation(id));
  REQUIRE(got);
  return *got;
}

std::vector<InvocationTask> tasks_of(Store& store, const std::string& id, bool latest_only) {
  TaskQuery q;
  q.invocation_ids = {id};
  q.latest_run_only = latest_only;
  q.limit = 100;
  return require_value(store.list_tasks(q)).items;
}

BootReport boot(const std::string& instance, const std::string& boot_id,
                const std::vector<std::string>& invocations) {
  BootReport r;
  r.instance_id = instance;
  r.boot_id = boot_id;
  r.now_ms = 5000;
  for (const auto& id : invocations) {
    r.tasks.push_back(make_task("t-" + id + "-" + boot_id, id, instance, 5000));
  }
  return r;
}

}  // namespace

TEST_CASE("a repeat invocation is stored with its targets and no task, and listed by them",
          "[store][contract][repeats]") {
  ContractFixture f;
  const Invocation inv = make_repeat("inv-p", "Period", 301'000);
  require_ok(f.store->insert_invocation(std::nullopt, inv, {}));
  const Invocation got = stored_invocation(*f.store, "inv-p");
  CHECK(differing_field(got, inv) == -1);
  CHECK(tasks_of(*f.store, "inv-p", false).empty());

  add_task(*f.store, "rins-z");  // inv-1, a Once invocation with a task on rins-z
  InvocationQuery q;
  q.instance_ids = {"rins-b"};
  CHECK(ids_of(require_value(f.store->list_invocations(q))) == std::vector<std::string>{"inv-p"});
  q.instance_ids = {"rins-z", "rins-a"};
  CHECK(require_value(f.store->list_invocations(q)).total == 2);
  q.instance_ids = {};
  q.repeat_modes = {"Once"};
  CHECK(ids_of(require_value(f.store->list_invocations(q))) == std::vector<std::string>{"inv-1"});
  const Invocation once = stored_invocation(*f.store, "inv-1");
  CHECK(once.repeat_mode == "Once");
  CHECK(once.targets.empty());
}

TEST_CASE("modify_invocation replaces the invocation and its targets in one transaction",
          "[store][contract][repeats]") {
  ContractFixture f;
  require_ok(f.store->insert_invocation(std::nullopt, make_repeat("inv-p", "Period", 301'000), {}));
  auto changed = f.store->modify_invocation("inv-p", [](Invocation& inv) -> Status {
    inv.frequency = "rate(10m)";
    inv.next_slot_ms = 601'000;
    inv.targets[1].stopped = true;
    return {};
  });
  REQUIRE(changed);
  const Invocation got = stored_invocation(*f.store, "inv-p");
  CHECK(got.frequency == "rate(10m)");
  CHECK(got.next_slot_ms == 601'000);
  CHECK(got.targets == std::vector<InvocationTarget>{{"rins-a", 0, false}, {"rins-b", 0, true}});
  auto refused = f.store->modify_invocation("inv-p", [](Invocation&) -> Status {
    return Error{"X.Refused", "no"};
  });
  CHECK(error_code(refused) == "X.Refused");
  CHECK(error_code(f.store->modify_invocation("inv-none", [](Invocation&) { return Status{}; })) ==
        sc::kInvocationNotFound);
}

TEST_CASE("due_repeat_invocations and next_repeat_slot see Scheduled slots, earliest first",
          "[store][contract][repeats]") {
  ContractFixture f;
  CHECK_FALSE(require_value(f.store->next_repeat_slot()));
  require_ok(f.store->insert_invocation(std::nullopt, make_repeat("inv-b", "Period", 20'000), {}));
  require_ok(f.store->insert_invocation(std::nullopt, make_repeat("inv-a", "Period", 10'000), {}));
  Invocation stopped = make_repeat("inv-s", "Period", 5'000);
  stopped.schedule_state = schedule_states::kStopped;
  require_ok(f.store->insert_invocation(std::nullopt, stopped, {}));
  require_ok(f.store->insert_invocation(std::nullopt, make_repeat("inv-r", "EveryReboot"), {}));
  add_task(*f.store);

  CHECK(require_value(f.store->next_repeat_slot()) == 10'000);
  auto due = require_value(f.store->due_repeat_invocations(20'000, 10));
  REQUIRE(due.size() == 2);
  CHECK(due[0].invocation_id == "inv-a");
  CHECK(due[1].invocation_id == "inv-b");
  CHECK(due[0].targets.size() == 2);
  CHECK(require_value(f.store->due_repeat_invocations(20'000, 1)).size() == 1);
  CHECK(require_value(f.store->due_repeat_invocations(9'999, 10)).empty());
}

TEST_CASE("fire_repeats fires a slot once, numbers the runs per instance and flags the latest",
          "[store][contract][repeats]") {
  ContractFixture f;
  require_ok(f.store->insert_invocation(std::nullopt, make_repeat("inv-p", "Period", 10'000), {}));
  auto first = require_value(f.store->fire_repeats({repeat_firing("inv-p", 10'000, 20'000)}));
  REQUIRE(first.size() == 1);
  CHECK(first[0].fired);
  REQUIRE(first[0].tasks.size() == 2);
  CHECK(first[0].tasks[0].run_number == 1);
  CHECK(first[0].tasks[0].latest_run);

  // The same slot again, from this server or another: nothing.
  auto other = f.another();
  auto again = require_value(other->fire_repeats({repeat_firing("inv-p", 10'000, 20'000)}));
  CHECK_FALSE(again[0].fired);
  CHECK(again[0].tasks.empty());

  auto second = require_value(other->fire_repeats({repeat_firing("inv-p", 20'000, 30'000)}));
  CHECK(second[0].fired);
  const auto all = tasks_of(*f.store, "inv-p", false);
  CHECK(all.size() == 4);
  const auto latest = tasks_of(*f.store, "inv-p", true);
  REQUIRE(latest.size() == 2);
  for (const auto& t : latest) {
    CHECK(t.run_number == 2);
    CHECK(t.slot_ms == 20'000);
    CHECK(t.latest_run);
  }
  Invocation got = stored_invocation(*f.store, "inv-p");
  CHECK(got.next_slot_ms == 30'000);
  CHECK(got.schedule_state == schedule_states::kScheduled);
  CHECK(got.targets == std::vector<InvocationTarget>{{"rins-a", 2, false}, {"rins-b", 2, false}});

  // A stopped target gets no run; the last slot finishes the schedule.
  REQUIRE(f.store->modify_invocation("inv-p", [](Invocation& inv) -> Status {
    inv.targets[0].stopped = true;
    return {};
  }));
  auto last = require_value(f.store->fire_repeats({repeat_firing("inv-p", 30'000, 0)}));
  CHECK(last[0].fired);
  REQUIRE(last[0].tasks.size() == 1);
  CHECK(last[0].tasks[0].instance_id == "rins-b");
  CHECK(last[0].tasks[0].run_number == 3);
  got = stored_invocation(*f.store, "inv-p");
  CHECK(got.schedule_state == schedule_states::kFinished);
  CHECK(got.next_slot_ms == 0);
  CHECK_FALSE(require_value(f.store->next_repeat_slot()));
  CHECK(tasks_of(*f.store, "inv-p", true).size() == 2);  // rins-a's run 2, rins-b's run 3
}

TEST_CASE("record_boot: the first report and a repeated boot id fire nothing, a new boot once",
          "[store][contract][repeats]") {
  ContractFixture f;
  add_instance(*f.store, "rins-a");
  add_instance(*f.store, "rins-b");
  require_ok(f.store->insert_invocation(std::nullopt, make_repeat("inv-n", "NextRebootOnly"), {}));
  require_ok(f.store->insert_invocation(std::nullopt, make_repeat("inv-e", "EveryReboot"), {}));
  require_ok(f.store->insert_invocation(std::nullopt, make_repeat("inv-p", "Period", 9'000), {}));

  const auto listed = [&](const std::string& instance) {
    std::vector<std::string> ids;
    for (const auto& inv : require_value(f.store->reboot_invocations(instance))) {
      ids.push_back(inv.invocation_id);
    }
    return ids;
  };
  CHECK(listed("rins-a") == std::vector<std::string>{"inv-e", "inv-n"});  // oldest, then id

  const std::vector<std::string> both{"inv-n", "inv-e"};
  auto first = require_value(f.store->record_boot(boot("rins-a", "boot-1", both)));
  CHECK_FALSE(first.fired);
  CHECK(first.tasks.empty());
  auto instance = require_value(f.store->get_instance("rins-a"));
  REQUIRE(instance);
  CHECK(instance->boot_id == "boot-1");
  CHECK_FALSE(require_value(f.store->record_boot(boot("rins-a", "boot-1", both))).fired);

  auto rebooted = require_value(f.store->record_boot(boot("rins-a", "boot-2", both)));
  CHECK(rebooted.fired);
  REQUIRE(rebooted.tasks.size() == 2);
  CHECK(rebooted.tasks[0].run_number == 1);
  // Reported again, by this server or another: that boot's runs exist.
  CHECK(require_value(f.another()->record_boot(boot("rins-a", "boot-2", both))).tasks.empty());
  CHECK(listed("rins-a") == std::vector<std::string>{"inv-e"});
  CHECK(stored_invocation(*f.store, "inv-n").schedule_state == schedule_states::kScheduled);

  // The next boot: EveryReboot runs again; NextRebootOnly ran here already.
  auto third = require_value(f.store->record_boot(boot("rins-a", "boot-3", both)));
  REQUIRE(third.tasks.size() == 1);
  CHECK(third.tasks[0].invocation_id == "inv-e");
  CHECK(third.tasks[0].run_number == 2);
  CHECK(tasks_of(*f.store, "inv-e", true).size() == 1);
  CHECK(tasks_of(*f.store, "inv-e", false).size() == 2);

  // rins-b's first boot after its first report: NextRebootOnly has run on every target.
  require_value(f.store->record_boot(boot("rins-b", "b-1", both)));
  auto b2 = require_value(f.store->record_boot(boot("rins-b", "b-2", both)));
  CHECK(b2.tasks.size() == 2);
  CHECK(stored_invocation(*f.store, "inv-n").schedule_state == schedule_states::kFinished);
  CHECK(stored_invocation(*f.store, "inv-e").schedule_state == schedule_states::kScheduled);
  // A Period invocation never gets a boot run.
  auto p = require_value(f.store->record_boot(boot("rins-b", "b-3", {"inv-p"})));
  CHECK(p.fired);
  CHECK(p.tasks.empty());
  CHECK(error_code(f.store->record_boot(boot("rins-none", "x", {}))) == sc::kInstanceNotFound);
}

}  // namespace ferry::test::contract
