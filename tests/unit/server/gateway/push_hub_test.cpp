#include "ferry/server/gateway/push_hub.hpp"

#include <catch2/catch.hpp>
#include <mutex>
#include <string>
#include <vector>

#include "ferry/core/crypto.hpp"
#include "gateway_test_support.hpp"

using namespace ferry;
using namespace ferry::server;
using ferry::test::Fixture;

namespace {

class FakeConnection final : public WebSocketConnection {
 public:
  bool send(std::string text) override {
    std::lock_guard lock(mutex_);
    if (closed_) {
      return false;
    }
    sent_.push_back(std::move(text));
    return true;
  }
  void close() override {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  [[nodiscard]] const std::string& remote_address() const override { return remote_; }
  std::vector<std::string> sent() {
    std::lock_guard lock(mutex_);
    return sent_;
  }
  bool closed() {
    std::lock_guard lock(mutex_);
    return closed_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> sent_;
  bool closed_ = false;
  std::string remote_ = "127.0.0.1";
};

const std::string kValue = "code-value-0123456789abcdef";

HttpRequest upgrade(Fixture& f, const ferry::test::TestAgent& agent) {
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

}  // namespace

TEST_CASE("PushHub accepts signed connections and pushes kicks and cancels", "[push]") {
  Fixture f;
  const auto code = f.add_register_code(kValue);
  auto agent = f.register_agent(code, kValue);
  PushHub hub(f.auth, f.clock, PushHubOptions{60'000});

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
  }
  SECTION("closing goes offline once the seen window has passed") {
    hub.on_close(conn);
    CHECK(hub.connection_count() == 0);
    f.clock.advance_ms(60'001);
    CHECK_FALSE(hub.is_online(agent.instance_id));
  }
  SECTION("disconnect closes the socket (a deleted instance)") {
    hub.disconnect(agent.instance_id);
    CHECK(conn->closed());
    CHECK_FALSE(hub.is_online(agent.instance_id));
  }
}

TEST_CASE("PushHub refuses unsigned, forged and replayed upgrades", "[push]") {
  Fixture f;
  const auto code = f.add_register_code(kValue);
  auto agent = f.register_agent(code, kValue);
  PushHub hub(f.auth, f.clock);
  auto conn = std::make_shared<FakeConnection>();

  auto req = upgrade(f, agent);
  req.headers.erase("x-ferry-signature");
  auto r = hub.on_open(req, conn);
  REQUIRE(r.has_value());
  CHECK(r->status == 401);
  CHECK(nlohmann::json::parse(r->body)["Response"]["Error"]["Code"] ==
        "AuthFailure.InvalidAuthorization");

  req = upgrade(f, agent);
  req.headers["x-ferry-protocol"] = "9";
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
  PushHub hub(f.auth, f.clock, PushHubOptions{180'000});
  hub.note_seen("rins-polling1", f.clock.now_ms());
  CHECK(hub.is_online("rins-polling1"));
  f.clock.advance_ms(180'000);
  CHECK(hub.is_online("rins-polling1"));
  f.clock.advance_ms(1);
  CHECK_FALSE(hub.is_online("rins-polling1"));
}
