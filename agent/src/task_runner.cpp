#include "ferry/agent/task_runner.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/stdio.hpp>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/platform/fs.hpp"
#include "ferry/platform/process_identity.hpp"

namespace bp = boost::process::v2;

namespace ferry::agent {
namespace {

constexpr std::size_t kMaxStateFile = 256 * 1024;

// Puts the supervisor in a session of its own, in the child between fork and exec: it must not
// receive the terminal's Ctrl-C or die with the agent's process group.
struct NewSession {
  template <typename Launcher>
  bp::error_code on_exec_setup(Launcher&, const bp::filesystem::path&, const char* const*) {
    if (::setsid() < 0) {
      return bp::error_code(errno, bp::system_category());
    }
    return {};
  }
};

TaskResult failed_to_start(const std::string& task_id, const Error& error) {
  TaskResult r;
  r.invocation_task_id = task_id;
  r.status = TaskStatus::kStartFailed;
  r.error_info = error.code.empty() ? error.message : error.code + ": " + error.message;
  return r;
}

// The result the supervisor left in state.json, or why there is none.
TaskResult read_result(const std::string& task_id, const TaskPaths& paths, int exit_code) {
  auto text = platform::read_file(paths.state_file, kMaxStateFile);
  if (text) {
    auto state = nlohmann::json::parse(*text, nullptr, false);
    if (!state.is_discarded() && state.value("Phase", "") == "finished" &&
        state.contains("Result")) {
      auto result = parse_task_result(state["Result"]);
      if (result) {
        return std::move(*result);
      }
    }
  }
  TaskResult r;
  r.invocation_task_id = task_id;
  r.status = TaskStatus::kFailed;
  r.error_info = "the task's supervisor exited with status " + std::to_string(exit_code) +
                 " without a result (see " + paths.supervisor_log.string() + ")";
  return r;
}

}  // namespace

struct TaskRunner::Impl : std::enable_shared_from_this<Impl> {
  struct Pending {
    Task task;
    Completion done;
    Started started;
  };
  struct Running {
    std::unique_ptr<bp::process> process;
    Completion done;
  };

  boost::asio::any_io_executor executor;
  RunnerOptions options;
  std::deque<Pending> queue;
  std::map<std::string, Running> running;
  bool stopped = false;

  Impl(boost::asio::any_io_executor ex, RunnerOptions opts)
      : executor(std::move(ex)), options(std::move(opts)) {}

  bool known(const std::string& id) const {
    if (running.contains(id)) {
      return true;
    }
    for (const auto& p : queue) {
      if (p.task.invocation_task_id == id) {
        return true;
      }
    }
    return false;
  }

