// The Store contract: invokers, their records, the scheduler's reads and fire_invoker(s), which
// fire each slot once however many servers try, one slot or many in one transaction.
#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "ferry/core/error_codes.hpp"
#include "store_contract.hpp"

namespace ferry::test::contract {

namespace {

constexpr int64_t kForever = std::numeric_limits<int64_t>::max();

// The firing of `slot` of `invoker_id` that moves it on to `next`: with invocation
// `invocation_id` and its one task ("t-<invocation_id>") when that is not empty, a FAILED
// record without an invocation otherwise.
InvokerFiring firing(const std::string& invoker_id, int64_t slot, int64_t next,
                     const std::string& invocation_id = "") {
  InvokerFiring f;
  f.invoker_id = invoker_id;
  f.slot_ms = slot;
  f.next_slot_ms = next;
  f.now_ms = slot + 7;
  f.record.invoker_id = invoker_id;
  f.record.slot_ms = slot;
  f.record.invoke_ms = slot + 5;
  f.record.reason = "on time";
  f.record.invocation_id = invocation_id;
  if (invocation_id.empty()) {
    f.record.result = "FAILED";
  } else {
    Invocation inv = make_invocation(invocation_id, "cmd-1", slot);
    inv.invocation_source = "INVOKER";
    f.invocation = inv;
    f.tasks = {make_task("t-" + invocation_id, invocation_id, "rins-a", slot)};
  }
  return f;
}

// (invoker id, slot) of each record of a page, in order.
std::vector<std::pair<std::string, int64_t>> keys_of(const Page<InvokerRecord>& page) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& r : page.items) {
    out.emplace_back(r.invoker_id, r.slot_ms);
  }
  return out;
}

Page<InvokerRecord> records_of(Store& store, const std::string& invoker_id) {
  InvokerRecordQuery q;
  q.invoker_ids = {invoker_id};
  q.limit = 1000;
  return require_value(store.list_invoker_records(q));
}

Page<InvokerRecord> all_records(Store& store) {
  InvokerRecordQuery q;
  q.limit = 1000;
  return require_value(store.list_invoker_records(q));
}

// Sets the stored invoker's next slot (and enabled).
void set_next_slot(Store& store, const std::string& id, int64_t next_slot_ms, bool enabled = true) {
  require_value(store.modify_invoker(id, [&](Invoker& i) -> Status {
    i.next_slot_ms = next_slot_ms;
    i.enabled = enabled;
    return {};
  }));
}

