// What the agent's unit tests share: a state directory with its own boot id, and task results.
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/task.hpp"
#include "ferry/platform/process_identity.hpp"
#include "test_process.hpp"

namespace ferry::test {

// A prepared state directory; the boot id this process and its children see is "boot-now".
class StateDir {
 public:
  StateDir() {
    REQUIRE(agent::prepare_state_dir(dir_.path()));
    std::ofstream(dir_ / "boot_id") << "boot-now\n";
    ::setenv(platform::kBootIdFileVariable, (dir_ / "boot_id").c_str(), 1);
  }
  ~StateDir() { ::unsetenv(platform::kBootIdFileVariable); }
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return dir_.path(); }
  // The task's paths, its directory made.
  [[nodiscard]] agent::TaskPaths task(const std::string& id) const {
    auto p = agent::task_paths(dir_.path(), id);
    std::filesystem::create_directories(p.dir);
    return p;
  }

 private:
  TempDir dir_{"ferry-agent-state"};
};

inline TaskResult result_of(const std::string& id, TaskStatus status, int exit_code,
                            const std::string& output) {
  TaskResult r;
  r.invocation_task_id = id;
  r.status = status;
  r.exit_code = exit_code;
  r.output = output;
  r.output_size = output.size();
  r.exec_start_time = "2026-12-04T17:00:00Z";
  r.exec_end_time = "2026-12-04T17:00:05Z";
  return r;
}

// state.json as a supervisor leaves it at the end.
inline void write_final_state(const agent::TaskPaths& p, const TaskResult& r) {
  std::ofstream(p.state_file) << nlohmann::json{
      {"Phase", "finished"},
      {"Result", to_json(r)}}.dump();
}

inline std::string decoded(const nlohmann::json& b64) {
  auto d = base64_decode(b64.get<std::string>());
  return d ? *d : std::string("<not base64>");
}

// A task as DescribeTasks lists it.
inline nlohmann::json listed_task(const std::string& id, const std::string& script = "echo hi") {
  Task t;
  t.invocation_task_id = id;
  t.content = base64_encode(script);
  return to_json(t);
}

}  // namespace ferry::test
