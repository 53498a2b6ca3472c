#include "ferry/cli/run.hpp"

#include <algorithm>
#include <map>

#include "ferry/cli/commands.hpp"
#include "ferry/cli/output_follow.hpp"
#include "ferry/cli/params.hpp"
#include "ferry/cli/table.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"

namespace ferry::cli {
namespace {

constexpr std::int64_t kPageSize = 100;  // the API's largest Limit

// One task as DescribeInvocationTasks shows it.
struct TaskView {
  std::string task_id;
  std::string instance;
  std::string status;
  std::optional<std::int64_t> exit_code;
  std::string error_info;
  std::string output;  // decoded
  std::uint64_t dropped = 0;
};

TaskView view_of(const nlohmann::json& task) {
  TaskView v;
  v.task_id = json_string(task, "InvocationTaskId");
  v.instance = json_string(task, "InstanceId");
  v.status = json_string(task, "TaskStatus");
  v.error_info = json_string(task, "ErrorInfo");
  if (task.contains("TaskResult") && task["TaskResult"].is_object()) {
    const auto& result = task["TaskResult"];
    if (result.contains("ExitCode") && result["ExitCode"].is_number_integer()) {
      v.exit_code = result["ExitCode"].get<std::int64_t>();
    }
    if (auto decoded = base64_decode(json_string(result, "Output"))) {
      v.output = std::move(*decoded);
    }
    v.dropped = json_count(result, "Dropped");
  }
  return v;
}

// Failures worth polling through: no answer at all, or the server's own trouble.
bool transient(const Error& e) {
  return e.code.empty() || e.code.starts_with("InternalError") ||
         e.code.starts_with("RequestLimitExceeded");
}

// Every task of the invocation, over as many pages as it takes.
Expected<std::vector<nlohmann::json>> fetch_tasks(Api& api, const std::string& invocation_id) {
  std::vector<nlohmann::json> tasks;
  for (;;) {
    const nlohmann::json params{
        {"Filters",
         nlohmann::json::array({nlohmann::json{
             {"Name", "invocation-id"}, {"Values", nlohmann::json::array({invocation_id})}}})},
        {"HideOutput", false},
        {"Limit", kPageSize},
        {"Offset", tasks.size()}};
    auto r = api.call("DescribeInvocationTasks", params);
    if (!r) {
      return r.error();
    }
    const auto& set = (*r)["InvocationTaskSet"];
    if (!set.is_array()) {
      return Error{"", "DescribeInvocationTasks: the reply has no InvocationTaskSet"};
    }
    for (const auto& t : set) {
      tasks.push_back(t);
    }
    if (set.empty() || tasks.size() >= json_count(*r, "TotalCount")) {
      return tasks;
    }
  }
}

// One instance being followed.
struct Follow {
  explicit Follow(std::string id) : instance(std::move(id)), prefixer(instance) {}
  std::string instance;
  std::string task_id;  // the task followed on this instance, once one was seen
  std::string status;   // the last one seen
  OutputFollower follower;
  LinePrefixer prefixer;
  bool done = false;
  int exit_code = 1;
  nlohmann::json final_task;
};

// Writes tasks' output and status lines. One instance: its output raw to stdout. Several: each
// line prefixed by its instance. Status lines, gap markers and notices go to stderr.
class Printer {
 public:
  Printer(Console& console, bool several) : console_(console), several_(several) {}

  void output(Follow& f, const std::string& text) {
    if (text.empty()) {
      return;
    }
    if (several_) {
      console_.out << f.prefixer.feed(text);
    } else {
      console_.out << text;
      at_line_start_ = text.back() == '\n';
    }
    console_.out << std::flush;
  }

  void pieces(Follow& f, const std::vector<OutputPiece>& pieces) {
    for (const auto& piece : pieces) {
      switch (piece.kind) {
        case OutputPiece::Kind::kText:
          output(f, piece.text);
          break;
        case OutputPiece::Kind::kGap:
          end_partial(f);
          note(f, gap_marker(piece.bytes));
          break;
        case OutputPiece::Kind::kNotice:
          end_partial(f);
          note(f, "ferry: " + piece.text);
          break;
      }
    }
  }

  // The task's last incomplete line (several instances).
  void end_partial(Follow& f) {
    if (several_) {
      console_.out << f.prefixer.flush() << std::flush;
    }
  }

