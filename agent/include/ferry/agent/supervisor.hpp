// The per-task supervisor: `ferry-agent supervise --task-dir DIR`, one process per task, in the
// spirit of conmon and containerd-shim. It turns task.json into a running program (script file,
// user, directory, interpreter or launcher, environment), owns its process tree, its timeout
// and its spool file, and writes the result to state.json atomically. It outlives the agent:
// the agent only starts it and reads state.json.
#pragma once

#include <chrono>
#include <filesystem>

namespace ferry::agent {

struct SupervisorOptions {
  std::filesystem::path task_dir;
  std::chrono::milliseconds kill_grace{3000};
  bool use_cgroup = true;
};

// Runs the task in options.task_dir to its end. Returns the process exit code: 0 once
// state.json holds a final result (whatever the task's own result), non-zero when even that
// could not be written.
int supervisor_main(const SupervisorOptions& options);

}  // namespace ferry::agent
