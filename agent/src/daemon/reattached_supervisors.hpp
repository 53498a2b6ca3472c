// Supervisors an earlier agent started that still run their tasks. They are not this agent's
// children, so there is no waitpid: their state.json, or their end without one, is polled for.
#pragma once

#include <memory>

#include "daemon_context.hpp"
#include "held_tasks.hpp"

namespace ferry::agent {

class ReattachedSupervisors {
 public:
  ReattachedSupervisors(DaemonContext& context, HeldTasks& tasks);

  // Looks again after a while (and after each while a supervisor still runs).
  void watch();
  // The task's supervisor no longer runs: its recorded result, or FAILED saying so.
  void ended(HeldTask& task);
  void stop();

 private:
  void check();

  DaemonContext& ctx_;
  HeldTasks& tasks_;
  std::unique_ptr<Timer> timer_;
};

}  // namespace ferry::agent
