#include "ferry/platform/users.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "account_native.hpp"
#include "ferry/core/error_codes.hpp"

namespace ferry::platform {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// Checked before NSS sees the name: NSS modules (LDAP, SSSD) build queries from it, and a name
// with spaces, newlines or ':' is never a real account. The trailing '$' is Samba's machine
// account convention.
bool is_valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 256) {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const bool last = i + 1 == name.size();
    if (!is_name_char(name[i]) && !(last && i > 0 && name[i] == '$')) {
      return false;
    }
  }
  return true;
}

// getpwnam_r reports "no such user" as 0 with a null result, but some NSS modules use one of
// these errors instead (getpwnam(3)).
bool means_not_found(int err) {
  return err == ENOENT || err == ESRCH || err == EBADF || err == EPERM;
}

}  // namespace

Expected<UserInfo> lookup_user(std::string_view name) {
  if (!is_valid_user_name(name)) {
    return Error{codes::kInvalidUsername,
                 "user name is empty, too long or has characters outside [A-Za-z0-9._-]"};
  }
  const std::string user(name);
  const long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(hint > 0 ? static_cast<std::size_t>(hint) : 1024);
  constexpr std::size_t kMaxBuffer = std::size_t{1} << 20;
  passwd entry{};
  passwd* result = nullptr;
  for (;;) {
    const int rc = ::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &result);
    if (rc == ERANGE && buffer.size() < kMaxBuffer) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc != 0 && !means_not_found(rc)) {
      return errno_error(codes::kInvalidUsername, "looking up user '" + user + "'", rc);
    }
    break;
  }
  if (result == nullptr) {
    return Error{codes::kInvalidUsername, "user '" + user + "' does not exist"};
  }
  return UserInfo{
      .name = entry.pw_name,
      .account = make_account(entry.pw_uid, entry.pw_gid),
      .home = entry.pw_dir != nullptr ? entry.pw_dir : "",
      .shell = entry.pw_shell != nullptr ? entry.pw_shell : "",
  };
}

std::string default_task_username() {
  return "root";
}

bool Account::same_user(const Account& other) const {
  return native_ && other.native_ && native_->uid == other.native_->uid;
}

bool Account::is_superuser() const {
  return native_ && native_->uid == 0;
}

std::string Account::describe() const {
  return native_ ? "uid " + std::to_string(native_->uid) : "no account";
}

Account current_account() {
  return make_account(::geteuid(), ::getegid());
}

// Only root is considered able to switch: a process holding just CAP_SETUID/CAP_SETGID could
// too, but Ferry runs tasks as other users only when it runs as root, and a partial capability
// set (e.g. no CAP_DAC_OVERRIDE) would fail later in ways harder to explain.
bool can_switch_user() {
  return ::geteuid() == 0;
}

}  // namespace ferry::platform
