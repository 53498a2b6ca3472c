// Telling whether a process recorded earlier is still the same process: a pid alone is not
// enough (pids are reused), so a process is named by its pid, its start time (clock ticks since
// boot, /proc/<pid>/stat field 22) and the boot it belongs to (the kernel's boot id).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::platform {

// Tests simulate a reboot by naming another file to read the boot id from with this environment
// variable; processes started by the agent (the supervisors) inherit it.
inline constexpr const char* kBootIdFileVariable = "FERRY_BOOT_ID_FILE";

// The boot id (/proc/sys/kernel/random/boot_id, or the file named by FERRY_BOOT_ID_FILE),
// without its newline; empty when unreadable.
std::string boot_id();

// The start time of process `pid`, in clock ticks since boot; nullopt when there is no such
// process or it has ended (a zombie waiting to be reaped counts as ended).
std::optional<std::uint64_t> process_start_time(int pid);

// Whether process `pid` is alive and still the one that had `start_time`.
bool is_same_process(int pid, std::uint64_t start_time);

// Sends `signal` to `pid` only if it is still the process that had `start_time`. False when it
// is not (or the signal could not be sent). Through a pidfd, so a pid reused between the check
// and the signal is never hit (on kernels before 5.3, kill(2) right after the check).
bool signal_same_process(int pid, std::uint64_t start_time, int signal);

// The pid of a live process whose argument list holds `args` as consecutive elements, if any.
std::optional<int> find_process_with_args(const std::initializer_list<std::string_view>& args);

// Parses the start time (field 22) out of the text of a /proc/<pid>/stat file; nullopt for a
// zombie or dead process (state Z or X) or text that does not parse. Exposed for tests.
std::optional<std::uint64_t> parse_stat_start_time(std::string_view stat);

}  // namespace ferry::platform
