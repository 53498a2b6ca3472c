// The per-task supervisor: `ferry-supervise supervise --task-dir DIR` (or the same mode of
// ferry-agent), one process per task, in the spirit of conmon and containerd-shim. It turns
// task.json into a running program (script file, user, directory, interpreter or launcher,
// environment), owns its process tree, its timeout and its spool file, and writes the result to
// state.json atomically. It outlives the agent: the agent only starts it and reads state.json.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "ferry/agent/container.hpp"
#include "ferry/core/task.hpp"

namespace ferry::agent {

// task_output_max_bytes by default: the most of one task's output the agent keeps on disk.
inline constexpr std::uint64_t kDefaultTaskOutputMaxBytes = std::uint64_t{256} << 20;

struct SupervisorOptions {
  std::filesystem::path task_dir;
  std::chrono::milliseconds kill_grace{3000};
  // The task's output spool keeps this many bytes at most (task_output_max_bytes; 0: no cap).
  std::uint64_t output_max_bytes = kDefaultTaskOutputMaxBytes;
  bool use_cgroup = true;
  ContainerRuntimes runtimes;  // for tasks in a container
};

// Runs the task in options.task_dir to its end. Returns the process exit code: 0 once
// state.json holds a final result (whatever the task's own result), non-zero when even that
// could not be written.
int supervisor_main(const SupervisorOptions& options);

// A File task (task.file set): writes the file through platform::deliver_file within the task's
// timeout. SUCCESS with exit code 0 and no output; FAILED (or TIMEOUT) with exit code -1 and
// ErrorInfo "<code>: <why>" (FileAlreadyExists, AccountNotExists, FileDeliveryFailed, ...).
TaskResult run_file_task(const Task& task);

// The supervisor's arguments as the agent writes them, from argv[first] on:
// `--task-dir DIR [--kill-grace-ms N] [--no-cgroup] [--runtime KEY=VALUE]...` (N from 0 to
// 300000; KEY a field of ContainerRuntimes, container.hpp). nullopt for anything
// else, including a missing or empty --task-dir.
std::optional<SupervisorOptions> parse_supervisor_arguments(int argc, const char* const* argv,
                                                            int first);

// The program the agent starts for each task: `ferry-supervise` beside the agent's binary, with
// its extension (ferry-supervise.exe on Windows), when that is an executable file with the agent
// binary's owner and not writable by group or others, else the agent's binary itself (its
// `supervise` mode runs the same code; it only starts slower). Either is started with the same
// arguments, `supervise --task-dir DIR ...`. When a ferry-supervise is there but refused, why_not
// (if given) says why.
std::filesystem::path default_supervisor_executable(const std::filesystem::path& agent_binary,
                                                    std::string* why_not = nullptr);

}  // namespace ferry::agent
