#include "ferry/platform/process_identity.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <vector>

#include "../posix/unique_fd.hpp"
#include "proc.hpp"

namespace ferry::platform {

std::string boot_id() {
  const char* file = std::getenv(kBootIdFileVariable);
  std::string id = linux_proc::read_small_file(
      file != nullptr && *file != '\0' ? std::string(file) : "/proc/sys/kernel/random/boot_id",
      128);
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ' || id.back() == '\r')) {
    id.pop_back();
  }
  return id;
}

std::optional<ProcessIdentity> identify_process(int pid) {
  if (pid <= 0) {
    return std::nullopt;
  }
  const auto start_time = linux_proc::parse_stat_start_time(
      linux_proc::read_small_file("/proc/" + std::to_string(pid) + "/stat", 4096));
  if (!start_time) {
    return std::nullopt;
  }
  return ProcessIdentity{pid, *start_time};
}

int current_process_id() {
  return ::getpid();
}

bool is_running(const ProcessIdentity& process) {
  return identify_process(process.pid) == process;
}

bool cancel_process(const ProcessIdentity& process, CancelLevel level) {
  const int signal = level == CancelLevel::kForced ? SIGKILL : SIGTERM;
  // A pidfd names one process for good: opened first and checked second, it cannot reach a
  // process that took the pid over after the check. Kernels without pidfds (before 5.3) get
  // the check followed by kill(2).
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, process.pid, 0)));
  if (!pidfd.valid()) {
    return errno != ESRCH && is_running(process) && ::kill(process.pid, signal) == 0;
  }
  return is_running(process) &&
         ::syscall(SYS_pidfd_send_signal, pidfd.get(), signal, nullptr, 0) == 0;
}

std::optional<ProcessIdentity> find_process_with_args(
    const std::initializer_list<std::string_view>& args) {
  std::optional<ProcessIdentity> found;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) {
    return found;
  }
  while (const dirent* entry = ::readdir(dir)) {
    int pid = 0;
    const std::string_view name(entry->d_name);
    const auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || ptr != name.data() + name.size() || pid == ::getpid()) {
      continue;
    }
    const std::string cmdline =
        linux_proc::read_small_file("/proc/" + std::to_string(pid) + "/cmdline", 65536);
    std::vector<std::string_view> argv;
    for (std::size_t pos = 0; pos < cmdline.size();) {
      const auto end = cmdline.find('\0', pos);
      argv.emplace_back(std::string_view(cmdline).substr(pos, end - pos));
      if (end == std::string::npos) {
        break;
      }
      pos = end + 1;
    }
    for (std::size_t i = 0; i + args.size() <= argv.size() && !found; ++i) {
      std::size_t k = 0;
      for (const auto& a : args) {
        if (argv[i + k] != a) {
          break;
        }
        ++k;
      }
      if (k == args.size()) {
        found = identify_process(pid);
      }
    }
    if (found) {
      break;
    }
  }
  ::closedir(dir);
  return found;
}

}  // namespace ferry::platform
