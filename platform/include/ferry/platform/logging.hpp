// The log of ferry-agent and ferry-server: one spdlog default logger, set up once at start by
// setup_logging. Lines go to stderr, or to a size-rotated file (mode 0600). When stderr is
// systemd's journal (JOURNAL_STREAM names its device and inode, systemd.exec(5)), each line
// starts with its syslog priority, "<6>" for info, and carries no timestamp: journald keeps the
// level and adds its own time. Control characters in messages are escaped ("\n" as \n), so one
// message is always one line and one journal entry.
//
// On Windows (ferry-agent.exe) a file is the way to log for a service, which has no stderr
// (in_service_mode(), service.hpp); the file takes the ACL of its directory rather than a mode,
// and there is no journal.
#pragma once

#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"

namespace ferry::platform {

// The levels both programs take, from the most verbose to none at all.
inline constexpr std::array<std::string_view, 7> kLogLevelNames = {
    "trace", "debug", "info", "warn", "error", "critical", "off"};
inline constexpr std::string_view kLogLevels = "trace, debug, info, warn, error, critical, off";

constexpr bool is_log_level(std::string_view level) {
  for (const auto name : kLogLevelNames) {
    if (name == level) {
      return true;
    }
  }
  return false;
}

// The syslog priority journald reads from a line's "<N>" prefix: trace and debug 7, info 6,
// warn 4, error 3, critical 2.
constexpr int syslog_priority(std::string_view level) {
  if (level == "info") {
    return 6;
  }
  if (level == "warn") {
    return 4;
  }
  if (level == "error") {
    return 3;
  }
  if (level == "critical") {
    return 2;
  }
  return 7;
}

struct LogOptions {
  std::string program;         // the logger's name: "ferry-agent"
  std::string level = "info";  // one of kLogLevelNames
  // Empty: lines go to `stream_fd`. Otherwise the file, created mode 0600 (an existing one is
  // set to 0600) by setup_logging, before the first line; its directory must exist.
  std::filesystem::path file;
  // A file that would grow past this is renamed FILE.1 (FILE.1 to FILE.2 and so on, the oldest
  // past `max_files` removed) and a new FILE started.
  std::uint64_t max_file_bytes = std::uint64_t{10} << 20;
  std::size_t max_files = 5;  // rotated files kept, 1 or more
  int stream_fd = STDERR_FILENO;
  // $JOURNAL_STREAM ("DEVICE:INODE"); when it names `stream_fd`, lines carry priorities.
  std::optional<std::string> journal_stream;
};

// Whether `fd` is the file JOURNAL_STREAM's "DEVICE:INODE" names (both decimal).
bool is_journal_stream(int fd, std::string_view journal_stream);

// Replaces spdlog's default logger with one built from `options`. Errors
// (InvalidParameterValue): an unknown level, a file that cannot be opened or whose directory
// does not exist; the logger is left as it was.
Status setup_logging(const LogOptions& options);

}  // namespace ferry::platform