  // A status line or a message of ferry's own, on stderr.
  void line(const std::string& text) {
    break_line();
    console_.err << text << "\n" << std::flush;
  }

 private:
  void note(const Follow& f, const std::string& text) {
    break_line();
    console_.err << (several_ ? f.instance + " | " : std::string()) << text << "\n" << std::flush;
  }

  // On a shared terminal, a line for stderr must not start in the middle of an output line.
  void break_line() {
    if (!several_ && !at_line_start_ && console_.out_is_tty && console_.err_is_tty) {
      console_.err << "\n";
      at_line_start_ = true;
    }
  }

  Console& console_;
  bool several_;
  bool at_line_start_ = true;
};

}  // namespace

bool is_final_status(std::string_view status) {
  return status == "SUCCESS" || status == "FAILED" || status == "TIMEOUT" ||
         status == "TASK_TIMEOUT" || status == "START_FAILED" || status == "CANCELLED" ||
         status == "TERMINATED" || status == "DELIVER_FAILED";
}

int task_exit_code(std::string_view status, std::optional<std::int64_t> exit_code) {
  if (status == "SUCCESS") {
    return 0;
  }
  if (status == "FAILED" && exit_code && *exit_code >= 1 && *exit_code <= 255) {
    return static_cast<int>(*exit_code);
  }
  return 1;
}

std::string status_line(std::string_view instance, std::string_view status,
                        std::optional<std::int64_t> exit_code, std::string_view error_info) {
  std::string line = clean_cell(instance) + " " + clean_cell(status);
  if (exit_code && (status == "SUCCESS" || status == "FAILED")) {
    line += " exit " + std::to_string(*exit_code);
  }
  if (!error_info.empty()) {
    line += ": " + clean_cell(error_info);
  }
  return line;
}

bool uses_cloud_assistant(const RunOptions& options) {
  return options.repeat_mode || options.frequency || options.launcher || options.termination_mode ||
         options.container;
}

Expected<nlohmann::json> run_command_params(const RunOptions& options) {
  if (uses_cloud_assistant(options)) {
    return Error{codes::kInvalidParameterValue,
                 "--repeat, --frequency, --launcher, --termination-mode and --container go "
                 "through the Cloud Assistant API"};
  }
  if (options.instances.empty()) {
    return Error{codes::kMissingParameter, "no instance: give -i INSTANCE (one or more)"};
  }
  if (options.content.empty()) {
    return Error{codes::kInvalidParameterValue, "the script is empty"};
  }
  nlohmann::json p{{"Content", base64_encode(options.content)},
                   {"InstanceIds", options.instances},
                   {"CommandType", options.command_type}};
  set_if_given(p, "Username", options.username);
  set_if_given(p, "WorkingDirectory", options.working_directory);
  set_if_given(p, "Timeout", options.timeout);
  if (!options.params.empty()) {
    auto parameters = parameters_json(options.params);
    if (!parameters) {
      return parameters.error();
    }
    p["EnableParameter"] = true;
    p["Parameters"] = *parameters;
  }
  return p;
}

Expected<int> run_command(Api& api, const RunOptions& options, Console& console,
                          const RunHooks& hooks) {
  auto params = run_command_params(options);
  if (!params) {
    return params.error();
  }
  auto started = api.call("RunCommand", *params);
  if (!started) {
    return started.error();
  }
  const std::string invocation = json_string(*started, "InvocationId");
  if (invocation.empty()) {
    return Error{"", "RunCommand: the reply has no InvocationId"};
  }
  if (options.no_wait) {
    if (options.json) {
      console.out << started->dump(2) << "\n";
    } else {
      console.out << clean_cell(invocation) << "\n";
    }
    console.out << std::flush;
    return 0;
  }
  return follow_run(api, tat_started_run(api, invocation, json_string(*started, "CommandId")),
                    options, console, hooks);
}

StartedRun tat_started_run(Api& api, const std::string& invocation_id,
                           const std::string& command_id) {
  StartedRun run;
  run.invocation_id = invocation_id;
  run.command_id = command_id;
  run.stop_hint = "ferry cancel " + invocation_id;
  run.cancel = [&api, invocation_id]() -> Status {
    auto c = api.call("CancelInvocation", {{"InvocationId", invocation_id}});
    if (!c) {
      return c.error();
    }
    return {};
  };
  return run;
}

Expected<int> follow_run(Api& api, const StartedRun& run, const RunOptions& options,
                         Console& console, const RunHooks& hooks) {
  const std::string& invocation = run.invocation_id;
  std::vector<Follow> follows;
  std::map<std::string, std::size_t> by_instance;
  for (const auto& id : options.instances) {
    if (by_instance.emplace(id, follows.size()).second) {
      follows.emplace_back(id);
    }
  }
  const bool quiet = options.json;  // stdout is for the JSON alone; status lines would be noise
  Printer printer(console, follows.size() > 1);
  if (!quiet) {
    printer.line("ferry: invocation " + clean_cell(invocation));
    if (run.schedule) {
      printer.line(
          "ferry: waiting for the schedule's next run (Ctrl-C stops waiting; the schedule "
          "goes on)");
    }
  }

  int interrupts_seen = 0;
  bool cancel_sent = false;
  // Since when polling fails in a row (a plain pair: GCC 12 misreads an optional time_point).
  bool failing = false;
  std::chrono::steady_clock::time_point failing_since{};
  for (;;) {
    if (const int n = hooks.interrupts(); n > interrupts_seen) {
      interrupts_seen = n;
      for (auto& f : follows) {
        printer.end_partial(f);
      }
      if (options.cancel_on_interrupt && !cancel_sent) {
        cancel_sent = true;
        printer.line("ferry: " + std::string(run.schedule ? "stopping " : "cancelling ") +
                     invocation + " (Ctrl-C again stops waiting)");
        if (auto c = run.cancel(); !c) {
          printer.line("ferry: cancel failed: " + describe_error(c.error()));
        }
      } else {
        printer.line("ferry: stopped waiting; " + invocation + " goes on. " +
                     (run.schedule ? "Stop" : "Cancel") + " it with: " + run.stop_hint);
        return 130;
      }
    }

    auto tasks = fetch_tasks(api, invocation);
    if (!tasks) {
      const Error& e = tasks.error();
      const std::string context = "following " + invocation +
                                  " (it goes on; see `ferry tasks --invocation " + invocation +
                                  "`)";
      if (!transient(e)) {
        return e.wrap(context);
      }
      const auto now = hooks.now();
      if (!failing) {
        failing = true;
        failing_since = now;
        if (!quiet) {
          printer.line("ferry: " + describe_error(e) + "; retrying");
        }
      } else if (now - failing_since > options.retry_limit) {
        return e.wrap(context);
      }
      hooks.sleep(options.poll_interval);
      continue;
    }
    failing = false;

    for (const auto& task : *tasks) {
      const TaskView v = view_of(task);
      const auto it = by_instance.find(v.instance);
      if (it == by_instance.end()) {
        continue;
      }
      Follow& f = follows[it->second];
      if (f.done || (!f.task_id.empty() && f.task_id != v.task_id)) {
        continue;
      }
      f.task_id = v.task_id;
      const bool final = is_final_status(v.status);
      if (v.status != f.status && !final && !quiet) {
        printer.line(status_line(f.instance, v.status, std::nullopt, ""));
      }
      f.status = v.status;
      if (!final) {
        if (!quiet) {
          printer.output(f, f.follower.on_live(v.output));
        }
        continue;
      }
      f.done = true;
      f.exit_code = task_exit_code(v.status, v.exit_code);
      f.final_task = task;
      if (!quiet) {
        printer.pieces(f, f.follower.on_final(v.output, v.dropped));
        printer.end_partial(f);
        printer.line(status_line(f.instance, v.status, v.exit_code, v.error_info));
      }
    }
    if (std::all_of(follows.begin(), follows.end(), [](const Follow& f) { return f.done; })) {
      break;
    }
    hooks.sleep(options.poll_interval);
  }

  int code = 0;
  if (follows.size() == 1) {
    code = follows.front().exit_code;
  } else {
    code = std::all_of(follows.begin(), follows.end(),
                       [](const Follow& f) { return f.status == "SUCCESS"; })
               ? 0
               : 1;
  }
  if (options.json) {
    nlohmann::json set = nlohmann::json::array();
    for (const auto& f : follows) {
      set.push_back(f.final_task);
    }
    console.out << nlohmann::json{{"InvocationId", invocation},
                                  {"CommandId", run.command_id},
                                  {"InvocationTaskSet", std::move(set)}}
                       .dump(2)
                << "\n"
                << std::flush;
  }
  return code;
}

}  // namespace ferry::cli