// The ids of every invocation and every task in the store, sorted.
std::vector<std::string> all_invocation_ids(Store& store) {
  InvocationQuery q;
  q.limit = 1000;
  auto ids = ids_of(require_value(store.list_invocations(q)));
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> all_task_ids(Store& store) {
  TaskQuery q;
  q.limit = 1000;
  auto ids = ids_of(require_value(store.list_tasks(q)));
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The stored invoker; fails the test when it is missing.
Invoker invoker_of(Store& store, const std::string& id) {
  auto got = require_value(store.get_invoker(id));
  if (!got) {
    FAIL("invoker " << id << " missing");
  }
  return *got;
}

}  // namespace

TEST_CASE("invokers: every field reads back", "[contract][invokers][records]") {
  ContractFixture f;
  auto& store = f.store;
  // Every field unlike its default, so that a field the store drops shows.
  Invoker i = make_invoker("ivk-full", "cmd-full", 4242, 11);
  i.type = "OTHER";
  i.enabled = false;
  i.schedule.invoke_time_ms = 13;
  i.updated_ms = 12;
  require_ok(store->insert_invoker(i));
  auto got = require_value(store->get_invoker("ivk-full"));
  REQUIRE(got);
  CHECK(differing_field(*got, i) == -1);
  auto listed = require_value(store->list_invokers({}));
  REQUIRE(listed.items.size() == 1);
  CHECK(differing_field(listed.items.front(), i) == -1);
  CHECK_FALSE(require_value(store->get_invoker("ivk-missing")));

  // And every field modify_invoker stores: instance ids in their new order, tags replaced.
  Invoker changed = make_invoker("ivk-other", "cmd-2", 777, 71);
  changed.name = "renamed";
  changed.type = "SCHEDULE";
  changed.username = "operator";
  changed.parameters = "";
  changed.instance_ids = {"rins-c", "rins-a", "rins-b"};
  changed.schedule = {"ONCE", "", 5555, 0, 0};
  changed.tags = {{"only", "one"}};
  changed.updated_ms = 72;
  auto modified = require_value(store->modify_invoker("ivk-full", [&](Invoker& cur) -> Status {
    cur = changed;
    return {};
  }));
  changed.invoker_id = "ivk-full";  // the id stays
  CHECK(differing_field(modified, changed) == -1);
  got = require_value(store->get_invoker("ivk-full"));
  REQUIRE(got);
  CHECK(differing_field(*got, changed) == -1);
  CHECK_FALSE(require_value(store->get_invoker("ivk-other")));

  // Without instances and tags.
  require_value(store->modify_invoker("ivk-full", [](Invoker& cur) -> Status {
    cur.instance_ids.clear();
    cur.tags.clear();
    return {};
  }));
  got = require_value(store->get_invoker("ivk-full"));
  REQUIRE(got);
  CHECK(got->instance_ids.empty());
  CHECK(got->tags.empty());
}

TEST_CASE("invokers: an id taken", "[contract][invokers][errors]") {
  ContractFixture f;
  auto& store = f.store;
  require_ok(store->insert_invoker(make_invoker("ivk-1")));
  Invoker again = make_invoker("ivk-1", "cmd-2");
  again.instance_ids = {"rins-z"};
  again.tags = {{"z", "z"}};
  CHECK(error_code(store->insert_invoker(again)) == sc::kIdDuplicated);
  // Nothing of the second insert stays.
  auto got = require_value(store->get_invoker("ivk-1"));
  REQUIRE(got);
  CHECK(differing_field(*got, make_invoker("ivk-1")) == -1);
  CHECK(require_value(store->list_invokers({})).total == 1);
}

TEST_CASE("invokers: modify and delete", "[contract][invokers]") {
  ContractFixture f;
  auto& store = f.store;
  require_ok(store->insert_invoker(make_invoker("ivk-1")));
  require_ok(store->insert_invoker(make_invoker("ivk-2")));

  SECTION("an unknown invoker") {
    CHECK(error_code(store->modify_invoker("ivk-x", [](Invoker&) -> Status { return {}; })) ==
          sc::kInvokerNotFound);
    CHECK(error_code(store->delete_invoker("ivk-x")) == sc::kInvokerNotFound);
    CHECK(require_value(store->list_invokers({})).total == 2);
  }
  SECTION("a mutate error aborts, leaving every field as it was") {
    bool called = false;
    auto r = store->modify_invoker("ivk-1", [&](Invoker& i) -> Status {
      called = true;
      i.name = "changed";
      i.next_slot_ms = 1;
      i.instance_ids = {"rins-z"};
      i.tags = {{"z", "z"}};
      return Error{codes::kInvalidParameterValue, "no"};
    });
    CHECK(called);
    CHECK(error_code(r) == codes::kInvalidParameterValue);
    auto got = require_value(store->get_invoker("ivk-1"));
    REQUIRE(got);
    CHECK(differing_field(*got, make_invoker("ivk-1")) == -1);
  }
  SECTION("mutate sees the stored invoker") {
    Invoker seen;
    require_value(store->modify_invoker("ivk-2", [&](Invoker& i) -> Status {
      seen = i;
      return {};
    }));
    CHECK(differing_field(seen, make_invoker("ivk-2")) == -1);
  }
  SECTION("delete removes the invoker and its records, not its invocations") {
    require_value(store->fire_invoker(firing("ivk-1", 60'000, 120'000, "inv-a")));
    require_value(store->fire_invoker(firing("ivk-1", 120'000, 180'000)));
    require_value(store->fire_invoker(firing("ivk-2", 60'000, 120'000)));
    REQUIRE(records_of(*store, "ivk-1").total == 2);

    require_ok(store->delete_invoker("ivk-1"));
    CHECK_FALSE(require_value(store->get_invoker("ivk-1")));
    CHECK(records_of(*store, "ivk-1").total == 0);
    CHECK(keys_of(all_records(*store)) ==
          std::vector<std::pair<std::string, int64_t>>{{"ivk-2", 60'000}});
    CHECK(require_value(store->get_invocation("inv-a")));
    CHECK(ids_of(require_value(store->list_invokers({}))) == std::vector<std::string>{"ivk-2"});
    CHECK(error_code(store->delete_invoker("ivk-1")) == sc::kInvokerNotFound);

    // The id is free again, and nothing of the old invoker comes back with it.
    Invoker fresh = make_invoker("ivk-1", "cmd-9", 60'000);
    fresh.instance_ids = {"rins-q"};
    fresh.tags = {{"new", "tag"}};
    require_ok(store->insert_invoker(fresh));
    auto got = require_value(store->get_invoker("ivk-1"));
    REQUIRE(got);
    CHECK(differing_field(*got, fresh) == -1);
    CHECK(records_of(*store, "ivk-1").total == 0);
    // Its old slot can be fired again: the old record went with the old invoker.
    CHECK(require_value(store->fire_invoker(firing("ivk-1", 60'000, 0))));
  }
}

TEST_CASE("invokers: filters and paging", "[contract][invokers][paging]") {
  ContractFixture f;
  auto& store = f.store;
  // ivk-00 .. ivk-11; created_ms repeats in pairs so that the id must break ties.
  for (int i = 0; i < 12; ++i) {
    const std::string n = (i < 10 ? "0" : "") + std::to_string(i);
    Invoker ivk = make_invoker("ivk-" + n, i % 3 == 0 ? "cmd-a" : "cmd-b", 0, 1000 + i / 2);
    ivk.type = i % 2 == 0 ? "SCHEDULE" : "OTHER";
    ivk.tags = {{"idx", n}};
    ivk.instance_ids = {"rins-" + n};
    require_ok(store->insert_invoker(ivk));
  }

  SECTION("no filter: newest first, the id breaking ties, total over all") {
    InvokerQuery q;
    q.limit = 5;
    auto p = require_value(store->list_invokers(q));
    CHECK(p.total == 12);
    CHECK(ids_of(p) == std::vector<std::string>{"ivk-10", "ivk-11", "ivk-08", "ivk-09", "ivk-06"});
    q.offset = 10;
    p = require_value(store->list_invokers(q));
    CHECK(p.total == 12);
    CHECK(ids_of(p) == std::vector<std::string>{"ivk-00", "ivk-01"});
    q.offset = 12;
    p = require_value(store->list_invokers(q));
    CHECK(p.total == 12);
    CHECK(p.items.empty());
  }
  SECTION("listed invokers come with their tags and instance ids") {
    auto p = require_value(store->list_invokers({}));
    REQUIRE(p.items.size() == 12);
    for (const auto& i : p.items) {
      const std::string n = i.invoker_id.substr(4);
      CHECK(i.tags == std::vector<Tag>{{"idx", n}});
      CHECK(i.instance_ids == std::vector<std::string>{"rins-" + n});
    }
  }
  SECTION("ids, command ids and types: OR within a field, AND across fields") {
    InvokerQuery q;
    q.invoker_ids = {"ivk-01", "ivk-03", "ivk-04", "ivk-missing"};
    CHECK(ids_of(require_value(store->list_invokers(q))) ==
          std::vector<std::string>{"ivk-04", "ivk-03", "ivk-01"});
    q.command_ids = {"cmd-a"};
    auto p = require_value(store->list_invokers(q));
    CHECK(p.total == 1);
    CHECK(ids_of(p) == std::vector<std::string>{"ivk-03"});

    InvokerQuery by_command;
    by_command.command_ids = {"cmd-a"};
    CHECK(ids_of(require_value(store->list_invokers(by_command))) ==
          std::vector<std::string>{"ivk-09", "ivk-06", "ivk-03", "ivk-00"});
    by_command.command_ids = {"cmd-a", "cmd-b"};
    CHECK(require_value(store->list_invokers(by_command)).total == 12);

    InvokerQuery by_type;
    by_type.types = {"OTHER"};
    p = require_value(store->list_invokers(by_type));
    CHECK(p.total == 6);
    CHECK(std::all_of(p.items.begin(), p.items.end(),
                      [](const Invoker& i) { return i.type == "OTHER"; }));
    by_type.command_ids = {"cmd-a"};
    CHECK(ids_of(require_value(store->list_invokers(by_type))) ==
          std::vector<std::string>{"ivk-09", "ivk-03"});
    by_type.types = {"NONE"};
    CHECK(require_value(store->list_invokers(by_type)).total == 0);
  }
}

TEST_CASE("invoker records: every field, newest slot first, filters and paging",
          "[contract][invokers][paging]") {
  ContractFixture f;
  auto& store = f.store;
  require_ok(store->insert_invoker(make_invoker("ivk-a", "cmd-1", 100)));
  require_ok(store->insert_invoker(make_invoker("ivk-b", "cmd-1", 200)));
  require_ok(store->insert_invoker(make_invoker("ivk-c", "cmd-1", 300)));
  // ivk-a fires 100, 300, 500; ivk-b 200, 300; ivk-c 300. Slot 300 is everyone's.
  for (const auto& [id, slot, next] :
       std::vector<std::tuple<std::string, int64_t, int64_t>>{{"ivk-c", 300, 0},
                                                              {"ivk-b", 200, 300},
                                                              {"ivk-a", 100, 300},
                                                              {"ivk-b", 300, 0},
                                                              {"ivk-a", 300, 500},
                                                              {"ivk-a", 500, 0}}) {
    REQUIRE(require_value(store->fire_invoker(firing(id, slot, next))));
  }

  SECTION("every field reads back, the record's key being the firing's") {
    InvokerFiring fire = firing("ivk-x", 50, 0, "inv-x");
    fire.record = {"ignored", 1, 61, "late: missed 1 slot", "inv-x", ""};
    require_ok(store->insert_invoker(make_invoker("ivk-x", "cmd-1", 50)));
    REQUIRE(require_value(store->fire_invoker(fire)));
    auto p = records_of(*store, "ivk-x");
    REQUIRE(p.items.size() == 1);
    CHECK(differing_field(p.items[0], InvokerRecord{"ivk-x", 50, 61, "late: missed 1 slot", "inv-x",
                                                    ""}) == -1);
    // A FAILED record without an invocation.
    auto failed = records_of(*store, "ivk-c");
    REQUIRE(failed.items.size() == 1);
    CHECK(differing_field(failed.items[0],
                          InvokerRecord{"ivk-c", 300, 305, "on time", "", "FAILED"}) == -1);
  }
  SECTION("all records: newest slot first, the invoker id breaking ties") {
    auto p = all_records(*store);
    CHECK(p.total == 6);
    CHECK(keys_of(p) == std::vector<std::pair<std::string, int64_t>>{{"ivk-a", 500},
                                                                     {"ivk-a", 300},
                                                                     {"ivk-b", 300},
                                                                     {"ivk-c", 300},
                                                                     {"ivk-b", 200},
                                                                     {"ivk-a", 100}});
  }
  SECTION("of some invokers") {
    InvokerRecordQuery q;
    q.invoker_ids = {"ivk-a", "ivk-c", "ivk-missing"};
    auto p = require_value(store->list_invoker_records(q));
    CHECK(p.total == 4);
    CHECK(keys_of(p) == std::vector<std::pair<std::string, int64_t>>{
                            {"ivk-a", 500}, {"ivk-a", 300}, {"ivk-c", 300}, {"ivk-a", 100}});
    q.invoker_ids = {"ivk-missing"};
    CHECK(require_value(store->list_invoker_records(q)).total == 0);
  }
  SECTION("pages") {
    InvokerRecordQuery q;
    q.offset = 2;
    q.limit = 3;
    auto p = require_value(store->list_invoker_records(q));
    CHECK(p.total == 6);
    CHECK(keys_of(p) == std::vector<std::pair<std::string, int64_t>>{
                            {"ivk-b", 300}, {"ivk-c", 300}, {"ivk-b", 200}});
    q.invoker_ids = {"ivk-a"};
    q.offset = 1;
    q.limit = 1;
    p = require_value(store->list_invoker_records(q));
    CHECK(p.total == 3);
    CHECK(keys_of(p) == std::vector<std::pair<std::string, int64_t>>{{"ivk-a", 300}});
    q.offset = 3;
    p = require_value(store->list_invoker_records(q));
    CHECK(p.total == 3);
    CHECK(p.items.empty());
  }
}

TEST_CASE("due_invokers and next_invoker_slot", "[contract][invokers]") {
  ContractFixture f;
  auto& store = f.store;
  CHECK(require_value(store->due_invokers(kForever, 100)).empty());
  CHECK_FALSE(require_value(store->next_invoker_slot()));

  // Disabled, or without a slot: never due.
  Invoker disabled = make_invoker("ivk-disabled", "cmd-1", 50);
  disabled.enabled = false;
  require_ok(store->insert_invoker(disabled));
  require_ok(store->insert_invoker(make_invoker("ivk-none", "cmd-1", 0)));
  CHECK(require_value(store->due_invokers(kForever, 100)).empty());
  CHECK_FALSE(require_value(store->next_invoker_slot()));

  require_ok(store->insert_invoker(make_invoker("ivk-300", "cmd-1", 300)));
  require_ok(store->insert_invoker(make_invoker("ivk-100", "cmd-1", 100)));
  require_ok(store->insert_invoker(make_invoker("ivk-200b", "cmd-1", 200)));
  require_ok(store->insert_invoker(make_invoker("ivk-200a", "cmd-1", 200)));
  require_ok(store->insert_invoker(make_invoker("ivk-1000", "cmd-1", 1000)));

  SECTION("due by until_ms, earliest first, the id breaking ties") {
    CHECK(ids_of(require_value(store->due_invokers(99, 100))).empty());
    CHECK(ids_of(require_value(store->due_invokers(100, 100))) ==
          std::vector<std::string>{"ivk-100"});
    CHECK(ids_of(require_value(store->due_invokers(299, 100))) ==
          std::vector<std::string>{"ivk-100", "ivk-200a", "ivk-200b"});
    CHECK(ids_of(require_value(store->due_invokers(kForever, 100))) ==
          std::vector<std::string>{"ivk-100", "ivk-200a", "ivk-200b", "ivk-300", "ivk-1000"});
    CHECK(ids_of(require_value(store->due_invokers(0, 100))).empty());
  }
  SECTION("at most limit") {
    CHECK(ids_of(require_value(store->due_invokers(kForever, 2))) ==
          std::vector<std::string>{"ivk-100", "ivk-200a"});
    CHECK(require_value(store->due_invokers(kForever, 0)).empty());
  }
  SECTION("due invokers are read whole") {
    auto due = require_value(store->due_invokers(100, 100));
    REQUIRE(due.size() == 1);
    CHECK(differing_field(due[0], make_invoker("ivk-100", "cmd-1", 100)) == -1);
  }
  SECTION("the next slot follows changes") {
    CHECK(require_value(store->next_invoker_slot()) == std::optional<int64_t>(100));
    set_next_slot(*store, "ivk-100", 100, false);
    CHECK(require_value(store->next_invoker_slot()) == std::optional<int64_t>(200));
    CHECK(ids_of(require_value(store->due_invokers(200, 100))) ==
          std::vector<std::string>{"ivk-200a", "ivk-200b"});
    set_next_slot(*store, "ivk-disabled", 40);
    CHECK(require_value(store->next_invoker_slot()) == std::optional<int64_t>(40));
    require_ok(store->delete_invoker("ivk-disabled"));
    REQUIRE(require_value(store->fire_invoker(firing("ivk-200a", 200, 0))));
    REQUIRE(require_value(store->fire_invoker(firing("ivk-200b", 200, 250))));
    CHECK(require_value(store->next_invoker_slot()) == std::optional<int64_t>(250));
    CHECK(ids_of(require_value(store->due_invokers(300, 100))) ==
          std::vector<std::string>{"ivk-200b", "ivk-300"});
    for (const char* id : {"ivk-200b", "ivk-300", "ivk-1000"}) {
      set_next_slot(*store, id, 0);
    }
    CHECK_FALSE(require_value(store->next_invoker_slot()));
    CHECK(require_value(store->due_invokers(kForever, 100)).empty());
  }
}

TEST_CASE("fire_invoker fires a slot once", "[contract][invokers]") {
  ContractFixture f;
  auto& store = f.store;
  require_ok(store->insert_invoker(make_invoker("ivk-1", "cmd-1", 60'000)));

  SECTION("true once, with its invocation and tasks; false after, writing nothing") {
    REQUIRE(require_value(store->fire_invoker(firing("ivk-1", 60'000, 120'000, "inv-1"))));
    auto got = require_value(store->get_invoker("ivk-1"));
    REQUIRE(got);
    Invoker want = make_invoker("ivk-1", "cmd-1", 120'000);
    want.updated_ms = 60'007;
    CHECK(differing_field(*got, want) == -1);
    auto inv = require_value(store->get_invocation("inv-1"));
    REQUIRE(inv);
    CHECK(differing_field(*inv, *firing("ivk-1", 60'000, 0, "inv-1").invocation) == -1);
    TaskQuery tq;
    tq.invocation_ids = {"inv-1"};
    auto tasks = require_value(store->list_tasks(tq));
    CHECK(ids_of(tasks) == std::vector<std::string>{"t-inv-1"});
    CHECK(keys_of(records_of(*store, "ivk-1")) ==
          std::vector<std::pair<std::string, int64_t>>{{"ivk-1", 60'000}});

    // The same slot again, from this or another server: no record, invocation or task more.
    auto other = f.another();
    for (Store* s : {store.get(), other.get()}) {
      CHECK_FALSE(require_value(s->fire_invoker(firing("ivk-1", 60'000, 999'000, "inv-2"))));
    }
    CHECK_FALSE(require_value(store->get_invocation("inv-2")));
    CHECK_FALSE(require_value(store->get_task("t-inv-2")));
    CHECK(records_of(*store, "ivk-1").total == 1);
    CHECK(differing_field(*require_value(store->get_invoker("ivk-1")), want) == -1);

    // The next slot fires.
    CHECK(require_value(other->fire_invoker(firing("ivk-1", 120'000, 180'000))));
    CHECK(records_of(*store, "ivk-1").total == 2);
    CHECK(require_value(store->get_invoker("ivk-1"))->next_slot_ms == 180'000);
  }
  SECTION("false when the invoker is disabled, deleted or its next slot changed") {
    auto check_not_fired = [&](int64_t slot) {
      CHECK_FALSE(require_value(store->fire_invoker(firing("ivk-1", slot, slot + 1, "inv-n"))));
      CHECK_FALSE(require_value(store->get_invocation("inv-n")));
      CHECK(records_of(*store, "ivk-1").total == 0);
    };
    SECTION("disabled") {
      set_next_slot(*store, "ivk-1", 60'000, false);
      check_not_fired(60'000);
      CHECK(require_value(store->get_invoker("ivk-1"))->next_slot_ms == 60'000);
    }
    SECTION("changed") {
      set_next_slot(*store, "ivk-1", 90'000);
      check_not_fired(60'000);
      CHECK(require_value(store->get_invoker("ivk-1"))->next_slot_ms == 90'000);
      check_not_fired(0);
    }
    SECTION("deleted") {
      require_ok(store->delete_invoker("ivk-1"));
      check_not_fired(60'000);
      CHECK_FALSE(require_value(store->get_invoker("ivk-1")));
    }
    SECTION("never existed") {
      CHECK_FALSE(require_value(store->fire_invoker(firing("ivk-x", 60'000, 0, "inv-n"))));
      CHECK_FALSE(require_value(store->get_invocation("inv-n")));
      CHECK(all_records(*store).total == 0);
    }
    SECTION("slot 0 is none") {
      set_next_slot(*store, "ivk-1", 0);
      check_not_fired(0);
    }
  }
  SECTION("enabled_after=false disables the invoker") {
    InvokerFiring once = firing("ivk-1", 60'000, 0, "inv-1");
    once.enabled_after = false;
    REQUIRE(require_value(store->fire_invoker(once)));
    auto got = require_value(store->get_invoker("ivk-1"));
    REQUIRE(got);
    CHECK_FALSE(got->enabled);
    CHECK(got->next_slot_ms == 0);
    CHECK_FALSE(require_value(store->next_invoker_slot()));
    CHECK(require_value(store->due_invokers(kForever, 10)).empty());
  }
  SECTION("a disabling firing with a next slot leaves the invoker disabled at it") {
    InvokerFiring fire = firing("ivk-1", 60'000, 120'000);
    fire.enabled_after = false;
    REQUIRE(require_value(store->fire_invoker(fire)));
    auto got = require_value(store->get_invoker("ivk-1"));
    REQUIRE(got);
    CHECK_FALSE(got->enabled);
    CHECK(got->next_slot_ms == 120'000);
    CHECK_FALSE(require_value(store->fire_invoker(firing("ivk-1", 120'000, 0))));
  }
  SECTION("a slot that has a record is not fired again") {
    REQUIRE(require_value(store->fire_invoker(firing("ivk-1", 60'000, 120'000, "inv-1"))));
    // The next slot set back to the one fired.
    set_next_slot(*store, "ivk-1", 60'000);
    CHECK_FALSE(require_value(store->fire_invoker(firing("ivk-1", 60'000, 120'000, "inv-2"))));
    // Nothing written: the invoker still at the slot, no second invocation or record.
    CHECK(require_value(store->get_invoker("ivk-1"))->next_slot_ms == 60'000);
    CHECK_FALSE(require_value(store->get_invocation("inv-2")));
    CHECK_FALSE(require_value(store->get_task("t-inv-2")));
    auto records = records_of(*store, "ivk-1");
    REQUIRE(records.items.size() == 1);
    CHECK(records.items[0].invocation_id == "inv-1");
  }
  SECTION("an invocation id taken fails the firing whole") {
    add_task(*store);  // inv-1
    CHECK(error_code(store->fire_invoker(firing("ivk-1", 60'000, 120'000, "inv-1"))) ==
          sc::kIdDuplicated);
    CHECK(require_value(store->get_invoker("ivk-1"))->next_slot_ms == 60'000);
    CHECK(records_of(*store, "ivk-1").total == 0);
    CHECK_FALSE(require_value(store->get_task("t-inv-1")));
    // With a new id it fires.
    CHECK(require_value(store->fire_invoker(firing("ivk-1", 60'000, 120'000, "inv-2"))));
  }
  SECTION("tasks without an invocation are refused, nothing written") {
    InvokerFiring fire = firing("ivk-1", 60'000, 120'000, "inv-1");
    fire.invocation.reset();
    CHECK(error_code(store->fire_invoker(fire)) != "OK");
    CHECK(require_value(store->get_invoker("ivk-1"))->next_slot_ms == 60'000);
    CHECK(records_of(*store, "ivk-1").total == 0);
    CHECK_FALSE(require_value(store->get_task("t-inv-1")));
  }
}

TEST_CASE("two servers racing fire each slot exactly once", "[contract][invokers][concurrency]") {
  ContractFixture f;
  auto other = f.another();
  constexpr int64_t kSlots = 200;
  require_ok(f.store->insert_invoker(make_invoker("ivk-1", "cmd-1", 1)));

  // Each server runs the scheduler's loop: read the due slot, fire it and move on to the
  // next; the last slot disables the invoker.
  std::atomic<bool> go{false};
  std::atomic<int64_t> wins[2] = {0, 0};
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    Store* s = t == 0 ? f.store.get() : other.get();
    threads.emplace_back([&, s, t] {
      while (!go.load()) {
        std::this_thread::yield();
      }
      // Bounded: each round fires a slot here or finds it fired elsewhere.
      for (int round = 0; round < 20 * kSlots; ++round) {
        auto due = s->due_invokers(kForever, 1);
        if (!due) {
          ++errors;
          continue;
        }
        if (due->empty()) {
          return;
        }
        const int64_t slot = due->front().next_slot_ms;
        InvokerFiring fire = firing("ivk-1", slot, slot < kSlots ? slot + 1 : 0,
                                    "inv-" + std::to_string(t) + "-" + std::to_string(slot));
        fire.enabled_after = slot < kSlots;
        auto fired = s->fire_invoker(fire);
        if (!fired) {
          ++errors;
        } else if (*fired) {
          ++wins[t];
        }
      }
    });
  }
  go = true;
  for (auto& t : threads) {
    t.join();
  }
  INFO("wins: " << wins[0] << " and " << wins[1]);
  CHECK(errors == 0);
  CHECK(wins[0] + wins[1] == kSlots);

  // One record per slot, each naming its own invocation, which exists with its task; no
  // invocation of a losing firing.
  auto records = all_records(*f.store);
  CHECK(records.total == kSlots);
  std::set<int64_t> slots;
  std::set<std::string> recorded;
  for (const auto& r : records.items) {
    slots.insert(r.slot_ms);
    recorded.insert(r.invocation_id);
    CHECK(r.invocation_id.substr(r.invocation_id.rfind('-') + 1) == std::to_string(r.slot_ms));
  }
  CHECK(static_cast<int64_t>(slots.size()) == kSlots);
  CHECK(*slots.begin() == 1);
  CHECK(*slots.rbegin() == kSlots);
  InvocationQuery iq;
  iq.limit = 1000;
  auto invocations = require_value(f.store->list_invocations(iq));
  CHECK(invocations.total == kSlots);
  auto listed = ids_of(invocations);
  CHECK(std::set<std::string>(listed.begin(), listed.end()) == recorded);
  TaskQuery tq;
  tq.limit = 0;
  CHECK(require_value(f.store->list_tasks(tq)).total == kSlots);
  auto got = require_value(f.store->get_invoker("ivk-1"));
  REQUIRE(got);
  CHECK_FALSE(got->enabled);
  CHECK(got->next_slot_ms == 0);
}

TEST_CASE("fire_invokers decides each firing of a batch on its own", "[contract][invokers]") {
  ContractFixture f;
  auto& store = f.store;
  // Three fresh slots, and one stale of each kind between and after them.
  for (const char* id : {"ivk-a", "ivk-fired", "ivk-disabled", "ivk-b", "ivk-deleted",
                         "ivk-changed", "ivk-recorded", "ivk-c"}) {
    require_ok(store->insert_invoker(make_invoker(id, "cmd-1", 60'000)));
  }
  // Fired already, by this or another server.
  REQUIRE(require_value(store->fire_invoker(firing("ivk-fired", 60'000, 120'000, "inv-pre-1"))));
  set_next_slot(*store, "ivk-disabled", 60'000, false);
  require_ok(store->delete_invoker("ivk-deleted"));
  set_next_slot(*store, "ivk-changed", 90'000);
  // Fired, then its next slot set back to the slot fired: the record key turns it down.
  REQUIRE(require_value(store->fire_invoker(firing("ivk-recorded", 60'000, 120'000, "inv-pre-2"))));
  set_next_slot(*store, "ivk-recorded", 60'000);
  const auto records_before = keys_of(all_records(*store));
  const Invoker fired_before = invoker_of(*store, "ivk-fired");
  const Invoker disabled_before = invoker_of(*store, "ivk-disabled");
  const Invoker changed_before = invoker_of(*store, "ivk-changed");
  const Invoker recorded_before = invoker_of(*store, "ivk-recorded");

  InvokerFiring last = firing("ivk-c", 60'000, 0);  // a FAILED record, no invocation
  last.enabled_after = false;
  const std::vector<InvokerFiring> batch = {
      firing("ivk-a", 60'000, 120'000, "inv-a"),
      firing("ivk-fired", 60'000, 120'000, "inv-fired"),
      firing("ivk-disabled", 60'000, 120'000, "inv-disabled"),
      firing("ivk-b", 60'000, 180'000, "inv-b"),
      firing("ivk-deleted", 60'000, 120'000, "inv-deleted"),
      firing("ivk-changed", 60'000, 120'000, "inv-changed"),
      firing("ivk-recorded", 60'000, 120'000, "inv-recorded"),
      last,
  };
  CHECK(require_value(store->fire_invokers(batch)) ==
        std::vector<bool>{true, false, false, true, false, false, false, true});

  // The fresh ones moved on, every field as a lone firing leaves it.
  Invoker want_a = make_invoker("ivk-a", "cmd-1", 120'000);
  want_a.updated_ms = 60'007;
  CHECK(differing_field(invoker_of(*store, "ivk-a"), want_a) == -1);
  CHECK(invoker_of(*store, "ivk-b").next_slot_ms == 180'000);
  const Invoker c = invoker_of(*store, "ivk-c");
  CHECK_FALSE(c.enabled);
  CHECK(c.next_slot_ms == 0);
  // The stale ones as they were.
  CHECK(differing_field(invoker_of(*store, "ivk-fired"), fired_before) == -1);
  CHECK(differing_field(invoker_of(*store, "ivk-disabled"), disabled_before) == -1);
  CHECK(differing_field(invoker_of(*store, "ivk-changed"), changed_before) == -1);
  CHECK(differing_field(invoker_of(*store, "ivk-recorded"), recorded_before) == -1);
  CHECK_FALSE(require_value(store->get_invoker("ivk-deleted")));

  // Records: the fresh firings' added, every field; the recorded slot's record still the first.
  auto records = all_records(*store);
  auto keys = keys_of(records);
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::pair<std::string, int64_t>>{{"ivk-a", 60'000},
                                                             {"ivk-b", 60'000},
                                                             {"ivk-c", 60'000},
                                                             {"ivk-fired", 60'000},
                                                             {"ivk-recorded", 60'000}});
  CHECK(records_before.size() == 2);
  for (const auto& r : records.items) {
    if (r.invoker_id == "ivk-a") {
      CHECK(differing_field(r, InvokerRecord{"ivk-a", 60'000, 60'005, "on time", "inv-a", ""}) ==
            -1);
    } else if (r.invoker_id == "ivk-c") {
      CHECK(differing_field(r, InvokerRecord{"ivk-c", 60'000, 60'005, "on time", "", "FAILED"}) ==
            -1);
    } else if (r.invoker_id == "ivk-fired") {
      CHECK(r.invocation_id == "inv-pre-1");
    } else if (r.invoker_id == "ivk-recorded") {
      CHECK(r.invocation_id == "inv-pre-2");
    }
  }
  // Invocations and tasks: the fresh firings' only, read back whole.
  CHECK(all_invocation_ids(*store) ==
        std::vector<std::string>{"inv-a", "inv-b", "inv-pre-1", "inv-pre-2"});
  CHECK(all_task_ids(*store) ==
        std::vector<std::string>{"t-inv-a", "t-inv-b", "t-inv-pre-1", "t-inv-pre-2"});
  auto inv = require_value(store->get_invocation("inv-b"));
  REQUIRE(inv);
  CHECK(differing_field(*inv, *batch[3].invocation) == -1);
  auto task = require_value(store->get_task("t-inv-b"));
  REQUIRE(task);
  CHECK(differing_field(*task, batch[3].tasks.front()) == -1);
}

TEST_CASE("fire_invokers: order within a batch, empty batches", "[contract][invokers]") {
  ContractFixture f;
  auto& store = f.store;
  require_ok(store->insert_invoker(make_invoker("ivk-1", "cmd-1", 60'000)));

  SECTION("an empty batch fires nothing") {
    CHECK(require_value(store->fire_invokers({})).empty());
    CHECK(invoker_of(*store, "ivk-1").next_slot_ms == 60'000);
  }
  SECTION("firings run in order: a later one sees an earlier one's slot") {
    CHECK(require_value(store->fire_invokers({firing("ivk-1", 60'000, 120'000, "inv-1"),
                                              firing("ivk-1", 120'000, 180'000, "inv-2"),
                                              firing("ivk-1", 60'000, 240'000, "inv-3")})) ==
          std::vector<bool>{true, true, false});
    CHECK(invoker_of(*store, "ivk-1").next_slot_ms == 180'000);
    CHECK(keys_of(records_of(*store, "ivk-1")) ==
          std::vector<std::pair<std::string, int64_t>>{{"ivk-1", 120'000}, {"ivk-1", 60'000}});
    CHECK(all_invocation_ids(*store) == std::vector<std::string>{"inv-1", "inv-2"});
  }
  SECTION("a slot ahead of the next one does not fire, the next one after it does") {
    CHECK(require_value(store->fire_invokers({firing("ivk-1", 120'000, 180'000, "inv-2"),
                                              firing("ivk-1", 60'000, 120'000, "inv-1")})) ==
          std::vector<bool>{false, true});
    CHECK(invoker_of(*store, "ivk-1").next_slot_ms == 120'000);
    CHECK(all_invocation_ids(*store) == std::vector<std::string>{"inv-1"});
  }
}

TEST_CASE("fire_invokers: an error fails the batch whole", "[contract][invokers][errors]") {
  ContractFixture f;
  auto& store = f.store;
  for (const char* id : {"ivk-1", "ivk-2", "ivk-3", "ivk-recorded"}) {
    require_ok(store->insert_invoker(make_invoker(id, "cmd-1", 60'000)));
  }
  add_task(*store);  // inv-1, invt-1
  REQUIRE(require_value(store->fire_invoker(firing("ivk-recorded", 60'000, 120'000, "inv-pre"))));
  set_next_slot(*store, "ivk-recorded", 60'000);
  const auto invokers_before = require_value(store->list_invokers({}));
  const auto records_before = keys_of(all_records(*store));
  const auto invocations_before = all_invocation_ids(*store);
  const auto tasks_before = all_task_ids(*store);
  REQUIRE(invocations_before == std::vector<std::string>{"inv-1", "inv-pre"});

  // Fresh and turned-down firings before the failing one, a fresh one after it.
  std::vector<InvokerFiring> batch = {
      firing("ivk-1", 60'000, 120'000, "inv-a"),
      firing("ivk-recorded", 60'000, 120'000, "inv-r"),
      firing("ivk-missing", 60'000, 120'000, "inv-m"),
      firing("ivk-2", 60'000, 120'000, "inv-1"),  // taken
      firing("ivk-3", 60'000, 120'000, "inv-c"),
  };
  auto check_nothing_written = [&] {
    auto invokers = require_value(store->list_invokers({}));
    REQUIRE(invokers.items.size() == invokers_before.items.size());
    for (std::size_t i = 0; i < invokers.items.size(); ++i) {
      CHECK(differing_field(invokers.items[i], invokers_before.items[i]) == -1);
    }
    CHECK(keys_of(all_records(*store)) == records_before);
    CHECK(all_invocation_ids(*store) == invocations_before);
    CHECK(all_task_ids(*store) == tasks_before);
  };

  SECTION("an invocation id taken") {
    CHECK(error_code(store->fire_invokers(batch)) == sc::kIdDuplicated);
    check_nothing_written();
  }
  SECTION("an invocation id twice in the batch") {
    batch[3] = firing("ivk-2", 60'000, 120'000, "inv-a");
    CHECK(error_code(store->fire_invokers(batch)) == sc::kIdDuplicated);
    check_nothing_written();
  }
  SECTION("a task id taken") {
    batch[3] = firing("ivk-2", 60'000, 120'000, "inv-b");
    batch[3].tasks.front().invocation_task_id = "invt-1";
    CHECK(error_code(store->fire_invokers(batch)) == sc::kIdDuplicated);
    check_nothing_written();
  }
  SECTION("tasks without an invocation") {
    batch[3] = firing("ivk-2", 60'000, 120'000, "inv-b");
    batch[3].invocation.reset();
    CHECK(error_code(store->fire_invokers(batch)) != "OK");
    check_nothing_written();
  }
  // And the store fires the batch once the id is free.
  batch[3] = firing("ivk-2", 60'000, 120'000, "inv-b");
  CHECK(require_value(store->fire_invokers(batch)) ==
        std::vector<bool>{true, false, false, true, true});
  CHECK(all_invocation_ids(*store) ==
        std::vector<std::string>{"inv-1", "inv-a", "inv-b", "inv-c", "inv-pre"});
}

TEST_CASE("two servers racing with batches fire each slot exactly once",
          "[contract][invokers][concurrency]") {
  ContractFixture f;
  auto other = f.another();
  constexpr int kInvokers = 12;
  constexpr int64_t kSlots = 40;
  auto invoker_name = [](int i) { return "ivk-" + std::to_string(i); };
  for (int i = 0; i < kInvokers; ++i) {
    require_ok(f.store->insert_invoker(make_invoker(invoker_name(i), "cmd-1", 1)));
  }

  // Both servers read the same due slots, then fire crossing batches of them at once: server 0
  // the first five, server 1 the 4th to the 11th, so that in every round the second to commit
  // finds some of its slots fired and the others not. Each invoker's last slot disables it.
  // Each server keeps the slots its batches reported fired.
  constexpr int kMaxRounds = kInvokers * kSlots;  // each round fires one slot at least
  std::barrier sync(2);
  std::atomic<int64_t> errors{0};
  // Batches in which all, none, or some of the firings fired.
  std::atomic<int64_t> batches_all{0};
  std::atomic<int64_t> batches_none{0};
  std::atomic<int64_t> batches_with_both{0};
  std::set<std::pair<std::string, int64_t>> won[2];
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    Store* s = t == 0 ? f.store.get() : other.get();
    threads.emplace_back([&, s, t] {
      const std::size_t from = t == 0 ? 0 : 3;
      const std::size_t to = t == 0 ? 5 : 11;
      for (int round = 0;; ++round) {
        sync.arrive_and_wait();  // the last round's firings done
        auto due = s->due_invokers(kForever, kInvokers);
        sync.arrive_and_wait();  // both read before either fires
        if (!due || due->empty() || round == kMaxRounds) {
          if (!due || round == kMaxRounds) {
            ++errors;
          }
          sync.arrive_and_drop();
          return;
        }
        std::vector<InvokerFiring> batch;
        for (std::size_t i = from; i < std::min(to, due->size()); ++i) {
          const Invoker& ivk = (*due)[i];
          const int64_t slot = ivk.next_slot_ms;
          InvokerFiring fire = firing(
              ivk.invoker_id, slot, slot < kSlots ? slot + 1 : 0,
              "inv-" + std::to_string(t) + "-" + ivk.invoker_id + "-" + std::to_string(slot));
          fire.enabled_after = slot < kSlots;
          batch.push_back(std::move(fire));
        }
        if (batch.empty()) {
          continue;
        }
        auto fired = s->fire_invokers(batch);
        if (!fired || fired->size() != batch.size()) {
          ++errors;
          continue;
        }
        const auto n = std::count(fired->begin(), fired->end(), true);
        if (n == 0) {
          ++batches_none;
        } else if (n == static_cast<std::ptrdiff_t>(fired->size())) {
          ++batches_all;
        } else {
          ++batches_with_both;
        }
        for (std::size_t i = 0; i < batch.size(); ++i) {
          if ((*fired)[i] && !won[t].emplace(batch[i].invoker_id, batch[i].slot_ms).second) {
            ++errors;  // the same slot reported fired twice
          }
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  INFO("wins: " << won[0].size() << " and " << won[1].size() << "; batches all fired "
                << batches_all << ", none " << batches_none << ", some " << batches_with_both);
  CHECK(errors == 0);
  // The race was run: both servers won slots, and some batch was decided partly each way.
  CHECK_FALSE(won[0].empty());
  CHECK_FALSE(won[1].empty());
  CHECK(batches_with_both > 0);
  // Exactly once: no slot won by both, every slot won by one.
  std::set<std::pair<std::string, int64_t>> all;
  for (const auto& w : won) {
    for (const auto& key : w) {
      CHECK(all.insert(key).second);
    }
  }
  CHECK(static_cast<int64_t>(all.size()) == kInvokers * kSlots);

  // One record per slot, naming the winner's invocation, which exists with its task; no
  // invocation of a losing firing.
  auto records = all_records(*f.store);
  CHECK(records.total == kInvokers * kSlots);
  std::set<std::string> recorded;
  for (const auto& r : records.items) {
    const int winner = won[0].count({r.invoker_id, r.slot_ms}) != 0 ? 0 : 1;
    CHECK(won[winner].count({r.invoker_id, r.slot_ms}) == 1);
    CHECK(r.invocation_id ==
          "inv-" + std::to_string(winner) + "-" + r.invoker_id + "-" + std::to_string(r.slot_ms));
    recorded.insert(r.invocation_id);
  }
  CHECK(static_cast<int64_t>(recorded.size()) == kInvokers * kSlots);
  InvocationQuery iq;
  iq.limit = 1000;
  auto invocations = require_value(f.store->list_invocations(iq));
  CHECK(invocations.total == kInvokers * kSlots);
  auto listed = ids_of(invocations);
  CHECK(std::set<std::string>(listed.begin(), listed.end()) == recorded);
  TaskQuery tq;
  tq.limit = 0;
  CHECK(require_value(f.store->list_tasks(tq)).total == kInvokers * kSlots);
  for (int i = 0; i < kInvokers; ++i) {
    const Invoker got = invoker_of(*f.store, invoker_name(i));
    CHECK_FALSE(got.enabled);
    CHECK(got.next_slot_ms == 0);
  }
}

}  // namespace ferry::test::contract
