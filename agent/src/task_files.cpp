#include "ferry/agent/task_files.hpp"

#include <nlohmann/json.hpp>
#include <system_error>

#include "ferry/platform/fs.hpp"
#include "ferry/platform/process_identity.hpp"

namespace ferry::agent {
namespace {

constexpr std::size_t kMaxTaskFile = 1024 * 1024;
constexpr std::size_t kMaxStateFile = 256 * 1024;
// Enough for any final state: a 24 KiB excerpt in base64 plus the other fields, rounded up.
constexpr std::uint64_t kStateReserve = 64 * 1024;

std::string string_field(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Status write_task_file(const TaskPaths& paths, const Task& task) {
  return platform::write_new_file(paths.task_file, to_json(task).dump(),
                                  platform::FileAccess::kPrivate);
}

Expected<Task> read_task_file(const TaskPaths& paths) {
  auto text = platform::read_file(paths.task_file, kMaxTaskFile);
  if (!text) {
    return text.error();
  }
  return parse_task_json(*text);
}

Status write_running_state(const TaskPaths& paths, const RunningState& state) {
  const nlohmann::json j{{"Phase", "running"},
                         {"SupervisorPid", platform::current_process_id()},
                         {"MainPid", state.main_pid},
                         {"BootId", state.boot_id},
                         {"ExecStartTime", state.exec_start_time}};
  // Not synced: after a crash the boot id tells anyway that the task was interrupted, and a
  // sync here would hold the output pipe for milliseconds while the task runs.
  if (auto s =
          platform::write_file_atomic(paths.state_file, j.dump(), platform::FileAccess::kPrivate,
                                      platform::Durability::kAtomicOnly);
      !s) {
    return s;
  }
  return platform::reserve_space(paths.state_file, kStateReserve);
}

Status write_final_state(const TaskPaths& paths, const TaskResult& result,
                         const std::function<void(const Error&)>& on_in_place) {
  const nlohmann::json j{{"Phase", "finished"},
                         {"SupervisorPid", platform::current_process_id()},
                         {"BootId", platform::boot_id()},
                         {"Result", to_json(result)}};
  const std::string text = j.dump();
  auto s = platform::write_file_atomic(paths.state_file, text, platform::FileAccess::kPrivate,
                                       platform::Durability::kSynced);
  if (!s && std::filesystem::exists(paths.state_file)) {
    // A full disk has no room for the temp file: the running state's reserved blocks take the
    // result, so a task that ran is not reported as lost.
    if (on_in_place) {
      on_in_place(s.error());
    }
    return platform::overwrite_in_place(paths.state_file, text);
  }
  return s;
}

std::optional<SupervisorState> read_supervisor_state(const TaskPaths& paths) {
  auto text = platform::read_file(paths.state_file, kMaxStateFile);
  if (!text) {
    return std::nullopt;
  }
  const auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) {
    return std::nullopt;
  }
  SupervisorState state;
  state.finished = string_field(j, "Phase") == "finished";
  state.boot_id = string_field(j, "BootId");
  if (const auto it = j.find("Result"); state.finished && it != j.end()) {
    if (auto result = parse_task_result(*it)) {
      state.result = std::move(*result);
    }
  }
  return state;
}

std::optional<TaskResult> read_final_result(const TaskPaths& paths) {
  auto state = read_supervisor_state(paths);
  return state ? std::move(state->result) : std::nullopt;
}

Expected<std::string> read_spool(const TaskPaths& paths, std::uint64_t offset, std::size_t length) {
  return platform::read_file_range(paths.output_file, offset, length);
}

std::optional<OutputExcerpt> read_spool_excerpt(const std::filesystem::path& spool,
                                                std::uint64_t size) {
  if (size <= kMaxOutputExcerpt) {
    auto all = platform::read_file_range(spool, 0, kMaxOutputExcerpt);
    if (!all) {
      return std::nullopt;
    }
    return make_output_excerpt(*all, *all, all->size());
  }
  const std::size_t half = kMaxOutputExcerpt / 2;
  auto head = platform::read_file_range(spool, 0, half);
  auto tail = platform::read_file_range(spool, size - half, half);
  if (!head || !tail) {
    return std::nullopt;
  }
  return make_output_excerpt(*head, *tail, size);
}

std::optional<OutputExcerpt> read_spool_excerpt(const std::filesystem::path& spool,
                                                std::uint64_t spooled, std::uint64_t total,
                                                std::string_view past_spool) {
  if (spooled >= total) {
    return read_spool_excerpt(spool, spooled);
  }
  const std::size_t half = kMaxOutputExcerpt / 2;
  auto head = platform::read_file_range(spool, 0, half);
  // The tail: the spool's last bytes when what came past it is shorter than half.
  const std::size_t from_spool =
      past_spool.size() >= half ? 0 : std::min<std::uint64_t>(spooled, half - past_spool.size());
  auto tail = platform::read_file_range(spool, spooled - from_spool, from_spool);
  if (!head || !tail) {
    return std::nullopt;
  }
  tail->append(past_spool);
  return make_output_excerpt(*head, *tail, total);
}

std::string error_text(const Error& error) {
  return error.code.empty() ? error.message : error.code + ": " + error.message;
}

TaskResult unrun_result(const std::string& task_id, TaskStatus status, std::string why,
                        std::string end_time) {
  TaskResult r;
  r.invocation_task_id = task_id;
  r.status = status;
  r.error_info = std::move(why);
  r.exec_end_time = std::move(end_time);
  return r;
}

TaskResult interrupted_result(const std::string& task_id, const TaskPaths& paths,
                              std::string start_time, std::string why, std::string end_time) {
  TaskResult r = unrun_result(task_id, TaskStatus::kFailed, std::move(why), std::move(end_time));
  r.exec_start_time = std::move(start_time);
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(paths.output_file, ec);
  if (ec) {
    return r;
  }
  if (auto excerpt = read_spool_excerpt(paths.output_file, size)) {
    r.output_size = excerpt->bytes.size() + excerpt->dropped;
    r.output = std::move(excerpt->bytes);
    r.dropped = excerpt->dropped;
  }
  return r;
}

TaskResult result_after_exit(const std::string& task_id, const TaskPaths& paths, int exit_code) {
  if (auto result = read_final_result(paths)) {
    return std::move(*result);
  }
  return unrun_result(task_id, TaskStatus::kFailed,
                      "the task's supervisor exited with status " + std::to_string(exit_code) +
                          " without a result (see " + paths.supervisor_log.string() + ")");
}

}  // namespace ferry::agent
