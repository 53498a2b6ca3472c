// Two ferry-servers on one database, each with its own Store object, push hub and sweeper, on
// one fake clock: presence is shared through the store, and each sweeper moves and kicks only
// what it should.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "push_test_support.hpp"

namespace ferry::test {

using namespace ferry::server;

namespace {

// Two servers and two agents, one on each server's socket, all refreshed.
struct TwoServers : Fixture {
  TwoServers() { refresh(); }
  void refresh() {
    REQUIRE(a.hub.refresh().has_value());
    REQUIRE(b.hub.refresh().has_value());
  }
  void sweep_both() {
    REQUIRE(a.sweeper.sweep_once().has_value());
    REQUIRE(b.sweeper.sweep_once().has_value());
  }

  TestServer a{*this, "srv-aaaaaaaa"};
  TestServer b{*this, "srv-bbbbbbbb"};
  std::string code = add_register_code(kRegisterCodeValue);
  TestAgent on_a = register_agent(code, kRegisterCodeValue);
  TestAgent on_b = register_agent(code, kRegisterCodeValue);
  std::shared_ptr<FakeConnection> socket_a = a.connect(*this, on_a);
  std::shared_ptr<FakeConnection> socket_b = b.connect(*this, on_b);
};

}  // namespace

TEST_CASE("Two servers: neither marks the other's agents DELIVER_DELAYED", "[push][sweeper]") {
  TwoServers s;
  // An agent on polling, seen by server A only.
  const auto polling = s.register_agent(s.code, kRegisterCodeValue);
  s.a.hub.note_seen(polling.instance_id, s.clock.now_ms());
  s.refresh();
  auto pending = s.add_tasks({s.on_a.instance_id, s.on_b.instance_id, polling.instance_id});
  auto delivering =
      s.add_tasks({s.on_a.instance_id, s.on_b.instance_id}, TaskStatus::kDelivering, 600);

  // Long after the agents' last contact, their sockets still count while their servers live.
  s.clock.advance_ms(kTestOnlineWindowMs / 2);
  s.refresh();
  s.sweep_both();
  for (const auto& id : pending) {
    CHECK(s.task(id).status == TaskStatus::kPending);
  }
  s.clock.advance_ms(kTestOnlineWindowMs);
  s.refresh();
  s.sweep_both();
  CHECK(s.task(pending[0]).status == TaskStatus::kPending);
  CHECK(s.task(pending[1]).status == TaskStatus::kPending);
  CHECK(s.task(delivering[0]).status == TaskStatus::kDelivering);
  CHECK(s.task(delivering[1]).status == TaskStatus::kDelivering);
  CHECK(s.b.hub.is_online(s.on_a.instance_id));
  CHECK(s.a.hub.is_online(s.on_b.instance_id));
  // The polling agent went silent for longer than the window: offline for both.
  CHECK(s.task(pending[2]).status == TaskStatus::kDeliverDelayed);
  CHECK_FALSE(s.b.hub.is_online(polling.instance_id));
}

TEST_CASE("Two servers: a task made on one reaches the agent through the other's socket",
          "[push][sweeper]") {
  TwoServers s;
  // RunCommand on A for B's agent: A finds it online but has no socket to kick it on.
  auto made_on_a = s.add_tasks({s.on_b.instance_id});
  CHECK(s.a.hub.is_online(s.on_b.instance_id));
  s.a.hub.task_ready(s.on_b.instance_id, made_on_a[0]);
  CHECK(s.socket_b->sent().empty());

  s.sweep_both();
  s.clock.advance_ms(1000);
  s.sweep_both();  // still PENDING after a pass of B's: B kicks it, once
  s.sweep_both();
  CHECK(kicked_tasks(*s.socket_b) == std::vector<std::string>{made_on_a[0]});
  CHECK(s.socket_a->sent().empty());

  SECTION("a DELIVER_DELAYED task is resumed and kicked by the server holding the socket") {
    auto delayed = s.add_tasks({s.on_b.instance_id}, TaskStatus::kDeliverDelayed);
    REQUIRE(s.a.sweeper.sweep_once().has_value());
    CHECK(s.task(delayed[0]).status == TaskStatus::kDeliverDelayed);  // not A's to resume
    auto counts = s.b.sweeper.sweep_once();
    REQUIRE(counts.has_value());
    CHECK(counts->resumed == 1);
    CHECK(s.task(delayed[0]).status == TaskStatus::kPending);
    CHECK(kicked_tasks(*s.socket_b) == std::vector<std::string>{made_on_a[0], delayed[0]});
  }
}

TEST_CASE("Two servers: a dead server's sockets stop counting once its row is stale",
          "[push][sweeper]") {
  TwoServers s;
  auto pending = s.add_tasks({s.on_a.instance_id});
  // Past the agent's last contact, A's socket keeps it online while A refreshes.
  s.clock.advance_ms(kTestOnlineWindowMs + 1);
  s.refresh();
  REQUIRE(s.b.sweeper.sweep_once().has_value());
  CHECK(s.task(pending[0]).status == TaskStatus::kPending);
  CHECK(s.b.hub.is_online(s.on_a.instance_id));

  // A dies (no more refreshes, no close recorded): its row goes stale.
  s.clock.advance_ms(kTestServerStaleMs);
  REQUIRE(s.b.hub.refresh().has_value());
  REQUIRE(s.b.sweeper.sweep_once().has_value());
  CHECK(s.task(pending[0]).status == TaskStatus::kPending);  // 15 s: not stale yet
  s.clock.advance_ms(1);
  REQUIRE(s.b.hub.refresh().has_value());
  auto counts = s.b.sweeper.sweep_once();
  REQUIRE(counts.has_value());
  CHECK(counts->delayed == 1);
  CHECK(s.task(pending[0]).status == TaskStatus::kDeliverDelayed);
  CHECK_FALSE(s.b.hub.is_online(s.on_a.instance_id));

  // The agent reconnects to B: B resumes its task and kicks it.
  auto socket = s.b.connect(s, s.on_a);
  REQUIRE(s.b.sweeper.sweep_once().has_value());
  CHECK(s.task(pending[0]).status == TaskStatus::kPending);
  CHECK(kicked_tasks(*socket) == std::vector<std::string>{pending[0]});
}

TEST_CASE("Two servers: the late close of an old socket does not undo a newer connection",
          "[push]") {
  TwoServers s;
  // B's agent moves to A; B's old socket closes only afterwards.
  auto newer = s.a.connect(s, s.on_b);
  s.b.hub.on_close(s.socket_b);
  auto presence = s.a.store->presence_of({s.on_b.instance_id});
  REQUIRE(presence.has_value());
  REQUIRE(presence->size() == 1);
  CHECK(presence->front().server_id == "srv-aaaaaaaa");
  // Long after its last contact, the agent is online for both: A holds it.
  s.clock.advance_ms(kTestOnlineWindowMs + 1);
  s.refresh();
  CHECK(s.a.hub.is_online(s.on_b.instance_id));
  CHECK(s.b.hub.is_online(s.on_b.instance_id));
  auto where = s.b.hub.locate({s.on_b.instance_id});
  REQUIRE(where.has_value());
  CHECK(where->at(s.on_b.instance_id).socket == AgentWhereabouts::Socket::kElsewhere);
  // A's own close does release it.
  s.a.hub.on_close(newer);
  s.clock.advance_ms(1000);
  CHECK_FALSE(s.b.hub.is_online(s.on_b.instance_id));
}

namespace {

// TwoServers joined by peers, their hubs started (listening), as in ferry-server on PostgreSQL.
struct TwoPeeredServers : Fixture {
  TwoPeeredServers() {
    a.hub.start();
    b.hub.start();
    // The refreshes of start() run on their threads: these make the liveness rows certain.
    REQUIRE(a.hub.refresh().has_value());
    REQUIRE(b.hub.refresh().has_value());
  }
  ~TwoPeeredServers() {
    a.hub.stop();
    b.hub.stop();
  }

