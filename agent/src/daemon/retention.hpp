// The journal's retention cap at work (journal.hpp, apply_retention): before a new task is
// taken, spools of finished tasks go while the journal is over its byte cap, and a task is
// refused while it stays at a cap.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "daemon_context.hpp"
#include "held_tasks.hpp"

namespace ferry::agent {

class Retention {
 public:
  Retention(DaemonContext& context, HeldTasks& tasks);

  // Why a new task is refused, or "" when it may run.
  std::string check();

 private:
  DaemonContext& ctx_;
  HeldTasks& tasks_;
  std::uint64_t journal_size_ = 0;  // bytes under tasks/, measured at most once a second
  std::chrono::steady_clock::time_point measured_at_{};
  bool refusing_ = false;  // at the journal's cap: logged once
};

}  // namespace ferry::agent
