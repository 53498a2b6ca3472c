// How the daemon hears of work: the push socket (a kick or cancel frame means DescribeTasks
// now), reconnected with capped backoff when it drops, and polling with DescribeTasks while it
// is down.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "daemon_context.hpp"

namespace ferry::agent {

class ServerLink {
 public:
  // `work_waiting` runs whenever the server may have work (or cancels) for the agent.
  ServerLink(DaemonContext& context, std::function<void()> work_waiting);

  void start();
  // Closes the socket; no reconnect, no polling.
  void stop();
  // "connected to URL", "reconnecting: why" or "connecting to URL".
  [[nodiscard]] std::string describe() const;

 private:
  enum class Push { kDown, kConnecting, kUp };

  void connect();
  void opened();
  void message(const std::string& text);
  void closed(const std::string& reason, const std::string& code);
  void arm_poll();

  DaemonContext& ctx_;
  std::function<void()> work_waiting_;
  Push push_ = Push::kDown;
  int reconnect_attempts_ = 0;
  std::string last_error_;  // said at info once, then at debug while it stays the same
  std::unique_ptr<Timer> reconnect_timer_;
  std::unique_ptr<Timer> poll_timer_;
};

}  // namespace ferry::agent
