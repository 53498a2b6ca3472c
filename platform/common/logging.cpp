// Built twice from this one source (platform/CMakeLists.txt): against the shared spdlog and fmt
// for ferry-server, and header-only for ferry-agent, so that each program has one spdlog.
//
// The same on Windows (ferry-agent.exe; the C runtime's descriptors), but for three things: a log
// file is opened so that it can be renamed while open (the rotation) and gets the ACL of its
// directory instead of a mode; there is no journal (is_journal_stream is false); stderr is in
// the runtime's text mode (CRLF line ends in a console), files are binary.
#include "ferry/platform/logging.hpp"

#include <fcntl.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>

#include "ferry/core/error_codes.hpp"

#ifdef _WIN32
#include <io.h>

#include <climits>

#include "../windows/win32.hpp"
#endif

namespace ferry::platform {
namespace {

namespace fs = std::filesystem;

static_assert(spdlog::level::trace == 0 && spdlog::level::warn == 3 && spdlog::level::off == 6);

// spdlog's default pattern: "[2024-05-01 12:00:00.123] [ferry-agent] [info] message".
constexpr const char* kTimedPattern = "[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] %v";

// The message with control characters escaped, so that a message is one line whatever it holds
// (a line that a message could break would reach the journal as an entry at the default level).
std::string escaped_payload(spdlog::string_view_t payload) {
  std::string out;
  out.reserve(payload.size());
  for (const char c : payload) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if ((u < 0x20 && c != '\t') || u == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", u);
      out += hex;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Writes all of `text` to `fd`; false when the write failed (the line is lost: a log has nowhere
// to report its own failures).
bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
#ifdef _WIN32
    const int n = ::_write(fd, text.data(),
                           static_cast<unsigned>(std::min<std::size_t>(
                               text.size(), static_cast<std::size_t>(INT_MAX))));
#else
    const ssize_t n = ::write(fd, text.data(), text.size());
#endif
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Formats `msg` with its payload escaped.
std::string format_line(spdlog::formatter& formatter, const spdlog::details::log_msg& msg) {
  const std::string payload = escaped_payload(msg.payload);
  spdlog::details::log_msg copy = msg;
  copy.payload = spdlog::string_view_t(payload.data(), payload.size());
  spdlog::memory_buf_t buf;
  formatter.format(copy, buf);
  return std::string(buf.data(), buf.size());
}

// Lines to a stream (stderr), with the syslog priority in front when it is the journal.
class StreamLineSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  StreamLineSink(int fd, bool journal) : fd_(fd), journal_(journal) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string line;
    if (journal_) {
      // spdlog numbers its levels in the order of kLogLevelNames (and names warn "warning").
      const auto level = static_cast<std::size_t>(msg.level);
      line = "<" +
             std::to_string(syslog_priority(level < kLogLevelNames.size() ? kLogLevelNames[level]
                                                                          : std::string_view())) +
             ">";
    }
    line += format_line(*formatter_, msg);
    write_all(fd_, line);
  }
  void flush_() override {}

 private:
  int fd_;
  bool journal_;
};

// A path in messages, as UTF-8 on every OS.
std::string shown(const fs::path& p) {
  const auto text = p.u8string();
  return {reinterpret_cast<const char*>(text.data()), text.size()};
}

#ifdef _WIN32
// Opens (creating) `file` for appending, as a descriptor of the C runtime. FILE_SHARE_DELETE
// lets the rotation rename it while it is open (the runtime's own _wopen would not), and
// FILE_FLAG_OPEN_REPARSE_POINT opens a link itself rather than what it points to (O_NOFOLLOW).
// Its ACL is inherited from the directory: the state directory's.
Expected<int> open_log_file(const fs::path& file) {
  const HANDLE handle =
      ::CreateFileW(file.c_str(), FILE_APPEND_DATA | SYNCHRONIZE,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_ALWAYS,
                    FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  if (handle == INVALID_HANDLE_VALUE) {
    const DWORD err = ::GetLastError();
    return Error{codes::kInvalidParameterValue,
                 "log file " + shown(file) + ": " +
                     std::error_code(static_cast<int>(err), std::system_category()).message() +
                     " (error " + std::to_string(err) + ")"};
  }
  const int fd =
      ::_open_osfhandle(reinterpret_cast<std::intptr_t>(handle), _O_WRONLY | _O_APPEND | _O_BINARY);
  if (fd < 0) {
    ::CloseHandle(handle);
    return Error{codes::kInvalidParameterValue, "log file " + shown(file) + ": no descriptor left"};
  }
  return fd;
}
#else
// Opens (creating) `file` for appending, mode 0600 whatever the umask or its earlier mode.
Expected<int> open_log_file(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return errno_error(codes::kInvalidParameterValue, "log file " + file.string(), errno);
  }
  if (::fchmod(fd, 0600) != 0) {
    const int err = errno;
    ::close(fd);
    return errno_error(codes::kInvalidParameterValue, "chmod 600 " + file.string(), err);
  }
  return fd;
}
#endif

// Lines to a file that is rotated by size: FILE -> FILE.1 -> ... -> FILE.<max_files>, the
// oldest dropped. Every file keeps mode 0600 (renamed, never copied).
class RotatingLogFile final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  RotatingLogFile(fs::path file, int fd, std::uint64_t max_bytes, std::size_t max_files)
      : file_(std::move(file)), fd_(fd), max_bytes_(max_bytes), max_files_(max_files) {
    struct stat st {};
    size_ = ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  }
  ~RotatingLogFile() override {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  RotatingLogFile(const RotatingLogFile&) = delete;
  RotatingLogFile& operator=(const RotatingLogFile&) = delete;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string line = format_line(*formatter_, msg);
    if (size_ > 0 && size_ + line.size() > max_bytes_) {
      rotate();
    }
    if (fd_ >= 0 && write_all(fd_, line)) {
      size_ += line.size();
    }
  }
  void flush_() override {}

 private:
  [[nodiscard]] fs::path numbered(std::size_t n) const {
    fs::path p = file_;
    p += "." + std::to_string(n);
    return p;
  }

  void rotate() {
    std::error_code ec;
    fs::remove(numbered(max_files_), ec);
    for (std::size_t n = max_files_; n > 1; --n) {
      fs::rename(numbered(n - 1), numbered(n), ec);  // missing ones are skipped
    }
    fs::rename(file_, numbered(1), ec);
    auto reopened = open_log_file(file_);
    if (!reopened) {
      // Nowhere else to say it: stderr, once per failed rotation; writing goes on in the old file.
      const std::string why = "ferry: log rotation: " + reopened.error().message + "\n";
      write_all(STDERR_FILENO, why);
      return;
    }
    ::close(fd_);
    fd_ = *reopened;
    size_ = 0;
  }

  fs::path file_;
  int fd_;
  std::uint64_t size_ = 0;
  std::uint64_t max_bytes_;
  std::size_t max_files_;
};

Error logging_error(std::string message) {
  return Error{codes::kInvalidParameterValue, std::move(message)};
}

}  // namespace

#ifdef _WIN32
bool is_journal_stream(int /*fd*/, std::string_view /*journal_stream*/) {
  return false;  // no journal on Windows
}
#else
bool is_journal_stream(int fd, std::string_view journal_stream) {
  const auto colon = journal_stream.find(':');
  if (colon == std::string_view::npos) {
    return false;
  }
  unsigned long long device = 0;
  unsigned long long inode = 0;
  const auto dev_text = journal_stream.substr(0, colon);
  const auto ino_text = journal_stream.substr(colon + 1);
  const auto [dev_end, dev_ec] =
      std::from_chars(dev_text.data(), dev_text.data() + dev_text.size(), device);
  const auto [ino_end, ino_ec] =
      std::from_chars(ino_text.data(), ino_text.data() + ino_text.size(), inode);
  if (dev_ec != std::errc() || ino_ec != std::errc() || dev_text.empty() || ino_text.empty() ||
      dev_end != dev_text.data() + dev_text.size() ||
      ino_end != ino_text.data() + ino_text.size()) {
    return false;
  }
  struct stat st {};
  return ::fstat(fd, &st) == 0 && static_cast<unsigned long long>(st.st_dev) == device &&
         static_cast<unsigned long long>(st.st_ino) == inode;
}
#endif

Status setup_logging(const LogOptions& options) {
  if (!is_log_level(options.level)) {
    return logging_error("log level \"" + options.level + "\": must be one of " +
                         std::string(kLogLevels));
  }
  spdlog::sink_ptr sink;
  bool timestamps = true;
  if (options.file.empty()) {
    const bool journal =
        options.journal_stream && is_journal_stream(options.stream_fd, *options.journal_stream);
    sink = std::make_shared<StreamLineSink>(options.stream_fd, journal);
    timestamps = !journal;
  } else {
    if (options.max_files < 1 || options.max_file_bytes < 1) {
      return logging_error("log file " + shown(options.file) +
                           ": the size and the number of files kept must be at least 1");
    }
    const fs::path parent =
        options.file.parent_path().empty() ? fs::path(".") : options.file.parent_path();
    std::error_code ec;
    if (!fs::is_directory(parent, ec)) {
      return logging_error("log file " + shown(options.file) + ": the directory " + shown(parent) +
                           " does not exist (it is not created)");
    }
    auto fd = open_log_file(options.file);
    if (!fd) {
      return fd.error();
    }
    sink = std::make_shared<RotatingLogFile>(options.file, *fd, options.max_file_bytes,
                                             options.max_files);
  }
  sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      timestamps ? kTimedPattern : "%v", spdlog::pattern_time_type::local, "\n"));
  auto logger = std::make_shared<spdlog::logger>(options.program, std::move(sink));
  logger->set_level(spdlog::level::from_str(options.level));
  spdlog::set_default_logger(std::move(logger));
  // The default logger's level follows spdlog::set_level from now on (SIGHUP).
  spdlog::set_level(spdlog::level::from_str(options.level));
  return {};
}

}  // namespace ferry::platform
