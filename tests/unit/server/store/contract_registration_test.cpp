// The Store contract: register codes, instances and nonces.
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "ferry/core/error_codes.hpp"
#include "store_contract.hpp"

namespace ferry::test::contract {

TEST_CASE("register codes", "[contract][register]") {
  ContractFixture f;
  auto& store = f.store;
  RegisterCode a = make_code("rc-a");
  a.created_ms = 1;
  a.expired_ms = 77;
  RegisterCode b = make_code("rc-b");
  b.created_ms = 2;
  require_ok(store->insert_register_code(a));
  require_ok(store->insert_register_code(b));
  CHECK(error_code(store->insert_register_code(a)) == sc::kIdDuplicated);

  auto p = require_value(store->list_register_codes({}, 0, 20));
  CHECK(p.total == 2);
  REQUIRE(p.items.size() == 2);
  CHECK(p.items[0].register_code_id == "rc-b");
  CHECK(p.items[1].value_hash == "hash-rc-a");
  CHECK(p.items[1].expired_ms == 77);
  CHECK(p.items[1].ip_address_range == "10.0.0.0/8");
  CHECK(p.items[1].instance_name_prefix == "web");
  p = require_value(store->list_register_codes({"rc-a", "rc-x"}, 0, 20));
  CHECK(p.total == 1);
  p = require_value(store->list_register_codes({}, 1, 1));
  CHECK(p.total == 2);
  REQUIRE(p.items.size() == 1);
  CHECK(p.items[0].register_code_id == "rc-a");

  auto s = store->set_register_codes_enabled({"rc-a", "rc-x"}, false, 50);
  CHECK(error_code(s) == sc::kRegisterCodeNotFound);
  CHECK(s.error().message.find("rc-x") != std::string::npos);
  CHECK(require_value(store->list_register_codes({"rc-a"}, 0, 20)).items.at(0).enabled);
  require_ok(store->set_register_codes_enabled({"rc-a", "rc-b"}, false, 50));
  p = require_value(store->list_register_codes({}, 0, 20));
  CHECK_FALSE(p.items.at(0).enabled);
  CHECK_FALSE(p.items.at(1).enabled);
  CHECK(p.items.at(1).updated_ms == 50);

  CHECK(error_code(store->delete_register_codes({"rc-b", "rc-x"})) == sc::kRegisterCodeNotFound);
  CHECK(require_value(store->list_register_codes({}, 0, 20)).total == 2);
  require_ok(store->delete_register_codes({"rc-b"}));
  CHECK(require_value(store->list_register_codes({}, 0, 20)).total == 1);
}

TEST_CASE("register_instance checks the code", "[contract][register]") {
  ContractFixture f;
  auto& store = f.store;
  RegisterCode code = make_code("rc-a", 2);
  code.expired_ms = 10000;
  require_ok(store->insert_register_code(code));
  auto count = [&] {
    return require_value(store->list_register_codes({"rc-a"}, 0, 1)).items.at(0).registered_count;
  };

  SECTION("unknown code") {
    CHECK(error_code(store->register_instance(
              make_check("rc-x"), make_instance("rins-1", "rc-x"))) == sc::kRegisterCodeNotFound);
  }
  SECTION("wrong value") {
    auto check = make_check("rc-a");
    check.value_hash = "other";
    auto s = store->register_instance(check, make_instance("rins-1", "rc-a"));
    CHECK(error_code(s) == sc::kRegisterCodeValueMismatch);
    CHECK(s.error().message.find("hash-rc-a") == std::string::npos);
  }
  SECTION("disabled") {
    require_ok(store->set_register_codes_enabled({"rc-a"}, false, 1));
    CHECK(error_code(store->register_instance(
              make_check("rc-a"), make_instance("rins-1", "rc-a"))) == sc::kRegisterCodeDisabled);
  }
  SECTION("expired at expired_ms") {
    CHECK(error_code(store->register_instance(make_check("rc-a", 10000),
                                              make_instance("rins-1", "rc-a"))) ==
          sc::kRegisterCodeExpired);
    require_ok(store->register_instance(make_check("rc-a", 9999), make_instance("rins-1", "rc-a")));
  }
  SECTION("the extra check runs last and its error aborts without counting") {
    auto check = make_check("rc-a");
    std::string seen;
    check.extra = [&](const RegisterCode& c) -> Status {
      seen = c.ip_address_range;
      return Error{codes::kOperationDenied, "ip out of range"};
    };
    CHECK(error_code(store->register_instance(check, make_instance("rins-1", "rc-a"))) ==
          codes::kOperationDenied);
    CHECK(seen == "10.0.0.0/8");
    CHECK(count() == 0);
    CHECK_FALSE(require_value(store->get_instance("rins-1")));
  }
  SECTION("the limit, and a duplicate instance id counts nothing") {
    require_ok(store->register_instance(make_check("rc-a"), make_instance("rins-1", "rc-a")));
    CHECK(count() == 1);
    CHECK(error_code(store->register_instance(
              make_check("rc-a"), make_instance("rins-1", "rc-a"))) == sc::kIdDuplicated);
    CHECK(count() == 1);
    require_ok(store->register_instance(make_check("rc-a"), make_instance("rins-2", "rc-a")));
    CHECK(error_code(store->register_instance(
              make_check("rc-a"), make_instance("rins-3", "rc-a"))) == sc::kRegisterLimitExceeded);
    CHECK(count() == 2);
    // Deleting an instance does not give its registration back.
    require_ok(store->delete_instance("rins-1"));
    CHECK(error_code(store->register_instance(
              make_check("rc-a"), make_instance("rins-3", "rc-a"))) == sc::kRegisterLimitExceeded);
  }
}

TEST_CASE("deleting an instance revokes its key for good", "[contract][register]") {
  ContractFixture f;
  auto& store = f.store;
  require_ok(store->insert_register_code(make_code("rc-a", 10)));
  RegisterInstance first = make_instance("rins-1", "rc-a");
  require_ok(store->register_instance(make_check("rc-a"), first));
  require_ok(store->delete_instance("rins-1"));
  // The same key under any id is refused; a new key is welcome.
  RegisterInstance again = make_instance("rins-9", "rc-a");
  again.public_key = first.public_key;
  CHECK(error_code(store->register_instance(make_check("rc-a"), again)) == sc::kKeyRevoked);
  CHECK_FALSE(require_value(store->get_instance("rins-9")));
  RegisterInstance fresh = make_instance("rins-9", "rc-a");
  fresh.public_key = "a-new-key";
  require_ok(store->register_instance(make_check("rc-a"), fresh));
  // The revocation survives a reopen.
  store.reset();
  store = f.another();
  again.instance_id = "rins-8";
  CHECK(error_code(store->register_instance(make_check("rc-a"), again)) == sc::kKeyRevoked);
}

TEST_CASE("registered instances", "[contract][instances]") {
  ContractFixture f;
  auto& store = f.store;
  require_ok(store->insert_register_code(make_code("rc-a", 10)));
  require_ok(store->insert_register_code(make_code("rc-b", 10)));
  RegisterInstance i1 = make_instance("rins-1", "rc-a", 1);
  i1.tags = {{"env", "prod"}, {"role", "web"}};
  RegisterInstance i2 = make_instance("rins-2", "rc-a", 2);
  i2.system_name = "Windows";
  i2.local_ip = "10.0.0.2";
  i2.tags = {{"env", "dev"}};
  RegisterInstance i3 = make_instance("rins-3", "rc-b", 3);
  i3.tags = {};
  for (const auto& i : {i1, i2, i3}) {
    require_ok(store->register_instance(make_check(i.register_code_id), i));
  }

  SECTION("get") {
    auto got = require_value(store->get_instance("rins-1"));
    REQUIRE(got);
    CHECK(got->register_code_id == "rc-a");
    CHECK(got->instance_name == "web-rins-1");
    CHECK(got->machine_id == "m-rins-1");
    CHECK(got->host_name == "h-rins-1");
    CHECK(got->public_key == i1.public_key);
    CHECK(got->tags == i1.tags);
    CHECK(got->support_features.empty());
    CHECK_FALSE(require_value(store->get_instance("rins-x")));
  }
  SECTION("list with filters") {
    RegisterInstanceQuery q;
    auto p = require_value(store->list_instances(q));
    CHECK(p.total == 3);
    CHECK(p.items.at(0).instance_id == "rins-3");
    CHECK(p.items.at(2).tags == i1.tags);
    q.register_code_ids = {"rc-a"};
    CHECK(require_value(store->list_instances(q)).total == 2);
    q.system_names = {"Windows"};
    CHECK(require_value(store->list_instances(q)).total == 1);
    RegisterInstanceQuery ips;
    ips.local_ips = {"10.0.0.1"};
    ips.instance_names = {"web-rins-1", "web-rins-2", "web-rins-3"};
    CHECK(require_value(store->list_instances(ips)).total == 2);
    RegisterInstanceQuery tags;
    tags.tag_pairs = {{"env", {"prod", "dev"}}};
    CHECK(require_value(store->list_instances(tags)).total == 2);
    tags.tag_keys = {"role"};
    CHECK(require_value(store->list_instances(tags)).total == 1);
    RegisterInstanceQuery values;
    values.tag_values = {"dev"};
    values.instance_ids = {"rins-2", "rins-3"};
    CHECK(require_value(store->list_instances(values)).total == 1);
  }
  SECTION("rename") {
    require_ok(store->rename_instance("rins-1", "renamed", 99));
    auto got = require_value(store->get_instance("rins-1"));
    CHECK(got->instance_name == "renamed");
    CHECK(got->updated_ms == 99);
    CHECK(error_code(store->rename_instance("rins-x", "n", 1)) == sc::kInstanceNotFound);
  }
  SECTION("tags replaced through a mutation, all or nothing") {
    auto tags = require_value(store->modify_instance_tags(
        "rins-1",
        [](std::vector<Tag>& t) {
          t.push_back({"role", "web"});
          return Status{};
        },
        77));
    CHECK(tags.back() == Tag{"role", "web"});
    auto got = require_value(store->get_instance("rins-1"));
    CHECK(got->tags == tags);
    CHECK(got->updated_ms == 77);
    RegisterInstanceQuery by_tag;
    by_tag.tag_pairs = {{"role", {"web"}}};
    CHECK(require_value(store->list_instances(by_tag)).total == 1);
    // A mutation that fails changes nothing.
    CHECK(error_code(store->modify_instance_tags(
              "rins-1",
              [](std::vector<Tag>& t) {
                t.clear();
                return Status{Error{"Refused", "no"}};
              },
              78)) == "Refused");
    CHECK(require_value(store->get_instance("rins-1"))->tags == tags);
    CHECK(error_code(store->modify_instance_tags(
              "rins-x", [](std::vector<Tag>&) { return Status{}; }, 1)) == sc::kInstanceNotFound);
  }
  SECTION("client tokens: claimed once, completed, released, stale, forgotten") {
    using State = ClientTokenClaim::State;
    const auto claim = [&](const std::string& token, const std::string& hash, int64_t now) {
      return require_value(store->claim_client_token("ak", token, hash, now, 1000)).state;
    };
    CHECK(claim("t", "h1", 10'000) == State::kNew);
    CHECK(claim("t", "h1", 10'500) == State::kProcessing);
    CHECK(claim("t", "h2", 10'500) == State::kMismatch);
    require_ok(store->complete_client_token("ak", "t", "{\"InvokeId\":\"inv-1\"}"));
    auto done = require_value(store->claim_client_token("ak", "t", "h1", 10'600, 1000));
    CHECK(done.state == State::kDone);
    CHECK(done.result == "{\"InvokeId\":\"inv-1\"}");
    // Another owner's token of the same name is its own.
    CHECK(require_value(store->claim_client_token("other", "t", "h9", 10'600, 1000)).state ==
          State::kNew);
    // A released claim is free again; a stale one is taken over.
    CHECK(claim("u", "h1", 20'000) == State::kNew);
    require_ok(store->release_client_token("ak", "u"));
    CHECK(claim("u", "h2", 20'001) == State::kNew);
    CHECK(claim("u", "h2", 21'002) == State::kNew);
    // A day later the completed token is forgotten.
    CHECK(claim("t", "h2", 10'600 + 24 * 3600 * 1000 + 1) == State::kNew);
  }
  SECTION("heartbeat") {
    require_ok(store->record_heartbeat("rins-2", "1.2.3", "{\"os\":\"linux\"}",
                                       {"shell", "powershell"}, 1234));
    auto got = require_value(store->get_instance("rins-2"));
    CHECK(got->agent_version == "1.2.3");
    CHECK(got->environment == "{\"os\":\"linux\"}");
    CHECK(got->support_features == std::vector<std::string>{"shell", "powershell"});
    CHECK(got->last_heartbeat_ms == 1234);
    CHECK(error_code(store->record_heartbeat("rins-x", "v", "", {}, 1)) == sc::kInstanceNotFound);
  }
  SECTION("delete") {
    REQUIRE(require_value(store->remember_nonce("rins-1", "n1", 5000, 1000)));
    require_ok(store->delete_instance("rins-1"));
    CHECK_FALSE(require_value(store->get_instance("rins-1")));
    CHECK(require_value(store->list_instances({})).total == 2);
    CHECK(error_code(store->delete_instance("rins-1")) == sc::kInstanceNotFound);
    // Its nonces went with it (sqlite_store_test.cpp also looks at the rows).
    CHECK(require_value(store->remember_nonce("rins-1", "n1", 5000, 1000)));
  }
}

TEST_CASE("nonces are refused a second time and forgotten after expiry", "[contract][nonces]") {
  ContractFixture f;
  auto& store = f.store;
  CHECK(require_value(store->remember_nonce("rins-1", "n1", 5000, 1000)));
  CHECK_FALSE(require_value(store->remember_nonce("rins-1", "n1", 6000, 1500)));
  CHECK(require_value(store->remember_nonce("rins-2", "n1", 5000, 1500)));
  CHECK(require_value(store->remember_nonce("rins-1", "n2", 5000, 1500)));
  CHECK_FALSE(require_value(store->remember_nonce("rins-1", "n1", 6000, 4999)));
  // Expired: accepted again, and then remembered with its new expiry.
  CHECK(require_value(store->remember_nonce("rins-1", "n1", 9000, 5000)));
  CHECK_FALSE(require_value(store->remember_nonce("rins-1", "n1", 9000, 8000)));
  // A second store on the database refuses the same nonces.
  auto other = f.another();
  CHECK_FALSE(require_value(other->remember_nonce("rins-1", "n2", 9000, 1600)));
  CHECK(require_value(other->remember_nonce("rins-1", "n3", 9000, 1600)));
  CHECK_FALSE(require_value(store->remember_nonce("rins-1", "n3", 9000, 1700)));
}

}  // namespace ferry::test::contract
