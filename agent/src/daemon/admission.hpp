// Taking tasks from the server: DescribeTasks (one at a time, again when asked meanwhile or
// when the reply says there is more), each listed task run once and only once, each listed
// cancel carried out, and a final answer for what cannot run.
#pragma once

#include <set>
#include <string>

#include "daemon_context.hpp"
#include "held_tasks.hpp"
#include "retention.hpp"

namespace ferry::agent {

class Admission {
 public:
  Admission(DaemonContext& context, HeldTasks& tasks, Retention& retention);

  // Asks the server for work now (or right after the request in flight).
  void describe();
  // A task left the books; a reply to a request already in flight may still list it.
  void note_forgotten(const std::string& id);

 private:
  void described(const CallResult& r);
  void take(const nlohmann::json& listed);
  void cancel(const std::string& id);

  DaemonContext& ctx_;
  HeldTasks& tasks_;
  Retention& retention_;
  bool in_flight_ = false;
  bool again_ = false;  // asked for while in flight
  // Tasks forgotten (finish acknowledged) while a DescribeTasks was in flight: its reply may
  // predate the finish and list them again, which must not start them a second time. A request
  // sent after the acknowledgement cannot list them, so the set is cleared at every send.
  std::set<std::string> forgotten_in_flight_;
  std::set<std::string> skipped_;  // ids left on disk by an earlier agent, warned about once
};

}  // namespace ferry::agent
