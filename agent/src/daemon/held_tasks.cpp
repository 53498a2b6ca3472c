#include "held_tasks.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/agent/task_files.hpp"
#include "ferry/agent/task_runner.hpp"
#include "ferry/platform/fs.hpp"
#include "ferry/platform/supervise.hpp"

namespace ferry::agent {
namespace {

// The TaskStatus of a report's answer; "" when there is none.
std::string task_status_of(const CallResult& r) {
  const auto it = r.response().find("TaskStatus");
  return it != r.response().end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The server has ended the task, or a cancel of it is under way.
bool ended_by_server(const std::string& status) {
  const auto parsed = parse_task_status(status);
  return status == "CANCELLING" || (parsed && is_final(*parsed));
}

}  // namespace

HeldTasks::HeldTasks(DaemonContext& context, ReportQueue& reports, std::unique_ptr<Runner> runner,
                     Hooks hooks)
    : ctx_(context), reports_(reports), runner_(std::move(runner)), hooks_(std::move(hooks)) {}

HeldTask* HeldTasks::find(const std::string& id) {
  auto it = tasks_.find(id);
  return it == tasks_.end() ? nullptr : &it->second;
}

std::size_t HeldTasks::in_progress() const {
  return static_cast<std::size_t>(std::count_if(tasks_.begin(), tasks_.end(), [](const auto& kv) {
    return kv.second.started && !kv.second.finished();
  }));
}

HeldTask& HeldTasks::add(const std::string& id) {
  HeldTask& t = tasks_[id];
  t.id = id;
  return t;
}

void HeldTasks::submit(Task task, AuditRecord audit) {
  const std::string id = task.invocation_task_id;
  HeldTask& t = add(id);
  t.in_container = task.in_container();
  t.audit = std::move(audit);
  t.audit.task_id = id;
  AuditRecord accepted = t.audit;
  accepted.event = "accepted";
  ctx_.audit(std::move(accepted));
  if (!runner_) {
    return;
  }
  runner_->submit(
      std::move(task),
      ctx_.guard([this, id](TaskResult result) { finished(id, std::move(result)); }),
      ctx_.guard([this, id](platform::ProcessIdentity supervisor) { started(id, supervisor); }));
}

void HeldTasks::refuse(const std::string& id, TaskResult result, TaskRefusal how) {
  HeldTask& t = add(id);
  t.journal.result = result;
  if (how.durable) {
    // A record without a start to report: recovery sends the finish alone.
    const auto dir = task_paths(ctx_.options.state_dir, id).dir;
    t.journal.task_id = id;
    t.journal.start_acked = true;
    if (auto s = platform::ensure_directory(dir, platform::DirectoryAccess::kPrivate); !s) {
      spdlog::warn("task {}: the refusal is not journaled ({}); reported from memory", id,
                   s.error().message);
    } else {
      t.has_dir = true;
      t.journaled = true;
      journal_write(t, platform::Durability::kSynced);
    }
  }
  AuditRecord line = std::move(how.audit);
  line.event = "refused";
  line.task_id = id;
  line.result = std::string(to_string(result.status));
  line.rule = std::move(how.rule);
  ctx_.audit(std::move(line));
  reports_.push(id, Report::task_finish(result, -1, ctx_.now_text()));
}

void HeldTasks::started(const std::string& id, platform::ProcessIdentity supervisor) {
  HeldTask* t = find(id);
  if (t == nullptr) {
    return;
  }
  t->started = true;
  t->has_dir = true;
  if (store_failing_) {
    store_failing_ = false;
    spdlog::info("the state directory works again: tasks start");
  }
  t->journal.task_id = id;
  t->journal.boot_id = ctx_.boot_id;
  t->journal.supervisor = supervisor;
  t->journal.start_time = ctx_.now_text();
  t->journaled = true;
  // Journaled (synced) before the start is reported: from here a restarted agent finds it.
  journal_write(*t, platform::Durability::kSynced);
  spdlog::info("task {}: started", id);
  reports_.push(id, Report::task_start(id, t->journal.start_time));
  hooks_.output_started();
  ctx_.status_changed();
}

void HeldTasks::remove_empty_containers() {
  if (!ctx_.options.runner.use_cgroup) {
    return;
  }
  const int removed = platform::remove_empty_task_containers([this](std::string_view name) {
    const auto it = tasks_.find(std::string(name));
    return it != tasks_.end() && !it->second.finished();
  });
  if (removed > 0) {
    spdlog::debug("removed {} empty task container(s)", removed);
  }
}

void HeldTasks::finished(const std::string& id, TaskResult result) {
  HeldTask* t = find(id);
  if (t == nullptr || t->finished()) {
    return;
  }
  t->reattached = false;
  t->finished_order = ++finish_counter_;
  if (std::filesystem::exists(task_paths(ctx_.options.state_dir, id).dir)) {
    t->has_dir = true;
  }
  spdlog::info("task {}: {}{}", id, to_string(result.status),
               result.exit_code >= 0 ? " (exit code " + std::to_string(result.exit_code) + ")"
                                     : std::string());
  if (!t->started && result.status == TaskStatus::kStartFailed &&
      result.error_info.find(kStoreFailed) != std::string::npos && !store_failing_) {
    // Said once, not once per task: every new task gets the same START_FAILED meanwhile.
    store_failing_ = true;
    spdlog::warn(
        "the state directory is full or read-only ({}); new tasks get START_FAILED until it "
        "works again",
        result.error_info);
  }
  t->journal.final_log_index = t->next_index - 1;
  t->journal.result = result;
  t->journal.power_action = power_action_after(result, ran_in_container(*t));
  std::string note;
  if (t->journal.power_action != PowerAction::kNone &&
      !ctx_.options.policy.allow_exit_code_power_actions) {
    note = "power action " + std::string(to_string(t->journal.power_action)) +
           " skipped: allow_exit_code_power_actions";
    spdlog::warn("task {}: exit code {} asks for {}; not done: the local policy forbids it", id,
                 result.exit_code, to_string(t->journal.power_action));
    t->journal.power_action = PowerAction::kNone;
  }
  if (hooks_.plan_upload) {
    t->journal.upload = hooks_.plan_upload(*t, result);
  }
  journal_write(*t, platform::Durability::kSynced);
  // After the journal: a restart re-reads the result from it and does not come here again.
  audit_finish(*t, result, note);
  ctx_.status_changed();
  // Earlier tasks' containers that their background processes have left since.
  remove_empty_containers();
  if (t->journal.upload) {
    hooks_.start_upload(id);
    return;
  }
  reports_.push(id, Report::task_finish(result, t->next_index - 1, ctx_.now_text()));
}

void HeldTasks::upload_ended(const std::string& id, std::string output_url, std::string error) {
  HeldTask* t = find(id);
  if (t == nullptr || !t->journal.result || !t->journal.upload) {
    return;
  }
  t->journal.upload.reset();
  t->journal.result->output_url = std::move(output_url);
  t->journal.result->output_upload_error = std::move(error);
  journal_write(*t, platform::Durability::kSynced);
  reports_.push(
      id, Report::task_finish(*t->journal.result, t->journal.final_log_index, ctx_.now_text()));
}

void HeldTasks::cancel(HeldTask& task) {
  task.cancel_sent = true;
  if (task.reattached) {
    if (!platform::cancel_process(task.journal.supervisor, platform::CancelLevel::kGraceful)) {
      spdlog::debug("task {}: supervisor {} already gone", task.id, task.journal.supervisor.pid);
    }
    return;
  }
  if (runner_) {
    runner_->cancel(task.id);
  }
}

void HeldTasks::report_answered(const std::string& id, const Report& report, const CallResult& r) {
  HeldTask* t = find(id);
  if (t == nullptr) {
    return;
  }
  if (report.action == "UploadTaskLog" && report.piece) {
    t->journal.log_offset = report.piece->offset + report.piece->length;
    t->journal.next_log_index = report.piece->index + 1;
    t->journal.pending_piece.reset();
    // Acknowledgements are not synced: losing one only sends an idempotent report again.
    journal_write(*t, platform::Durability::kAtomicOnly);
  }
  if (report.action == "ReportTaskStart") {
    t->journal.start_acked = true;
    journal_write(*t, platform::Durability::kAtomicOnly);
    const std::string status = task_status_of(r);
    if (r.ok() && ended_by_server(status) && !t->finished() && !t->cancel_sent) {
      // The server ended the task (or a cancel is under way) before the start arrived.
      spdlog::info("task {}: the server says {}; stopping it", id, status);
      cancel(*t);
    }
  }
  if (report.action == "ReportTaskFinish") {
    if (r.ok()) {
      spdlog::debug("task {}: finish acknowledged ({})", id, task_status_of(r));
    }
    take_power_action(*t);
    forget(id);
  }
}

void HeldTasks::journal_write(HeldTask& task, platform::Durability durability) {
  if (!task.journaled) {
    return;
  }
  auto s = write_journal(task_paths(ctx_.options.state_dir, task.id).dir, task.journal, durability);
  if (!s && !journal_failing_) {
    journal_failing_ = true;
    spdlog::warn("journal: {} (reports stay in memory until writes work again)", s.error().message);
  } else if (s && journal_failing_) {
    journal_failing_ = false;
    spdlog::info("journal: writes work again");
  }
}

void HeldTasks::set_runner_limits(std::size_t max_concurrent,
                                  std::chrono::milliseconds kill_grace) {
  if (runner_) {
    runner_->set_limits(max_concurrent, kill_grace);
  }
}

void HeldTasks::detach_runner() {
  runner_.reset();
}

bool HeldTasks::ran_in_container(const HeldTask& task) const {
  if (task.in_container) {
    return *task.in_container;
  }
  // Started by an earlier agent: its task.json says. Unreadable: no power action, the safe side.
  const auto task_file = read_task_file(task_paths(ctx_.options.state_dir, task.id));
  return !task_file || task_file->in_container();
}

void HeldTasks::take_power_action(HeldTask& task) {
  if (task.journal.power_action == PowerAction::kNone || task.journal.power_action_done) {
    return;
  }
  task.journal.power_action_done = true;
  journal_write(task, platform::Durability::kSynced);
  if (!ctx_.options.policy.allow_exit_code_power_actions) {
    // Asked for before a reload that forbids it, or by a record an earlier agent left.
    spdlog::warn("task {}: {} not done: the local policy forbids exit-code power actions", task.id,
                 to_string(task.journal.power_action));
    return;
  }
  spdlog::warn("task {}: exit code {} asks for {}; its finish is reported, running it now", task.id,
               task.journal.result ? task.journal.result->exit_code : -1,
               to_string(task.journal.power_action));
  if (hooks_.power_action) {
    hooks_.power_action(task.id, task.journal.power_action);
  }
}

void HeldTasks::audit_finish(const HeldTask& task, const TaskResult& result,
                             const std::string& note) {
  AuditRecord line = task.audit;
  if (line.task_id.empty()) {
    // Taken by an earlier agent: its task.json has the facts.
    if (auto t = read_task_file(task_paths(ctx_.options.state_dir, task.id))) {
      line = audit_facts(*t, payload_sha256(*t));
    }
  }
  line.event = "finished";
  line.task_id = task.id;
  line.result = std::string(to_string(result.status));
  if (result.exit_code >= 0) {
    line.exit_code = result.exit_code;
  }
  line.note = note;
  ctx_.audit(std::move(line));
}

std::size_t HeldTasks::requeue_stranded_finishes() {
  std::size_t n = 0;
  for (auto& [id, t] : tasks_) {
    if (!t.finished() || t.uploading() || reports_.holds(id, "ReportTaskFinish")) {
      continue;
    }
    spdlog::warn("task {}: its result was held with no report on its way; sending it", id);
    reports_.push(
        id, Report::task_finish(*t.journal.result, t.journal.final_log_index, ctx_.now_text()));
    ++n;
  }
  return n;
}

// The journal entry goes once the server has the result.
void HeldTasks::forget(const std::string& id) {
  auto it = tasks_.find(id);
  if (it == tasks_.end()) {
    return;
  }
  if (it->second.has_dir) {
    if (auto s = platform::remove_tree(task_paths(ctx_.options.state_dir, id).dir); !s) {
      spdlog::warn("task {}: removing its directory: {}", id, s.error().message);
    }
  }
  hooks_.forgotten(id);
  reports_.forget(id);
  tasks_.erase(it);
}

}  // namespace ferry::agent
