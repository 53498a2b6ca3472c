// The agent gateway (`POST /agent`), the server's door for every agent of the fleet, over a real
// SQLite store. The first byte picks how the rest is sent:
// - mostly as a body signed by a registered agent (its Action, when the body names one, is the
//   action signed), so that the fuzzer gets past authentication to every handler: tasks,
//   reports, live output, heartbeats, output uploads;
// - else unsigned, the parts (fuzz_input.hpp) being the X-Ferry-Instance, -Timestamp, -Nonce and
//   -Signature headers and the body, as an attacker without a key would send them.
// Properties: every answer is HTTP 200 with a JSON Response envelope, or the transport's 4xx.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "ferry/core/crypto.hpp"
#include "ferry/core/ed25519.hpp"
#include "ferry/server/gateway/agent_authenticator.hpp"
#include "ferry/server/gateway/agent_gateway.hpp"
#include "ferry/server/store/sqlite_store.hpp"
#include "fuzz_input.hpp"

namespace {

using namespace ferry;
using namespace ferry::server;

// 2024-05-01T00:00:00Z.
class FixedClock final : public Clock {
 public:
  [[nodiscard]] int64_t now_ms() const override { return 1'714'521'600'000; }
};

class NoNotifier final : public AgentNotifier {
 public:
  void task_ready(const std::string&, const std::string&) override {}
  void task_cancelled(const std::string&, const std::string&) override {}
};

class NoPresence final : public AgentPresence {
 public:
  [[nodiscard]] bool is_online(const std::string&) const override { return true; }
  void disconnect(const std::string&) override {}
};

constexpr std::string_view kCodeId = "00000000-0000-4000-8000-00000000f022";
constexpr std::string_view kCodeValue = "fuzz-register-code-value";

template <typename T>
T must(Expected<T> e, const char* what) {
  if (!e) {
    ferry::fuzz::property_failed(what);
  }
  return std::move(*e);
}

void must(const Status& s, const char* what) {
  if (!s) {
    ferry::fuzz::property_failed(what);
  }
}

// The server side and one registered agent, made once per process.
struct World {
  World() {
    std::string dir = (std::filesystem::temp_directory_path() / "ferry-fuzz-gateway-XXXXXX");
    if (::mkdtemp(dir.data()) == nullptr) {
      ferry::fuzz::property_failed("mkdtemp");
    }
    static const std::string to_remove = dir;
    std::atexit([] { std::filesystem::remove_all(to_remove); });
    store = must(open_sqlite_store(std::filesystem::path(dir) / "ferry.db", clock), "store");
    settings.account_id = "1234567890";
    settings.regions = {{"ap-test", "Test", "AVAILABLE"}};
    ctx =
        std::make_unique<ServerContext>(ServerContext{*store, clock, settings, notifier, presence});
    auth = std::make_unique<AgentAuthenticator>(*store, clock);
    GatewayOptions options;
    options.auth_failure_rate = 0;  // no limit: every input reaches the handlers
    gateway = std::make_unique<AgentGateway>(*ctx, *auth, options);

    RegisterCode code;
    code.register_code_id = std::string(kCodeId);
    code.value_hash = sha256_hex(kCodeValue);
    code.register_limit = 1000;
    code.created_ms = code.updated_ms = clock.now_ms();
    must(store->insert_register_code(code), "register code");
    key = std::make_unique<Ed25519PrivateKey>(must(Ed25519PrivateKey::generate(), "key"));
    nlohmann::json body = {{"RegisterCodeId", kCodeId},
                           {"RegisterCodeValue", kCodeValue},
                           {"PublicKey", key->public_key_base64()},
                           {"Hostname", "fuzz"},
                           {"LocalIp", {"10.0.0.5"}},
                           {"MachineId", "machine-fuzz"},
                           {"SystemName", "Linux"},
                           {"Action", "RegisterInstance"}};
    auto reply = nlohmann::json::parse(send_signed("RegisterInstance", body.dump(), "").body);
    instance_id = reply["Response"]["InstanceId"].get<std::string>();
  }

  HttpResponse send_signed(const std::string& action, std::string body,
                           const std::string& instance) {
    HttpRequest r;
    r.method = "POST";
    r.target = "/agent";
    r.body = std::move(body);
    r.remote_address = "127.0.0.1";
    const int64_t ts = clock.now_ms() / 1000;
    const std::string nonce = "fuzz-nonce-" + std::to_string(++nonces) + "-abcdefgh";
    auto signing = agent_signing_string(action, sha256_hex(r.body), ts, nonce, instance);
    if (!signing) {
      // An action the signing string refuses (empty, too long): sent unsigned.
      r.headers = {{"content-type", "application/json"}, {"x-ferry-protocol", "1"}};
      return gateway->handle(r);
    }
    r.headers = {{"content-type", "application/json"},
                 {"x-ferry-protocol", "1"},
                 {"x-ferry-instance", instance},
                 {"x-ferry-timestamp", std::to_string(ts)},
                 {"x-ferry-nonce", nonce},
                 {"x-ferry-signature", must(key->sign_base64(*signing), "sign")}};
    return gateway->handle(r);
  }

  FixedClock clock;
  std::unique_ptr<Store> store;
  ServerSettings settings;
  NoNotifier notifier;
  NoPresence presence;
  std::unique_ptr<ServerContext> ctx;
  std::unique_ptr<AgentAuthenticator> auth;
  std::unique_ptr<AgentGateway> gateway;
  std::unique_ptr<Ed25519PrivateKey> key;
  std::string instance_id;
  std::atomic<int64_t> nonces{0};
};

World& world() {
  static World w;
  return w;
}

void check_reply(const HttpResponse& response) {
  if (response.status != 200) {
    FERRY_FUZZ_CHECK(response.status >= 400 && response.status < 500);
    return;
  }
  const auto j = nlohmann::json::parse(response.body, nullptr, false);
  FERRY_FUZZ_CHECK(j.is_object() && j.contains("Response") && j["Response"].is_object());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)world();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  World& w = world();
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 4 != 3) {
    const auto body = nlohmann::json::parse(rest, nullptr, false);
    std::string action = "Heartbeat";
    if (body.is_object() && body.contains("Action") && body["Action"].is_string()) {
      action = body["Action"].get<std::string>();
    }
    check_reply(w.send_signed(action, std::string(rest), w.instance_id));
    return 0;
  }
  ferry::fuzz::Parts parts(data + 1, size - 1);
  HttpRequest r;
  r.method = "POST";
  r.target = "/agent";
  r.remote_address = "127.0.0.1";
  r.headers = {{"content-type", "application/json"},
               {"x-ferry-protocol", "1"},
               {"x-ferry-instance", std::string(parts.next())},
               {"x-ferry-timestamp", std::string(parts.next())},
               {"x-ferry-nonce", std::string(parts.next())},
               {"x-ferry-signature", std::string(parts.next())}};
  r.body = std::string(parts.rest());
  check_reply(w.gateway->handle(r));
  return 0;
}
