#include "reattached_supervisors.hpp"

#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "ferry/agent/task_files.hpp"

namespace ferry::agent {
namespace {

// How often a re-attached task's state.json and supervisor are looked at.
constexpr std::chrono::milliseconds kPoll{250};

}  // namespace

ReattachedSupervisors::ReattachedSupervisors(DaemonContext& context, HeldTasks& tasks)
    : ctx_(context), tasks_(tasks), timer_(context.clock.make_timer()) {}

void ReattachedSupervisors::watch() {
  if (timer_->armed() || ctx_.stopped()) {
    return;
  }
  timer_->start(kPoll, [this] {
    if (!ctx_.stopped()) {
      check();
    }
  });
}

void ReattachedSupervisors::check() {
  std::vector<std::string> ended_ids;
  bool watching = false;
  for (auto& [id, t] : tasks_.all()) {
    if (!t.reattached || t.finished()) {
      continue;
    }
    if (read_final_result(task_paths(ctx_.options.state_dir, id)) ||
        !platform::is_running(t.journal.supervisor)) {
      ended_ids.push_back(id);
    } else {
      watching = true;
    }
  }
  for (const auto& id : ended_ids) {
    if (HeldTask* t = tasks_.find(id)) {
      t->reattached = false;
      ended(*t);
    }
  }
  if (watching) {
    watch();
  }
}

void ReattachedSupervisors::ended(HeldTask& task) {
  const TaskPaths paths = task_paths(ctx_.options.state_dir, task.id);
  if (auto result = read_final_result(paths)) {
    tasks_.finished(task.id, std::move(*result));
    return;
  }
  spdlog::warn("task {}: its supervisor ended without a result; reported FAILED", task.id);
  tasks_.finished(task.id, interrupted_result(task.id, paths, task.journal.start_time,
                                              "the task's supervisor ended without recording a "
                                              "result (killed?); the task is not run again",
                                              ctx_.now_text()));
}

void ReattachedSupervisors::stop() {
  timer_->cancel();
}

}  // namespace ferry::agent
