#include "live_output.hpp"

#include <algorithm>

#include "ferry/agent/task_files.hpp"

namespace ferry::agent {
namespace {

// The server keeps 24 KiB of live output per task (docs/protocol.md, UploadTaskLog); what
// goes past it would be dropped there, so it is not sent. The final report has head and tail.
constexpr std::uint64_t kLiveOutputCap = 24 * 1024;
constexpr std::size_t kMaxPiece = 24 * 1024;

}  // namespace

LiveOutput::LiveOutput(DaemonContext& context, HeldTasks& tasks, ReportQueue& reports)
    : ctx_(context), tasks_(tasks), reports_(reports), timer_(context.clock.make_timer()) {}

void LiveOutput::arm() {
  if (timer_->armed() || ctx_.stopped()) {
    return;
  }
  timer_->start(ctx_.options.live_output_interval, [this] {
    if (!ctx_.stopped() && collect()) {
      arm();
    }
  });
}

bool LiveOutput::collect() {
  bool more = false;
  for (auto& [id, t] : tasks_.all()) {
    if (!t.started || t.finished() || t.spool_offset >= kLiveOutputCap) {
      continue;
    }
    more = true;
    if (reports_.holds(id, "UploadTaskLog")) {
      continue;  // one piece at a time per task
    }
    const std::size_t want = static_cast<std::size_t>(
        std::min<std::uint64_t>(kMaxPiece, kLiveOutputCap - t.spool_offset));
    auto piece = read_spool(task_paths(ctx_.options.state_dir, id), t.spool_offset, want);
    if (!piece || piece->empty()) {
      continue;
    }
    const LogPiece p{t.next_index, t.spool_offset, piece->size()};
    t.spool_offset += piece->size();
    ++t.next_index;
    // Not synced: a process crash keeps it (page cache); after a machine crash the piece is
    // read again from the acknowledged offset under the same index.
    t.journal.pending_piece = p;
    tasks_.journal_write(t, platform::Durability::kAtomicOnly);
    reports_.push(id, Report::log_piece(id, p, *piece));
  }
  return more;
}

void LiveOutput::stop() {
  timer_->cancel();
}

}  // namespace ferry::agent
