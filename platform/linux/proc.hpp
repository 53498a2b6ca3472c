// Process-table queries through /proc, for finding a task's whole process tree.
#pragma once

#include <string>
#include <vector>

namespace ferry::platform::linux_proc {

// Every live process whose parent chain leads to `root` (not `root` itself), from one pass over
// /proc. Zombies are included: they still have to be reaped. A snapshot: processes created
// after the pass are missed, so callers that kill repeat until nothing is left.
std::vector<int> descendants_of(int root);

// The pids listed one per line in `path` (cgroup.procs); empty if unreadable.
std::vector<int> read_pid_list(const std::string& path);

}  // namespace ferry::platform::linux_proc
