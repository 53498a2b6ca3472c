// The processes of this machine as /proc shows them, for tests that check what a task left
// running.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace ferry::test {

struct ProcInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t sid = 0;
  char state = '?';  // 'Z' for a zombie
  std::string comm;
  std::string cmdline;  // the arguments joined by spaces
};

// Every process that could be read; one that ends during the walk is left out.
std::vector<ProcInfo> process_table();

}  // namespace ferry::test
