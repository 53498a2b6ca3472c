#include "ferry/agent/supervisor.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/agent/agent_paths.hpp"
#include "ferry/agent/task_files.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/output_excerpt.hpp"
#include "ferry/core/script_command.hpp"
#include "ferry/core/task.hpp"
#include "ferry/core/time.hpp"
#include "ferry/platform/environment.hpp"
#include "ferry/platform/file_delivery.hpp"
#include "ferry/platform/fs.hpp"
#include "ferry/platform/process_identity.hpp"
#include "ferry/platform/run_command.hpp"
#include "ferry/platform/supervise.hpp"
#include "ferry/platform/users.hpp"

namespace ferry::agent {
namespace {

// What is needed to start the program, decided before anything runs.
struct ExecutionPlan {
  platform::SuperviseSpec spec;
};

// The program and arguments that run the script at `script_path`; for a program that reads its
// command line by rules of its own (cmd.exe), that command line too.
struct Invocation {
  std::vector<std::string> argv;
  std::string command_line;  // empty: argv as the OS passes it (SuperviseSpec::command_line)
};

Expected<Invocation> plan_invocation(const Task& task, const Launcher* launcher,
                                     const std::string& script_body, const std::string& script_path,
                                     const std::string& search_path) {
  if (launcher != nullptr) {
    auto argv = launcher->argv(script_path);
    auto program = platform::find_program(argv.front(), search_path);
    if (!program) {
      return Error{codes::kInvalidParameterValue,
                   "launcher program '" + argv.front() + "' not found on PATH " + search_path};
    }
    argv.front() = *program;
    return Invocation{std::move(argv), {}};
  }
  if (task.command_type == CommandType::kPowerShell) {
    auto powershell = platform::find_powershell(search_path);
    if (!powershell) {
      return powershell.error();
    }
    return Invocation{{*powershell, "-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy",
                       "Bypass", "-File", script_path},
                      {}};
  }
  if (task.command_type == CommandType::kBat) {
    auto batch = platform::batch_invocation(script_path);
    if (!batch) {
      return batch.error();
    }
    return Invocation{std::move(batch->argv), std::move(batch->command_line)};
  }
  // SHELL. Where there is no shell at all (Windows), not even a "#!" line helps.
  auto shell = platform::default_shell();
  if (!shell && shell.error().code == codes::kAgentUnsupportedCommandType) {
    return shell.error();
  }
  // The script runs through its interpreter rather than being exec'd itself, so it works on a
  // noexec mount; a "#!" line is honoured as the kernel would honour it.
  if (auto shebang = parse_shebang(script_body)) {
    auto interpreter = platform::find_program(shebang->interpreter, search_path);
    if (!interpreter) {
      return Error{codes::kInvalidParameterValue,
                   "interpreter '" + shebang->interpreter + "' of the #! line not found"};
    }
    std::vector<std::string> argv{*interpreter};
    if (shebang->argument) {
      argv.push_back(*shebang->argument);
    }
    argv.push_back(script_path);
    return Invocation{std::move(argv), {}};
  }
  if (!shell) {
    return shell.error();
  }
  return Invocation{{*shell, script_path}, {}};
}

constexpr std::chrono::seconds kContainerProbeTimeout{15};
// The stop inside a container waits kill_grace, then this long at most for the runtime.
constexpr std::chrono::seconds kContainerStopSlack{15};

// A task in a container: the script is kept on the host (0400, the supervisor's) and fed to the
// runtime's exec on stdin; Username and WorkingDirectory do not apply.
Expected<ExecutionPlan> plan_container_task(const Task& task, const std::string& script,
                                            const TaskPaths& paths,
                                            const SupervisorOptions& options) {
  // Container tasks are SHELL scripts for a Linux container: a machine that runs no SHELL
  // scripts (Windows) has no such containers to ask about.
  if (auto shell = platform::default_shell();
      !shell && shell.error().code == codes::kAgentUnsupportedCommandType) {
    return Error{codes::kAgentUnsupportedCommandType,
                 "tasks in containers run on Linux only: " + shell.error().message};
  }
  auto target = find_container(task, options.runtimes, kContainerProbeTimeout);
  if (!target) {
    return target.error();
  }
  const platform::Account self = platform::current_account();
  if (auto s =
          platform::ensure_directory(paths.script_dir, platform::DirectoryAccess::kPrivate, self);
      !s) {
    return s.error().wrap("ScriptStoreFailed");
  }
  const std::string script_path = (paths.script_dir / (task.invocation_task_id + ".sh")).string();
  if (auto s = platform::write_new_file(script_path, script, platform::FileAccess::kReadOnly, self);
      !s) {
    return s.error().wrap("ScriptStoreFailed");
  }
  ExecutionPlan plan;
  auto& spec = plan.spec;
  spec.argv = container_exec_argv(*target, task.invocation_task_id);
  spec.env = {"PATH=" + std::string(platform::kSanePath), "LC_ALL=C"};
  spec.working_directory = "/";
  spec.stdin_path = script_path;
  spec.output_path = paths.output_file.string();
  spec.output_max_bytes = options.output_max_bytes;
  spec.output_tail_bytes = kMaxOutputExcerpt / 2;
  spec.timeout = std::chrono::seconds(task.timeout_seconds);
  spec.kill_grace = options.kill_grace;
  spec.kill_process_tree = task.termination_mode == TerminationMode::kProcessTree;
  spec.contain_tree = options.use_cgroup;
  spec.container_name = task.invocation_task_id;
  const auto grace = options.kill_grace;
  spec.stop_inside = [target = *target, id = task.invocation_task_id, grace](bool whole_tree) {
    const auto stop = container_stop_argv(target, id, whole_tree, grace);
    auto r = platform::run_command(
        stop, {"PATH=" + std::string(platform::kSanePath), "LC_ALL=C"},
        grace + std::chrono::duration_cast<std::chrono::milliseconds>(kContainerStopSlack));
    if (!r || r->exit_code != 0) {
      std::fprintf(
          stderr, "ferry-agent supervise: stopping the task inside its container: %s\n",
          r ? (r->timed_out ? "the runtime did not answer in time" : "the runtime's exec failed")
            : r.error().message.c_str());
    }
  };
  return plan;
}

// Decodes the task, resolves its user and writes its script: everything that can fail before
// the program starts, each failure a START_FAILED with a code.
Expected<ExecutionPlan> plan_task(const Task& task, const TaskPaths& paths,
                                  const SupervisorOptions& options) {
  auto script = prepare_script(task);
  if (!script) {
    return script.error();
  }
  if (task.in_container()) {
    return plan_container_task(task, *script, paths, options);
  }
  const std::string username =
      task.username.empty() ? platform::default_task_username() : task.username;
  auto user = platform::lookup_user(username);
  if (!user) {
    return user.error();
  }
  const platform::Account self = platform::current_account();
  if (!platform::can_switch_user() && !user->account.same_user(self)) {
    return Error{codes::kInvalidUsername, "the agent runs as " + self.describe() +
                                              " without the privilege to run tasks as user '" +
                                              username + "'"};
  }

  std::optional<Launcher> launcher;
  if (!task.launcher.empty()) {
    auto parsed = parse_launcher(task.launcher);
    if (!parsed) {
      return parsed.error().wrap("Launcher");
    }
    launcher = std::move(*parsed);
  }
  std::string extension(script_extension(task.command_type));
  if (launcher && !launcher->extension.empty()) {
    extension = launcher->extension;
  }

  ExecutionPlan plan;
  auto& spec = plan.spec;
  spec.env = platform::task_environment(*user);
  std::string search_path(platform::kSanePath);
  for (const auto& kv : spec.env) {
    if (kv.starts_with("PATH=")) {
      search_path = kv.substr(5);
    }
  }

  if (auto s = platform::ensure_directory(paths.script_dir, platform::DirectoryAccess::kPrivate,
                                          user->account);
      !s) {
    return s.error().wrap("ScriptStoreFailed");
  }
  if (!launcher && task.command_type == CommandType::kPowerShell) {
    script->insert(0, platform::powershell_prologue());  // UTF-8 output on Windows
  }
  const std::string script_path =
      (paths.script_dir / (task.invocation_task_id + extension)).string();
  if (auto s = platform::write_new_file(script_path, *script, platform::FileAccess::kReadOnly,
                                        user->account);
      !s) {
    return s.error().wrap("ScriptStoreFailed");
  }

  auto invocation =
      plan_invocation(task, launcher ? &*launcher : nullptr, *script, script_path, search_path);
  if (!invocation) {
    return invocation.error();
  }
  spec.argv = std::move(invocation->argv);
  spec.command_line = std::move(invocation->command_line);
  if (task.working_directory.empty()) {
    auto dir = platform::default_working_directory(*user, paths.dir.parent_path().parent_path());
    if (!dir) {
      return dir.error().wrap("WorkingDirectory");
    }
    spec.working_directory = std::move(*dir);
  } else {
    spec.working_directory = task.working_directory;
  }
  spec.script_path = script_path;
  // Root runs tasks as root through the switch too: the task gets root's own groups, not the
  // agent's.
  if (!user->account.same_user(self) || user->account.is_superuser()) {
    spec.run_as = *user;
  }
  spec.output_path = paths.output_file.string();
  spec.output_max_bytes = options.output_max_bytes;
  spec.output_tail_bytes = kMaxOutputExcerpt / 2;
  spec.timeout = std::chrono::seconds(task.timeout_seconds);
  spec.kill_grace = options.kill_grace;
  spec.kill_process_tree = task.termination_mode == TerminationMode::kProcessTree;
  spec.contain_tree = options.use_cgroup;
  spec.container_name = task.invocation_task_id;
  return plan;
}

TaskResult to_result(const Task& task, const platform::SuperviseOutcome& outcome,
                     const TaskPaths& paths) {
  using Kind = platform::SuperviseOutcome::Kind;
  TaskResult r;
  r.invocation_task_id = task.invocation_task_id;
  switch (outcome.kind) {
    case Kind::kExited:
      r.status = outcome.exit_code == 0 ? TaskStatus::kSuccess : TaskStatus::kFailed;
      r.exit_code = outcome.exit_code;
      break;
    case Kind::kSignaled:
      r.status = TaskStatus::kFailed;
      r.exit_code = outcome.exit_code;
      r.error_info = platform::describe_abnormal_exit(outcome.exit_code);
      break;
    case Kind::kTimedOut:
      r.status = TaskStatus::kTimeout;
      r.error_info = "the task exceeded its timeout of " + std::to_string(task.timeout_seconds) +
                     " s and was terminated";
      break;
    case Kind::kCancelled:
      r.status = TaskStatus::kTerminated;
      r.error_info = "the task was cancelled";
      break;
    case Kind::kStartFailed:
      r.status = TaskStatus::kStartFailed;
      r.error_info = error_text(Error{outcome.error_code, outcome.error});
      break;
  }
  // Problems that did not stop the task (a full disk for the spool, a tree that would not die)
  // are still worth telling.
  if (outcome.kind != Kind::kStartFailed && !outcome.error.empty()) {
    r.error_info += (r.error_info.empty() ? "" : "; ") + outcome.error;
  }
  if (outcome.kind != Kind::kStartFailed && task.in_container() &&
      (!task.username.empty() || !task.working_directory.empty())) {
    r.error_info += std::string(r.error_info.empty() ? "" : "; ") +
                    "Username and WorkingDirectory do not apply in a container: it ran as the "
                    "container's default user in its default directory";
  }
  if (outcome.kind != Kind::kStartFailed) {
    r.exec_start_time = to_rfc3339(outcome.start_time);
    r.exec_end_time = to_rfc3339(outcome.end_time);
  }
  r.output_size = outcome.output_bytes;
  // An unreadable spool gives no bytes; one too large for the excerpt counts as dropped.
  const std::uint64_t size = outcome.output_bytes;
  auto excerpt =
      read_spool_excerpt(paths.output_file, outcome.spooled_bytes, size, outcome.output_tail)
          .value_or(OutputExcerpt{{}, size > kMaxOutputExcerpt ? size : 0});
  if (outcome.spooled_bytes < size && outcome.kind != Kind::kStartFailed) {
    r.error_info += std::string(r.error_info.empty() ? "" : "; ") + "the output (" +
                    std::to_string(size) +
                    " bytes) was over the agent's task_output_max_bytes: only its first " +
                    std::to_string(outcome.spooled_bytes) + " bytes were kept for upload";
  }
  r.output = std::move(excerpt.bytes);
  r.dropped = excerpt.dropped;
  return r;
}

Status write_final(const TaskPaths& paths, const TaskResult& result) {
  return write_final_state(paths, result, [](const Error& e) {
    std::fprintf(stderr, "ferry-agent supervise: %s; writing the result in place\n",
                 e.message.c_str());
  });
}

TaskResult start_failed(const std::string& task_id, const Error& error) {
  return unrun_result(task_id, TaskStatus::kStartFailed, error_text(error));
}

}  // namespace

TaskResult run_file_task(const Task& task) {
  const auto start = std::chrono::system_clock::now();
  TaskResult r;
  r.invocation_task_id = task.invocation_task_id;
  const auto finish = [&](TaskStatus status, int64_t exit_code, std::string error_info) {
    r.status = status;
    r.exit_code = exit_code;
    r.error_info = std::move(error_info);
    r.exec_start_time = to_rfc3339(start);
    r.exec_end_time = to_rfc3339(std::chrono::system_clock::now());
    return r;
  };
  auto bytes = file_content(task);
  if (!bytes) {
    return finish(TaskStatus::kFailed, -1, error_text(bytes.error()));
  }
  const TaskFile& f = *task.file;
  platform::FileDelivery d;
  d.target_dir = f.target_dir;
  d.name = f.name;
  d.mode = parse_file_mode(f.mode).value_or(0644);
  d.owner = f.owner;
  d.group = f.group;
  d.overwrite = f.overwrite;
  d.timeout = std::chrono::seconds(task.timeout_seconds);
  if (auto s = platform::deliver_file(d, *bytes); !s) {
    const bool timed_out = s.error().code == platform::file_delivery_codes::kTimeout;
    return finish(timed_out ? TaskStatus::kTimeout : TaskStatus::kFailed, -1,
                  error_text(s.error()));
  }
  return finish(TaskStatus::kSuccess, 0, "");
}

int supervisor_main(const SupervisorOptions& options) {
  const std::string task_id = options.task_dir.filename().string();
  const TaskPaths paths = task_paths(options.task_dir.parent_path().parent_path(), task_id);

  Expected<Task> task = read_task_file(paths);
  if (!task) {
    auto s = write_final(paths, start_failed(task_id, task.error().wrap("task.json")));
    std::fprintf(stderr, "ferry-agent supervise: %s\n", error_text(task.error()).c_str());
    return s ? 0 : 1;
  }

  if (task->file) {
    // No program runs: the supervisor writes the file itself and reports how that went.
    auto s = write_final(paths, run_file_task(*task));
    return s ? 0 : 1;
  }

  auto plan = plan_task(*task, paths, options);
  if (!plan) {
    auto s = write_final(paths, start_failed(task_id, plan.error()));
    return s ? 0 : 1;
  }

  const std::string boot_id = platform::boot_id();
  plan->spec.on_started = [&](int pid) {
    const RunningState state{pid, boot_id, to_rfc3339(std::chrono::system_clock::now())};
    if (auto s = write_running_state(paths, state); !s) {
      std::fprintf(stderr, "ferry-agent supervise: %s\n", s.error().message.c_str());
    }
  };
  const auto outcome = platform::run_supervised(plan->spec);
  auto result = to_result(*task, outcome, paths);
  if (auto s = write_final(paths, result); !s) {
    std::fprintf(stderr, "ferry-agent supervise: %s\n", s.error().message.c_str());
    return 1;
  }
  return 0;
}

std::optional<SupervisorOptions> parse_supervisor_arguments(int argc, const char* const* argv,
                                                            int first) {
  SupervisorOptions options;
  bool have_dir = false;
  for (int i = first; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--no-cgroup") {
      options.use_cgroup = false;
    } else if (arg == "--runtime" && i + 1 < argc) {
      const std::string_view kv = argv[++i];
      const auto eq = kv.find('=');
      if (eq == std::string_view::npos ||
          !set_runtime_value(options.runtimes, kv.substr(0, eq), std::string(kv.substr(eq + 1)))) {
        return std::nullopt;
      }
    } else if (arg == "--task-dir" && i + 1 < argc && argv[i + 1][0] != '\0') {
      options.task_dir = argv[++i];
      have_dir = true;
    } else if (arg == "--kill-grace-ms" && i + 1 < argc) {
      const std::string_view value = argv[++i];
      long long ms = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
      if (ec != std::errc() || end != value.data() + value.size() || ms < 0 || ms > 300000) {
        return std::nullopt;
      }
      options.kill_grace = std::chrono::milliseconds(ms);
    } else if (arg == "--output-max-bytes" && i + 1 < argc) {
      const std::string_view value = argv[++i];
      const auto [end, ec] =
          std::from_chars(value.data(), value.data() + value.size(), options.output_max_bytes);
      if (ec != std::errc() || end != value.data() + value.size()) {
        return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
  }
  if (!have_dir) {
    return std::nullopt;
  }
  return options;
}

std::filesystem::path default_supervisor_executable(const std::filesystem::path& agent_binary,
                                                    std::string* why_not) {
  using platform::FollowLinks;
  // With the agent's own extension: ferry-supervise.exe beside ferry-agent.exe on Windows.
  auto sibling = agent_binary.parent_path() / "ferry-supervise";
  sibling += agent_binary.extension();
  const auto facts = platform::inspect_file(sibling, FollowLinks::kYes);
  if (!facts) {
    return agent_binary;  // not installed: the agent's own supervise mode
  }
  // Run as root for every task: only a file as trusted as the agent's own binary will do.
  std::string problem;
  if (!facts->regular_file || !facts->executable) {
    problem = "not an executable file";
  } else if (const auto agent = platform::inspect_file(agent_binary, FollowLinks::kYes);
             !agent || !facts->owner.same_user(agent->owner)) {
    problem = "not owned by the agent binary's owner";
  } else if (facts->writable_by_others) {
    problem = "writable by group or others";
  }
  if (!problem.empty()) {
    if (why_not != nullptr) {
      *why_not = sibling.string() + ": " + problem;
    }
    return agent_binary;
  }
  return sibling;
}

}  // namespace ferry::agent
