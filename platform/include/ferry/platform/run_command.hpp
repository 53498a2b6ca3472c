// Running a short helper program to its end and reading what it prints: the container runtime
// CLIs the supervisor asks about a container and uses to stop a task inside it.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "ferry/core/error.hpp"

namespace ferry::platform {

struct CommandOutcome {
  int exit_code = -1;      // its exit status; 128 + signal when killed; -1 when timed out
  bool timed_out = false;  // killed (SIGKILL) at the deadline
  std::string out;         // stdout, at most max_out bytes; stderr is discarded
};

// Runs argv (argv[0] an absolute path) with exactly `env`, stdin the null device, to its end or
// for at most `timeout`. Errors: InternalError when it could not be started.
Expected<CommandOutcome> run_command(const std::vector<std::string>& argv,
                                     const std::vector<std::string>& env,
                                     std::chrono::milliseconds timeout,
                                     std::size_t max_out = 64 * 1024);

}  // namespace ferry::platform
