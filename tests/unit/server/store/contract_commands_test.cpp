// The Store contract: commands.
#include <algorithm>
#include <string>
#include <vector>

#include "ferry/core/error_codes.hpp"
#include "store_contract.hpp"

namespace ferry::test::contract {

namespace {

// Saved commands cmd-1 "one" and cmd-2 "two".
struct TwoCommands : ContractFixture {
  TwoCommands() {
    require_ok(store->insert_command(make_command("cmd-1", "one")));
    require_ok(store->insert_command(make_command("cmd-2", "two")));
  }
};

}  // namespace

TEST_CASE("commands: insert, get, duplicates", "[contract][commands]") {
  ContractFixture f;
  auto& store = f.store;
  Command c = make_command("cmd-1", "one");
  require_ok(store->insert_command(c));

  auto got = require_value(store->get_command("cmd-1"));
  REQUIRE(got);
  CHECK(got->command_name == "one");
  CHECK(got->description == c.description);
  CHECK(got->content == c.content);
  CHECK(got->timeout == 30);
  CHECK(got->enable_parameter);
  CHECK(got->default_parameters == c.default_parameters);
  CHECK(got->default_parameter_confs == c.default_parameter_confs);
  CHECK(got->username == "root");
  CHECK(got->output_cos_bucket_url == c.output_cos_bucket_url);
  CHECK(got->output_cos_key_prefix == "logs");
  CHECK(got->tags == c.tags);
  CHECK(got->saved);
  CHECK(got->created_ms == 1000);

  REQUIRE_FALSE(require_value(store->get_command("cmd-missing")));

  SECTION("a saved name is taken") {
    CHECK(error_code(store->insert_command(make_command("cmd-2", "one"))) ==
          sc::kCommandNameDuplicated);
  }
  SECTION("unsaved commands never conflict") {
    Command u = make_command("cmd-2", "one");
    u.saved = false;
    require_ok(store->insert_command(u));
    u.command_id = "cmd-3";
    require_ok(store->insert_command(u));
    CHECK(require_value(store->count_saved_commands()) == 1);
  }
  SECTION("an id is taken") {
    CHECK(error_code(store->insert_command(make_command("cmd-1", "other"))) == sc::kIdDuplicated);
  }
  SECTION("a failed insert leaves nothing behind") {
    REQUIRE_FALSE(store->insert_command(make_command("cmd-1", "other")));
    CHECK(require_value(store->count_saved_commands()) == 1);
    CHECK(require_value(store->get_command("cmd-1"))->command_name == "one");
  }
}

TEST_CASE("commands: modify", "[contract][commands]") {
  TwoCommands f;
  auto& store = f.store;

  SECTION("changes are stored, tags replaced, the id kept") {
    auto m = require_value(store->modify_command("cmd-1", [](Command& c) -> Status {
      c.command_id = "cmd-other";
      c.command_name = "uno";
      c.timeout = 99;
      c.tags = {{"k", "v"}};
      c.default_parameter_confs.clear();
      c.updated_ms = 5000;
      return {};
    }));
    CHECK(m.command_id == "cmd-1");
    auto got = require_value(store->get_command("cmd-1"));
    REQUIRE(got);
    CHECK(got->command_name == "uno");
    CHECK(got->timeout == 99);
    CHECK(got->tags == std::vector<Tag>{{"k", "v"}});
    CHECK(got->default_parameter_confs.empty());
    CHECK(got->updated_ms == 5000);
    CHECK_FALSE(require_value(store->get_command("cmd-other")));
  }
  SECTION("a missing command") {
    CHECK(error_code(store->modify_command("cmd-x", [](Command&) -> Status { return {}; })) ==
          sc::kCommandNotFound);
  }
  SECTION("a mutate error aborts") {
    auto r = store->modify_command("cmd-1", [](Command& c) -> Status {
      c.command_name = "changed";
      return Error{codes::kInvalidParameterValue, "no"};
    });
    CHECK(error_code(r) == codes::kInvalidParameterValue);
    CHECK(require_value(store->get_command("cmd-1"))->command_name == "one");
  }
  SECTION("renaming onto another saved command's name") {
    auto r = store->modify_command("cmd-1", [](Command& c) -> Status {
      c.command_name = "two";
      return {};
    });
    CHECK(error_code(r) == sc::kCommandNameDuplicated);
    CHECK(require_value(store->get_command("cmd-1"))->command_name == "one");
  }
  SECTION("keeping its own name is no conflict") {
    require_value(store->modify_command("cmd-1", [](Command& c) -> Status {
      c.description = "new";
      return {};
    }));
    CHECK(require_value(store->get_command("cmd-1"))->description == "new");
  }
}

TEST_CASE("commands: delete is all or none and keeps history", "[contract][commands]") {
  TwoCommands f;
  auto& store = f.store;
  add_task(*store, "rins-1");

  auto s = store->delete_commands({"cmd-1", "cmd-x", "cmd-y"});
  REQUIRE(error_code(s) == sc::kCommandNotFound);
  CHECK(s.error().message.find("cmd-x") != std::string::npos);
  CHECK(require_value(store->get_command("cmd-1")));

  require_ok(store->delete_commands({"cmd-1", "cmd-2"}));
  CHECK_FALSE(require_value(store->get_command("cmd-1")));
  CHECK_FALSE(require_value(store->get_command("cmd-2")));
  CHECK(require_value(store->count_saved_commands()) == 0);
  CHECK(require_value(store->get_invocation("inv-1")));
  CHECK(require_value(store->get_task("invt-1")));
  // The name is free again.
  require_ok(store->insert_command(make_command("cmd-3", "one")));
}

TEST_CASE("commands: filters and paging", "[contract][commands]") {
  ContractFixture f;
  auto& store = f.store;
  // cmd-00 .. cmd-24; created_ms repeats in pairs so that the id must break ties.
  for (int i = 0; i < 25; ++i) {
    std::string n = (i < 10 ? "0" : "") + std::to_string(i);
    Command c = make_command("cmd-" + n, "name-" + n, 1000 + i / 2);
    c.command_type = i % 2 == 0 ? "SHELL" : "POWERSHELL";
    c.created_by = i < 20 ? "USER" : "TAT";
    c.tags = {{"env", i % 3 == 0 ? "prod" : "dev"}, {"idx", n}};
    require_ok(store->insert_command(c));
  }
  Command unsaved = make_command("cmd-unsaved", "name-00", 9999);
  unsaved.saved = false;
  require_ok(store->insert_command(unsaved));

  SECTION("no filter: newest first, the id breaking ties, total over all") {
    CommandQuery q;
    q.limit = 5;
    auto p = require_value(store->list_commands(q));
    CHECK(p.total == 25);
    CHECK(ids_of(p) == std::vector<std::string>{"cmd-24", "cmd-22", "cmd-23", "cmd-20", "cmd-21"});
    q.offset = 20;
    p = require_value(store->list_commands(q));
    CHECK(p.total == 25);
    CHECK(ids_of(p) == std::vector<std::string>{"cmd-05", "cmd-02", "cmd-03", "cmd-00", "cmd-01"});
  }
  SECTION("pages tile the listing") {
    CommandQuery q;
    q.limit = 7;
    std::vector<std::string> all;
    for (q.offset = 0; q.offset < 30; q.offset += 7) {
      auto p = require_value(store->list_commands(q));
      CHECK(p.total == 25);
      auto ids = ids_of(p);
      all.insert(all.end(), ids.begin(), ids.end());
    }
    REQUIRE(all.size() == 25);
    CHECK(all.front() == "cmd-24");
    CHECK(all.back() == "cmd-01");
    std::vector<std::string> sorted = all;
    std::sort(sorted.begin(), sorted.end());
    CHECK(std::unique(sorted.begin(), sorted.end()) == sorted.end());
  }
  SECTION("saved_only=false includes unsaved commands") {
    CommandQuery q;
    q.saved_only = false;
    q.command_names = {"name-00"};
    auto p = require_value(store->list_commands(q));
    CHECK(p.total == 2);
    CHECK(ids_of(p) == std::vector<std::string>{"cmd-unsaved", "cmd-00"});
  }
  SECTION("OR within a field, AND across fields") {
    CommandQuery q;
    q.command_ids = {"cmd-01", "cmd-02", "cmd-03", "cmd-missing"};
    q.command_types = {"SHELL"};
    auto p = require_value(store->list_commands(q));
    CHECK(p.total == 1);
    CHECK(ids_of(p) == std::vector<std::string>{"cmd-02"});
    q.command_types = {"SHELL", "POWERSHELL"};
    CHECK(require_value(store->list_commands(q)).total == 3);
  }
  SECTION("names and created_by") {
    CommandQuery q;
    q.command_names = {"name-21", "name-05"};
    CHECK(ids_of(require_value(store->list_commands(q))) ==
          std::vector<std::string>{"cmd-21", "cmd-05"});
    CommandQuery by;
    by.created_by = {"TAT"};
    CHECK(require_value(store->list_commands(by)).total == 5);
  }
  SECTION("tags") {
    CommandQuery q;
    q.tag_pairs = {{"env", {"prod"}}};
    CHECK(require_value(store->list_commands(q)).total == 9);  // 0, 3, ..., 24
    q.tag_pairs = {{"env", {"prod", "dev"}}};
    CHECK(require_value(store->list_commands(q)).total == 25);
    q.tag_pairs = {{"env", {"prod"}}, {"idx", {"03", "04", "06"}}};
    CHECK(ids_of(require_value(store->list_commands(q))) ==
          std::vector<std::string>{"cmd-06", "cmd-03"});
    q.tag_pairs = {{"env", {"staging"}}};
    CHECK(require_value(store->list_commands(q)).total == 0);

    CommandQuery keys;
    keys.tag_keys = {"idx"};
    CHECK(require_value(store->list_commands(keys)).total == 25);
    keys.tag_keys = {"nope"};
    CHECK(require_value(store->list_commands(keys)).total == 0);

    CommandQuery values;
    values.tag_values = {"07", "08"};
    CHECK(require_value(store->list_commands(values)).total == 2);

    // A listed command comes with all its tags, not only the matching ones.
    auto p = require_value(store->list_commands(values));
    CHECK(p.items.at(0).tags.size() == 2);
  }
  SECTION("a page past the end is empty but counts") {
    CommandQuery q;
    q.offset = 100;
    auto p = require_value(store->list_commands(q));
    CHECK(p.total == 25);
    CHECK(p.items.empty());
  }
}

}  // namespace ferry::test::contract
