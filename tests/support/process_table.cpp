#include "process_table.hpp"

#include <cstdio>
#include <filesystem>
#include <system_error>

#include "process.hpp"

namespace ferry::test {

std::vector<ProcInfo> process_table() {
  std::vector<ProcInfo> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    // The command name is in parentheses and may itself hold spaces and parentheses.
    const std::string stat = read_file(e.path() / "stat");
    const auto open = stat.find('(');
    const auto close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) {
      continue;
    }
    ProcInfo p;
    p.pid = static_cast<pid_t>(std::stol(name));
    p.comm = stat.substr(open + 1, close - open - 1);
    int pgrp = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d %d %d", &p.state, &p.ppid, &pgrp, &p.sid) !=
        4) {
      continue;
    }
    p.cmdline = read_file(e.path() / "cmdline");
    for (auto& c : p.cmdline) {
      if (c == '\0') {
        c = ' ';
      }
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace ferry::test
