// The push side of the agent protocol: one WebSocket per agent at /ws, over which the server
// sends "kick" (new task: call DescribeTasks) and "cancel" messages. It is also the server's
// notion of which agents are online: connected now, or seen (any signed request) recently, so
// that an agent on the polling fallback still counts.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "ferry/server/clock.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/gateway/agent_gateway.hpp"
#include "ferry/server/http_server.hpp"

namespace ferry::server {

struct PushHubOptions {
  // An agent without a socket still counts as online this long after its last signed request
  // (three heartbeats by default, so one lost heartbeat does not flap it offline).
  int64_t online_window_ms = 180'000;
};

// Thread-safe: the WebSocket callbacks run on io threads, the notifier on API handlers' and the
// sweeper's threads.
class PushHub final : public WebSocketHandler, public AgentNotifier, public AgentPresence {
 public:
  PushHub(AgentAuthenticator& auth, const Clock& clock, PushHubOptions options = {});

  // WebSocketHandler. The upgrade is verified like a signed request of action "Connect" with an
  // empty body; a newer connection of the same instance replaces (and closes) the older one.
  std::optional<HttpResponse> on_open(const HttpRequest& upgrade_request,
                                      const std::shared_ptr<WebSocketConnection>& conn) override;
  void on_message(const std::shared_ptr<WebSocketConnection>& conn, std::string text) override;
  void on_close(const std::shared_ptr<WebSocketConnection>& conn) override;

  // AgentNotifier: {"Type":"kick"|"cancel","Seq":n,"Data":{"InvocationTaskId":...}} to the
  // agent's socket, if it has one (else the agent's polling finds the task).
  void task_ready(const std::string& instance_id, const std::string& task_id) override;
  void task_cancelled(const std::string& instance_id, const std::string& task_id) override;

  // AgentPresence.
  [[nodiscard]] bool is_online(const std::string& instance_id) const override;
  void disconnect(const std::string& instance_id) override;

  // An authenticated request from the agent at `now_ms` (AgentGateway's on_agent_seen).
  void note_seen(const std::string& instance_id, int64_t now_ms);
  [[nodiscard]] std::size_t connection_count() const;

 private:
  void send(const std::string& instance_id, const char* type, const std::string& task_id);

  AgentAuthenticator& auth_;
  const Clock& clock_;
  PushHubOptions options_;
  std::atomic<uint64_t> seq_{0};
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<WebSocketConnection>> connections_;
  std::map<std::string, int64_t> last_seen_ms_;
};

}  // namespace ferry::server
