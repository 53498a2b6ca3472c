// A per-task cgroup v2 leaf, <hierarchy>/ferry/<name>: every process the task starts stays in
// it whatever it does with sessions and parents, so the tree can be found and killed whole.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::platform::linux_cgroup {

class TaskCgroup {
 public:
  // The leaf for `name`, created (or reused: the name is the task's) under the first writable
  // cgroup2 hierarchy: /sys/fs/cgroup itself, else /sys/fs/cgroup/unified (hybrid layout).
  // nullopt when there is none, the name is unusable, or anything fails.
  static std::optional<TaskCgroup> create(const std::string& name);

  // Moves `pid` into the leaf.
  [[nodiscard]] bool add_process(int pid) const;
  [[nodiscard]] std::vector<int> members() const;
  // cgroup.kill (Linux 5.14) when present: atomic, and catches processes forking right now.
  // Otherwise SIGKILL to each current member; the caller repeats until the leaf is empty.
  void kill_all() const;
  // Removes the leaf if it is empty. `wait_busy` retries EBUSY briefly, for a leaf whose last
  // processes were just reaped; otherwise EBUSY (processes left behind) is accepted silently.
  void remove(bool wait_busy) const;

  [[nodiscard]] const std::string& path() const { return path_; }

  // Removes the empty leaves that tasks left behind (their background processes have ended
  // since); leaves still holding processes stay, and those whose name `keep` accepts. Returns
  // how many were removed.
  static int remove_empty_leaves(const std::function<bool(std::string_view)>& keep);

 private:
  explicit TaskCgroup(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace ferry::platform::linux_cgroup
