// The Store contract: every field of every record reads back as written (each unlike its
// default, so that a field the store drops would show), ids already taken, and listings read
// whole or by pages.
#include <string>
#include <vector>

#include "store_contract.hpp"

namespace ferry::test::contract {

namespace {

// `want` as a get read it and as the first item of a listing.
template <typename T>
void check_read_back(const std::optional<T>& got, const Page<T>& listed, const T& want) {
  REQUIRE(got);
  CHECK(differing_field(*got, want) == -1);
  REQUIRE_FALSE(listed.items.empty());
  CHECK(differing_field(listed.items.front(), want) == -1);
}

}  // namespace

TEST_CASE("every field of a command reads back", "[contract][records]") {
  ContractFixture f;
  Command c = make_command("cmd-full", "full", 11);
  c.command_type = "POWERSHELL";
  c.created_by = "TAT";
  c.updated_ms = 12;
  require_ok(f.store->insert_command(c));
  check_read_back(require_value(f.store->get_command(c.command_id)),
                  require_value(f.store->list_commands({})), c);

  // And every field modify_command stores; an unsaved command too.
  Command changed = make_command("cmd-full", "renamed", 71);
  changed.default_parameter_confs = {};
  changed.tags = {{"only", "one"}};
  changed.saved = false;
  auto modified = require_value(f.store->modify_command(c.command_id, [&](Command& cur) {
    cur = changed;
    return Status{};
  }));
  CHECK(differing_field(modified, changed) == -1);
  auto got = require_value(f.store->get_command(c.command_id));
  REQUIRE(got);
  CHECK(differing_field(*got, changed) == -1);
}

TEST_CASE("every field of an invocation reads back", "[contract][records]") {
  ContractFixture f;
  Invocation inv = make_invocation("inv-full", "cmd-full", 21);
  inv.description = "an invocation";
  inv.default_parameters = R"({"p":"v"})";
  inv.instance_kind = "RIS";
  inv.username = "operator";
  inv.invocation_source = "INVOKER";
  inv.command_type = "POWERSHELL";
  inv.timeout = 41;
  inv.working_directory = "/inv";
  inv.output_cos_bucket_url = "https://out.example";
  inv.output_cos_key_prefix = "inv-prefix";
  inv.updated_ms = 22;
  require_ok(f.store->insert_invocation(std::nullopt, inv, {}));
  check_read_back(require_value(f.store->get_invocation(inv.invocation_id)),
                  require_value(f.store->list_invocations({})), inv);
}

TEST_CASE("every field modify_task stores reads back, the id excepted", "[contract][records]") {
  ContractFixture f;
  add_task(*f.store);
  InvocationTask changed = make_task("invt-other", "inv-1", "rins-other", 81);
  changed.status = TaskStatus::kTaskTimeout;
  changed.document.command_type = "POWERSHELL";
  changed.exit_code = -2;
  changed.cancel_requested = true;
  changed.last_log_index = 9;
  auto modified = require_value(f.store->modify_task("invt-1", [&](InvocationTask& cur) {
    cur = changed;
    return true;
  }));
  changed.invocation_task_id = "invt-1";
  REQUIRE(modified);
  CHECK(differing_field(*modified, changed) == -1);
  auto got = require_value(f.store->get_task("invt-1"));
  REQUIRE(got);
  CHECK(differing_field(*got, changed) == -1);
}

TEST_CASE("every field of a register code and an instance reads back", "[contract][records]") {
  ContractFixture f;
  RegisterCode code = make_code("rc-full", 91);
  code.expired_ms = 92;
  code.registered_count = 3;
  code.updated_ms = 94;
  require_ok(f.store->insert_register_code(code));
  RegisterInstance inst = make_instance("rins-full", "rc-full", 95);
  inst.system_name = "Windows";
  inst.updated_ms = 96;
  inst.agent_version = "1.0";
  inst.last_heartbeat_ms = 97;
  inst.environment = R"({"os":"linux"})";
  inst.support_features = {"a", "b"};
  inst.tags = {{"t1", "u1"}, {"t2", "u2"}};
  require_ok(f.store->register_instance(make_check("rc-full", 50), inst));

  ++code.registered_count;  // this registration
  CHECK(differing_field(require_value(f.store->list_register_codes({}, 0, 1)).items.at(0), code) ==
        -1);
  check_read_back(require_value(f.store->get_instance(inst.instance_id)),
                  require_value(f.store->list_instances({})), inst);
}

TEST_CASE("ids already taken", "[contract][errors]") {
  ContractFixture f;
  add_task(*f.store);
  add_instance(*f.store, "rins-1");
  // An invocation id: nothing of the second insert stays, not even its command.
  CHECK(error_code(f.store->insert_invocation(
            make_command("cmd-new", "new"), make_invocation("inv-1", "cmd-new"),
            {make_task("invt-2", "inv-1", "rins-a")})) == sc::kIdDuplicated);
  CHECK_FALSE(require_value(f.store->get_command("cmd-new")));
  CHECK_FALSE(require_value(f.store->get_task("invt-2")));
  // An instance id, under another code and key.
  require_ok(f.store->insert_register_code(make_code("rc-b")));
  auto again = make_instance("rins-1", "rc-b");
  again.public_key = "another-key";
  CHECK(error_code(f.store->register_instance(make_check("rc-b"), again)) == sc::kIdDuplicated);
  CHECK(require_value(f.store->list_register_codes({"rc-b"}, 0, 1)).items.at(0).registered_count ==
        0);
}

TEST_CASE("list_all_tasks reads every page", "[contract][tasks]") {
  ContractFixture f;
  std::vector<InvocationTask> tasks;
  for (int i = 0; i < 23; ++i) {
    tasks.push_back(make_task("invt-" + std::to_string(100 + i), "inv-1", "rins-a", 1000 + i));
  }
  tasks.push_back(make_task("invt-other", "inv-1", "rins-b", 5000));
  require_ok(f.store->insert_invocation(std::nullopt, make_invocation("inv-1", "cmd-1"), tasks));
  TaskQuery q;
  q.instance_ids = {"rins-a"};
  q.limit = 5;
  auto all = require_value(list_all_tasks(*f.store, q));
  REQUIRE(all.size() == 23);
  CHECK(all.front().invocation_task_id == "invt-122");
  CHECK(all.back().invocation_task_id == "invt-100");
  q.offset = 20;
  CHECK(require_value(list_all_tasks(*f.store, q)).size() == 3);
  q.offset = 0;
  q.limit = 0;  // a page of at least one
  CHECK(require_value(list_all_tasks(*f.store, q)).size() == 23);
  q.instance_ids = {"rins-none"};
  CHECK(require_value(list_all_tasks(*f.store, q)).empty());
}

TEST_CASE("every listing pages with offset, limit and total", "[contract][paging]") {
  ContractFixture f;
  for (int i = 0; i < 7; ++i) {
    const std::string n = std::to_string(i);
    require_ok(f.store->insert_invocation(std::nullopt,
                                          make_invocation("inv-" + n, "cmd-1", 100 + i),
                                          {make_task("invt-" + n, "inv-" + n, "rins-a", 100 + i)}));
    require_ok(f.store->insert_register_code(make_code("rc-" + n)));
    require_ok(f.store->register_instance(make_check("rc-" + n),
                                          make_instance("rins-" + n, "rc-" + n, 100 + i)));
  }
  InvocationQuery iq;
  iq.offset = 2;
  iq.limit = 3;
  auto invocations = require_value(f.store->list_invocations(iq));
  CHECK(invocations.total == 7);
  CHECK(ids_of(invocations) == std::vector<std::string>{"inv-4", "inv-3", "inv-2"});
  TaskQuery tq;
  tq.offset = 5;
  tq.limit = 3;
  auto tasks = require_value(f.store->list_tasks(tq));
  CHECK(tasks.total == 7);
  CHECK(ids_of(tasks) == std::vector<std::string>{"invt-1", "invt-0"});
  RegisterInstanceQuery rq;
  rq.offset = 6;
  rq.limit = 10;
  auto instances = require_value(f.store->list_instances(rq));
  CHECK(instances.total == 7);
  CHECK(ids_of(instances) == std::vector<std::string>{"rins-0"});
  auto codes = require_value(f.store->list_register_codes({}, 3, 2));
  CHECK(codes.total == 7);
  REQUIRE(codes.items.size() == 2);
  CHECK(codes.items[0].register_code_id == "rc-3");  // one created_ms: the id breaks the tie
  CHECK(codes.items[1].register_code_id == "rc-4");
}

}  // namespace ferry::test::contract
