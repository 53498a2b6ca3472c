// `ferry-agent run-task --task FILE`: one task through the daemon's code path, its result as
// one JSON object on stdout.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "ferry/agent/container.hpp"

namespace ferry::agent {

struct RunTaskOptions {
  std::filesystem::path task_file;
  std::filesystem::path state_dir;
  std::chrono::milliseconds kill_grace{3000};
  bool use_cgroup = true;
  bool keep = false;
  ContainerRuntimes runtimes;  // for a task in a container
};

// Exit code: 0 when the task ran (whatever its result), 2 when the task file is invalid, 1 on
// any other failure. Ctrl-C (SIGINT) or SIGTERM cancels the task: TERMINATED.
int run_task_command(const RunTaskOptions& options);

}  // namespace ferry::agent
