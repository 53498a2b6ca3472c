#include "ferry/server/outputs/output_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <tuple>
#include <vector>

#include "ferry/core/error_codes.hpp"
#include "ferry/core/task.hpp"

namespace ferry::server {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kCompleteSuffix = ".log";
constexpr std::string_view kPartSuffix = ".part";
constexpr std::int64_t kNsPerMs = 1'000'000;
constexpr std::int64_t kMsPerDay = 86'400'000;

// Closes a descriptor when it goes out of scope.
class OutputFd {
 public:
  explicit OutputFd(int fd) : fd_(fd) {}
  OutputFd(const OutputFd&) = delete;
  OutputFd& operator=(const OutputFd&) = delete;
  ~OutputFd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

Error output_file_error(const fs::path& file, std::string_view what, int err) {
  return errno_error(codes::kInternalError, std::string(what) + " " + file.string(), err);
}

std::int64_t mtime_ns_of(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

Status write_all_at(int fd, std::string_view bytes, std::uint64_t offset, const fs::path& file) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return output_file_error(file, "writing", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Status fsync_dir(const fs::path& dir) {
  const OutputFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
    return output_file_error(dir, "fsync", errno);
  }
  return {};
}

// The directory, 0700, refused when it is something else or others may write it.
Status prepare_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Error{codes::kInternalError, "creating " + dir.string() + ": " + ec.message()};
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    return output_file_error(dir, "stat", errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Error{codes::kInternalError, dir.string() + ": not a directory"};
  }
  // Outputs may hold anything a script printed: only the server reads them.
  if ((st.st_mode & 07777) != 0700 && ::chmod(dir.c_str(), 0700) != 0) {
    return output_file_error(dir, "chmod 0700", errno);
  }
  return {};
}

// "<id>.log" -> {id, true}, "<id>.part" -> {id, false}; nullopt for any other name.
std::optional<std::pair<std::string, bool>> parse_output_name(std::string_view name) {
  for (const bool complete : {true, false}) {
    const std::string_view suffix = complete ? kCompleteSuffix : kPartSuffix;
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      std::string id(name.substr(0, name.size() - suffix.size()));
      if (OutputStore::valid_task_id(id)) {
        return std::make_pair(std::move(id), complete);
      }
    }
  }
  return std::nullopt;
}

}  // namespace

OutputStore::OutputStore(OutputStoreOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

OutputStore::~OutputStore() = default;

Expected<std::unique_ptr<OutputStore>> OutputStore::open(OutputStoreOptions options,
                                                         const Clock& clock) {
  std::unique_ptr<OutputStore> store(new OutputStore(std::move(options), clock));
  if (!store->enabled()) {
    return store;
  }
  if (auto s = prepare_dir(store->options_.dir); !s) {
    return s.error();
  }
  std::lock_guard lock(store->mutex_);
  if (auto s = store->scan(); !s) {
    return s.error();
  }
  return store;
}

bool OutputStore::valid_task_id(std::string_view task_id) {
  // The agent protocol's rule for a task id, which already makes it a safe file name.
  return ferry::is_valid_task_id(task_id);
}

std::uint64_t OutputStore::total_bytes() const {
  std::lock_guard lock(mutex_);
  return total_;
}

fs::path OutputStore::path_of(const std::string& task_id, bool complete) const {
  return options_.dir / (task_id + std::string(complete ? kCompleteSuffix : kPartSuffix));
}

Status OutputStore::scan() {
  entries_.clear();
  total_ = 0;
  DIR* dir = ::opendir(options_.dir.c_str());
  if (dir == nullptr) {
    return output_file_error(options_.dir, "reading", errno);
  }
  std::map<std::string, Entry, std::less<>> parts;
  while (const dirent* e = ::readdir(dir)) {
    auto parsed = parse_output_name(e->d_name);
    struct stat st {};
    // Only regular files count: a symlink planted here is never followed.
    if (!parsed || ::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode)) {
      continue;
    }
    const auto& [id, complete] = *parsed;
    (complete ? entries_ : parts)[id] =
        Entry{static_cast<std::uint64_t>(st.st_size), complete, mtime_ns_of(st)};
  }
  ::closedir(dir);
  for (auto& [id, entry] : parts) {
    if (entries_.contains(id)) {
      // The rename to .log was done: the .part is a leftover.
      ::unlink(path_of(id, false).c_str());
    } else {
      entries_.emplace(id, entry);
    }
  }
  for (const auto& [id, entry] : entries_) {
    total_ += entry.size;
  }
  return {};
}

