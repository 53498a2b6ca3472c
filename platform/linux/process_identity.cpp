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

std::optional<std::uint64_t> parse_stat_start_time(std::string_view stat) {
  // "pid (comm) S ppid ...": comm may hold spaces and parentheses, so fields are counted from
  // the last ')'. After it come field 3 (state) to field 52.
  const auto close = stat.rfind(')');
  if (close == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view rest = stat.substr(close + 1);
  int field = 2;
  std::string_view value;
  while (!rest.empty()) {
    while (!rest.empty() && rest.front() == ' ') {
      rest.remove_prefix(1);
    }
    const auto end = rest.find(' ');
    const std::string_view token = rest.substr(0, end);
    ++field;
    if (field == 3 && (token == "Z" || token == "X" || token == "x")) {
      return std::nullopt;
    }
    if (field == 22) {
      value = token;
      break;
    }
    if (end == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(end);
  }
  if (field != 22 || value.empty()) {
    return std::nullopt;
  }
  std::uint64_t out = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || ptr != value.data() + value.size()) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::uint64_t> process_start_time(int pid) {
  if (pid <= 0) {
    return std::nullopt;
  }
  return parse_stat_start_time(
      linux_proc::read_small_file("/proc/" + std::to_string(pid) + "/stat", 4096));
}

bool is_same_process(int pid, std::uint64_t start_time) {
  const auto t = process_start_time(pid);
  return t && *t == start_time;
}

bool signal_same_process(int pid, std::uint64_t start_time, int signal) {
  // A pidfd names one process for good: opened first and checked second, it cannot reach a
  // process that took the pid over after the check. Kernels without pidfds (before 5.3) get
  // the check followed by kill(2).
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) {
    return errno != ESRCH && is_same_process(pid, start_time) && ::kill(pid, signal) == 0;
  }
  return is_same_process(pid, start_time) &&
         ::syscall(SYS_pidfd_send_signal, pidfd.get(), signal, nullptr, 0) == 0;
}

std::optional<int> find_process_with_args(const std::initializer_list<std::string_view>& args) {
  std::optional<int> found;
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
      if (k == args.size() && process_start_time(pid)) {
        found = pid;
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
