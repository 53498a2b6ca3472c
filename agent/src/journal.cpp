#include "ferry/agent/journal.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <system_error>

#include "ferry/core/error_codes.hpp"
#include "ferry/core/time.hpp"

namespace ferry::agent {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxJournalFile = 256 * 1024;

Error bad(const std::string& what) {
  return Error{codes::kInternalError, "journal record: " + what};
}

// Moves an unreadable journal record aside, to <state>/quarantine/<id>.journal.json; older
// quarantined records beyond `keep` are removed.
void quarantine(const fs::path& state_dir, const std::string& id, std::size_t keep) {
  const fs::path qdir = state_dir / "quarantine";
  if (auto s = platform::ensure_directory(qdir, platform::DirectoryAccess::kPrivate); !s) {
    spdlog::warn("quarantine: {}", s.error().message);
  }
  const fs::path record = journal_file(state_dir / "tasks" / id);
  std::error_code ec;
  fs::rename(record, qdir / (id + ".journal.json"), ec);
  if (ec) {
    // Cannot move it: remove it, or the agent would stumble on it at every start.
    fs::remove(record, ec);
  }
  std::vector<std::pair<fs::file_time_type, fs::path>> entries;
  for (const auto& e : fs::directory_iterator(qdir, ec)) {
    std::error_code ec2;
    entries.emplace_back(fs::last_write_time(e.path(), ec2), e.path());
  }
  if (entries.size() > keep) {
    std::sort(entries.begin(), entries.end());
    for (std::size_t i = 0; i + keep < entries.size(); ++i) {
      fs::remove(entries[i].second, ec);
    }
  }
}

nlohmann::json upload_to_json(const OutputUpload& u) {
  nlohmann::json parts = nlohmann::json::array();
  for (const auto& p : u.parts) {
    parts.push_back({{"PartNumber", p.number}, {"ETag", p.etag}});
  }
  return {{"Target", u.target == UploadTarget::kBucket ? "bucket" : "server"},
          {"Size", u.size},
          {"Deadline", u.deadline},
          {"PartSize", u.part_size},
          {"UploadId", u.upload_id},
          {"Parts", std::move(parts)},
          {"Completing", u.completing},
          {"Stored", u.stored}};
}

Expected<OutputUpload> parse_upload(const nlohmann::json& j) {
  const auto fail = [](const std::string& what) { return bad("Upload: " + what); };
  if (!j.is_object()) {
    return fail("not an object");
  }
  OutputUpload u;
  const auto target = j.value("Target", std::string());
  if (target != "bucket" && target != "server") {
    return fail("Target must be bucket or server");
  }
  u.target = target == "bucket" ? UploadTarget::kBucket : UploadTarget::kServer;
  for (const char* key : {"Size", "PartSize", "Stored"}) {
    if (!j.contains(key) || !j[key].is_number_unsigned()) {
      return fail(std::string(key) + " must be a non-negative integer");
    }
  }
  u.size = j["Size"].get<std::uint64_t>();
  u.part_size = j["PartSize"].get<std::uint64_t>();
  u.stored = j["Stored"].get<std::uint64_t>();
  for (const char* key : {"Deadline", "UploadId"}) {
    if (!j.contains(key) || !j[key].is_string()) {
      return fail(std::string(key) + " must be a string");
    }
  }
  u.deadline = j["Deadline"].get<std::string>();
  u.upload_id = j["UploadId"].get<std::string>();
  if (!j.contains("Completing") || !j["Completing"].is_boolean()) {
    return fail("Completing must be true or false");
  }
  u.completing = j["Completing"].get<bool>();
  if (!j.contains("Parts") || !j["Parts"].is_array()) {
    return fail("Parts must be an array");
  }
  for (const auto& p : j["Parts"]) {
    if (!p.is_object() || !p.contains("PartNumber") || !p["PartNumber"].is_number_integer() ||
        !p.contains("ETag") || !p["ETag"].is_string()) {
      return fail("each part needs a PartNumber and an ETag");
    }
    const auto number = p["PartNumber"].get<std::int64_t>();
    // Parts are taken in order: the n-th is number n.
    if (number != static_cast<std::int64_t>(u.parts.size()) + 1) {
      return fail("part numbers must run 1, 2, ...");
    }
    u.parts.push_back({static_cast<int>(number), p["ETag"].get<std::string>()});
  }
  if (!parse_rfc3339_ms(u.deadline)) {
    return fail("Deadline must be an RFC 3339 time");
  }
  return u;
}

}  // namespace

