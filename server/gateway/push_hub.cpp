#include "ferry/server/gateway/push_hub.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "ferry/core/crypto.hpp"

namespace ferry::server {

PushHub::PushHub(AgentAuthenticator& auth, const Clock& clock, PushHubOptions options)
    : auth_(auth), clock_(clock), options_(options) {}

std::optional<HttpResponse> PushHub::on_open(const HttpRequest& upgrade_request,
                                             const std::shared_ptr<WebSocketConnection>& conn) {
  Status checked = AgentAuthenticator::check_protocol(upgrade_request);
  Expected<RegisterInstance> agent = Error{};
  if (checked) {
    agent = auth_.authenticate(upgrade_request, "Connect", "");
  }
  if (!checked || !agent) {
    const Error& e = checked ? agent.error() : checked.error();
    spdlog::info("push: refused a connection from {}: {}", upgrade_request.remote_address, e.code);
    // 401 for credentials, 400 for a protocol the server does not speak: either way the body
    // is the agent protocol's error envelope.
    const bool auth_failure = e.code.rfind("AuthFailure.", 0) == 0;
    auto uuid = uuid4();
    return AgentGateway::error_response(e, uuid ? *uuid : std::string(), clock_.now_ms(),
                                        auth_failure ? 401 : 400);
  }
  const std::string id = agent->instance_id;
  conn->set_id(id);
  std::shared_ptr<WebSocketConnection> replaced;
  {
    std::lock_guard lock(mutex_);
    auto& slot = connections_[id];
    replaced = std::exchange(slot, conn);
    last_seen_ms_[id] = clock_.now_ms();
  }
  if (replaced && replaced != conn) {
    spdlog::info("push: {} reconnected from {}; closing its older connection", id,
                 conn->remote_address());
    replaced->close();
  } else {
    spdlog::info("push: {} connected from {}", id, conn->remote_address());
  }
  return std::nullopt;
}

void PushHub::on_message(const std::shared_ptr<WebSocketConnection>& conn, std::string text) {
  // Agents have nothing to say on the socket (reports go through POST /agent); liveness is
  // the transport's ping. A message is only noted.
  spdlog::debug("push: ignored a {}-byte message from {}", text.size(), conn->id());
}

void PushHub::on_close(const std::shared_ptr<WebSocketConnection>& conn) {
  const std::string id = conn->id();
  if (id.empty()) {
    return;
  }
  bool current = false;
  {
    std::lock_guard lock(mutex_);
    auto it = connections_.find(id);
    // A replaced connection closing must not unregister its successor.
    if (it != connections_.end() && it->second == conn) {
      connections_.erase(it);
      current = true;
    }
  }
  if (current) {
    spdlog::info("push: {} disconnected", id);
  }
}

void PushHub::send(const std::string& instance_id, const char* type, const std::string& task_id) {
  std::shared_ptr<WebSocketConnection> conn;
  {
    std::lock_guard lock(mutex_);
    auto it = connections_.find(instance_id);
    if (it == connections_.end()) {
      return;
    }
    conn = it->second;
  }
  const uint64_t seq = seq_.fetch_add(1, std::memory_order_relaxed) + 1;
  nlohmann::json message = {
      {"Type", type}, {"Seq", seq}, {"Data", {{"InvocationTaskId", task_id}}}};
  if (!conn->send(message.dump())) {
    spdlog::debug("push: {} for task {} not sent: {}'s connection is closing", type, task_id,
                  instance_id);
  }
}

void PushHub::task_ready(const std::string& instance_id, const std::string& task_id) {
  send(instance_id, "kick", task_id);
}

void PushHub::task_cancelled(const std::string& instance_id, const std::string& task_id) {
  send(instance_id, "cancel", task_id);
}

bool PushHub::is_online(const std::string& instance_id) const {
  const int64_t now = clock_.now_ms();
  std::lock_guard lock(mutex_);
  if (connections_.contains(instance_id)) {
    return true;
  }
  auto it = last_seen_ms_.find(instance_id);
  return it != last_seen_ms_.end() && now - it->second <= options_.online_window_ms;
}

void PushHub::disconnect(const std::string& instance_id) {
  std::shared_ptr<WebSocketConnection> conn;
  {
    std::lock_guard lock(mutex_);
    auto it = connections_.find(instance_id);
    if (it != connections_.end()) {
      conn = std::move(it->second);
      connections_.erase(it);
    }
    last_seen_ms_.erase(instance_id);
  }
  if (conn) {
    spdlog::info("push: disconnecting {}", instance_id);
    conn->close();
  }
}

void PushHub::note_seen(const std::string& instance_id, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto& seen = last_seen_ms_[instance_id];
  seen = std::max(seen, now_ms);
}

std::size_t PushHub::connection_count() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

}  // namespace ferry::server
