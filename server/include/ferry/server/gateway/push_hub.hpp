// The push side of the agent protocol: one WebSocket per agent at /ws, over which the server
// sends "kick" (new task: call DescribeTasks) and "cancel" messages. It is also this server's
// view of presence, kept in the store so that every server on the database shares it:
// - The sockets stay here (a kick needs one). A connect records in the store that this server
//   holds the agent's socket; a close releases it, but only while this server still holds it.
// - A signed request from an agent (note_seen) counts at once here, and reaches the store in
//   the next refresh: every refresh_interval_ms the hub writes, in one batch, the latest
//   contact of each agent seen since the last refresh, and its own liveness row. So a busy
//   agent costs the database at most one row write per refresh, never one per request.
// - An agent is online when it holds a socket here, or one on another server whose liveness
//   row is fresher than server_stale_ms, or made contact within online_window_ms (on any
//   server). is_online (RunCommand asks it once per target instance) trusts what it read from
//   the store about an agent for presence_cache_ms; locate (the sweeper's) always reads anew.
// - A kick or cancel for an agent whose socket another live server holds goes to that server
//   through the PeerNotifier (LISTEN/NOTIFY on PostgreSQL), which pushes it on the socket as its
//   own; what this server is sent so arrives in deliver(). Without peers (SQLite, one server)
//   that agent's tasks are found by its polling or its server's sweeper.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ferry/server/clock.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/gateway/agent_gateway.hpp"
#include "ferry/server/gateway/periodic_thread.hpp"
#include "ferry/server/gateway/sweeper.hpp"
#include "ferry/server/http_server.hpp"
#include "ferry/server/store/peer_notifier.hpp"
#include "ferry/server/store/store.hpp"

namespace ferry::server {

struct PushHubOptions {
  // An agent without a socket still counts as online this long after its last signed request
  // (three heartbeats by default, so one lost heartbeat does not flap it offline).
  int64_t online_window_ms = 90'000;
  // This server's name in the store's presence; empty draws a random "srv-xxxxxxxx".
  std::string server_id;
  // How often the liveness row and the collected contact times are written.
  int64_t refresh_interval_ms = 5000;
  // A server whose liveness row is older than this is gone: its sockets count for nothing.
  int64_t server_stale_ms = 15'000;
  // How long is_online reuses a presence record it read from the store.
  int64_t presence_cache_ms = 1000;
};

// Thread-safe: the WebSocket callbacks run on io threads, the notifier and presence on API
// handlers' and the sweeper's threads.
class PushHub final : public WebSocketHandler,
                      public AgentNotifier,
                      public AgentPresence,
                      public AgentLocator {
 public:
  // `peers` (nullptr: none, as NoPeerNotifier) must outlive the hub; start() starts its
  // listening, stop() stops it.
  PushHub(AgentAuthenticator& auth, Store& store, const Clock& clock, PushHubOptions options = {},
          PeerNotifier* peers = nullptr);
  ~PushHub() override;  // stop()
  PushHub(const PushHub&) = delete;
  PushHub& operator=(const PushHub&) = delete;

  // WebSocketHandler. The upgrade is verified like a signed request of action "Connect" with an
  // empty body; a newer connection of the same instance replaces (and closes) the older one.
  std::optional<HttpResponse> on_open(const HttpRequest& upgrade_request,
                                      const std::shared_ptr<WebSocketConnection>& conn) override;
  void on_message(const std::shared_ptr<WebSocketConnection>& conn, std::string text) override;
  void on_close(const std::shared_ptr<WebSocketConnection>& conn) override;

  // AgentNotifier: {"Type":"kick"|"cancel","Seq":n,"Data":{"InvocationTaskId":...}} to the
  // agent's socket if this server holds it; else, when another live server holds it, a message
  // to that server through the peers (else the agent's polling finds the task).
  void task_ready(const std::string& instance_id, const std::string& task_id) override;
  void task_cancelled(const std::string& instance_id, const std::string& task_id) override;

  // A message from another server: pushed to the agent if its socket is here (it may have
  // moved since; then its new server's sweeper or the agent's polling finds the task).
  void deliver(const PeerMessage& message);
  // After the peers' listener lost messages (it reconnected): one kick for each PENDING task and
  // one cancel for each CANCELLING task of the agents whose sockets are here.
  Status catch_up();

  // AgentPresence. A failed store read counts as offline (and is logged).
  [[nodiscard]] bool is_online(const std::string& instance_id) const override;
  // Closes the agent's socket here and forgets what this server knows of it (its instance was
  // deleted, which removed its presence from the store).
  void disconnect(const std::string& instance_id) override;

  // AgentLocator: one store read for all of `instance_ids`.
  Expected<std::unordered_map<std::string, AgentWhereabouts>> locate(
      const std::vector<std::string>& instance_ids) override;

  // An authenticated request from the agent at `now_ms` (AgentGateway's on_agent_seen).
  void note_seen(const std::string& instance_id, int64_t now_ms);
  // The agent said it is stopping (ReportAgentStop, after its own request was noted): its
  // socket here is closed and its contact so far no longer counts, here and in the store, so
  // that it is Offline at once until it makes contact again (AgentGateway's on_agent_stopped).
  // Another server that itself saw a request of the agent's within the window keeps counting
  // that contact (its memory is not told).
  void agent_stopped(const std::string& instance_id);
  [[nodiscard]] std::size_t connection_count() const;
  // Agents whose latest contact waits for the next refresh to reach the store.
  [[nodiscard]] std::size_t unwritten_contacts() const;
  [[nodiscard]] const std::string& server_id() const { return server_id_; }

  // Writes the contact times collected since the last refresh and this server's liveness row.
  Status refresh();
  // Refreshes now and then every refresh_interval_ms, on a thread of its own, until stop(),
  // which writes what contact is left once more (after a restart it still counts).
  void start();
  void stop();

 private:
  // False when this server holds no socket of the agent.
  bool send(const std::string& instance_id, const char* type, const std::string& task_id);
  // Sends it here, or has the server holding the socket send it.
  void push(PeerMessage::Kind kind, const std::string& instance_id, const std::string& task_id);
  // The live server, other than this one, holding the agent's socket ("" when none): from a
  // presence record read within presence_cache_ms, else from the store.
  std::string holder_elsewhere(const std::string& instance_id);
  // Online by `record` and this server's own contact with the agent (mutex_ held).
  [[nodiscard]] AgentWhereabouts whereabouts(const std::string& instance_id,
                                             const AgentPresenceRecord* record, int64_t now) const;

  struct CachedRecord {
    std::optional<AgentPresenceRecord> record;  // none: the store has no record
    int64_t read_ms = 0;
  };

  AgentAuthenticator& auth_;
  Store& store_;
  const Clock& clock_;
  PushHubOptions options_;
  PeerNotifier* peers_;
  std::string server_id_;
  std::atomic<uint64_t> seq_{0};
  // Held across a change of the sockets and its store write, so that the store sees this
  // server's connects and closes in the order they happened.
  std::mutex socket_writes_;
  // Held across the copy of unwritten_ and its store write (refresh), and across a stop's, so
  // that contact written late cannot land after the stop that ended it.
  std::mutex seen_writes_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<WebSocketConnection>> connections_;
  std::unordered_map<std::string, int64_t> seen_ms_;    // this server's latest contact
  std::unordered_map<std::string, int64_t> unwritten_;  // contact not yet in the store
  mutable std::unordered_map<std::string, CachedRecord> cache_;
  PeriodicThread refresher_;
  std::atomic<bool> started_{false};  // start() ran and stop() has not written the last refresh
};

}  // namespace ferry::server
