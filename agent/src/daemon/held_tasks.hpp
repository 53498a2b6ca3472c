// The tasks the agent holds, from DescribeTasks until the server has acknowledged their finish,
// and the runner that runs them: what happens to a task when it starts, ends, is cancelled or
// refused, and what it then owes the server (through the report queue) and the journal.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "daemon_context.hpp"
#include "ferry/agent/journal.hpp"
#include "ferry/agent/runner.hpp"
#include "report_queue.hpp"

namespace ferry::agent {

struct HeldTask {
  std::string id;
  bool has_dir = false;      // tasks/<id>/ belongs to this task (removed once it is done)
  bool started = false;      // its supervisor ran
  bool cancel_sent = false;  // a cancel went to its supervisor
  bool reattached = false;   // run by a supervisor an earlier agent started: watched by polling
  bool journaled = false;    // tasks/<id>/journal.json is this task's record
  // Whether it runs in a container; nullopt for a task an earlier agent started (task.json says).
  std::optional<bool> in_container;
  // Live output: read from the spool up to spool_offset; the next piece gets next_index.
  std::uint64_t spool_offset = 0;
  std::int64_t next_index = 0;
  JournalRecord journal;  // its result is set once the task is final
  // Its audit line's facts (audit_facts), from admission; empty for a task an earlier agent
  // took (then read again from its task.json when it finishes).
  AuditRecord audit;
  std::int64_t finished_order = 0;  // retention: spools of tasks finished first go first

  [[nodiscard]] bool finished() const { return journal.result.has_value(); }
  // Finished, with its output still to upload: its spool must stay.
  [[nodiscard]] bool uploading() const { return journal.upload.has_value(); }
};

// How a refusal is settled and audited (HeldTasks::refuse).
struct TaskRefusal {
  AuditRecord audit;  // what is known of the task (audit_facts); the id at least
  std::string rule;   // the local policy rule, if that refused it
  // Journaled before it is reported (in its own task directory), so that an agent restarted
  // before the report sends the same result and does not judge the task again.
  bool durable = false;
};

class HeldTasks {
 public:
  struct Hooks {
    std::function<void()> output_started;                  // a task runs: its output flows
    std::function<void(const std::string& id)> forgotten;  // a task left the books
    // The upload a finished task owes before its finish goes (OutputUploads), and its start.
    std::function<std::optional<OutputUpload>(const HeldTask&, const TaskResult&)> plan_upload;
    std::function<void(const std::string& id)> start_upload;
    // The power action a task's exit code asked for, once its finish is reported.
    std::function<void(const std::string& id, PowerAction action)> power_action;
  };

  HeldTasks(DaemonContext& context, ReportQueue& reports, std::unique_ptr<Runner> runner,
            Hooks hooks);

  [[nodiscard]] HeldTask* find(const std::string& id);
  [[nodiscard]] bool contains(const std::string& id) const { return tasks_.contains(id); }
  [[nodiscard]] std::size_t size() const { return tasks_.size(); }
  [[nodiscard]] std::map<std::string, HeldTask>& all() { return tasks_; }
  // Started and not finished.
  [[nodiscard]] std::size_t in_progress() const;
  // The task's entry, made if new.
  HeldTask& add(const std::string& id);

  // Runs a task the server sent; `audit` (audit_facts) goes to its audit lines.
  void submit(Task task, AuditRecord audit = {});
  // Settles a task without running it: only its finish is reported.
  void refuse(const std::string& id, TaskResult result, TaskRefusal how = {});
  void started(const std::string& id, platform::ProcessIdentity supervisor);
  // The task's final result: journaled (synced), then its output uploaded if it owes one, then
  // reported.
  void finished(const std::string& id, TaskResult result);
  // The upload is over: the result gets the object's URL or why the upload failed (both empty
  // for the server's own store), and the finish goes.
  void upload_ended(const std::string& id, std::string output_url, std::string error);
  // Cancels a running task: through the runner, or straight to a re-attached supervisor once
  // it is checked to be the same process (it terminates the tree and reports TERMINATED).
  void cancel(HeldTask& task);
  // What a report's answer changes: the journal's acknowledgements, a cancel the server asks
  // for in its answer to the start, the end of the task with its finish.
  void report_answered(const std::string& id, const Report& report, const CallResult& r);

  void journal_write(HeldTask& task, platform::Durability durability);
  // Removes the per-task containers (cgroups) that are empty now, but those of tasks held and not
  // finished (one starting has an empty container for a moment). A task's background processes
  // keep its container until they end; this runs at start-up and as tasks finish.
  void remove_empty_containers();
  // A finished task's result is always on its way: its finish queued or in flight, or its
  // output uploading first. One that is neither (a bug, which this logs) gets its finish
  // queued again. The daemon runs it every report_check_interval. Returns how many.
  std::size_t requeue_stranded_finishes();
  // Running tasks stay with their supervisors; the runner no longer reports on them.
  void detach_runner();
  // Reloaded limits for the runner (Runner::set_limits); none once it is detached.
  void set_runner_limits(std::size_t max_concurrent, std::chrono::milliseconds kill_grace);

 private:
  void forget(const std::string& id);
  [[nodiscard]] bool ran_in_container(const HeldTask& task) const;
  // Runs the task's power action if it has one not done yet, after journaling it done.
  void take_power_action(HeldTask& task);
  // The "finished" audit line of a task that ran (or was meant to).
  void audit_finish(const HeldTask& task, const TaskResult& result, const std::string& note);

  DaemonContext& ctx_;
  ReportQueue& reports_;
  std::unique_ptr<Runner> runner_;
  Hooks hooks_;
  std::map<std::string, HeldTask> tasks_;
  std::int64_t finish_counter_ = 0;
  bool journal_failing_ = false;  // logged once until a write works again
  bool store_failing_ = false;    // new tasks cannot be stored: logged once
};

}  // namespace ferry::agent
