#include "ferry/agent/agent_paths.hpp"

#include "ferry/platform/environment.hpp"
#include "ferry/platform/fs.hpp"

namespace ferry::agent {

std::filesystem::path default_state_dir() {
  return platform::default_agent_state_dir();
}

TaskPaths task_paths(const std::filesystem::path& state_dir, std::string_view task_id) {
  TaskPaths p;
  p.dir = state_dir / "tasks" / std::string(task_id);
  p.task_file = p.dir / "task.json";
  p.state_file = p.dir / "state.json";
  p.output_file = p.dir / "output.log";
  p.supervisor_log = p.dir / "supervisor.log";
  p.script_dir = p.dir / "script";
  return p;
}

Status prepare_state_dir(const std::filesystem::path& state_dir) {
  using platform::DirectoryAccess;
  if (auto s = platform::ensure_directories(state_dir, DirectoryAccess::kTraversable); !s) {
    return s.error().wrap("state directory");
  }
  if (auto s = platform::ensure_directory(state_dir / "tasks", DirectoryAccess::kTraversable); !s) {
    return s.error().wrap("state directory");
  }
  return {};
}

}  // namespace ferry::agent
