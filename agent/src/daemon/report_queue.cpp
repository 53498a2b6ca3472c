#include "report_queue.hpp"

#include <spdlog/spdlog.h>

#include "ferry/core/base64.hpp"

namespace ferry::agent {
namespace {

using std::chrono::milliseconds;

// Codes after which resending the same report cannot succeed.
bool is_permanent(const std::string& code) {
  return code.starts_with("InvalidParameter") || code == "MissingParameter" ||
         code == "UnknownParameter" || code == "InvalidAction" ||
         code == "ResourceNotFound.InvocationTaskNotFound" ||
         code == "AuthFailure.UnauthorizedOperation" || code == "UnsupportedProtocol" ||
         code == "UnsupportedProtocolVersion";
}

}  // namespace

Report Report::task_start(const std::string& task_id, const std::string& time) {
  return Report{"ReportTaskStart", {{"InvocationTaskId", task_id}, {"TimeStamp", time}}, {}};
}

Report Report::log_piece(const std::string& task_id, const LogPiece& piece,
                         std::string_view bytes) {
  return Report{"UploadTaskLog",
                {{"InvocationTaskId", task_id},
                 {"Index", piece.index},
                 {"Output", base64_encode(bytes)},
                 {"Dropped", 0}},
                piece};
}

Report Report::task_finish(const TaskResult& result, std::int64_t final_log_index,
                           const std::string& time) {
  nlohmann::json fields = to_json(result);
  fields["FinalLogIndex"] = final_log_index;
  fields["TimeStamp"] = time;
  return Report{"ReportTaskFinish", std::move(fields), {}};
}

ReportQueue::ReportQueue(DaemonContext& context, Answered answered, std::function<void()> settled)
    : ctx_(context), answered_(std::move(answered)), settled_(std::move(settled)) {}

void ReportQueue::push(const std::string& task_id, Report report) {
  tasks_[task_id].reports.push_back(std::move(report));
  send_next(task_id);
}

bool ReportQueue::holds(const std::string& task_id, std::string_view action) const {
  const auto it = tasks_.find(task_id);
  if (it == tasks_.end()) {
    return false;
  }
  for (const auto& r : it->second.reports) {
    if (r.action == action) {
      return true;
    }
  }
  return false;
}

bool ReportQueue::idle() const {
  for (const auto& [id, t] : tasks_) {
    if (!t.reports.empty() || t.in_flight) {
      return false;
    }
  }
  return true;
}

std::size_t ReportQueue::unsent() const {
  std::size_t n = 0;
  for (const auto& [id, t] : tasks_) {
    n += t.reports.size() + (t.in_flight ? 1 : 0);
  }
  return n;
}

void ReportQueue::forget(const std::string& task_id) {
  tasks_.erase(task_id);
}

void ReportQueue::stop() {
  for (auto& [id, t] : tasks_) {
    if (t.retry) {
      t.retry->cancel();
    }
    if (t.deadline) {
      t.deadline->cancel();
    }
  }
}

void ReportQueue::send_next(const std::string& task_id) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || ctx_.stopped()) {
    return;
  }
  TaskReports& t = it->second;
  if (t.in_flight || t.reports.empty() || (t.retry && t.retry->armed())) {
    return;
  }
  t.in_flight = true;
  const std::uint64_t call = ++t.sent;
  if (!t.deadline) {
    t.deadline = ctx_.clock.make_timer();
  }
  t.deadline->start(ctx_.options.report_answer_deadline, [this, task_id, call] {
    auto found = tasks_.find(task_id);
    if (found == tasks_.end() || !found->second.in_flight || found->second.sent != call) {
      return;
    }
    const std::string action = found->second.reports.front().action;
    spdlog::warn("task {}: {} got no answer in {} s; taken as failed", task_id, action,
                 ctx_.options.report_answer_deadline.count() / 1000);
    CallResult lost;
    lost.transport_error = "no answer within the report deadline";
    answered(task_id, call, lost);
  });
  const Report& r = t.reports.front();
  ctx_.server.call(r.action, r.fields, ctx_.guard([this, task_id, call](CallResult result) {
    answered(task_id, call, result);
  }));
}

void ReportQueue::answered(const std::string& task_id, std::uint64_t call, const CallResult& r) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) {
    return;
  }
  TaskReports& t = it->second;
  if (!t.in_flight || call != t.sent) {
    // The answer to a call already taken as lost (its report was sent again): said, since a
    // call that outlives its deadline is a bug to find (the HTTP client's own timeouts are
    // shorter).
    spdlog::info("task {}: a late answer to an earlier send ({}) dropped", task_id,
                 r.ok() ? "success" : r.describe());
    return;
  }
  t.in_flight = false;
  t.deadline->cancel();
  if (ctx_.stopped()) {
    return;
  }
  const std::string action = t.reports.front().action;
  if (ctx_.check_fatal(r)) {
    return;
  }
  if (!r.ok() && !is_permanent(r.error_code())) {
    const bool clock_fixed = ctx_.fix_clock(r);
    const milliseconds delay =
        clock_fixed ? milliseconds(0)
                    : ctx_.backoff(t.attempts, ctx_.options.retry_min, ctx_.options.retry_max);
    ++t.attempts;
    // Every failure is worth a line: a report that does not get through holds its task's
    // journal record, and the backoff (at most retry_max_ms) bounds how often this is logged.
    spdlog::info("task {}: {} failed ({}); retry in {} ms (attempt {})", task_id, action,
                 r.describe(), delay.count(), t.attempts + 1);
    if (!t.retry) {
      t.retry = ctx_.clock.make_timer();
    }
    t.retry->start(delay, [this, task_id] { send_next(task_id); });
    return;
  }
  if (!r.ok()) {
    spdlog::warn("task {}: {} refused ({}); not sent again", task_id, action, r.describe());
  }
  t.attempts = 0;
  const Report report = std::move(t.reports.front());
  t.reports.pop_front();
  answered_(task_id, report, r);
  // The answer may have ended the task (its finish), and its queue with it.
  if (tasks_.contains(task_id)) {
    send_next(task_id);
  }
  settled_();
}

}  // namespace ferry::agent
