// Heartbeat: the agent's version, OS and features, every HeartbeatInterval the server asks for
// (default_heartbeat when it says nothing; sooner again after a failure).
#pragma once

#include <memory>

#include "daemon_context.hpp"

namespace ferry::agent {

class Heartbeat {
 public:
  explicit Heartbeat(DaemonContext& context);

  void start();
  void stop();

 private:
  void beat();
  void answered(const CallResult& r);

  DaemonContext& ctx_;
  std::unique_ptr<Timer> timer_;
};

}  // namespace ferry::agent
