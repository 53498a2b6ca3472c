#include "ferry/platform/instance_lock.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "ferry/core/error_codes.hpp"
#include "unique_fd.hpp"

namespace ferry::platform {
namespace {

// The holder writes its pid right after it took the lock; a reader that comes in between sees
// an empty file for a moment.
std::string holder_pid(int fd) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    char buffer[32] = {};
    const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
    std::string text = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
      text.pop_back();
    }
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
      return text;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "unknown";
}

}  // namespace

struct InstanceLock::Impl {
  std::filesystem::path file;
  UniqueFd fd;
};

Expected<InstanceLock> InstanceLock::acquire(const std::filesystem::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) {
    return errno_error(codes::kInternalError, "lock file " + file.string(), errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Error{codes::kInternalError, "lock file " + file.string() + ": not a regular file"};
  }
  // A file left by an older version or made by hand: ours is private.
  if ((st.st_mode & 0777) != 0600 && ::fchmod(fd.get(), 0600) != 0) {
    return errno_error(codes::kInternalError, "lock file " + file.string() + ": chmod", errno);
  }
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (::fcntl(fd.get(), F_OFD_SETLK, &lock) != 0) {
    const int err = errno;
    if (err == EAGAIN || err == EACCES) {
      return Error{codes::kOperationDenied, file.string() + " is locked by pid " +
                                                holder_pid(fd.get()) +
                                                ": another process uses this directory"};
    }
    return errno_error(codes::kInternalError, "locking " + file.string(), err);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return errno_error(codes::kInternalError, "writing the pid to " + file.string(), errno);
  }
  return InstanceLock(std::make_unique<Impl>(Impl{file, std::move(fd)}));
}

InstanceLock::InstanceLock(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
InstanceLock::InstanceLock(InstanceLock&&) noexcept = default;
InstanceLock& InstanceLock::operator=(InstanceLock&&) noexcept = default;
InstanceLock::~InstanceLock() = default;

const std::filesystem::path& InstanceLock::file() const {
  return impl_->file;
}

}  // namespace ferry::platform
