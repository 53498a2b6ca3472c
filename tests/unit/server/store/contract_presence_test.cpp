// The Store contract: presence. Which server holds each agent's socket, when each agent was
// last seen, and when each server last refreshed, as several servers on one database see it.
#include <string>
#include <vector>

#include "store_contract.hpp"

namespace ferry::test::contract {

namespace {

AgentPresenceRecord presence(Store& store, const std::string& id) {
  auto records = require_value(store.presence_of({id}));
  REQUIRE(records.size() == 1);
  CHECK(records[0].instance_id == id);
  return records[0];
}

}  // namespace

TEST_CASE("presence: a connection is held by its server until that server lets it go",
          "[contract][presence]") {
  ContractFixture f;
  auto other = f.another();  // server B's store object on the same database
  CHECK(require_value(f.store->presence_of({"rins-1"})).empty());

  require_ok(f.store->agent_connected("rins-1", "srv-a", 1000));
  auto p = presence(*other, "rins-1");
  CHECK(p.server_id == "srv-a");
  CHECK(p.last_seen_ms == 1000);
  CHECK(p.server_refreshed_ms == 0);  // srv-a never refreshed

  SECTION("a disconnect by the holder releases it and keeps the last contact") {
    CHECK(require_value(f.store->agent_disconnected("rins-1", "srv-a")));
    p = presence(*other, "rins-1");
    CHECK(p.server_id.empty());
    CHECK(p.last_seen_ms == 1000);
    CHECK_FALSE(require_value(f.store->agent_disconnected("rins-1", "srv-a")));
  }
  SECTION("a late close of an old socket does not undo a newer connection elsewhere") {
    require_ok(other->agent_connected("rins-1", "srv-b", 2000));
    CHECK_FALSE(require_value(f.store->agent_disconnected("rins-1", "srv-a")));
    p = presence(*f.store, "rins-1");
    CHECK(p.server_id == "srv-b");
    CHECK(p.last_seen_ms == 2000);
  }
  SECTION("a connect never moves the last contact back") {
    require_ok(f.store->agents_seen({{"rins-1", 5000}}));
    require_ok(other->agent_connected("rins-1", "srv-b", 3000));
    p = presence(*f.store, "rins-1");
    CHECK(p.server_id == "srv-b");
    CHECK(p.last_seen_ms == 5000);
  }
  SECTION("an unknown agent's disconnect changes nothing") {
    CHECK_FALSE(require_value(f.store->agent_disconnected("rins-x", "srv-a")));
    CHECK(require_value(f.store->presence_of({"rins-x"})).empty());
  }
}

TEST_CASE("presence: agents seen, in one batch, only ever later", "[contract][presence]") {
  ContractFixture f;
  require_ok(f.store->agents_seen({}));
  require_ok(f.store->agents_seen({{"rins-1", 1000}, {"rins-2", 2000}}));
  auto p = presence(*f.store, "rins-1");
  CHECK(p.server_id.empty());
  CHECK(p.last_seen_ms == 1000);
  require_ok(f.store->agents_seen({{"rins-1", 500}, {"rins-2", 2500}}));
  CHECK(presence(*f.store, "rins-1").last_seen_ms == 1000);
  CHECK(presence(*f.store, "rins-2").last_seen_ms == 2500);
  // Being seen does not touch who holds the socket.
  require_ok(f.store->agent_connected("rins-1", "srv-a", 3000));
  require_ok(f.store->agents_seen({{"rins-1", 4000}}));
  p = presence(*f.store, "rins-1");
  CHECK(p.server_id == "srv-a");
  CHECK(p.last_seen_ms == 4000);
}

TEST_CASE("presence: a stop lets go of the socket and of the contact before it",
          "[contract][presence]") {
  ContractFixture f;
  auto other = f.another();
  require_ok(f.store->agent_connected("rins-1", "srv-a", 1000));
  require_ok(f.store->agents_seen({{"rins-1", 2000}}));
  require_ok(other->agent_stopped("rins-1", 3000));
  auto p = presence(*f.store, "rins-1");
  CHECK(p.server_id.empty());
  CHECK(p.last_seen_ms == -3000);
  // Contact from before the stop, written late by another server's batch, does not undo it.
  require_ok(f.store->agents_seen({{"rins-1", 2500}, {"rins-1", 3000}}));
  CHECK(presence(*other, "rins-1").last_seen_ms == -3000);
  // Contact after it does.
  require_ok(f.store->agents_seen({{"rins-1", 3001}}));
  CHECK(presence(*other, "rins-1").last_seen_ms == 3001);
  require_ok(f.store->agent_stopped("rins-1", 4000));
  require_ok(other->agent_connected("rins-1", "srv-b", 5000));
  p = presence(*f.store, "rins-1");
  CHECK(p.server_id == "srv-b");
  CHECK(p.last_seen_ms == 5000);
  // An agent never seen can stop too (its row is made).
  require_ok(f.store->agent_stopped("rins-2", 6000));
  CHECK(presence(*f.store, "rins-2").last_seen_ms == -6000);
}

TEST_CASE("presence: servers refresh their own row", "[contract][presence]") {
  ContractFixture f;
  auto other = f.another();
  require_ok(f.store->agent_connected("rins-1", "srv-a", 1000));
  require_ok(other->agent_connected("rins-2", "srv-b", 1000));
  require_ok(f.store->refresh_server("srv-a", 1500));
  require_ok(other->refresh_server("srv-b", 1700));
  require_ok(f.store->refresh_server("srv-a", 2500));
  auto records = require_value(other->presence_of({"rins-2", "rins-1", "rins-9"}));
  REQUIRE(records.size() == 2);  // ordered by instance id; rins-9 has no record
  CHECK(records[0].instance_id == "rins-1");
  CHECK(records[0].server_id == "srv-a");
  CHECK(records[0].server_refreshed_ms == 2500);
  CHECK(records[1].instance_id == "rins-2");
  CHECK(records[1].server_id == "srv-b");
  CHECK(records[1].server_refreshed_ms == 1700);
}

TEST_CASE("presence: many instances in one read, and deletion drops a record",
          "[contract][presence]") {
  ContractFixture f;
  std::vector<AgentSeen> seen;
  std::vector<std::string> ids;
  for (int i = 0; i < 1500; ++i) {
    ids.push_back("rins-" + std::to_string(10000 + i));
    seen.push_back({ids.back(), 1000 + i});
  }
  require_ok(f.store->agents_seen(seen));
  ids.emplace_back("rins-unknown");
  auto records = require_value(f.store->presence_of(ids));
  REQUIRE(records.size() == 1500);
  CHECK(records[1499].instance_id == "rins-11499");
  CHECK(records[1499].last_seen_ms == 2499);
  CHECK(require_value(f.store->presence_of({})).empty());

  add_instance(*f.store, "rins-del");
  require_ok(f.store->agent_connected("rins-del", "srv-a", 1000));
  require_ok(f.store->delete_instance("rins-del"));
  CHECK(require_value(f.store->presence_of({"rins-del"})).empty());
}

}  // namespace ferry::test::contract
