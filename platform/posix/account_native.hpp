// What an Account is on POSIX: a uid and its primary gid. Private to platform/ (and its tests).
#pragma once

#include <sys/types.h>

#include "ferry/platform/users.hpp"

namespace ferry::platform {

struct Account::Native {
  uid_t uid;
  gid_t gid;
};

inline Account make_account(uid_t uid, gid_t gid) {
  return Account(std::make_shared<const Account::Native>(Account::Native{uid, gid}));
}

}  // namespace ferry::platform
