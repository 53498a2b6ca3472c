#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/platform/users.hpp"

namespace ferry::platform {

// The PATH a task gets unless /etc/environment sets one.
inline constexpr std::string_view kSanePath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Parses the pam_env style KEY=VALUE lines of /etc/environment: comments and blank lines
// skipped, an optional "export " prefix, matching surrounding quotes removed.
std::map<std::string, std::string> parse_environment_file(std::string_view text);

// The environment of a task run as `user`: PATH (kSanePath), then the contents of
// `environment_file` (if readable), then HOME, USER, LOGNAME and SHELL of the user, which
// always win. Returned as KEY=VALUE strings, sorted.
std::vector<std::string> task_environment(const UserInfo& user,
                                          const std::string& environment_file = "/etc/environment");

// The program that runs a SHELL script without a #! line: /bin/bash, else /bin/sh.
// Errors: InternalError "neither /bin/bash nor /bin/sh is available".
Expected<std::string> default_shell();

}  // namespace ferry::platform
