// Accounts of the machine: looked up through the OS's own user database (NSS's getpwnam_r on
// POSIX), never through a shell.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"

namespace ferry::platform {

// An account as the OS names it, for owning files and running processes: a uid and its primary
// gid on POSIX, a SID on Windows. Opaque outside platform/; made by lookup_user() and
// current_account(). A default-constructed Account names no one.
class Account {
 public:
  struct Native;  // defined by each OS's implementation (posix/account_native.hpp)

  Account() = default;
  explicit Account(std::shared_ptr<const Native> native) : native_(std::move(native)) {}

  // nullptr for the empty Account.
  [[nodiscard]] const Native* native() const { return native_.get(); }
  // The same user (its group may differ).
  [[nodiscard]] bool same_user(const Account& other) const;
  // The account that may act as any other (root on POSIX).
  [[nodiscard]] bool is_superuser() const;
  // How messages name it: "uid 1000" on POSIX.
  [[nodiscard]] std::string describe() const;

 private:
  std::shared_ptr<const Native> native_;
};

struct UserInfo {
  std::string name;
  Account account;
  std::string home;
  std::string shell;
};

// Errors: InvalidParameterValue.InvalidUsername "user 'bob' does not exist" (or the lookup
// failure). Names with characters outside [A-Za-z0-9._-] (and a trailing '$') are refused first.
// Windows, for now: only the account this process runs as (its name, with or without a
// "DOMAIN\" prefix, case-insensitive); any other name is InvalidUsername, "not supported on
// Windows yet". Its `home` is the profile directory and `shell` is empty.
Expected<UserInfo> lookup_user(std::string_view name);

// The user a task without a Username runs as: root on POSIX; on Windows the agent's own account
// (SYSTEM when it runs as a service, as TAT's default "System" is), by its name.
std::string default_task_username();

// The account this process runs as (its effective user and group).
Account current_account();
// Whether this process may run programs as other accounts.
bool can_switch_user();

}  // namespace ferry::platform
