#include "push_test_support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "ferry/core/crypto.hpp"
#include "ferry/server/store/sqlite_store.hpp"

namespace ferry::test {

using namespace ferry::server;

bool FakeConnection::send(std::string text) {
  std::lock_guard lock(mutex_);
  if (closed_) {
    return false;
  }
  sent_.push_back(std::move(text));
  return true;
}

void FakeConnection::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
}

std::vector<std::string> FakeConnection::sent() {
  std::lock_guard lock(mutex_);
  return sent_;
}

bool FakeConnection::closed() {
  std::lock_guard lock(mutex_);
  return closed_;
}

HttpRequest upgrade(Fixture& f, const TestAgent& agent) {
  auto req = f.signed_request("Connect", nlohmann::json::object(), agent.key, agent.instance_id);
  // The upgrade is a GET without a body: the signature covers the empty body.
  req.method = "GET";
  req.target = "/ws";
  req.body.clear();
  auto signing =
      agent_signing_string("Connect", sha256_hex(""), std::stoll(req.headers["x-ferry-timestamp"]),
                           req.headers["x-ferry-nonce"], agent.instance_id);
  REQUIRE(signing.has_value());
  auto sig = agent.key.sign_base64(*signing);
  REQUIRE(sig.has_value());
  req.headers["x-ferry-signature"] = *sig;
  req.headers.erase("content-type");
  return req;
}

std::vector<std::string> kicked_tasks(FakeConnection& conn) {
  std::vector<std::string> ids;
  for (const auto& text : conn.sent()) {
    auto message = nlohmann::json::parse(text);
    if (message["Type"] == "kick") {
      ids.push_back(message["Data"]["InvocationTaskId"].get<std::string>());
    }
  }
  return ids;
}

std::vector<std::string> pushed_tasks(FakeConnection& conn, const std::string& type) {
  std::vector<std::string> ids;
  for (const auto& text : conn.sent()) {
    auto message = nlohmann::json::parse(text);
    if (message["Type"] == type) {
      ids.push_back(message["Data"]["InvocationTaskId"].get<std::string>());
    }
  }
  return ids;
}

class LoopbackPeers::Notifier final : public PeerNotifier {
 public:
  explicit Notifier(LoopbackPeers& peers) : peers_(peers) {}
  [[nodiscard]] bool enabled() const override { return true; }
  void notify(const std::string& to, const PeerMessage& message) override {
    std::function<void(const PeerMessage&)> handler;
    {
      std::lock_guard lock(peers_.mutex_);
      auto it = peers_.listening_.find(to);
      if (it == peers_.listening_.end()) {
        return;
      }
      handler = it->second.on_message;
    }
    auto received = parse_peer_message(format_peer_message(message));
    REQUIRE(received.has_value());
    handler(*received);
  }
  void start(const std::string& server_id, PeerHandlers handlers) override {
    std::lock_guard lock(peers_.mutex_);
    server_id_ = server_id;
    peers_.listening_[server_id] = std::move(handlers);
  }
  void stop() override {
    std::lock_guard lock(peers_.mutex_);
    peers_.listening_.erase(server_id_);
  }

 private:
  LoopbackPeers& peers_;
  std::string server_id_;
};

LoopbackPeers::LoopbackPeers() = default;
LoopbackPeers::~LoopbackPeers() = default;

PeerNotifier& LoopbackPeers::notifier() {
  notifiers_.push_back(std::make_unique<Notifier>(*this));
  return *notifiers_.back();
}

void LoopbackPeers::resume_all() {
  std::vector<std::function<void()>> resumed;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, handlers] : listening_) {
      resumed.push_back(handlers.on_resumed);
    }
  }
  for (const auto& f : resumed) {
    f();
  }
}

namespace {

std::unique_ptr<Store> open_second_store(Fixture& f) {
  auto store = open_sqlite_store(f.dir.path() / "ferry.db", f.clock);
  REQUIRE(store.has_value());
  return std::move(*store);
}

PushHubOptions hub_options(const std::string& server_id) {
  PushHubOptions o;
  o.server_id = server_id;
  o.online_window_ms = kTestOnlineWindowMs;
  o.server_stale_ms = kTestServerStaleMs;
  // Started hubs (peers) refresh once at start and then only when a test says so.
  o.refresh_interval_ms = 3'600'000;
  return o;
}

}  // namespace

TestServer::TestServer(Fixture& f, const std::string& server_id, SweeperOptions sweeper_options,
                       PeerNotifier* peers)
    : store(open_second_store(f)),
      auth(*store, f.clock),
      hub(auth, *store, f.clock, hub_options(server_id), peers),
      sweeper(*store, f.clock, hub, hub, sweeper_options) {}

std::shared_ptr<FakeConnection> TestServer::connect(Fixture& f, const TestAgent& agent) {
  auto conn = std::make_shared<FakeConnection>();
  REQUIRE_FALSE(hub.on_open(upgrade(f, agent), conn).has_value());
  return conn;
}

}  // namespace ferry::test
