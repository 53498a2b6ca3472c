// The one header of platform/ that includes <windows.h> (lean: WIN32_LEAN_AND_MEAN, NOMINMAX),
// and what the Windows implementations share: UTF-8 <-> UTF-16 (Ferry's strings are UTF-8, the
// W functions take UTF-16), errors from GetLastError() codes, and a HANDLE owner. Private to
// platform/ (and its tests).
#pragma once

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "ferry/core/error.hpp"

namespace ferry::platform::win32 {

// UTF-16 from UTF-8; an invalid sequence becomes U+FFFD.
std::wstring widen(std::string_view utf8);
// UTF-8 from UTF-16; an unpaired surrogate becomes U+FFFD.
std::string narrow(std::wstring_view utf16);
// A path as messages show it (UTF-8).
std::string display(const std::filesystem::path& path);

// The system's text for a GetLastError() code, without the trailing period and line break, and
// the code itself: "Access denied (error 5)".
std::string error_text(DWORD code);
// Error{code, "<what>: <error_text(err)>"}, as errno_error() on POSIX.
Error windows_error(std::string code, std::string_view what, DWORD err);

// Owns a kernel object handle (CloseHandle at the end). Empty: INVALID_HANDLE_VALUE, which is
// also what CreateFileW returns on failure (other functions return nullptr: valid() checks both).
class UniqueHandle {
 public:
  UniqueHandle() = default;
  explicit UniqueHandle(HANDLE handle) : handle_(handle) {}
  UniqueHandle(UniqueHandle&& other) noexcept
      : handle_(std::exchange(other.handle_, INVALID_HANDLE_VALUE)) {}
  UniqueHandle& operator=(UniqueHandle&& other) noexcept {
    if (this != &other) {
      reset(std::exchange(other.handle_, INVALID_HANDLE_VALUE));
    }
    return *this;
  }
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;
  ~UniqueHandle() { reset(); }

  [[nodiscard]] HANDLE get() const { return handle_; }
  [[nodiscard]] bool valid() const { return handle_ != INVALID_HANDLE_VALUE && handle_ != nullptr; }
  HANDLE release() { return std::exchange(handle_, INVALID_HANDLE_VALUE); }
  void reset(HANDLE handle = INVALID_HANDLE_VALUE) {
    if (valid()) {
      ::CloseHandle(handle_);
    }
    handle_ = handle;
  }

 private:
  HANDLE handle_ = INVALID_HANDLE_VALUE;
};

}  // namespace ferry::platform::win32
