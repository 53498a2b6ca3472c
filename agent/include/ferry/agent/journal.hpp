// The agent's journal: one record per task, tasks/<id>/journal.json, that says what the agent
// knows of the task and what it still owes the server. Every change replaces the file
// atomically (temp file, rename; synced where a machine crash must not lose it). Pending
// reports are derived from the record, so they survive an agent restart and go out in order:
//   ReportTaskStart      while start_acked is false
//   UploadTaskLog        the piece in pending_piece (re-read from the spool), then new pieces
//                        from log_offset with index next_log_index
//   (the upload)         while `upload` is set: the complete output goes to the task's bucket or
//                        to the server's output store first, resumed from where it stopped
//   ReportTaskFinish     once result is set and no upload is left; the task directory goes when
//                        it is acknowledged
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/core/task.hpp"
#include "ferry/platform/fs.hpp"
#include "ferry/platform/process_identity.hpp"

namespace ferry::agent {

inline constexpr int kJournalVersion = 1;

struct LogPiece {
  std::int64_t index = 0;
  std::uint64_t offset = 0;  // in the spool file
  std::uint64_t length = 0;

  friend bool operator==(const LogPiece&, const LogPiece&) = default;
};

// One part of a multipart upload that the store took.
struct UploadedPart {
  int number = 0;
  std::string etag;

  friend bool operator==(const UploadedPart&, const UploadedPart&) = default;
};

// The upload of a finished task's complete output (the spool), while its finish report waits.
enum class UploadTarget {
  kBucket,  // the task's OutputCOSBucketUrl, on URLs the server presigns (PresignOutputUpload)
  kServer,  // the server's own output store (UploadTaskOutput)
};

struct OutputUpload {
  UploadTarget target = UploadTarget::kBucket;
  std::uint64_t size = 0;  // bytes of the spool to send: the task's OutputSize
  std::string deadline;    // RFC 3339: the upload is given up at this time
  // Bucket: 0 for one PutObject, else the size of each part (the last one may be smaller).
  std::uint64_t part_size = 0;
  std::string upload_id;            // once CreateMultipartUpload answered
  std::vector<UploadedPart> parts;  // the parts the store took, numbered 1, 2, ...
  bool completing = false;          // CompleteMultipartUpload was sent (perhaps taken)
  std::uint64_t stored = 0;         // server: the bytes it holds

  friend bool operator==(const OutputUpload&, const OutputUpload&) = default;
};

// What a task's exit code asks of the machine once its finish is reported: Cloud Assistant's
// convention for a task that ran on the host and exited by itself with 193 (power off) or 194
// (reboot). Windows' 3009 / 3010 are not built here.
enum class PowerAction { kNone, kPowerOff, kReboot };
inline constexpr std::int64_t kPowerOffExitCode = 193;
inline constexpr std::int64_t kRebootExitCode = 194;
// kNone for a task in a container, for any status but FAILED (a timeout, a cancel, a signal and a
// start failure ask nothing) and for any other exit code.
PowerAction power_action_after(const TaskResult& result, bool in_container);
std::string_view to_string(PowerAction action);  // "", "PowerOff", "Reboot"

struct JournalRecord {
  std::string task_id;
  // The supervisor, named as process_identity.hpp says: pid, start time, boot.
  std::string boot_id;
  platform::ProcessIdentity supervisor;
  std::string start_time;  // RFC 3339: the TimeStamp of ReportTaskStart
  bool start_acked = false;
  std::int64_t next_log_index = 0;
  std::uint64_t log_offset = 0;  // spool bytes covered by acknowledged pieces
  std::optional<LogPiece> pending_piece;
  std::optional<TaskResult> result;  // set once the task is final
  std::int64_t final_log_index = -1;
  std::optional<OutputUpload> upload;  // the output still to upload before the finish goes
  // Set with the result; done is set (synced) right before the command runs, so that it never
  // runs twice for one task, whatever restarts.
  PowerAction power_action = PowerAction::kNone;
  bool power_action_done = false;

  friend bool operator==(const JournalRecord&, const JournalRecord&) = default;
};

nlohmann::json to_json(const JournalRecord& record);
// Checks every field's type; an error describes the first bad one.
Expected<JournalRecord> parse_journal_record(const nlohmann::json& j);

std::filesystem::path journal_file(const std::filesystem::path& task_dir);

// Replaces tasks/<id>/journal.json (0600).
Status write_journal(const std::filesystem::path& task_dir, const JournalRecord& record,
                     platform::Durability durability);
// The record, or an error: kind tells a missing file from a corrupt one.
struct JournalReadError {
  bool missing = false;
  Error error;
};
std::optional<JournalRecord> read_journal(const std::filesystem::path& task_dir,
                                          JournalReadError* why = nullptr);

// What a start-up scan of <state>/tasks/ found.
struct JournalScan {
  std::vector<JournalRecord> records;
  // Task directories without a usable journal.json: an agent stopped between starting the
  // supervisor and journaling it (or while refusing the task), or the record was unreadable.
  // Recovered from state.json and the supervisor's process.
  std::vector<std::string> unjournaled;
  // Task ids whose record could not be read, and why; the record was moved to
  // <state>/quarantine/<id>.journal.json (the task is also in `unjournaled`).
  std::vector<std::pair<std::string, std::string>> quarantined;
};

// Reads every task directory; moves unreadable records to <state>/quarantine/ (keeping at
// most `quarantine_keep` there, the oldest removed first). Never throws.
JournalScan scan_journal(const std::filesystem::path& state_dir, std::size_t quarantine_keep = 64);

// The retention cap (issue 6): the journal must not fill the disk during a long outage.
//   1. Accepted tasks are never dropped: their journal records (the result with its 24 KiB
//      head+tail excerpt) stay until the server has them.
//   2. Over the byte cap, the spool files (output.log) of tasks that are finished and only wait
//      for the server go first, oldest first, until the journal is under the cap; what is lost
//      is the full output on this machine and live output pieces not yet delivered.
//   3. Still over the byte cap, or at the task cap: new tasks are refused START_FAILED, without
//      running, until reports drain.
struct RetentionEntry {
  std::string task_id;
  bool finished = false;            // the result is journaled; only reports remain
  std::uint64_t spool_bytes = 0;    // output.log
  std::int64_t finished_order = 0;  // smaller: finished earlier
};
struct RetentionDecision {
  std::vector<std::string> drop_spools;  // in the order they go
  std::uint64_t bytes_after = 0;
  bool refuse_new = false;
};
RetentionDecision apply_retention(std::vector<RetentionEntry> entries, std::uint64_t total_bytes,
                                  std::size_t max_tasks, std::uint64_t max_bytes);

// The bytes of every file under <state>/tasks/.
std::uint64_t journal_bytes(const std::filesystem::path& state_dir);

// Whether a record of `task_id` was quarantined (such a task is never started again either).
bool is_quarantined(const std::filesystem::path& state_dir, const std::string& task_id);

}  // namespace ferry::agent
