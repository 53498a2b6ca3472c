#include "recovery.hpp"

#include <spdlog/spdlog.h>

#include "ferry/agent/task_files.hpp"

namespace ferry::agent {
namespace {

constexpr const char* kRebootReason =
    "the instance restarted while the task ran (boot id changed): the task was interrupted "
    "and is not run again; the output is what it wrote before the restart";

}  // namespace

Recovery::Recovery(DaemonContext& context, HeldTasks& tasks, ReportQueue& reports,
                   ReattachedSupervisors& reattached, LiveOutput& live, OutputUploads& uploads)
    : ctx_(context),
      tasks_(tasks),
      reports_(reports),
      reattached_(reattached),
      live_(live),
      uploads_(uploads) {}

void Recovery::run() {
  auto scan = scan_journal(ctx_.options.state_dir);
  for (const auto& [id, why] : scan.quarantined) {
    spdlog::warn(
        "task {}: journal record unreadable ({}); moved to quarantine/, the task is recovered "
        "from its state.json and supervisor",
        id, why);
  }
  for (auto& record : scan.records) {
    recover_record(std::move(record));
  }
  for (const auto& id : scan.unjournaled) {
    recover_unjournaled(id);
  }
  if (tasks_.size() > 0) {
    std::size_t attached = 0;
    for (const auto& [id, t] : tasks_.all()) {
      attached += t.reattached ? 1 : 0;
    }
    spdlog::info("journal: {} task(s) from an earlier run, {} still running (re-attached)",
                 tasks_.size(), attached);
  }
}

void Recovery::recover_record(JournalRecord record) {
  const std::string id = record.task_id;
  const TaskPaths paths = task_paths(ctx_.options.state_dir, id);
  HeldTask& t = tasks_.add(id);
  t.has_dir = true;
  t.journaled = true;
  t.started = true;
  t.journal = std::move(record);
  t.next_index = t.journal.next_log_index;
  t.spool_offset = t.journal.log_offset;
  if (!t.journal.start_acked) {
    reports_.push(id, Report::task_start(id, t.journal.start_time));
  }
  if (t.journal.pending_piece) {
    const LogPiece p = *t.journal.pending_piece;
    auto data = read_spool(paths, p.offset, p.length);
    if (data && data->size() == p.length) {
      t.spool_offset = p.offset + p.length;
      t.next_index = p.index + 1;
      reports_.push(id, Report::log_piece(id, p, *data));
    } else {
      // The spool lost it: the final report's excerpt still has the output.
      t.journal.pending_piece.reset();
    }
  }
  if (t.journal.result && t.journal.upload) {
    uploads_.start(id);
    return;
  }
  if (t.journal.result) {
    reports_.push(
        id, Report::task_finish(*t.journal.result, t.journal.final_log_index, ctx_.now_text()));
    return;
  }
  // It was running when the last agent stopped.
  if (auto result = read_final_result(paths)) {
    spdlog::info("task {}: finished while no agent ran", id);
    tasks_.finished(id, std::move(*result));
    return;
  }
  if (t.journal.boot_id != ctx_.boot_id) {
    spdlog::warn("task {}: interrupted by a restart of the instance; reported FAILED", id);
    tasks_.finished(
        id, interrupted_result(id, paths, t.journal.start_time, kRebootReason, ctx_.now_text()));
    return;
  }
  if (platform::is_running(t.journal.supervisor)) {
    spdlog::info("task {}: re-attached to its supervisor (pid {})", id, t.journal.supervisor.pid);
    reattach(t);
    return;
  }
  reattached_.ended(t);
}

// A task directory without journal.json: the last agent stopped between starting the
// supervisor and journaling it, or while refusing the task.
void Recovery::recover_unjournaled(const std::string& id) {
  const TaskPaths paths = task_paths(ctx_.options.state_dir, id);
  HeldTask& t = tasks_.add(id);
  t.has_dir = true;
  t.journaled = true;
  t.journal.task_id = id;
  t.journal.boot_id = ctx_.boot_id;
  t.journal.start_time = ctx_.now_text();
  const auto state = read_supervisor_state(paths);
  if (state && state->result) {
    t.started = true;
    tasks_.finished(id, std::move(*state->result));
    return;
  }
  if (state && !state->boot_id.empty() && state->boot_id != ctx_.boot_id) {
    t.started = true;
    tasks_.finished(id, interrupted_result(id, paths, "", kRebootReason, ctx_.now_text()));
    return;
  }
  if (auto supervisor =
          platform::find_process_with_args({"supervise", "--task-dir", paths.dir.string()})) {
    t.started = true;
    t.journal.supervisor = *supervisor;
    tasks_.journal_write(t, platform::Durability::kSynced);
    spdlog::info("task {}: re-attached to its supervisor (pid {}, found by its arguments)", id,
                 supervisor->pid);
    reports_.push(id, Report::task_start(id, t.journal.start_time));
    reattach(t);
    return;
  }
  if (!std::filesystem::exists(paths.task_file)) {
    tasks_.finished(id, unrun_result(id, TaskStatus::kStartFailed,
                                     "the agent stopped while preparing the task; it did not run",
                                     t.journal.start_time));
    return;
  }
  t.started = true;
  reattached_.ended(t);
}

void Recovery::reattach(HeldTask& task) {
  task.reattached = true;
  reattached_.watch();
  live_.arm();
}

}  // namespace ferry::agent
