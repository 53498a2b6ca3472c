// What the daemon needs of whatever runs its tasks. TaskRunner (task_runner.hpp) is the real one,
// a supervisor process per task; the daemon's tests give it a fake.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "ferry/core/task.hpp"
#include "ferry/platform/process_identity.hpp"

namespace ferry::agent {

class Runner {
 public:
  using Completion = std::function<void(TaskResult)>;
  // The task's supervisor, named right after it was made.
  using Started = std::function<void(platform::ProcessIdentity supervisor)>;

  // Detaches from running tasks: never kills one, and their callbacks no longer run.
  virtual ~Runner() = default;

  // Queues the task. `started` (optional) runs once its supervisor runs, after task.json is on
  // disk; `done` runs once with its final result: START_FAILED when it could not be started (bad
  // content, a task id already used on this machine, ...), CANCELLED when it was cancelled while
  // queued (then `started` never runs). Neither runs inside submit().
  virtual void submit(Task task, Completion done, Started started = {}) = 0;

  // A queued task completes CANCELLED without running; a running one is terminated by its
  // supervisor (TERMINATED). Returns false when the id is unknown or already finished.
  virtual bool cancel(const std::string& invocation_task_id) = 0;

  // New limits from a reload: how many tasks run at once (queued ones start when it grows) and
  // the kill grace of tasks started from now on. A runner without limits ignores them.
  virtual void set_limits(std::size_t max_concurrent, std::chrono::milliseconds kill_grace) {
    (void)max_concurrent;
    (void)kill_grace;
  }
};

}  // namespace ferry::agent