bool OutputStore::make_room(std::uint64_t needed) {
  if (total_ + needed <= options_.max_bytes) {
    return true;
  }
  std::vector<std::tuple<std::int64_t, std::string>> complete;
  for (const auto& [id, e] : entries_) {
    if (e.complete) {
      complete.emplace_back(e.mtime_ns, id);
    }
  }
  std::sort(complete.begin(), complete.end());
  for (const auto& [mtime, id] : complete) {
    if (total_ + needed <= options_.max_bytes) {
      break;
    }
    spdlog::info("output store: evicting the output of task {} ({} bytes) to make room", id,
                 entries_[id].size);
    drop(id);
  }
  return total_ + needed <= options_.max_bytes;
}

void OutputStore::drop(const std::string& task_id) {
  auto it = entries_.find(task_id);
  if (it == entries_.end()) {
    return;
  }
  const fs::path file = path_of(task_id, it->second.complete);
  if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
    spdlog::warn("output store: removing {}: {}", file.string(), std::strerror(errno));
  }
  total_ -= it->second.size;
  entries_.erase(it);
}

Expected<OutputState> OutputStore::write(const std::string& task_id, std::uint64_t offset,
                                         std::string_view bytes, bool final) {
  if (!enabled()) {
    return Error{kOutputStoreLimitExceeded,
                 "the server's output store is disabled (output_store_max_bytes is 0)"};
  }
  if (!valid_task_id(task_id)) {
    return Error{codes::kInvalidParameterValue,
                 "InvocationTaskId: must be 1 to 64 characters of [A-Za-z0-9_-]"};
  }
  std::lock_guard lock(mutex_);
  return write_locked(task_id, offset, bytes, final);
}

