#include "cgroup.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string_view>
#include <thread>

#include "../posix/unique_fd.hpp"
#include "proc.hpp"

namespace ferry::platform::linux_cgroup {
namespace {

bool is_cgroup2(const char* path) {
  struct statfs fs {};
  return ::statfs(path, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

std::optional<std::string> find_hierarchy() {
  for (const char* candidate : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    if (is_cgroup2(candidate) && ::access(candidate, W_OK) == 0) {
      return std::string(candidate);
    }
  }
  return std::nullopt;
}

// The name becomes a directory: one plain path component only.
bool is_valid_leaf_name(std::string_view name) {
  if (name.empty() || name.size() > 200 || name == "." || name == "..") {
    return false;
  }
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool write_string(const std::string& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return false;
  }
  return ::write(fd.get(), data.data(), data.size()) == static_cast<ssize_t>(data.size());
}

}  // namespace

std::optional<TaskCgroup> TaskCgroup::create(const std::string& name) {
  if (!is_valid_leaf_name(name)) {
    return std::nullopt;
  }
  const auto hierarchy = find_hierarchy();
  if (!hierarchy) {
    return std::nullopt;
  }
  const std::string ferry_dir = *hierarchy + "/ferry";
  if (::mkdir(ferry_dir.c_str(), 0755) == 0) {
    // mkdir applied the umask; monitoring tools read this directory without being root.
    ::chmod(ferry_dir.c_str(), 0755);
  } else if (errno != EEXIST) {
    return std::nullopt;
  }
  std::string leaf = ferry_dir + "/" + name;
  if (::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) {
    return std::nullopt;
  }
  return TaskCgroup(std::move(leaf));
}

bool TaskCgroup::add_process(int pid) const {
  return write_string(path_ + "/cgroup.procs", std::to_string(pid));
}

std::vector<int> TaskCgroup::members() const {
  return linux_proc::read_pid_list(path_ + "/cgroup.procs");
}

void TaskCgroup::kill_all() const {
  if (write_string(path_ + "/cgroup.kill", "1")) {
    return;
  }
  for (const int pid : members()) {
    ::kill(pid, SIGKILL);
  }
}

void TaskCgroup::remove(bool wait_busy) const {
  // A reaped process leaves the cgroup asynchronously; a few short retries cover that.
  constexpr int kAttempts = 20;
  for (int i = 0; i < kAttempts; ++i) {
    if (::rmdir(path_.c_str()) == 0 || errno != EBUSY || !wait_busy) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int TaskCgroup::remove_empty_leaves(const std::function<bool(std::string_view)>& keep) {
  const auto hierarchy = find_hierarchy();
  if (!hierarchy) {
    return 0;
  }
  std::error_code ec;
  int removed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(*hierarchy + "/ferry", ec)) {
    // rmdir refuses a cgroup that still has processes (EBUSY): exactly the ones to keep.
    if (entry.is_directory(ec) && !(keep && keep(entry.path().filename().string())) &&
        ::rmdir(entry.path().c_str()) == 0) {
      ++removed;
    }
  }
  return removed;
}

}  // namespace ferry::platform::linux_cgroup
