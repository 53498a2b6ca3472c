#include "ferry/server/gateway/push_hub.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "push_test_support.hpp"
#include "test_process.hpp"

namespace ferry::test {

using namespace ferry::server;

namespace {

PushHubOptions window_of(int64_t online_window_ms) {
  PushHubOptions o;
  o.online_window_ms = online_window_ms;
  return o;
}

}  // namespace

TEST_CASE("PushHub accepts signed connections and pushes kicks and cancels", "[push]") {
  Fixture f;
  const auto code = f.add_register_code(kRegisterCodeValue);
  auto agent = f.register_agent(code, kRegisterCodeValue);
  PushHub hub(f.auth, *f.store, f.clock, window_of(60'000));

  CHECK_FALSE(hub.is_online(agent.instance_id));
  auto conn = std::make_shared<FakeConnection>();
  auto refused = hub.on_open(upgrade(f, agent), conn);
  REQUIRE_FALSE(refused.has_value());
  CHECK(conn->id() == agent.instance_id);
  CHECK(hub.is_online(agent.instance_id));
  CHECK(hub.connection_count() == 1);

  hub.task_ready(agent.instance_id, "invt-aaaaaaaa");
  hub.task_cancelled(agent.instance_id, "invt-bbbbbbbb");
  hub.task_ready("rins-nobody00", "invt-cccccccc");  // no socket: nothing to do
  auto sent = conn->sent();
  REQUIRE(sent.size() == 2);
  auto kick = nlohmann::json::parse(sent[0]);
  CHECK(kick["Type"] == "kick");
  CHECK(kick["Data"]["InvocationTaskId"] == "invt-aaaaaaaa");
  auto cancel = nlohmann::json::parse(sent[1]);
  CHECK(cancel["Type"] == "cancel");
  CHECK(cancel["Data"]["InvocationTaskId"] == "invt-bbbbbbbb");
  CHECK(cancel["Seq"].get<uint64_t>() > kick["Seq"].get<uint64_t>());

  SECTION("a newer connection replaces the older") {
    auto newer = std::make_shared<FakeConnection>();
    REQUIRE_FALSE(hub.on_open(upgrade(f, agent), newer).has_value());
    CHECK(conn->closed());
    hub.on_close(conn);  // the old one's close must not unregister the new one
    CHECK(hub.connection_count() == 1);
    hub.task_ready(agent.instance_id, "invt-dddddddd");
    CHECK(newer->sent().size() == 1);
    // Nor release it in the store.
    auto presence = f.store->presence_of({agent.instance_id});
    REQUIRE(presence.has_value());
    REQUIRE(presence->size() == 1);
    CHECK(presence->front().server_id == hub.server_id());
  }
  SECTION("closing goes offline once the seen window has passed") {
    hub.on_close(conn);
    CHECK(hub.connection_count() == 0);
    f.clock.advance_ms(60'001);
    CHECK_FALSE(hub.is_online(agent.instance_id));
  }
  SECTION("disconnect closes the socket (a deleted instance)") {
    // As DeleteRegisterInstance does: the store forgets the instance, then the hub its socket.
    REQUIRE(f.store->delete_instance(agent.instance_id).has_value());
    hub.disconnect(agent.instance_id);
    CHECK(conn->closed());
    CHECK_FALSE(hub.is_online(agent.instance_id));
  }
}

TEST_CASE("PushHub refuses unsigned, forged and replayed upgrades", "[push]") {
  Fixture f;
  const auto code = f.add_register_code(kRegisterCodeValue);
  auto agent = f.register_agent(code, kRegisterCodeValue);
  PushHub hub(f.auth, *f.store, f.clock);
  auto conn = std::make_shared<FakeConnection>();

  auto req = upgrade(f, agent);
  req.headers.erase("x-ferry-signature");
  auto r = hub.on_open(req, conn);
  REQUIRE(r.has_value());
  CHECK(r->status == 401);
  CHECK(nlohmann::json::parse(r->body)["Response"]["Error"]["Code"] ==
        "AuthFailure.InvalidAuthorization");

  req = upgrade(f, agent);
  // Not operator[] = "9": GCC 12 at -O2 reports a bogus -Wstringop-overflow for it here.
  req.headers.insert_or_assign("x-ferry-protocol", std::string("9"));
  r = hub.on_open(req, conn);
  REQUIRE(r.has_value());
  CHECK(r->status == 400);

  req = upgrade(f, agent);
  REQUIRE_FALSE(hub.on_open(req, conn).has_value());
  hub.on_close(conn);
  auto again = std::make_shared<FakeConnection>();
  r = hub.on_open(req, again);  // the same upgrade replayed
  REQUIRE(r.has_value());
  CHECK(nlohmann::json::parse(r->body)["Response"]["Error"]["Code"] == "AuthFailure.NonceReused");
  CHECK(hub.connection_count() == 0);
}

TEST_CASE("PushHub counts recently seen agents as online", "[push]") {
  Fixture f;
  PushHub hub(f.auth, *f.store, f.clock, window_of(180'000));
  hub.note_seen("rins-polling1", f.clock.now_ms());
  CHECK(hub.is_online("rins-polling1"));
  f.clock.advance_ms(180'000);
  CHECK(hub.is_online("rins-polling1"));
  f.clock.advance_ms(1);
  CHECK_FALSE(hub.is_online("rins-polling1"));
}

TEST_CASE("PushHub: an agent that says it stops is offline at once, on every server",
          "[push][presence]") {
  Fixture f;
  const auto code = f.add_register_code(kRegisterCodeValue);
  auto agent = f.register_agent(code, kRegisterCodeValue);
  const std::string& id = agent.instance_id;
  PushHub hub(f.auth, *f.store, f.clock, window_of(90'000));
  PushHub other(f.auth, *f.store, f.clock, window_of(90'000));  // a second server
  auto conn = std::make_shared<FakeConnection>();
  REQUIRE_FALSE(hub.on_open(upgrade(f, agent), conn).has_value());
  hub.note_seen(id, f.clock.now_ms());
  REQUIRE(hub.refresh().has_value());
  f.clock.advance_ms(1000);
  hub.note_seen(id, f.clock.now_ms());  // its ReportAgentStop, noted first as any request
  CHECK(hub.is_online(id));
  CHECK(other.is_online(id));

  hub.agent_stopped(id);
  CHECK(conn->closed());
  CHECK(hub.connection_count() == 0);
  CHECK_FALSE(hub.is_online(id));
  f.clock.advance_ms(5000);  // past the other server's cached read
  CHECK_FALSE(other.is_online(id));
  // A late refresh has nothing of it left to write.
  REQUIRE(hub.refresh().has_value());
  CHECK_FALSE(other.is_online(id));
  // The socket's close, arriving after the stop, changes nothing.
  hub.on_close(conn);
  CHECK_FALSE(hub.is_online(id));

  // Contact after the stop counts again.
  f.clock.advance_ms(1);
  other.note_seen(id, f.clock.now_ms());
  CHECK(other.is_online(id));
  REQUIRE(other.refresh().has_value());
  f.clock.advance_ms(5000);
  CHECK(hub.is_online(id));
}

TEST_CASE("PushHub writes what it saw in one batch per refresh", "[push][presence]") {
  Fixture f;
  PushHub hub(f.auth, *f.store, f.clock, window_of(180'000));
  const int64_t t0 = f.clock.now_ms();
  for (int i = 0; i < 50; ++i) {
    hub.note_seen("rins-busy0001", t0 + i);  // a busy agent: no write per request
  }
  hub.note_seen("rins-other001", t0);
  CHECK(f.store->presence_of({"rins-busy0001"})->empty());
  REQUIRE(hub.refresh().has_value());
  auto records = f.store->presence_of({"rins-busy0001", "rins-other001"});
  REQUIRE(records.has_value());
  REQUIRE(records->size() == 2);
  CHECK(records->at(0).last_seen_ms == t0 + 49);
  CHECK(records->at(0).server_id.empty());
  CHECK(records->at(1).last_seen_ms == t0);
  // The refresh also says this server is alive.
  f.clock.advance_ms(10);
  REQUIRE(f.store->agent_connected("rins-busy0001", hub.server_id(), f.clock.now_ms()).has_value());
  CHECK(f.store->presence_of({"rins-busy0001"})->at(0).server_refreshed_ms == t0);
}

TEST_CASE("PushHub's refresh thread runs on its own and stops", "[push][presence]") {
  Fixture f;
  PushHubOptions o = window_of(180'000);
  o.refresh_interval_ms = 10;
  PushHub hub(f.auth, *f.store, f.clock, o);
  hub.start();
  hub.note_seen("rins-polling1", f.clock.now_ms());
  CHECK(eventually(
      [&] {
        auto records = f.store->presence_of({"rins-polling1"});
        return records.has_value() && records->size() == 1;
      },
      std::chrono::seconds(10)));
  hub.stop();
  hub.stop();  // idempotent
}

TEST_CASE("PushHub writes the contact left unwritten when it stops", "[push][presence]") {
  Fixture f;
  PushHubOptions o = window_of(180'000);
  o.refresh_interval_ms = 3'600'000;  // no refresh but the first, at start
  PushHub hub(f.auth, *f.store, f.clock, o);
  hub.start();
  // The first refresh has run once the store knows this server as alive.
  REQUIRE(f.store->agent_connected("rins-probe001", hub.server_id(), f.clock.now_ms()));
  REQUIRE(eventually(
      [&] {
        auto records = f.store->presence_of({"rins-probe001"});
        return records.has_value() && records->at(0).server_refreshed_ms != 0;
      },
      std::chrono::seconds(10)));
  f.clock.advance_ms(1000);
  hub.note_seen("rins-late0001", f.clock.now_ms());
  hub.stop();
  // A server started after this one still counts the agent as seen a second ago.
  auto records = f.store->presence_of({"rins-late0001"});
  REQUIRE(records.has_value());
  REQUIRE(records->size() == 1);
  CHECK(records->at(0).last_seen_ms == f.clock.now_ms());
}

}  // namespace ferry::test
