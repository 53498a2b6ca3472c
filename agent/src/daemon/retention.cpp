#include "retention.hpp"

#include <spdlog/spdlog.h>

#include <system_error>
#include <vector>

#include "ferry/agent/agent_paths.hpp"

namespace ferry::agent {

Retention::Retention(DaemonContext& context, HeldTasks& tasks) : ctx_(context), tasks_(tasks) {}

std::string Retention::check() {
  const DaemonOptions& o = ctx_.options;
  const auto now = ctx_.clock.now();
  if (now - measured_at_ > std::chrono::seconds(1)) {
    journal_size_ = journal_bytes(o.state_dir);
    measured_at_ = now;
  }
  if (tasks_.size() < o.journal_max_tasks && journal_size_ <= o.journal_max_bytes) {
    if (refusing_) {
      refusing_ = false;
      spdlog::info("journal: under its cap again; tasks start");
    }
    return {};
  }
  std::vector<RetentionEntry> entries;
  for (const auto& [id, t] : tasks_.all()) {
    std::error_code ec;
    const auto size =
        t.has_dir ? std::filesystem::file_size(task_paths(o.state_dir, id).output_file, ec) : 0;
    // A spool whose upload is still to come stays: it is the only copy of the full output.
    entries.push_back({id, t.finished() && !t.uploading(), ec ? 0 : size, t.finished_order});
  }
  const auto decision =
      apply_retention(std::move(entries), journal_size_, o.journal_max_tasks, o.journal_max_bytes);
  for (const auto& id : decision.drop_spools) {
    std::error_code ec;
    std::filesystem::remove(task_paths(o.state_dir, id).output_file, ec);
    HeldTask* t = tasks_.find(id);
    if (t != nullptr && t->journal.pending_piece) {
      t->journal.pending_piece.reset();
      tasks_.journal_write(*t, platform::Durability::kAtomicOnly);
    }
  }
  if (!decision.drop_spools.empty()) {
    spdlog::warn(
        "journal over its byte cap ({} bytes): removed the output spool of {} finished task(s) "
        "whose reports wait for the server (their results and output excerpts stay)",
        o.journal_max_bytes, decision.drop_spools.size());
  }
  journal_size_ = decision.bytes_after;
  if (!decision.refuse_new) {
    return {};
  }
  const std::string why = "the agent's journal is at its cap (" + std::to_string(tasks_.size()) +
                          " task(s), " + std::to_string(journal_size_) +
                          " bytes; journal_max_tasks " + std::to_string(o.journal_max_tasks) +
                          ", journal_max_bytes " + std::to_string(o.journal_max_bytes) +
                          ") while results wait for the server; the task was not run";
  if (!refusing_) {
    refusing_ = true;
    spdlog::warn("{}; new tasks get START_FAILED until reports drain", why);
  }
  return why;
}

}  // namespace ferry::agent
