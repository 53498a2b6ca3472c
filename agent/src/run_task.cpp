#include "ferry/agent/run_task.hpp"

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/agent/supervisor.hpp"
#include "ferry/agent/task_runner.hpp"
#include "ferry/core/task.hpp"
#include "ferry/platform/fs.hpp"
#include "ferry/platform/stop_requests.hpp"
#include "ferry/platform/supervise.hpp"

namespace ferry::agent {
namespace {

constexpr std::size_t kMaxTaskFile = 1024 * 1024;

void print_error(const std::string& what, const Error& e) {
  std::fprintf(stderr, "ferry-agent: %s: %s%s%s\n", what.c_str(), e.code.c_str(),
               e.code.empty() ? "" : ": ", e.message.c_str());
}

}  // namespace

int run_task_command(const RunTaskOptions& options) {
  const std::string what = "task file " + options.task_file.string();
  auto text = platform::read_file(options.task_file, kMaxTaskFile);
  if (!text) {
    print_error(what, text.error());
    return 2;
  }
  auto task = parse_task_json(*text);
  if (!task) {
    print_error(what, task.error());
    return 2;
  }
  // The supervisor checks this again; checking here too lets a bad file exit non-zero.
  if (auto script = prepare_script(*task); !script) {
    print_error(what, script.error());
    return 2;
  }
  if (auto s = prepare_state_dir(options.state_dir); !s) {
    print_error("state directory " + options.state_dir.string(), s.error());
    return 1;
  }
  platform::remove_empty_task_containers();
  auto exe = platform::current_executable();
  if (!exe) {
    print_error("own executable", exe.error());
    return 1;
  }

  boost::asio::io_context io;
  RunnerOptions runner_options;
  runner_options.state_dir = options.state_dir;
  std::string why_not;
  runner_options.supervisor_executable = default_supervisor_executable(*exe, &why_not);
  if (!why_not.empty()) {
    std::fprintf(stderr, "ferry-agent: not using %s; running the task under the agent itself\n",
                 why_not.c_str());
  }
  runner_options.max_concurrent = 1;
  runner_options.kill_grace = options.kill_grace;
  runner_options.use_cgroup = options.use_cgroup;
  runner_options.keep_task_dirs = options.keep;
  runner_options.runtimes = options.runtimes;
  TaskRunner runner(io, runner_options);

  std::optional<TaskResult> result;
  const std::string id = task->invocation_task_id;
  platform::StopRequests stop_requests(io, [&](std::string_view) { runner.cancel(id); });
  runner.submit(std::move(*task), [&](TaskResult r) {
    result = std::move(r);
    stop_requests.close();
  });
  io.run();
  if (!result) {
    std::fprintf(stderr, "ferry-agent: task %s ended without a result\n", id.c_str());
    return 1;
  }
  std::cout << to_json(*result).dump() << std::endl;
  return 0;
}

}  // namespace ferry::agent
