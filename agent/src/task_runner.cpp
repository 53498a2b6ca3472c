#include "ferry/agent/task_runner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <deque>
#include <map>
#include <string>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/agent/task_files.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/platform/detached_process.hpp"
#include "ferry/platform/fs.hpp"

namespace ferry::agent {

struct TaskRunner::Impl : std::enable_shared_from_this<Impl> {
  struct Pending {
    Task task;
    Completion done;
    Started started;
  };
  struct Running {
    std::unique_ptr<platform::DetachedProcess> supervisor;
    Completion done;
  };

  platform::EventLoop& loop;
  RunnerOptions options;
  std::deque<Pending> queue;
  std::map<std::string, Running> running;
  bool stopped = false;

  Impl(platform::EventLoop& l, RunnerOptions opts) : loop(l), options(std::move(opts)) {}

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
    boost::asio::post(loop, [done = std::move(done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
  }

  void fail_later(Completion done, const std::string& id, const Error& error) {
    complete_later(std::move(done), unrun_result(id, TaskStatus::kStartFailed, error_text(error)));
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
      fail_later(
          std::move(done), id,
          Error{codes::kInvalidParameterValue, "task " + id + " was already run on this machine"});
      return;
    }
    if (auto s = platform::ensure_directory(paths.dir, platform::DirectoryAccess::kTraversable);
        !s) {
      fail_later(std::move(done), id, s.error().wrap(kStoreFailed));
      return;
    }
    if (auto s = write_task_file(paths, task); !s) {
      fail_later(std::move(done), id, s.error().wrap(kStoreFailed));
      return;
    }
    auto log = platform::create_file(paths.supervisor_log, platform::FileAccess::kPrivate,
                                     std::string(kStoreFailed) + ": supervisor log");
    if (!log) {
      fail_later(std::move(done), id, log.error());
      return;
    }
    std::vector<std::string> args{"supervise",
                                  "--task-dir",
                                  paths.dir.string(),
                                  "--kill-grace-ms",
                                  std::to_string(options.kill_grace.count()),
                                  "--output-max-bytes",
                                  std::to_string(options.output_max_bytes)};
    if (!options.use_cgroup) {
      args.emplace_back("--no-cgroup");
    }
    const auto runtime_args = runtime_arguments(options.runtimes);
    args.insert(args.end(), runtime_args.begin(), runtime_args.end());
    auto supervisor =
        platform::DetachedProcess::start(loop, options.supervisor_executable, args, *log);
    if (!supervisor) {
      fail_later(std::move(done), id, supervisor.error().wrap("TaskSpawnFailed"));
      return;
    }
    const platform::ProcessIdentity identity = (*supervisor)->identity();
    spdlog::debug("task {}: supervisor pid {}", id, identity.pid);

    auto self = shared_from_this();
    (*supervisor)->async_wait([self, id, paths](int exit_code) {
      if (self->stopped) {
        return;
      }
      auto it = self->running.find(id);
      if (it == self->running.end()) {
        return;
      }
      Completion done_cb = std::move(it->second.done);
      self->running.erase(it);
      TaskResult result = result_after_exit(id, paths, exit_code);
      if (!self->options.keep_task_dirs) {
        (void)platform::remove_tree(paths.dir);
      }
      self->pump();
      done_cb(std::move(result));
    });
    running.emplace(id, Running{std::move(*supervisor), std::move(done)});
    if (started) {
      boost::asio::post(loop, [self, identity, started = std::move(started)] {
        if (!self->stopped) {
          started(identity);
        }
      });
    }
  }
};

TaskRunner::TaskRunner(platform::EventLoop& loop, RunnerOptions options)
    : impl_(std::make_shared<Impl>(loop, std::move(options))) {}

TaskRunner::~TaskRunner() {
  impl_->stopped = true;
  // The supervisors own their tasks from here: destroying their handles detaches, never kills.
  impl_->running.clear();
}

void TaskRunner::submit(Task task, Completion done, Started started) {
  if (impl_->known(task.invocation_task_id)) {
    impl_->fail_later(std::move(done), task.invocation_task_id,
                      Error{codes::kInvalidParameterValue,
                            "task " + task.invocation_task_id + " is already queued or running"});
    return;
  }
  impl_->queue.push_back({std::move(task), std::move(done), std::move(started)});
  impl_->pump();
}

void TaskRunner::set_limits(std::size_t max_concurrent, std::chrono::milliseconds kill_grace) {
  impl_->options.max_concurrent = std::max<std::size_t>(max_concurrent, 1);
  impl_->options.kill_grace = kill_grace;
  impl_->pump();
}

bool TaskRunner::cancel(const std::string& invocation_task_id) {
  for (auto it = impl_->queue.begin(); it != impl_->queue.end(); ++it) {
    if (it->task.invocation_task_id == invocation_task_id) {
      impl_->complete_later(std::move(it->done),
                            unrun_result(invocation_task_id, TaskStatus::kCancelled,
                                         "the task was cancelled before it started"));
      impl_->queue.erase(it);
      return true;
    }
  }
  auto it = impl_->running.find(invocation_task_id);
  if (it == impl_->running.end()) {
    return false;
  }
  // The supervisor terminates the task's tree and reports TERMINATED.
  return it->second.supervisor->cancel(platform::CancelLevel::kGraceful);
}

std::size_t TaskRunner::running() const {
  return impl_->running.size();
}
std::size_t TaskRunner::queued() const {
  return impl_->queue.size();
}

}  // namespace ferry::agent
