// The reports the daemon owes the server, per task: in order, one at a time, each retried with
// capped backoff until the server takes it or refuses it for good. A report whose answer does
// not come within DaemonOptions::report_answer_deadline counts as failed and is sent again:
// the control plane answers every call within its own timeouts, and a lost answer must not
// hold a result back.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "daemon_context.hpp"
#include "ferry/agent/journal.hpp"
#include "ferry/core/task.hpp"

namespace ferry::agent {

struct Report {
  std::string action;
  nlohmann::json fields;
  std::optional<LogPiece> piece;  // UploadTaskLog: what it covers of the spool

  static Report task_start(const std::string& task_id, const std::string& time);
  static Report log_piece(const std::string& task_id, const LogPiece& piece,
                          std::string_view bytes);
  static Report task_finish(const TaskResult& result, std::int64_t final_log_index,
                            const std::string& time);
};

class ReportQueue {
 public:
  // Hears of each report the server took or refused for good, before the task's next one goes.
  using Answered =
      std::function<void(const std::string& task_id, const Report& report, const CallResult&)>;

  // `settled` runs after every answered report (the shutdown waits for the queue to empty).
  ReportQueue(DaemonContext& context, Answered answered, std::function<void()> settled);

  void push(const std::string& task_id, Report report);
  // Whether a report with `action` is queued or in flight for the task.
  [[nodiscard]] bool holds(const std::string& task_id, std::string_view action) const;
  // Nothing queued, nothing in flight.
  [[nodiscard]] bool idle() const;
  [[nodiscard]] std::size_t unsent() const;
  // Drops what the task still had queued.
  void forget(const std::string& task_id);
  // Cancels every retry; nothing is sent from now on.
  void stop();

 private:
  struct TaskReports {
    std::deque<Report> reports;
    bool in_flight = false;
    int attempts = 0;  // failures of the front report
    std::unique_ptr<Timer> retry;
    std::unique_ptr<Timer> deadline;  // armed while a report is in flight
    std::uint64_t sent = 0;           // the call in flight; an answer to an older one is dropped
  };

  void send_next(const std::string& task_id);
  void answered(const std::string& task_id, std::uint64_t call, const CallResult& result);

  DaemonContext& ctx_;
  Answered answered_;
  std::function<void()> settled_;
  std::map<std::string, TaskReports> tasks_;
};

}  // namespace ferry::agent
