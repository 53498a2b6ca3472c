// Telling whether a process recorded earlier is still the same process: a pid alone is not
// enough (pids are reused), so a process is named by its pid, its start time and the boot it
// belongs to (the kernel's boot id; on Windows the registry's boot counter, or the boot time).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::platform {

// Tests simulate a reboot by naming another file to read the boot id from with this environment
// variable; processes started by the agent (the supervisors) inherit it.
inline constexpr const char* kBootIdFileVariable = "FERRY_BOOT_ID_FILE";

// One process within one boot. start_time is what the OS records of its start (Linux: clock
// ticks since boot, /proc/<pid>/stat field 22; Windows: its creation time, FILETIME units), so a
// later process given the same pid differs.
struct ProcessIdentity {
  int pid = 0;
  std::uint64_t start_time = 0;

  friend bool operator==(const ProcessIdentity&, const ProcessIdentity&) = default;
};

// How hard a cancel asks. POSIX: kGraceful is SIGTERM (a supervisor then ends its task's tree
// and records TERMINATED), kForced is SIGKILL. Windows: kGraceful sets the supervisor's event
// Local\ferry-cancel-<pid> (a process without one is terminated, as SIGTERM ends a process that
// does not take it), kForced is TerminateProcess.
enum class CancelLevel { kGraceful, kForced };

// The boot id (/proc/sys/kernel/random/boot_id, or the file named by FERRY_BOOT_ID_FILE),
// without its newline; empty when unreadable.
std::string boot_id();

// The identity of the live process `pid`; nullopt when there is no such process or it has ended
// (a zombie waiting to be reaped counts as ended).
std::optional<ProcessIdentity> identify_process(int pid);

// This process's pid.
int current_process_id();

// Whether the process is alive and still the one named.
bool is_running(const ProcessIdentity& process);

// Cancels the process only if it is still the one named. False when it is not (or the request
// could not be made). Never reaches a process that took the pid over (Linux: through a pidfd,
// opened before the check; on kernels before 5.3, kill(2) right after the check; Windows: through
// a process handle, which keeps the pid from being reused while it is open).
bool cancel_process(const ProcessIdentity& process, CancelLevel level);

// A live process whose argument list holds `args` as consecutive elements, if any. Not on
// Windows yet.
std::optional<ProcessIdentity> find_process_with_args(
    const std::initializer_list<std::string_view>& args);

}  // namespace ferry::platform
