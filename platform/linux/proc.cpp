#include "proc.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "../posix/unique_fd.hpp"

namespace ferry::platform::linux_proc {
namespace {

bool parse_int(std::string_view s, int& out) {
  const auto* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && ptr == end && !s.empty();
}

// The ppid in /proc/<pid>/stat: "pid (comm) state ppid ...", where comm may itself contain
// spaces and parentheses, so parsing starts after the last ')'.
bool read_ppid(int pid, int& ppid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  const std::string stat = read_small_file(path, 1024);
  const auto close_paren = stat.rfind(')');
  if (close_paren == std::string::npos || close_paren + 4 >= stat.size()) {
    return false;
  }
  // ") S 123 ..." : skip ") ", the state character and a space.
  std::string_view rest(stat);
  rest.remove_prefix(close_paren + 4);
  const auto space = rest.find(' ');
  return parse_int(rest.substr(0, space), ppid);
}

}  // namespace

std::vector<int> descendants_of(int root) {
  std::unordered_multimap<int, int> children;
  if (DIR* dir = ::opendir("/proc")) {
    while (const dirent* entry = ::readdir(dir)) {
      int pid = 0;
      int ppid = 0;
      if (parse_int(entry->d_name, pid) && read_ppid(pid, ppid)) {
        children.emplace(ppid, pid);
      }
    }
    ::closedir(dir);
  }
  std::vector<int> result;
  std::vector<int> pending{root};
  // The stat files are read one after another, so a pid reused during the pass could make the
  // parent links loop; each pid is visited once.
  std::unordered_set<int> seen{root};
  while (!pending.empty()) {
    const int parent = pending.back();
    pending.pop_back();
    const auto [first, last] = children.equal_range(parent);
    for (auto it = first; it != last; ++it) {
      if (seen.insert(it->second).second) {
        result.push_back(it->second);
        pending.push_back(it->second);
      }
    }
  }
  return result;
}

std::vector<int> read_pid_list(const std::string& path) {
  std::vector<int> pids;
  const std::string text = read_small_file(path, std::size_t{1} << 20);
  std::string_view rest(text);
  while (!rest.empty()) {
    const auto newline = rest.find('\n');
    int pid = 0;
    if (parse_int(rest.substr(0, newline), pid) && pid > 0) {
      pids.push_back(pid);
    }
    if (newline == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(newline + 1);
  }
  return pids;
}

std::string read_small_file(const std::string& path, std::size_t limit) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return {};
  }
  std::string content;
  char buffer[4096];
  while (content.size() < limit) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n <= 0) {
      break;
    }
    content.append(buffer, static_cast<std::size_t>(n));
  }
  return content;
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

}  // namespace ferry::platform::linux_proc
