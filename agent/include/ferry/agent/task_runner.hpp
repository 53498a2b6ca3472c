// Runs tasks through per-task supervisor processes, at most `max_concurrent` at once and the
// rest queued in arrival order. Used by `ferry-agent run-task` and by the daemon.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "ferry/agent/container.hpp"
#include "ferry/agent/runner.hpp"
#include "ferry/agent/supervisor.hpp"
#include "ferry/platform/event_loop.hpp"

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
  std::uint64_t output_max_bytes = kDefaultTaskOutputMaxBytes;  // handed to each supervisor
  bool use_cgroup = true;
  bool keep_task_dirs = false;  // leave tasks/<id>/ in place after the result (debugging)
  ContainerRuntimes runtimes;   // handed to each supervisor
};

class TaskRunner : public Runner {
 public:
  // All callbacks run on `loop`, which must be run by one thread and outlive the runner.
  TaskRunner(platform::EventLoop& loop, RunnerOptions options);
  ~TaskRunner() override;
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  void submit(Task task, Completion done, Started started = {}) override;
  bool cancel(const std::string& invocation_task_id) override;
  void set_limits(std::size_t max_concurrent, std::chrono::milliseconds kill_grace) override;

  [[nodiscard]] std::size_t running() const;
  [[nodiscard]] std::size_t queued() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ferry::agent
