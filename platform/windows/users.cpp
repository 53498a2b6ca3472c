// users.hpp on Windows, for now the account this process runs as only (the agent's: SYSTEM when
// it runs as a service). Running a task as another user needs a logon token and
// CreateProcessAsUser (issue 16), which wine cannot show; until then any other name is a clear
// InvalidUsername.
#include <array>
#include <memory>
#include <vector>

#include "account.hpp"
#include "ferry/core/error_codes.hpp"
#include "win32.hpp"
// After windows.h (win32.hpp), which they need.
#include <sddl.h>
#include <userenv.h>

namespace ferry::platform {
namespace {

// The SID string of S-1-5-18, LocalSystem.
constexpr std::wstring_view kLocalSystemSid = L"S-1-5-18";

// This process's token, for reading; empty when it cannot be opened.
win32::UniqueHandle own_token() {
  HANDLE token = nullptr;
  if (::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &token) == 0) {
    return {};
  }
  return win32::UniqueHandle(token);
}

std::wstring token_user_sid(HANDLE token) {
  DWORD size = 0;
  ::GetTokenInformation(token, TokenUser, nullptr, 0, &size);
  if (size == 0) {
    return {};
  }
  std::vector<unsigned char> buffer(size);
  if (::GetTokenInformation(token, TokenUser, buffer.data(), size, &size) == 0) {
    return {};
  }
  wchar_t* text = nullptr;
  if (::ConvertSidToStringSidW(reinterpret_cast<TOKEN_USER*>(buffer.data())->User.Sid, &text) ==
      0) {
    return {};
  }
  std::wstring sid(text);
  ::LocalFree(text);
  return sid;
}

std::string profile_directory(HANDLE token) {
  std::vector<wchar_t> buffer(MAX_PATH + 1);
  DWORD size = static_cast<DWORD>(buffer.size());
  if (::GetUserProfileDirectoryW(token, buffer.data(), &size) == 0) {
    if (::GetLastError() != ERROR_INSUFFICIENT_BUFFER || size > 32768) {
      return {};
    }
    buffer.resize(size);
    if (::GetUserProfileDirectoryW(token, buffer.data(), &size) == 0) {
      return {};
    }
  }
  return win32::narrow(buffer.data());
}

}  // namespace

namespace win32 {

std::string current_user_name() {
  std::array<wchar_t, 257> name{};
  DWORD size = name.size();
  if (::GetUserNameW(name.data(), &size) == 0 || size == 0) {
    return {};
  }
  return narrow(std::wstring_view(name.data(), size - 1));
}

bool same_user_name(std::string_view requested, const std::string& current) {
  const auto slash = requested.rfind('\\');
  if (slash != std::string_view::npos) {
    requested.remove_prefix(slash + 1);
  }
  const std::wstring a = widen(requested);
  const std::wstring b = widen(current);
  return !a.empty() && ::CompareStringOrdinal(a.data(), static_cast<int>(a.size()), b.data(),
                                              static_cast<int>(b.size()), TRUE) == CSTR_EQUAL;
}

}  // namespace win32

Expected<UserInfo> lookup_user(std::string_view name) {
  if (name.empty() || name.size() > 256 || name.find('\0') != std::string_view::npos) {
    return Error{codes::kInvalidUsername, "user name is empty, too long or holds a NUL"};
  }
  const Account self = current_account();
  if (self.native() == nullptr) {
    return win32::windows_error(codes::kInvalidUsername, "reading this process's account",
                                ::GetLastError());
  }
  if (!win32::same_user_name(name, self.native()->name)) {
    return Error{codes::kInvalidUsername, "cannot run as user '" + std::string(name) +
                                              "': running a task as another " +
                                              "user than the agent's own ('" + self.native()->name +
                                              "') is not supported on Windows yet"};
  }
  const win32::UniqueHandle token = own_token();
  return UserInfo{
      .name = self.native()->name,
      .account = self,
      .home = token.valid() ? profile_directory(token.get()) : std::string(),
      .shell = {},
  };
}

std::string default_task_username() {
  return win32::current_user_name();
}

bool Account::same_user(const Account& other) const {
  return native_ && other.native_ && !native_->sid.empty() && native_->sid == other.native_->sid;
}

bool Account::is_superuser() const {
  return native_ && native_->sid == kLocalSystemSid;
}

std::string Account::describe() const {
  return native_ ? "'" + native_->name + "' (" + win32::narrow(native_->sid) + ")" : "no account";
}

Account current_account() {
  const win32::UniqueHandle token = own_token();
  if (!token.valid()) {
    return {};
  }
  std::wstring sid = token_user_sid(token.get());
  if (sid.empty()) {
    return {};
  }
  return Account(std::make_shared<const Account::Native>(
      Account::Native{std::move(sid), win32::current_user_name()}));
}

// Not until logon tokens and CreateProcessAsUser are ported.
bool can_switch_user() {
  return false;
}

}  // namespace ferry::platform