Expected<OutputState> OutputStore::write_locked(const std::string& task_id, std::uint64_t offset,
                                                std::string_view bytes, bool final) {
  auto it = entries_.find(task_id);
  const std::uint64_t held = it == entries_.end() ? 0 : it->second.size;
  if (it != entries_.end() && it->second.complete) {
    return OutputState{held, true};  // complete: later pieces are acknowledged and ignored
  }
  if (offset > held) {
    return OutputState{held, false};  // a gap: the sender resumes from what is held
  }
  const std::uint64_t new_size = offset + bytes.size();
  if (new_size > held) {
    // Evicting cannot help an output larger than the whole store.
    if (new_size > options_.max_bytes || !make_room(new_size - held)) {
      drop(task_id);
      return Error{kOutputStoreLimitExceeded,
                   "the output of task " + task_id + " does not fit in the server's output " +
                       "store (output_store_max_bytes " + std::to_string(options_.max_bytes) +
                       ") even after evicting the older outputs"};
    }
  }
  const fs::path part = path_of(task_id, false);
  const OutputFd fd(::open(part.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) {
    return output_file_error(part, "opening", errno);
  }
  Entry& entry = entries_[task_id];
  // Until the piece is written the file's length is not known: count it gone, then as it ends.
  total_ -= entry.size;
  entry.size = 0;
  Status written;
  if (::ftruncate(fd.get(), static_cast<off_t>(offset)) != 0) {
    written = output_file_error(part, "truncating", errno);
  } else {
    written = write_all_at(fd.get(), bytes, offset, part);
  }
  if (written && final && ::fsync(fd.get()) != 0) {
    written = output_file_error(part, "fsync", errno);
  }
  struct stat st {};
  if (written && ::fstat(fd.get(), &st) != 0) {
    written = output_file_error(part, "stat", errno);
  }
  if (!written) {
    // Dropped whole: the sender learns Stored 0 next time and starts again.
    drop(task_id);
    return written.error();
  }
  entry = Entry{new_size, false, mtime_ns_of(st)};
  total_ += new_size;
  if (final) {
    if (auto s = complete_locked(task_id, entry); !s) {
      drop(task_id);
      return s.error();
    }
  }
  return OutputState{entry.size, entry.complete};
}

Status OutputStore::complete_locked(const std::string& task_id, Entry& entry) {
  const fs::path part = path_of(task_id, false);
  const fs::path log = path_of(task_id, true);
  if (::rename(part.c_str(), log.c_str()) != 0) {
    return output_file_error(part, "renaming", errno);
  }
  entry.complete = true;
  return fsync_dir(options_.dir);
}

Expected<std::optional<OutputState>> OutputStore::state(const std::string& task_id) const {
  if (!enabled() || !valid_task_id(task_id)) {
    return std::optional<OutputState>();
  }
  std::lock_guard lock(mutex_);
  auto it = entries_.find(task_id);
  if (it == entries_.end()) {
    return std::optional<OutputState>();
  }
  return std::optional<OutputState>(OutputState{it->second.size, it->second.complete});
}

Expected<std::optional<OutputRange>> OutputStore::read(const std::string& task_id,
                                                       std::uint64_t offset,
                                                       std::uint64_t limit) const {
  if (!enabled() || !valid_task_id(task_id)) {
    return std::optional<OutputRange>();
  }
  const fs::path log = path_of(task_id, true);
  int raw_fd = -1;
  {
    // Opened under the lock, so that an eviction cannot slip between the check and the open;
    // read outside it, from the descriptor, which keeps an evicted file's bytes readable.
    std::lock_guard lock(mutex_);
    auto it = entries_.find(task_id);
    if (it == entries_.end() || !it->second.complete) {
      return std::optional<OutputRange>();
    }
    raw_fd = ::open(log.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (raw_fd < 0 && errno == ENOENT) {
      return std::optional<OutputRange>();  // removed behind the server's back
    }
  }
  const OutputFd fd(raw_fd);
  if (fd.get() < 0) {
    return output_file_error(log, "opening", errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return output_file_error(log, "stat", errno);
  }
  OutputRange range;
  range.size = static_cast<std::uint64_t>(st.st_size);
  const std::uint64_t available = offset < range.size ? range.size - offset : 0;
  range.bytes.resize(static_cast<std::size_t>(std::min(available, limit)));
  std::size_t done = 0;
  while (done < range.bytes.size()) {
    const ssize_t n = ::pread(fd.get(), range.bytes.data() + done, range.bytes.size() - done,
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return output_file_error(log, "reading", errno);
    }
    if (n == 0) {
      break;  // cut short behind the server's back
    }
    done += static_cast<std::size_t>(n);
  }
  range.bytes.resize(done);
  return std::optional<OutputRange>(std::move(range));
}

Expected<int> OutputStore::remove_expired() {
  if (!enabled()) {
    return 0;
  }
  std::lock_guard lock(mutex_);
  if (auto s = scan(); !s) {
    return s.error();
  }
  const std::int64_t cutoff_ns = (clock_.now_ms() - options_.retention_days * kMsPerDay) * kNsPerMs;
  std::vector<std::string> expired;
  for (const auto& [id, e] : entries_) {
    if (e.mtime_ns < cutoff_ns) {
      expired.push_back(id);
    }
  }
  for (const auto& id : expired) {
    drop(id);
  }
  if (!expired.empty()) {
    spdlog::info("output store: removed {} output(s) past the retention of {} days", expired.size(),
                 options_.retention_days);
  }
  return static_cast<int>(expired.size());
}

}  // namespace ferry::server
