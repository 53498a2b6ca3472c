// Runs tasks through per-task supervisor processes, at most `max_concurrent` at once and the
// rest queued in arrival order. Used by `ferry-agent run-task` and by the daemon.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ferry/core/task.hpp"

namespace ferry::agent {

// The start of the ErrorInfo of a task that could not be stored in the state directory (full,
// read-only, failing): it never ran.
inline constexpr std::string_view kStoreFailed =
    "ScriptStoreFailed: the task could not be stored in the agent's state directory (full or "
    "read-only?)";

struct RunnerOptions {
  std::filesystem::path state_dir;
  std::filesystem::path supervisor_executable;  // ferry-supervise, or ferry-agent (`supervise`)
  std::size_t max_concurrent = 64;
  std::chrono::milliseconds kill_grace{3000};
  bool use_cgroup = true;
  bool keep_task_dirs = false;  // leave tasks/<id>/ in place after the result (debugging)
};

class TaskRunner {
 public:
  using Completion = std::function<void(TaskResult)>;
  // The supervisor's pid and start time (process_identity.hpp), read right after it was made.
  using Started = std::function<void(int pid, std::uint64_t start_time)>;

  // All callbacks run on `executor`, which must be single-threaded (an io_context run by one
  // thread or a strand).
  TaskRunner(boost::asio::any_io_executor executor, RunnerOptions options);
  // Destroying the runner detaches from running supervisors: it never kills a task, and their
  // completions are not called.
  ~TaskRunner();
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // Queues the task. `started` (optional) is called once its supervisor runs, after task.json is
  // on disk; `done` is called once with its final result: START_FAILED when it could not be
  // started (bad content, a task id already used on this machine, ...), CANCELLED when it was
  // cancelled while queued (then `started` never runs).
  void submit(Task task, Completion done, Started started = {});

  // A queued task completes CANCELLED without running; a running one is terminated by its
  // supervisor (TERMINATED). Returns false when the id is unknown or already finished.
  bool cancel(const std::string& invocation_task_id);

  [[nodiscard]] std::size_t running() const;
  [[nodiscard]] std::size_t queued() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ferry::agent
