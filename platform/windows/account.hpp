// What an Account is on Windows: a SID, as its string form (S-1-5-18), and the account's name.
// For now the only Account made is the one this process runs as (users.hpp). Private to
// platform/ (and its tests).
#pragma once

#include <string>
#include <string_view>

#include "ferry/platform/users.hpp"

namespace ferry::platform {

struct Account::Native {
  std::wstring sid;
  std::string name;
};

namespace win32 {

// The name this process's user has (GetUserNameW); empty when it cannot be read.
std::string current_user_name();

// Whether `requested` names the account called `current`: the same name without regard to case,
// with or without a "DOMAIN\" prefix (only the current account is ever compared, so the domain
// adds nothing).
bool same_user_name(std::string_view requested, const std::string& current);

}  // namespace win32
}  // namespace ferry::platform
