// Shared fixture of the gateway tests: a real SQLite store in a temporary directory, a fake
// clock, recording fakes of the notifier and presence, and agents with real Ed25519 keys that
// sign their requests exactly as docs/protocol.md says.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ferry/core/ed25519.hpp"
#include "ferry/server/actions/actions.hpp"
#include "ferry/server/clock.hpp"
#include "ferry/server/gateway/agent_gateway.hpp"
#include "ferry/server/http_server.hpp"
#include "ferry/server/store/store.hpp"

namespace ferry::test {

// 2024-05-01T00:00:00Z: any fixed time will do, but a realistic one keeps RFC 3339 honest.
inline constexpr int64_t kStartMs = 1'714'521'600'000;

class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class FakeClock final : public server::Clock {
 public:
  [[nodiscard]] int64_t now_ms() const override { return now_.load(); }
  void advance_ms(int64_t ms) { now_ += ms; }
  void set_ms(int64_t ms) { now_ = ms; }

 private:
  std::atomic<int64_t> now_{kStartMs};
};

class RecordingNotifier final : public server::AgentNotifier {
 public:
  void task_ready(const std::string& instance_id, const std::string& task_id) override;
  void task_cancelled(const std::string& instance_id, const std::string& task_id) override;
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> kicks() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, std::string>> kicks_;
};

class FakePresence final : public server::AgentPresence {
 public:
  [[nodiscard]] bool is_online(const std::string& instance_id) const override;
  void disconnect(const std::string& instance_id) override;
  void set_online(const std::string& instance_id, bool online);

 private:
  mutable std::mutex mutex_;
  std::set<std::string> online_;
};

// An agent: its key and, once registered, its instance id.
struct TestAgent {
  Ed25519PrivateKey key;
  std::string instance_id;
};

struct Fixture {
  Fixture();

  // A register code with value `value`; returns its id.
  std::string add_register_code(const std::string& value, int64_t limit = 20,
                                const std::string& ip_range = "", int64_t expired_ms = 0,
                                const std::string& prefix = "");

  // A signed request as an agent makes it. `instance_id` "" for RegisterInstance.
  server::HttpRequest signed_request(const std::string& action, nlohmann::json body,
                                     const Ed25519PrivateKey& key, const std::string& instance_id);
  // Registers a new agent with a fresh key (REQUIRE-d to succeed).
  TestAgent register_agent(const std::string& code_id, const std::string& code_value,
                           const std::string& remote = "127.0.0.1");

  // The Response object of a reply.
  nlohmann::json call(const server::HttpRequest& request);
  nlohmann::json agent_call(const TestAgent& agent, const std::string& action,
                            nlohmann::json body = nlohmann::json::object());

  // One invocation with one task per instance, in `status`; returns the task ids.
  std::vector<std::string> add_tasks(const std::vector<std::string>& instance_ids,
                                     TaskStatus status = TaskStatus::kPending,
                                     int64_t timeout_s = 60);
  server::InvocationTask task(const std::string& id);

  ScratchDir dir;
  FakeClock clock;
  std::unique_ptr<server::Store> store;
  server::ServerSettings settings;
  RecordingNotifier notifier;
  FakePresence presence;
  server::ServerContext ctx;
  server::AgentAuthenticator auth;
  server::AgentGateway gateway;
  std::vector<std::string> seen;  // on_agent_seen
  int nonce_counter = 0;
};

// The Error.Code of a Response, or "" on success.
std::string error_code(const nlohmann::json& response);

}  // namespace ferry::test
