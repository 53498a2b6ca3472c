// instance_lock.hpp on Windows: an exclusive byte-range lock (LockFileEx) on a handle that no
// child inherits, released when the handle closes, at the latest when the process ends.
#include "ferry/platform/instance_lock.hpp"

#include <chrono>
#include <string>
#include <thread>

#include "ferry/core/error_codes.hpp"
#include "win32.hpp"

namespace ferry::platform {
namespace {

using win32::UniqueHandle;

// Windows' locks are mandatory: a reader of a locked byte fails. The lock takes one byte far
// past the pid, so a second process can still read who holds it.
constexpr DWORD kLockOffsetHigh = 0x40000000;

// The holder writes its pid right after it took the lock; a reader that comes in between sees
// an empty file for a moment.
std::string lock_holder_pid(HANDLE file) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    char buffer[32] = {};
    DWORD got = 0;
    OVERLAPPED at{};  // offset 0
    std::string text;
    if (::ReadFile(file, buffer, sizeof buffer - 1, &got, &at) && got > 0) {
      text.assign(buffer, got);
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
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
  UniqueHandle handle;
};

Expected<InstanceLock> InstanceLock::acquire(const std::filesystem::path& file) {
  const std::string name = "lock file " + win32::display(file);
  // Others may open it to read the pid; a link in its place is opened as the link, and refused.
  UniqueHandle handle(::CreateFileW(file.c_str(), GENERIC_READ | GENERIC_WRITE,
                                    FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, OPEN_ALWAYS,
                                    FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr));
  if (!handle.valid()) {
    return win32::windows_error(codes::kInternalError, name, ::GetLastError());
  }
  BY_HANDLE_FILE_INFORMATION info{};
  if (!::GetFileInformationByHandle(handle.get(), &info) ||
      (info.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) != 0) {
    return Error{codes::kInternalError, name + ": not a regular file"};
  }
  OVERLAPPED region{};
  region.OffsetHigh = kLockOffsetHigh;
  if (!::LockFileEx(handle.get(), LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0,
                    &region)) {
    const DWORD err = ::GetLastError();
    if (err == ERROR_LOCK_VIOLATION) {
      return Error{codes::kOperationDenied, win32::display(file) + " is locked by pid " +
                                                lock_holder_pid(handle.get()) +
                                                ": another process uses this directory"};
    }
    return win32::windows_error(codes::kInternalError, "locking " + win32::display(file), err);
  }
  const std::string pid = std::to_string(::GetCurrentProcessId()) + "\n";
  DWORD written = 0;
  LARGE_INTEGER start{};
  if (!::SetFilePointerEx(handle.get(), start, nullptr, FILE_BEGIN) ||
      !::SetEndOfFile(handle.get()) ||
      !::WriteFile(handle.get(), pid.data(), static_cast<DWORD>(pid.size()), &written, nullptr) ||
      written != pid.size()) {
    return win32::windows_error(codes::kInternalError, "writing the pid to " + win32::display(file),
                                ::GetLastError());
  }
  return InstanceLock(std::make_unique<Impl>(Impl{file, std::move(handle)}));
}

InstanceLock::InstanceLock(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
InstanceLock::InstanceLock(InstanceLock&&) noexcept = default;
InstanceLock& InstanceLock::operator=(InstanceLock&&) noexcept = default;
InstanceLock::~InstanceLock() = default;

const std::filesystem::path& InstanceLock::file() const {
  return impl_->file;
}

}  // namespace ferry::platform
