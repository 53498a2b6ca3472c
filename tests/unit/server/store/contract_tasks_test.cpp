// The Store contract: invocations, tasks and task logs.
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "ferry/core/error_codes.hpp"
#include "store_contract.hpp"

namespace ferry::test::contract {

TEST_CASE("invocations and tasks", "[contract][tasks]") {
  ContractFixture f;
  auto& store = f.store;
  Command cmd = make_command("cmd-1", "one");
  Invocation inv1 = make_invocation("inv-1", "cmd-1", 1000);
  InvocationTask t1 = make_task("invt-1", "inv-1", "rins-a", 1000);
  t1.exit_code = 3;
  t1.dropped = 12345;
  t1.status = TaskStatus::kRunning;
  t1.cancel_requested = true;
  t1.document.working_directory = "/w";
  t1.document.output_cos_bucket_url = "https://b";
  t1.document.output_cos_key_prefix = "p";
  t1.error_info = "e";
  t1.output_url = "https://b/x";
  t1.output_upload_error = "u";
  t1.exec_start_ms = 1;
  t1.exec_end_ms = 2;
  t1.start_ms = 3;
  t1.end_ms = 4;
  t1.delivered_ms = 5;
  t1.enable_parameter = true;
  t1.invocation_source = "INVOKER";
  t1.document.command_type = "POWERSHELL";
  InvocationTask t2 = make_task("invt-2", "inv-1", "rins-b", 1000);
  require_ok(store->insert_invocation(cmd, inv1, {t1, t2}));
  require_ok(store->insert_invocation(std::nullopt, make_invocation("inv-2", "cmd-1", 2000),
                                      {make_task("invt-3", "inv-2", "rins-b", 2000)}));
  Invocation inv3 = make_invocation("inv-3", "cmd-2", 3000);
  inv3.invocation_source = "INVOKER";
  require_ok(
      store->insert_invocation(std::nullopt, inv3, {make_task("invt-4", "inv-3", "rins-c", 3000)}));

  SECTION("the command came along") {
    CHECK(require_value(store->get_command("cmd-1")));
  }
  SECTION("an invocation reads back") {
    auto got = require_value(store->get_invocation("inv-1"));
    REQUIRE(got);
    CHECK(got->command_id == "cmd-1");
    CHECK(got->parameters == inv1.parameters);
    CHECK(got->command_content == inv1.command_content);
    CHECK_FALSE(require_value(store->get_invocation("inv-x")));
  }
  SECTION("every task field reads back") {
    auto got = require_value(store->get_task("invt-1"));
    REQUIRE(got);
    CHECK(differing_field(*got, t1) == -1);
    CHECK(differing_field(*require_value(store->get_task("invt-2")), t2) == -1);
    CHECK(got->invocation_id == "inv-1");
    CHECK(got->instance_id == "rins-a");
    CHECK(got->status == TaskStatus::kRunning);
    CHECK(got->exit_code == std::optional<int64_t>(3));
    CHECK(got->dropped == 12345U);
    CHECK(got->output == t1.output);
    CHECK(got->cancel_requested);
    CHECK(got->enable_parameter);
    CHECK(got->document.content == t1.document.content);
    CHECK(got->document.timeout == 10);
    CHECK(got->document.working_directory == "/w");
    CHECK(got->document.username == "nobody");
    CHECK(got->document.output_cos_bucket_url == "https://b");
    CHECK(got->document.output_cos_key_prefix == "p");
    CHECK(got->error_info == "e");
    CHECK(got->output_url == "https://b/x");
    CHECK(got->output_upload_error == "u");
    CHECK(got->exec_start_ms == 1);
    CHECK(got->exec_end_ms == 2);
    CHECK(got->start_ms == 3);
    CHECK(got->end_ms == 4);
    CHECK(got->delivered_ms == 5);
    CHECK(got->last_log_index == -1);
    CHECK(got->invocation_source == "INVOKER");
    CHECK_FALSE(require_value(store->get_task("invt-2"))->exit_code);
    CHECK_FALSE(require_value(store->get_task("invt-x")));
  }
  SECTION("a duplicate saved command name fails the whole insert") {
    auto s =
        store->insert_invocation(make_command("cmd-9", "one"), make_invocation("inv-9", "cmd-9"),
                                 {make_task("invt-9", "inv-9", "rins-a")});
    CHECK(error_code(s) == sc::kCommandNameDuplicated);
    CHECK_FALSE(require_value(store->get_invocation("inv-9")));
    CHECK_FALSE(require_value(store->get_task("invt-9")));
  }
  SECTION("a duplicate task id fails the whole insert") {
    auto s = store->insert_invocation(std::nullopt, make_invocation("inv-9", "cmd-1"),
                                      {make_task("invt-1", "inv-9", "rins-a")});
    CHECK(error_code(s) == sc::kIdDuplicated);
    CHECK_FALSE(require_value(store->get_invocation("inv-9")));
  }
  SECTION("list_invocations") {
    InvocationQuery q;
    auto p = require_value(store->list_invocations(q));
    CHECK(p.total == 3);
    REQUIRE(p.items.size() == 3);
    CHECK(p.items[0].invocation_id == "inv-3");
    q.instance_ids = {"rins-b"};
    p = require_value(store->list_invocations(q));
    CHECK(p.total == 2);
    CHECK(p.items.at(0).invocation_id == "inv-2");
    CHECK(p.items.at(1).invocation_id == "inv-1");
    q.instance_ids = {"rins-a", "rins-c"};
    CHECK(require_value(store->list_invocations(q)).total == 2);
    q.sources = {"INVOKER"};
    CHECK(require_value(store->list_invocations(q)).total == 1);
    InvocationQuery byc;
    byc.command_ids = {"cmd-1"};
    CHECK(require_value(store->list_invocations(byc)).total == 2);
    byc.invocation_ids = {"inv-2", "inv-3"};
    CHECK(require_value(store->list_invocations(byc)).total == 1);
    byc.limit = 0;
    auto empty = require_value(store->list_invocations(byc));
    CHECK(empty.total == 1);
    CHECK(empty.items.empty());
  }
  SECTION("an invocation's tags are stored with it, read back and filtered on") {
    Invocation tagged = make_invocation("inv-4", "cmd-4", 4000);
    tagged.tags = {{"team", "ops"}, {"env", "prod"}};
    require_ok(store->insert_invocation(std::nullopt, tagged,
                                        {make_task("invt-5", "inv-4", "rins-a", 4000)}));
    Invocation other = make_invocation("inv-5", "cmd-4", 5000);
    other.tags = {{"team", "dev"}};
    require_ok(store->insert_invocation(std::nullopt, other, {}));
    auto got = require_value(store->get_invocation("inv-4"));
    REQUIRE(got);
    CHECK(got->tags == tagged.tags);  // in their order
    CHECK(require_value(store->get_invocation("inv-1"))->tags.empty());
    InvocationQuery q;
    q.tag_pairs = {{"team", {"ops"}}};
    auto p = require_value(store->list_invocations(q));
    REQUIRE(p.total == 1);
    CHECK(p.items.at(0).invocation_id == "inv-4");
    CHECK(p.items.at(0).tags == tagged.tags);
    q.tag_pairs = {{"team", {"ops"}}, {"env", {"prod"}}};
    CHECK(require_value(store->list_invocations(q)).total == 1);
    q.tag_pairs = {{"team", {"ops"}}, {"env", {"dev"}}};
    CHECK(require_value(store->list_invocations(q)).total == 0);
    q.tag_pairs = {{"team", {"ops", "dev"}}};
    CHECK(require_value(store->list_invocations(q)).total == 2);
    q.tag_pairs = {{"team", {}}};  // the key alone
    CHECK(require_value(store->list_invocations(q)).total == 2);
    InvocationQuery all;
    auto listed = require_value(store->list_invocations(all));
    CHECK(listed.total == 5);
    CHECK(listed.items.at(0).tags == other.tags);
    // A modified invocation keeps its tags.
    auto modified = require_value(store->modify_invocation("inv-4", [](Invocation& i) -> Status {
      i.description = "changed";
      return {};
    }));
    CHECK(modified.tags == tagged.tags);
    CHECK(require_value(store->get_invocation("inv-4"))->tags == tagged.tags);
  }
  SECTION("list_tasks") {
    TaskQuery q;
    auto p = require_value(store->list_tasks(q));
    CHECK(p.total == 4);
    q.invocation_ids = {"inv-1"};
    p = require_value(store->list_tasks(q));
    CHECK(p.total == 2);
    REQUIRE(p.items.size() == 2);
    CHECK(p.items[0].invocation_task_id == "invt-1");
    CHECK(p.items[0].output == t1.output);
    q.statuses = {TaskStatus::kPending};
    p = require_value(store->list_tasks(q));
    CHECK(p.total == 1);
    CHECK(p.items.at(0).invocation_task_id == "invt-2");
    TaskQuery st;
    st.statuses = {TaskStatus::kPending, TaskStatus::kRunning};
    st.instance_ids = {"rins-b"};
    CHECK(require_value(store->list_tasks(st)).total == 2);
    TaskQuery ids;
    ids.task_ids = {"invt-1", "invt-4"};
    ids.command_ids = {"cmd-x"};
    ids.with_output = false;
    p = require_value(store->list_tasks(ids));
    CHECK(p.total == 2);
    REQUIRE(p.items.size() == 2);
    CHECK(p.items[0].invocation_task_id == "invt-4");
    CHECK(p.items[0].output.empty());
    CHECK(p.items[1].output.empty());
    CHECK(p.items[1].exit_code == std::optional<int64_t>(3));
  }
}

TEST_CASE("modify_task", "[contract][tasks]") {
  ContractFixture f;
  auto& store = f.store;
  add_task(*store);

  SECTION("true stores the change") {
    auto r = require_value(store->modify_task("invt-1", [](InvocationTask& t) {
      t.status = TaskStatus::kSuccess;
      t.exit_code = 0;
      t.output = "ZG9uZQ==";
      t.end_ms = 7;
      return true;
    }));
    REQUIRE(r);
    CHECK(r->status == TaskStatus::kSuccess);
    auto got = require_value(store->get_task("invt-1"));
    CHECK(got->status == TaskStatus::kSuccess);
    CHECK(got->exit_code == std::optional<int64_t>(0));
    CHECK(got->output == "ZG9uZQ==");
    CHECK(got->end_ms == 7);
  }
  SECTION("false leaves the row and returns it as stored") {
    auto r = require_value(store->modify_task("invt-1", [](InvocationTask& t) {
      t.status = TaskStatus::kFailed;
      t.output = "bGF0ZQ==";
      return false;
    }));
    REQUIRE(r);
    CHECK(r->status == TaskStatus::kPending);
    CHECK(r->output == "b3V0cHV0");
    CHECK(require_value(store->get_task("invt-1"))->status == TaskStatus::kPending);
  }
  SECTION("missing") {
    bool called = false;
    auto r = require_value(store->modify_task("invt-x", [&](InvocationTask&) {
      called = true;
      return true;
    }));
    CHECK_FALSE(r);
    CHECK_FALSE(called);
  }
  SECTION("concurrent read-modify-writes from two stores on the database lose nothing") {
    auto other = f.another();
    std::atomic<int> failures{0};  // Catch2 v2 assertions are not thread-safe
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      Store* s = i % 2 == 0 ? store.get() : other.get();
      threads.emplace_back([s, &failures] {
        for (int k = 0; k < 25; ++k) {
          auto r = s->modify_task("invt-1", [](InvocationTask& t) {
            ++t.delivered_ms;
            return true;
          });
          if (!r || !*r) {
            ++failures;
          }
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    CHECK(failures == 0);
    CHECK(require_value(store->get_task("invt-1"))->delivered_ms == 200);
  }
}

TEST_CASE("task logs", "[contract][tasks]") {
  ContractFixture f;
  auto& store = f.store;
  add_task(*store);
  CHECK(require_value(store->task_log("invt-1")).empty());
  require_ok(store->put_task_log("invt-1", 2, "c"));
  require_ok(store->put_task_log("invt-1", 0, "a"));
  require_ok(store->put_task_log("invt-1", 1, std::string("b\0b", 3)));
  require_ok(store->put_task_log("invt-1", 0, "changed"));  // a repeat changes nothing
  require_ok(store->put_task_log("invt-1", 3, ""));
  CHECK(require_value(store->task_log("invt-1")) == std::string("ab\0bc", 5));
  CHECK(require_value(store->get_task("invt-1"))->last_log_index == 3);
  CHECK(error_code(store->put_task_log("invt-x", 0, "a")) == sc::kInvocationTaskNotFound);
  CHECK(require_value(store->task_log("invt-x")).empty());
}

TEST_CASE("a page of tasks is newest first, ties by id, with or without filters",
          "[contract][tasks]") {
  // list_tasks sorts only the ids in SQL and the rows in C++: both orders must agree, also
  // for tasks made together (one created_ms) and across pages.
  ContractFixture f;
  auto& store = f.store;
  std::vector<std::string> expected;  // created_ms descending, then id ascending
  for (int inv = 0; inv < 6; ++inv) {
    const std::string inv_id = "inv-" + std::to_string(inv);
    const int64_t created = inv % 2 == 0 ? 5000 - inv * 100 : 5000 - (inv - 1) * 100;
    std::vector<InvocationTask> tasks;
    for (const char* suffix : {"c", "a", "B", "b"}) {
      tasks.push_back(make_task("invt-" + std::to_string(inv) + suffix, inv_id, "rins-a", created));
      tasks.back().output = std::string(2000, 'o');  // wide rows, as with real output
    }
    require_ok(
        store->insert_invocation(std::nullopt, make_invocation(inv_id, "cmd-1", created), tasks));
  }
  for (const int64_t created : {5000, 4800, 4600}) {
    std::vector<std::string> ids;
    for (int inv = 0; inv < 6; ++inv) {
      if ((inv % 2 == 0 ? 5000 - inv * 100 : 5000 - (inv - 1) * 100) == created) {
        for (const char* suffix : {"c", "a", "B", "b"}) {
          ids.push_back("invt-" + std::to_string(inv) + suffix);
        }
      }
    }
    std::sort(ids.begin(), ids.end());
    expected.insert(expected.end(), ids.begin(), ids.end());
  }
  const auto ids_of = [](const Page<InvocationTask>& page) {
    std::vector<std::string> ids;
    for (const auto& t : page.items) {
      ids.push_back(t.invocation_task_id);
    }
    return ids;
  };
  for (const bool filtered : {false, true}) {
    TaskQuery q;
    if (filtered) {
      q.instance_ids = {"rins-a"};
    }
    q.limit = 100;
    auto all = require_value(store->list_tasks(q));
    CHECK(all.total == 24);
    CHECK(ids_of(all) == expected);
    std::vector<std::string> paged;
    for (int64_t offset = 0; offset < 24; offset += 5) {
      q.offset = offset;
      q.limit = 5;
      auto page = require_value(store->list_tasks(q));
      CHECK(page.total == 24);
      auto ids = ids_of(page);
      paged.insert(paged.end(), ids.begin(), ids.end());
    }
    CHECK(paged == expected);
  }
}

}  // namespace ferry::test::contract

namespace ferry::test::contract {

TEST_CASE("tasks counted by status", "[contract][tasks]") {
  ContractFixture f;
  CHECK(require_value(f.store->count_tasks_by_status()).empty());
  InvocationTask running = make_task("invt-r", "inv-1", "rins-a", 1000);
  running.status = TaskStatus::kRunning;
  InvocationTask done1 = make_task("invt-s1", "inv-1", "rins-b", 1000);
  done1.status = TaskStatus::kSuccess;
  InvocationTask done2 = make_task("invt-s2", "inv-1", "rins-c", 1000);
  done2.status = TaskStatus::kSuccess;
  InvocationTask pending = make_task("invt-p", "inv-1", "rins-d", 1000);
  require_ok(f.store->insert_invocation(make_command("cmd-1", "one"),
                                        make_invocation("inv-1", "cmd-1", 1000),
                                        {running, done1, done2, pending}));
  auto counts = require_value(f.store->count_tasks_by_status());
  std::sort(counts.begin(), counts.end());
  using Count = std::pair<TaskStatus, int64_t>;
  CHECK(counts == std::vector<Count>{{TaskStatus::kPending, 1},
                                     {TaskStatus::kRunning, 1},
                                     {TaskStatus::kSuccess, 2}});
  // A change of status moves the task from one count to the other.
  REQUIRE(require_value(f.store->modify_task("invt-r", [](InvocationTask& t) {
    t.status = TaskStatus::kFailed;
    return true;
  })));
  counts = require_value(f.store->count_tasks_by_status());
  std::sort(counts.begin(), counts.end());
  CHECK(counts == std::vector<Count>{{TaskStatus::kPending, 1},
                                     {TaskStatus::kSuccess, 2},
                                     {TaskStatus::kFailed, 1}});
  CHECK(f.store->waiting_calls() == 0);  // nobody is inside the store now
}

}  // namespace ferry::test::contract
