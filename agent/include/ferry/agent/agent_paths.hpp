// Where the agent keeps its state. The layout (docs/architecture.md):
//   <state>/                 0711 root  traversable, not listable, by other users
//   <state>/tasks/           0711 root
//   <state>/tasks/<id>/      0711 root  one directory per task
//     task.json              0600 root  the task as received
//     state.json             0600 root  written atomically by the supervisor
//     output.log             0600 root  the spool: stdout+stderr, whole
//     supervisor.log         0600 root  the supervisor's own diagnostics
//     script/                0700 run-as user
//       <id>.sh              0400 run-as user
// The run-as user can reach its own script directory (its parents are 0711, so no one can list
// them) and nothing else: every other file is root's and 0600.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"

namespace ferry::agent {

// The state dir when none is configured: /var/lib/ferry; on Windows %ProgramData%\Ferry\agent
// (platform::default_agent_state_dir).
std::filesystem::path default_state_dir();

struct TaskPaths {
  std::filesystem::path dir;
  std::filesystem::path task_file;
  std::filesystem::path state_file;
  std::filesystem::path output_file;
  std::filesystem::path supervisor_log;
  std::filesystem::path script_dir;
};

// The paths of one task; `task_id` must already be validated (parse_task does).
TaskPaths task_paths(const std::filesystem::path& state_dir, std::string_view task_id);

// Creates the state dir and its tasks/ directory with the modes above.
Status prepare_state_dir(const std::filesystem::path& state_dir);

}  // namespace ferry::agent
