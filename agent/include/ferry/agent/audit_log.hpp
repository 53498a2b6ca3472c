// The agent's local audit trail (issue 18): <state>/audit.log, one JSON object per line for every
// task the agent accepts, refuses or finishes, so that the machine itself keeps what was run on
// it, whatever the server keeps. Never the script or its output: who, what kind, the digest of
// the script as run, and how it ended. Append-only (0600), rotated by size to audit.log.1 ..
// audit.log.N (docs/operations.md, "The audit log"). OS-neutral: files through platform/fs.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/core/task.hpp"
#include "ferry/platform/fs.hpp"

namespace ferry::agent {

// What one line says. Empty strings and an unset exit code are left out of the line.
struct AuditRecord {
  std::string time;  // RFC 3339, when it was written
  // "accepted": the task passed the local policy and goes to the runner; "finished": the final
  // result of an accepted task; "refused": a final result without running (the local policy, an
  // unreadable task, a full journal, a cancel before it arrived).
  std::string event;
  std::string task_id;
  std::string invocation_id;
  std::string user;          // as requested; "" for root
  std::string command_type;  // SHELL, POWERSHELL, BAT; "FILE" for a file sent
  std::string sha256;        // of the script as run (a file's content); "" when not known
  std::string result;        // the TaskStatus, for "finished" and "refused"
  std::optional<std::int64_t> exit_code;
  std::string rule;  // the local policy rule that refused it
  std::string note;  // e.g. "power action Reboot skipped: allow_exit_code_power_actions"

  friend bool operator==(const AuditRecord&, const AuditRecord&) = default;
};

nlohmann::json to_json(const AuditRecord& record);
// Errors name the first field of the wrong type; unknown fields are ignored.
Expected<AuditRecord> parse_audit_record(const nlohmann::json& j);

// The facts of a task an audit line carries: ids, user, type and the digest of what it runs
// (nullopt when the script cannot be prepared; the task then fails to start anyway).
AuditRecord audit_facts(const Task& task, const std::optional<std::string>& payload_sha256);
// The digest of what the task runs: the script after parameter substitution, or a File task's
// content; nullopt when it cannot be made.
std::optional<std::string> payload_sha256(const Task& task);

inline constexpr std::uint64_t kDefaultAuditMaxBytes = 10ULL << 20;
inline constexpr std::size_t kDefaultAuditKeepFiles = 5;

// <state>/audit.log
std::filesystem::path audit_log_file(const std::filesystem::path& state_dir);

// The writer. Opens the file on the first line (O_APPEND, 0600); before a line would take it past
// max_bytes, it is renamed audit.log.1 (audit.log.1 to .2, and so on; the one past `keep` is
// removed) and a new one begun. A line is written whole with one write.
class AuditLog {
 public:
  AuditLog(std::filesystem::path file, std::uint64_t max_bytes, std::size_t keep);

  // Errors: the file cannot be opened, rotated or written (the caller logs them; a task never
  // waits or fails for its audit line).
  Status append(const AuditRecord& record);
  // New limits from a reload, used from the next line.
  void set_limits(std::uint64_t max_bytes, std::size_t keep);

 private:
  Status open();
  Status rotate();

  std::filesystem::path file_;
  std::uint64_t max_bytes_;
  std::size_t keep_;
  std::optional<platform::OpenFile> out_;
  std::uint64_t size_ = 0;
};

// Which lines `ferry-agent audit` prints; unset: any.
struct AuditFilter {
  std::optional<std::chrono::system_clock::time_point> since;  // time >= since
  std::optional<std::chrono::system_clock::time_point> until;  // time < until
  std::optional<std::string> result;                           // the TaskStatus, e.g. FAILED
  std::optional<std::string> event;                            // accepted, finished, refused
};

struct AuditReadout {
  std::vector<AuditRecord> records;  // oldest first
  std::size_t unreadable_lines = 0;  // torn or not JSON (a crash mid-write): skipped
};

// Every line of the rotated files (oldest first) and then of `file` that passes `filter`. A
// missing log is empty, not an error.
Expected<AuditReadout> read_audit_log(const std::filesystem::path& file, const AuditFilter& filter);

// One line for a terminal: "TIME EVENT RESULT TASK INVOCATION USER TYPE EXIT RULE SHA256".
std::string audit_text_line(const AuditRecord& record);

}  // namespace ferry::agent
