// What the benchmarks read of a process from /proc: CPU time and memory.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace ferry::bench {

// Sum over the process's threads of one /proc/<pid>/task/<tid>/status field.
inline long long thread_sum(pid_t pid, const std::string& field) {
  long long total = 0;
  const auto dir = std::filesystem::path("/proc") / std::to_string(pid) / "task";
  for (const auto& t : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(t.path() / "status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with(field + ":")) {
        total += std::stoll(line.substr(field.size() + 1));
      }
    }
  }
  return total;
}

inline long long status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(field + ":")) {
      return std::stoll(line.substr(field.size() + 1));
    }
  }
  return -1;
}

// utime + stime in clock ticks.
inline long long cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  std::istringstream rest(stat.substr(close + 2));
  std::vector<std::string> f;
  std::string x;
  while (rest >> x) {
    f.push_back(x);
  }
  // Fields from state (3rd of the line): utime is the 14th, stime the 15th.
  return std::stoll(f.at(11)) + std::stoll(f.at(12));
}

}  // namespace ferry::bench