  LoopbackPeers peers;
  TestServer a{*this, "srv-aaaaaaaa", {}, &peers.notifier()};
  TestServer b{*this, "srv-bbbbbbbb", {}, &peers.notifier()};
  std::string code = add_register_code(kRegisterCodeValue);
  TestAgent on_a = register_agent(code, kRegisterCodeValue);
  TestAgent on_b = register_agent(code, kRegisterCodeValue);
  std::shared_ptr<FakeConnection> socket_a = a.connect(*this, on_a);
  std::shared_ptr<FakeConnection> socket_b = b.connect(*this, on_b);
};

}  // namespace

TEST_CASE("Two servers with peers: a task or cancel made on one is pushed at once by the other",
          "[push][peers]") {
  TwoPeeredServers s;
  auto made_on_a = s.add_tasks({s.on_b.instance_id, s.on_a.instance_id});
  s.a.hub.task_ready(s.on_b.instance_id, made_on_a[0]);
  s.a.hub.task_ready(s.on_a.instance_id, made_on_a[1]);
  // No sweep: B pushed it on A's word, and A's own agent got its kick directly.
  CHECK(kicked_tasks(*s.socket_b) == std::vector<std::string>{made_on_a[0]});
  CHECK(kicked_tasks(*s.socket_a) == std::vector<std::string>{made_on_a[1]});

  s.a.hub.task_cancelled(s.on_b.instance_id, made_on_a[0]);
  CHECK(pushed_tasks(*s.socket_b, "cancel") == std::vector<std::string>{made_on_a[0]});

  SECTION("nothing goes to a server whose liveness row is stale") {
    s.clock.advance_ms(kTestServerStaleMs + 2000);  // past the presence cache too
    REQUIRE(s.a.hub.refresh().has_value());
    s.a.hub.task_ready(s.on_b.instance_id, made_on_a[0]);
    CHECK(kicked_tasks(*s.socket_b).size() == 1);
  }
  SECTION("a message for an agent no longer here is dropped") {
    s.b.hub.disconnect(s.on_b.instance_id);
    s.b.hub.deliver(
        PeerMessage{PeerMessage::Kind::kKick, "srv-aaaaaaaa", s.on_b.instance_id, made_on_a[0]});
    CHECK(kicked_tasks(*s.socket_b).size() == 1);
  }
}

TEST_CASE("Two servers with peers: after a listener reconnects, its agents' tasks are pushed",
          "[push][peers]") {
  TwoPeeredServers s;
  auto pending = s.add_tasks({s.on_b.instance_id});
  auto cancelling = s.add_tasks({s.on_b.instance_id}, TaskStatus::kCancelling);
  s.add_tasks({s.on_b.instance_id}, TaskStatus::kRunning);
  auto on_a = s.add_tasks({s.on_a.instance_id});
  // Messages sent while B's listener was away are lost; its catch-up finds the tasks.
  REQUIRE(s.b.hub.catch_up().has_value());
  CHECK(kicked_tasks(*s.socket_b) == pending);
  CHECK(pushed_tasks(*s.socket_b, "cancel") == cancelling);
  CHECK(s.socket_a->sent().empty());  // B pushes only to its own agents
  s.peers.resume_all();
  CHECK(kicked_tasks(*s.socket_a) == on_a);
}

TEST_CASE("Peer messages: the wire form, and what is refused", "[peers]") {
  PeerMessage m{PeerMessage::Kind::kCancel, "srv-aaaaaaaa", "rins-abcd1234", "invt-0000zzzz"};
  const std::string wire = format_peer_message(m);
  CHECK(wire == "cancel srv-aaaaaaaa rins-abcd1234 invt-0000zzzz");
  auto back = parse_peer_message(wire);
  REQUIRE(back.has_value());
  CHECK(back->kind == PeerMessage::Kind::kCancel);
  CHECK(back->from_server == m.from_server);
  CHECK(back->instance_id == m.instance_id);
  CHECK(back->task_id == m.task_id);
  CHECK(parse_peer_message("kick srv-a rins-b invt-c").has_value());
  for (const char* bad :
       {"", "kick", "kick srv-a rins-b", "kick srv-a rins-b invt-c extra",
        "push srv-a rins-b invt-c", "kick  srv-a rins-b invt-c", "kick srv-a rins-b invt-c ",
        "kick srv-a invt-c rins-b", "kick srv-a rins- invt-c", "kick srv-a rins-b;DROP invt-c",
        "kick srv-a rins-b invt-c\n", "kick srv\xc3\xa9 rins-b invt-c"}) {
    INFO(bad);
    CHECK_FALSE(parse_peer_message(bad).has_value());
  }
  CHECK_FALSE(parse_peer_message("kick srv-a rins-" + std::string(64, 'a') + " invt-c"));
}

}  // namespace ferry::test
