// What starting and naming processes on Windows needs beyond win32.hpp: the command line that
// CreateProcessW takes in place of an argv, the environment block, a process's identity (its
// creation time) and the event through which a supervisor is cancelled. Private to platform/
// (and its tests).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ferry/core/error.hpp"
#include "win32.hpp"

namespace ferry::platform::win32 {

// The command line that hands `argv` to a program parsing it by the C runtime's rules (those of
// CommandLineToArgvW): an element with a space, tab, quote or nothing in it is quoted, a quote
// inside is escaped as \", and the backslashes before a quote (or before the closing quote)
// are doubled; any other backslash stays as it is. cmd.exe reads its /C string by rules of its
// own (^ & | < > %): that quoting is the caller's business.
std::wstring command_line(const std::vector<std::string>& argv);

// The environment block of CreateProcessW (CREATE_UNICODE_ENVIRONMENT) from KEY=VALUE entries:
// UTF-16, sorted by name without regard to case as Windows keeps it, a later entry replacing an
// earlier one of the same name, each ended by a NUL and the block by one more. Names may start
// with '=' (the per-drive directories, "=C:=C:\\x"). Errors: an entry without '=' after its
// name, or with a NUL in it.
Expected<std::wstring> environment_block(const std::vector<std::string>& env);

// The name of the event that cancels the supervisor with this pid (cancel_process() sets it,
// run_supervised() waits on it): Local\ferry-cancel-<pid>.
std::wstring cancel_event_name(unsigned long pid);

// When the process behind `process` was created, in 100 ns units since 1601 (FILETIME), as
// ProcessIdentity.start_time holds it; nullopt when it cannot be read.
std::optional<std::uint64_t> process_creation_time(HANDLE process);

// Whether an exit code is a status that Windows gives a process it ends for a fault (an
// NTSTATUS of error severity that is not customer-defined: 0xC0000005 for an access violation)
// rather than one a program chose (exit /b 3, or -1, which is 0xFFFFFFFF).
bool is_fault_status(std::uint32_t exit_code);

}  // namespace ferry::platform::win32
