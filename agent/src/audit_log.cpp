#include "ferry/agent/audit_log.hpp"

#include <nlohmann/json.hpp>
#include <system_error>

#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/time.hpp"

namespace ferry::agent {
namespace {

using nlohmann::json;
namespace stdfs = std::filesystem;

// A rotated file of the log is read whole; a line is a few hundred bytes, so this is far above
// any size the writer makes (audit_max_size_mib is at most 1024).
constexpr std::size_t kMaxReadFile = std::size_t{1} << 31;
// How many rotated files the reader looks for (audit_max_files is at most 100).
constexpr std::size_t kMaxRotated = 100;

stdfs::path rotated(const stdfs::path& file, std::size_t n) {
  return stdfs::path(file.string() + "." + std::to_string(n));
}

void put_nonempty(json& j, const char* key, const std::string& value) {
  if (!value.empty()) {
    j[key] = value;
  }
}

bool read_string_field(const json& j, const char* key, std::string& out) {
  const auto it = j.find(key);
  if (it == j.end()) {
    return true;
  }
  if (!it->is_string()) {
    return false;
  }
  out = it->get<std::string>();
  return true;
}

bool passes(const AuditRecord& r, const AuditFilter& f) {
  if (f.result && r.result != *f.result) {
    return false;
  }
  if (f.event && r.event != *f.event) {
    return false;
  }
  if (f.since || f.until) {
    const auto t = parse_rfc3339(r.time);
    if (!t || (f.since && *t < *f.since) || (f.until && *t >= *f.until)) {
      return false;
    }
  }
  return true;
}

}  // namespace

json to_json(const AuditRecord& r) {
  json j = json::object();
  put_nonempty(j, "time", r.time);
  put_nonempty(j, "event", r.event);
  put_nonempty(j, "task_id", r.task_id);
  put_nonempty(j, "invocation_id", r.invocation_id);
  put_nonempty(j, "user", r.user);
  put_nonempty(j, "command_type", r.command_type);
  put_nonempty(j, "sha256", r.sha256);
  put_nonempty(j, "result", r.result);
  if (r.exit_code) {
    j["exit_code"] = *r.exit_code;
  }
  put_nonempty(j, "rule", r.rule);
  put_nonempty(j, "note", r.note);
  return j;
}

Expected<AuditRecord> parse_audit_record(const json& j) {
  if (!j.is_object()) {
    return Error{codes::kInvalidParameterValue, "not a JSON object"};
  }
  AuditRecord r;
  const std::pair<const char*, std::string*> fields[] = {
      {"time", &r.time},       {"event", &r.event},
      {"task_id", &r.task_id}, {"invocation_id", &r.invocation_id},
      {"user", &r.user},       {"command_type", &r.command_type},
      {"sha256", &r.sha256},   {"result", &r.result},
      {"rule", &r.rule},       {"note", &r.note}};
  for (const auto& [key, out] : fields) {
    if (!read_string_field(j, key, *out)) {
      return Error{codes::kInvalidParameterValue, std::string(key) + ": must be a string"};
    }
  }
  if (const auto it = j.find("exit_code"); it != j.end()) {
    if (!it->is_number_integer()) {
      return Error{codes::kInvalidParameterValue, "exit_code: must be an integer"};
    }
    r.exit_code = it->get<std::int64_t>();
  }
  return r;
}

std::optional<std::string> payload_sha256(const Task& task) {
  auto payload = task.file ? file_content(task) : prepare_script(task);
  if (!payload) {
    return std::nullopt;
  }
  return sha256_hex(*payload);
}

AuditRecord audit_facts(const Task& task, const std::optional<std::string>& digest) {
  AuditRecord r;
  r.task_id = task.invocation_task_id;
  r.invocation_id = task.invocation_id;
  r.user = task.username;
  r.command_type = task.file ? "FILE" : std::string(to_string(task.command_type));
  r.sha256 = digest.value_or("");
  return r;
}

stdfs::path audit_log_file(const stdfs::path& state_dir) {
  return state_dir / "audit.log";
}

AuditLog::AuditLog(stdfs::path file, std::uint64_t max_bytes, std::size_t keep)
    : file_(std::move(file)), max_bytes_(max_bytes), keep_(keep) {}

void AuditLog::set_limits(std::uint64_t max_bytes, std::size_t keep) {
  max_bytes_ = max_bytes;
  keep_ = keep;
}

Status AuditLog::open() {
  auto f = platform::open_append_file(file_, platform::FileAccess::kPrivate,
                                      "opening " + file_.string());
  if (!f) {
    return f.error();
  }
  auto size = platform::file_size(*f, file_.string());
  if (!size) {
    return size.error();
  }
  out_ = std::move(*f);
  size_ = *size;
  return {};
}

Status AuditLog::rotate() {
  out_.reset();
  std::error_code ec;
  stdfs::remove(rotated(file_, keep_), ec);
  for (std::size_t n = keep_; n > 1; --n) {
    if (stdfs::exists(rotated(file_, n - 1), ec)) {
      stdfs::rename(rotated(file_, n - 1), rotated(file_, n), ec);
      if (ec) {
        return Error{codes::kInternalError, "rotating " + file_.string() + ": " + ec.message()};
      }
    }
  }
  stdfs::rename(file_, rotated(file_, 1), ec);
  if (ec) {
    return Error{codes::kInternalError, "rotating " + file_.string() + ": " + ec.message()};
  }
  return open();
}

Status AuditLog::append(const AuditRecord& record) {
  // Invalid UTF-8 (which parse_task never lets through) would be replaced, not thrown.
  const std::string line =
      to_json(record).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  if (!out_) {
    if (auto s = open(); !s) {
      return s;
    }
  }
  if (size_ > 0 && size_ + line.size() > max_bytes_) {
    if (auto s = rotate(); !s) {
      return s;
    }
  }
  if (auto s = platform::write_to(*out_, line, file_.string()); !s) {
    // Opened again at the next line: the file may have been removed or its disk come back.
    out_.reset();
    return s;
  }
  size_ += line.size();
  return {};
}

Expected<AuditReadout> read_audit_log(const stdfs::path& file, const AuditFilter& filter) {
  std::vector<stdfs::path> files;
  for (std::size_t n = kMaxRotated; n >= 1; --n) {
    std::error_code ec;
    if (stdfs::exists(rotated(file, n), ec)) {
      files.push_back(rotated(file, n));
    }
  }
  files.push_back(file);
  AuditReadout out;
  for (const auto& f : files) {
    std::error_code ec;
    if (!stdfs::exists(f, ec)) {
      continue;  // none yet, or rotated away while this ran
    }
    auto text = platform::read_file(f, kMaxReadFile);
    if (!text) {
      return text.error();
    }
    std::size_t begin = 0;
    while (begin < text->size()) {
      std::size_t end = text->find('\n', begin);
      if (end == std::string::npos) {
        end = text->size();
      }
      const std::string_view line(text->data() + begin, end - begin);
      begin = end + 1;
      if (line.empty()) {
        continue;
      }
      auto record = parse_audit_record(json::parse(line, nullptr, false));
      if (!record) {
        ++out.unreadable_lines;
        continue;
      }
      if (passes(*record, filter)) {
        out.records.push_back(std::move(*record));
      }
    }
  }
  return out;
}

std::string audit_text_line(const AuditRecord& r) {
  // Control characters in a field would let a line pass for two on a terminal.
  const auto or_dash = [](const std::string& s) {
    std::string out = s.empty() ? std::string("-") : s;
    for (char& c : out) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        c = '?';
      }
    }
    return out;
  };
  std::string line = or_dash(r.time) + " " + or_dash(r.event) + " " + or_dash(r.result) + " " +
                     or_dash(r.task_id) + " " + or_dash(r.invocation_id) + " " +
                     or_dash(r.user.empty() ? std::string("root") : r.user) + " " +
                     or_dash(r.command_type) + " " +
                     (r.exit_code ? std::to_string(*r.exit_code) : std::string("-")) + " " +
                     or_dash(r.rule) + " " + or_dash(r.sha256);
  if (!r.note.empty()) {
    line += " (" + or_dash(r.note) + ")";
  }
  return line;
}

}  // namespace ferry::agent
