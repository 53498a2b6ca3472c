// Live output: while tasks run, what they wrote since the last piece goes to the server as an
// UploadTaskLog, at most one per task per live_output_interval, one at a time per task.
#pragma once

#include <memory>

#include "daemon_context.hpp"
#include "held_tasks.hpp"
#include "report_queue.hpp"

namespace ferry::agent {

class LiveOutput {
 public:
  LiveOutput(DaemonContext& context, HeldTasks& tasks, ReportQueue& reports);

  // Reads again after the interval (and after each interval while a task may write more).
  void arm();
  // Queues a piece of what each running task wrote since its last one. Returns whether a task
  // may still write more.
  bool collect();
  void stop();

 private:
  DaemonContext& ctx_;
  HeldTasks& tasks_;
  ReportQueue& reports_;
  std::unique_ptr<Timer> timer_;
};

}  // namespace ferry::agent
