#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/platform/users.hpp"

namespace ferry::platform {

// The PATH a task gets unless /etc/environment sets one (POSIX).
inline constexpr std::string_view kSanePath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Parses the pam_env style KEY=VALUE lines of /etc/environment: comments and blank lines
// skipped, an optional "export " prefix, matching surrounding quotes removed.
std::map<std::string, std::string> parse_environment_file(std::string_view text);

// The environment of a task run as `user`: PATH (kSanePath), then the contents of
// `environment_file` (if readable), then HOME, USER, LOGNAME and SHELL of the user, which
// always win. Returned as KEY=VALUE strings, sorted.
// Windows: the user's default environment as a logon gives it (CreateEnvironmentBlock: the
// system's and the user's registry variables, not the agent's own), `environment_file`
// ignored; SystemRoot, windir, SystemDrive, ComSpec, PATHEXT, TEMP, TMP and USERPROFILE are
// always there (from the system when the block lacks them), and the path variable is named PATH.
std::vector<std::string> task_environment(const UserInfo& user,
                                          const std::string& environment_file = "/etc/environment");

// The program that runs a SHELL script without a #! line: /bin/bash, else /bin/sh.
// Errors: InternalError "neither /bin/bash nor /bin/sh is available"; on Windows, where SHELL
// scripts do not run at all, AgentUnsupportedCommandType.
Expected<std::string> default_shell();

// The PowerShell that runs POWERSHELL scripts. POSIX: pwsh on `search_path`. Windows: Windows
// PowerShell in its fixed place (%SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe),
// else pwsh.exe, else powershell.exe on `search_path` (a ';' list). Errors:
// AgentUnsupportedCommandType when there is none.
Expected<std::string> find_powershell(std::string_view search_path);

// What goes before a POWERSHELL script in its file so that its output is UTF-8. POSIX: nothing
// (pwsh writes UTF-8). Windows: a UTF-8 byte order mark (without one Windows PowerShell 5.1
// reads the file in the ANSI code page) and one line that sets [Console]::OutputEncoding and
// $OutputEncoding to UTF-8 (it writes in the console's OEM code page otherwise). The script's
// own lines are then one further down in PowerShell's messages, and a script that begins with
// param(...) or [CmdletBinding()] cannot run (they must come first; -File passes no arguments
// anyway).
std::string powershell_prologue();

// How a BAT script is run: cmd.exe from the system directory, `/D` (no AutoRun commands from
// the registry), `/S /C` and the script's path in quotes, inside one more pair of quotes that /S
// strips. cmd.exe reads its command line by rules of its own, so `command_line` is what
// CreateProcessW gets (SuperviseSpec::command_line), and argv the same words for messages and
// argv[0]. Errors: AgentUnsupportedCommandType on POSIX; InvalidParameterValue for a script path
// that cmd.exe would expand or split (a '%' or '"' in it).
struct BatchInvocation {
  std::vector<std::string> argv;
  std::string command_line;
};
Expected<BatchInvocation> batch_invocation(const std::string& script_path);

// Where a task without a WorkingDirectory runs: the user's home on POSIX (seed 000: /root);
// on Windows `<state_dir>\workdir` (TAT's is C:\Program Files\QCloud\TAT_Agent\workdir),
// created when missing. Errors: InternalError when it cannot be created.
Expected<std::string> default_working_directory(const UserInfo& user,
                                                const std::filesystem::path& state_dir);

// Where the agent keeps its files when its configuration does not say: its state directory, and
// the directory of its configuration files (ferry-agent.json, register.json). POSIX: /var/lib/ferry
// and /etc/ferry. Windows: %ProgramData%\Ferry\agent and %ProgramData%\Ferry (the ProgramData
// known folder, C:\ProgramData unless the machine moved it), the machine's data rather than
// beside the binaries under Program Files.
std::filesystem::path default_agent_state_dir();
std::filesystem::path default_agent_config_dir();

}  // namespace ferry::platform
