// Shared fixture of the gateway tests: the server's test fixture (a real SQLite store, a fake
// clock, recording fakes of the notifier and presence) with an agent gateway over it, and agents
// with real Ed25519 keys that sign their requests exactly as docs/protocol.md says.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ferry/core/ed25519.hpp"
#include "ferry/server/gateway/agent_gateway.hpp"
#include "ferry/server/http_server.hpp"
#include "server_fixture.hpp"

namespace ferry::test {

// The value of the register code the gateway tests register their agents with.
inline const std::string kRegisterCodeValue = "code-value-0123456789abcdef";

// An agent: its key and, once registered, its instance id.
struct TestAgent {
  Ed25519PrivateKey key;
  std::string instance_id;
};

struct Fixture : ServerFixture {
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

  server::AgentAuthenticator auth;
  server::AgentGateway gateway;
  std::vector<std::string> seen;  // on_agent_seen
  int nonce_counter = 0;
};

// The Error.Code of a Response, or "" on success.
std::string error_code(const nlohmann::json& response);

}  // namespace ferry::test
