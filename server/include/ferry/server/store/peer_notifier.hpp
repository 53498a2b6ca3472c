// The seam through which ferry-servers on one database reach each other: the server that made
// a task (or cancelled one) tells the server holding the agent's socket, which pushes the kick
// or cancel as it would its own. Beside the Store, not in it: the Store stays engine-neutral, and
// a message is sent after the writing call returned (its transaction committed), never inside
// it. PostgreSQL implements it with LISTEN/NOTIFY (open_postgres_peer_notifier); one server on
// SQLite has no peers (NoPeerNotifier).
//
// Messages are hints, never the record: a lost one (the database down, a listener reconnecting)
// costs a delay only, since the holder's sweeper kicks the tasks that stay PENDING and the
// listener's catch-up after a reconnection looks at the store again.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::server {

struct PeerMessage {
  enum class Kind { kKick, kCancel };
  Kind kind = Kind::kKick;
  std::string from_server;  // the sender's server id (for the log)
  std::string instance_id;
  std::string task_id;
};

// The wire form, one line of ASCII: "kick srv-… rins-… invt-…" (or "cancel …"). Ids only, never
// anything of a command.
std::string format_peer_message(const PeerMessage& message);
// The message of `payload`, or nullopt when it is not one: a kind, then three ids of [A-Za-z0-9_-]
// (1 to 64 characters each), the instance's starting "rins-", the task's "invt-".
std::optional<PeerMessage> parse_peer_message(std::string_view payload);

struct PeerHandlers {
  // A message for this server (on the notifier's thread).
  std::function<void(const PeerMessage&)> on_message;
  // The listener came back after losing its session: messages may have been missed meanwhile,
  // so the receiver looks at the store once (on the notifier's thread).
  std::function<void()> on_resumed;
};

class PeerNotifier {
 public:
  PeerNotifier() = default;
  PeerNotifier(const PeerNotifier&) = delete;
  PeerNotifier& operator=(const PeerNotifier&) = delete;
  virtual ~PeerNotifier() = default;

  // Whether messages go anywhere: false for a server alone on its store, so that its callers
  // skip the presence reads that finding a peer costs.
  [[nodiscard]] virtual bool enabled() const = 0;
  // Queues `message` for the server `to` and returns at once; sent on the notifier's own thread
  // and session. Best effort (see above): a message that cannot be sent is dropped and logged.
  virtual void notify(const std::string& to, const PeerMessage& message) = 0;
  // Starts listening for the messages to `server_id`, until stop().
  virtual void start(const std::string& server_id, PeerHandlers handlers) = 0;
  // Stops listening and sending, joining the threads; idempotent.
  virtual void stop() = 0;
};

// A server alone on its store (SQLite): nobody to tell.
class NoPeerNotifier final : public PeerNotifier {
 public:
  [[nodiscard]] bool enabled() const override { return false; }
  void notify(const std::string& /*to*/, const PeerMessage& /*message*/) override {}
  void start(const std::string& /*server_id*/, PeerHandlers /*handlers*/) override {}
  void stop() override {}
};

}  // namespace ferry::server
