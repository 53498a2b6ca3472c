// Accounts of the machine: looked up through NSS (getpwnam_r on POSIX), never through a shell.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"

namespace ferry::platform {

struct UserInfo {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;  // primary group
  std::string home;
  std::string shell;
};

// Errors: InvalidParameterValue.InvalidUsername "user 'bob' does not exist" (or the lookup
// failure). Names with characters outside [A-Za-z0-9._-] (and a trailing '$') are refused first.
Expected<UserInfo> lookup_user(std::string_view name);

// The uid this process runs as, and whether it may switch to other users.
uint32_t current_uid();
bool can_switch_user();

}  // namespace ferry::platform