PowerAction power_action_after(const TaskResult& result, bool in_container) {
  if (in_container || result.status != TaskStatus::kFailed) {
    return PowerAction::kNone;
  }
  if (result.exit_code == kPowerOffExitCode) {
    return PowerAction::kPowerOff;
  }
  if (result.exit_code == kRebootExitCode) {
    return PowerAction::kReboot;
  }
  return PowerAction::kNone;
}

std::string_view to_string(PowerAction action) {
  switch (action) {
    case PowerAction::kPowerOff:
      return "PowerOff";
    case PowerAction::kReboot:
      return "Reboot";
    case PowerAction::kNone:
      break;
  }
  return "";
}

nlohmann::json to_json(const JournalRecord& r) {
  nlohmann::json j{{"Version", kJournalVersion},
                   {"InvocationTaskId", r.task_id},
                   {"BootId", r.boot_id},
                   {"SupervisorPid", r.supervisor.pid},
                   {"SupervisorStartTime", r.supervisor.start_time},
                   {"StartTime", r.start_time},
                   {"StartAcked", r.start_acked},
                   {"NextLogIndex", r.next_log_index},
                   {"LogOffset", r.log_offset},
                   {"FinalLogIndex", r.final_log_index}};
  if (r.pending_piece) {
    j["PendingPiece"] = {{"Index", r.pending_piece->index},
                         {"Offset", r.pending_piece->offset},
                         {"Length", r.pending_piece->length}};
  }
  if (r.result) {
    j["Result"] = to_json(*r.result);
  }
  if (r.upload) {
    j["Upload"] = upload_to_json(*r.upload);
  }
  if (r.power_action != PowerAction::kNone) {
    j["PowerAction"] = to_string(r.power_action);
    j["PowerActionDone"] = r.power_action_done;
  }
  return j;
}

Expected<JournalRecord> parse_journal_record(const nlohmann::json& j) {
  if (!j.is_object()) {
    return bad("not a JSON object");
  }
  if (!j.contains("Version") || !j["Version"].is_number_integer() ||
      j["Version"].get<int>() != kJournalVersion) {
    return bad("Version is missing or not " + std::to_string(kJournalVersion));
  }
  JournalRecord r;
  auto str = [&](const char* key, std::string& out) -> Status {
    if (!j.contains(key) || !j[key].is_string()) {
      return bad(std::string(key) + " must be a string");
    }
    out = j[key].get<std::string>();
    return {};
  };
  auto u64 = [&](const char* key, std::uint64_t& out) -> Status {
    if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<std::int64_t>() < 0) {
      return bad(std::string(key) + " must be a non-negative integer");
    }
    out = j[key].get<std::uint64_t>();
    return {};
  };
  auto i64 = [&](const nlohmann::json& o, const char* key, std::int64_t lo,
                 std::int64_t& out) -> Status {
    if (!o.contains(key) || !o[key].is_number_integer() || o[key].get<std::int64_t>() < lo) {
      return bad(std::string(key) + " must be an integer >= " + std::to_string(lo));
    }
    out = o[key].get<std::int64_t>();
    return {};
  };
  std::uint64_t pid = 0;
  std::int64_t index = 0;
  for (auto s :
       {str("InvocationTaskId", r.task_id), str("BootId", r.boot_id), u64("SupervisorPid", pid),
        u64("SupervisorStartTime", r.supervisor.start_time), str("StartTime", r.start_time),
        u64("LogOffset", r.log_offset), i64(j, "NextLogIndex", 0, r.next_log_index),
        i64(j, "FinalLogIndex", -1, r.final_log_index)}) {
    if (!s) {
      return s.error();
    }
  }
  if (!is_valid_task_id(r.task_id)) {
    return bad("InvocationTaskId is not a valid task id");
  }
  if (pid > 4'194'304) {
    return bad("SupervisorPid out of range");
  }
  r.supervisor.pid = static_cast<int>(pid);
  if (!j.contains("StartAcked") || !j["StartAcked"].is_boolean()) {
    return bad("StartAcked must be true or false");
  }
  r.start_acked = j["StartAcked"].get<bool>();
  if (auto it = j.find("PendingPiece"); it != j.end()) {
    LogPiece p;
    std::int64_t offset = 0;
    std::int64_t length = 0;
    for (auto s : {i64(*it, "Index", 0, index), i64(*it, "Offset", 0, offset),
                   i64(*it, "Length", 1, length)}) {
      if (!s) {
        return s.error().wrap("PendingPiece");
      }
    }
    p.index = index;
    p.offset = static_cast<std::uint64_t>(offset);
    p.length = static_cast<std::uint64_t>(length);
    r.pending_piece = p;
  }
  if (auto it = j.find("Result"); it != j.end()) {
    auto result = parse_task_result(*it);
    if (!result) {
      return result.error().wrap("Result");
    }
    if (result->invocation_task_id != r.task_id) {
      return bad("Result is for another task");
    }
    r.result = std::move(*result);
  }
  if (auto it = j.find("Upload"); it != j.end()) {
    auto upload = parse_upload(*it);
    if (!upload) {
      return upload.error();
    }
    if (!r.result) {
      return bad("Upload without a Result");
    }
    r.upload = std::move(*upload);
  }
  if (auto it = j.find("PowerAction"); it != j.end()) {
    if (*it == "PowerOff") {
      r.power_action = PowerAction::kPowerOff;
    } else if (*it == "Reboot") {
      r.power_action = PowerAction::kReboot;
    } else {
      return bad("PowerAction must be PowerOff or Reboot");
    }
    const auto done = j.find("PowerActionDone");
    if (done == j.end() || !done->is_boolean()) {
      return bad("PowerActionDone must be true or false");
    }
    r.power_action_done = done->get<bool>();
  }
  return r;
}

