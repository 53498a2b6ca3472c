// Process-table queries through /proc, for finding a task's whole process tree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::platform::linux_proc {

// Every live process whose parent chain leads to `root` (not `root` itself), from one pass over
// /proc. Zombies are included: they still have to be reaped. A snapshot: processes created
// after the pass are missed, so callers that kill repeat until nothing is left.
std::vector<int> descendants_of(int root);

// At most `limit` bytes of a small file (/proc/<pid>/stat, cmdline, cgroup.procs, boot_id),
// as far as it could be read; empty if unreadable. Unlike platform::read_file, a longer file is
// cut, not refused: the fields callers want come early.
std::string read_small_file(const std::string& path, std::size_t limit);

// Parses the start time (field 22) out of the text of a /proc/<pid>/stat file; nullopt for a
// zombie or dead process (state Z or X) or text that does not parse.
std::optional<std::uint64_t> parse_stat_start_time(std::string_view stat);

// The pids listed one per line in `path` (cgroup.procs); empty if unreadable.
std::vector<int> read_pid_list(const std::string& path);

}  // namespace ferry::platform::linux_proc
