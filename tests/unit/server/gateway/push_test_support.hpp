// What the push hub and sweeper tests share: a WebSocket connection that records what it is
// sent, an agent's signed upgrade, and a whole server (its own Store object on the fixture's
// database, authenticator, push hub and sweeper) for tests of several servers on one database.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ferry/server/gateway/push_hub.hpp"
#include "ferry/server/gateway/sweeper.hpp"
#include "ferry/server/http_server.hpp"
#include "ferry/server/store/peer_notifier.hpp"
#include "gateway_test_support.hpp"

namespace ferry::test {

class FakeConnection final : public server::WebSocketConnection {
 public:
  bool send(std::string text) override;
  void close() override;
  [[nodiscard]] const std::string& remote_address() const override { return remote_; }
  std::vector<std::string> sent();
  bool closed();

 private:
  std::mutex mutex_;
  std::vector<std::string> sent_;
  bool closed_ = false;
  std::string remote_ = "127.0.0.1";
};

// The WebSocket upgrade `agent` sends: a GET of /ws signed as "Connect" over the empty body.
server::HttpRequest upgrade(Fixture& f, const TestAgent& agent);

// The task ids of the kicks a connection was sent, in order.
std::vector<std::string> kicked_tasks(FakeConnection& conn);

// A TestServer's presence windows: contact counts for a minute, a server's liveness for 15 s.
inline constexpr int64_t kTestOnlineWindowMs = 60'000;
inline constexpr int64_t kTestServerStaleMs = 15'000;

// The messages of `type` ("kick", "cancel") a connection was sent: their task ids, in order.
std::vector<std::string> pushed_tasks(FakeConnection& conn, const std::string& type);

// Servers' PeerNotifiers joined in memory: a message goes through its wire form
// (format_peer_message, parse_peer_message) to the listening server's handler at once, on the
// sender's thread.
class LoopbackPeers {
 public:
  LoopbackPeers();
  ~LoopbackPeers();
  // The notifier of one server (not yet listening: its hub's start() does that).
  server::PeerNotifier& notifier();
  // Each listening server's on_resumed, as after a listener's reconnection.
  void resume_all();

 private:
  class Notifier;
  std::mutex mutex_;
  std::map<std::string, server::PeerHandlers> listening_;
  std::vector<std::unique_ptr<Notifier>> notifiers_;
};

// One ferry-server on the fixture's database and clock, named `server_id`.
struct TestServer {
  TestServer(Fixture& f, const std::string& server_id, server::SweeperOptions sweeper = {},
             server::PeerNotifier* peers = nullptr);
  // Accepts `agent`'s signed upgrade on a new connection, REQUIRE-d to succeed.
  std::shared_ptr<FakeConnection> connect(Fixture& f, const TestAgent& agent);

  std::unique_ptr<server::Store> store;
  server::AgentAuthenticator auth;
  server::PushHub hub;
  server::Sweeper sweeper;
};

}  // namespace ferry::test