fs::path journal_file(const fs::path& task_dir) {
  return task_dir / "journal.json";
}

Status write_journal(const fs::path& task_dir, const JournalRecord& record,
                     platform::Durability durability) {
  return platform::write_file_atomic(journal_file(task_dir), to_json(record).dump(),
                                     platform::FileAccess::kPrivate, durability);
}

std::optional<JournalRecord> read_journal(const fs::path& task_dir, JournalReadError* why) {
  const fs::path file = journal_file(task_dir);
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    if (why != nullptr) {
      why->missing = true;
      why->error = Error{codes::kInternalError, "no journal.json"};
    }
    return std::nullopt;
  }
  auto text = platform::read_file(file, kMaxJournalFile);
  if (!text) {
    if (why != nullptr) {
      why->error = text.error();
    }
    return std::nullopt;
  }
  auto j = nlohmann::json::parse(*text, nullptr, false);
  auto record = parse_journal_record(j);
  if (!record) {
    if (why != nullptr) {
      why->error = j.is_discarded() ? bad("not valid JSON") : record.error();
    }
    return std::nullopt;
  }
  if (record->task_id != task_dir.filename().string()) {
    if (why != nullptr) {
      why->error = bad("the record names another task");
    }
    return std::nullopt;
  }
  return std::move(*record);
}

JournalScan scan_journal(const fs::path& state_dir, std::size_t quarantine_keep) {
  JournalScan scan;
  std::error_code ec;
  std::vector<std::string> ids;
  for (const auto& e : fs::directory_iterator(state_dir / "tasks", ec)) {
    ids.push_back(e.path().filename().string());
  }
  std::sort(ids.begin(), ids.end());
  for (const auto& id : ids) {
    const fs::path dir = state_dir / "tasks" / id;
    std::error_code ec2;
    if (!is_valid_task_id(id) || !fs::is_directory(fs::symlink_status(dir, ec2))) {
      // Not the agent's: a temp file or something put there by hand. Never a task to run.
      continue;
    }
    JournalReadError why;
    auto record = read_journal(dir, &why);
    if (record) {
      scan.records.push_back(std::move(*record));
    } else if (why.missing) {
      scan.unjournaled.push_back(id);
    } else {
      // The task itself is recovered like one without a record (from state.json and its
      // supervisor), so a damaged record costs at most a report sent again.
      quarantine(state_dir, id, quarantine_keep);
      scan.quarantined.emplace_back(id, why.error.message);
      scan.unjournaled.push_back(id);
    }
  }
  return scan;
}

RetentionDecision apply_retention(std::vector<RetentionEntry> entries, std::uint64_t total_bytes,
                                  std::size_t max_tasks, std::uint64_t max_bytes) {
  RetentionDecision d;
  d.bytes_after = total_bytes;
  if (total_bytes > max_bytes) {
    std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      return a.finished_order < b.finished_order;
    });
    for (const auto& e : entries) {
      if (d.bytes_after <= max_bytes) {
        break;
      }
      if (e.finished && e.spool_bytes > 0) {
        d.drop_spools.push_back(e.task_id);
        d.bytes_after -= std::min(d.bytes_after, e.spool_bytes);
      }
    }
  }
  d.refuse_new = entries.size() >= max_tasks || d.bytes_after > max_bytes;
  return d;
}

std::uint64_t journal_bytes(const fs::path& state_dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator
           it(state_dir / "tasks", fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2)) {
      total += it->file_size(ec2);
    }
  }
  return total;
}

bool is_quarantined(const fs::path& state_dir, const std::string& task_id) {
  std::error_code ec;
  return fs::exists(state_dir / "quarantine" / (task_id + ".journal.json"), ec);
}

}  // namespace ferry::agent