  void complete_later(Completion done, TaskResult result) {
    boost::asio::post(executor, [done = std::move(done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
  }

  void pump() {
    while (!queue.empty() && running.size() < options.max_concurrent) {
      Pending p = std::move(queue.front());
      queue.pop_front();
      start(std::move(p.task), std::move(p.done), std::move(p.started));
    }
  }

  void start(Task task, Completion done, Started started) {
    const std::string id = task.invocation_task_id;
    const TaskPaths paths = task_paths(options.state_dir, id);
    // A task directory that exists means this id ran here before: never run a task twice.
    if (std::filesystem::exists(paths.dir)) {
      complete_later(std::move(done),
                     failed_to_start(id, Error{codes::kInvalidParameterValue,
                                               "task " + id + " was already run on this machine"}));
      return;
    }
    if (auto s = platform::ensure_directory(paths.dir, 0711); !s) {
      complete_later(std::move(done), failed_to_start(id, s.error().wrap(kStoreFailed)));
      return;
    }
    if (auto s = platform::write_new_file(paths.task_file, to_json(task).dump(), 0600); !s) {
      complete_later(std::move(done), failed_to_start(id, s.error().wrap(kStoreFailed)));
      return;
    }
    const int log_fd = ::open(paths.supervisor_log.c_str(),
                              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (log_fd < 0) {
      complete_later(
          std::move(done),
          failed_to_start(id, errno_error(codes::kInternalError,
                                          std::string(kStoreFailed) + ": supervisor log", errno)));
      return;
    }
    std::vector<std::string> args{"supervise", "--task-dir", paths.dir.string(), "--kill-grace-ms",
                                  std::to_string(options.kill_grace.count())};
    if (!options.use_cgroup) {
      args.emplace_back("--no-cgroup");
    }
    std::unique_ptr<bp::process> process;
    try {
      process = std::make_unique<bp::process>(
          executor, bp::filesystem::path(options.supervisor_executable.string()), args,
          bp::process_stdio{nullptr, nullptr, log_fd}, NewSession{});
    } catch (const std::exception& e) {
      ::close(log_fd);
      complete_later(std::move(done),
                     failed_to_start(id, Error{codes::kInternalError,
                                               std::string("TaskSpawnFailed: ") + e.what()}));
      return;
    }
    ::close(log_fd);
    const int pid = process->id();
    // Read now, while the supervisor is certainly this process's unreaped child.
    const std::uint64_t start_time = platform::process_start_time(pid).value_or(0);
    spdlog::debug("task {}: supervisor pid {}", id, pid);

    auto self = shared_from_this();
    process->async_wait([self, id, paths](bp::error_code wait_ec, int exit_code) {
      if (self->stopped) {
        return;
      }
      auto it = self->running.find(id);
      if (it == self->running.end()) {
        return;
      }
      Completion done_cb = std::move(it->second.done);
      self->running.erase(it);
      TaskResult result = read_result(id, paths, wait_ec ? -1 : exit_code);
      if (!self->options.keep_task_dirs) {
        (void)platform::remove_tree(paths.dir);
      }
      self->pump();
      done_cb(std::move(result));
    });
    running.emplace(id, Running{std::move(process), std::move(done)});
    if (started) {
      boost::asio::post(executor, [self, pid, start_time, started = std::move(started)] {
        if (!self->stopped) {
          started(pid, start_time);
        }
      });
    }
  }
};

TaskRunner::TaskRunner(boost::asio::any_io_executor executor, RunnerOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options))) {}

TaskRunner::~TaskRunner() {
  impl_->stopped = true;
  for (auto& [id, r] : impl_->running) {
    // The supervisor owns its task from here: detach, never terminate.
    r.process->detach();
  }
}

void TaskRunner::submit(Task task, Completion done, Started started) {
  if (impl_->known(task.invocation_task_id)) {
    impl_->complete_later(
        std::move(done),
        failed_to_start(task.invocation_task_id,
                        Error{codes::kInvalidParameterValue, "task " + task.invocation_task_id +
                                                                 " is already queued or running"}));
    return;
  }
  impl_->queue.push_back({std::move(task), std::move(done), std::move(started)});
  impl_->pump();
}

bool TaskRunner::cancel(const std::string& invocation_task_id) {
  for (auto it = impl_->queue.begin(); it != impl_->queue.end(); ++it) {
    if (it->task.invocation_task_id == invocation_task_id) {
      TaskResult r;
      r.invocation_task_id = invocation_task_id;
      r.status = TaskStatus::kCancelled;
      r.error_info = "the task was cancelled before it started";
      impl_->complete_later(std::move(it->done), std::move(r));
      impl_->queue.erase(it);
      return true;
    }
  }
  auto it = impl_->running.find(invocation_task_id);
  if (it == impl_->running.end()) {
    return false;
  }
  // SIGTERM to the supervisor: it terminates the task's tree and reports TERMINATED.
  bp::error_code ec;
  it->second.process->request_exit(ec);
  return !ec;
}

std::size_t TaskRunner::running() const {
  return impl_->running.size();
}
std::size_t TaskRunner::queued() const {
  return impl_->queue.size();
}

}  // namespace ferry::agent
