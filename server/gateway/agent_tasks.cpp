// DescribeTasks and the task reports (ReportTaskStart, UploadTaskLog, ReportTaskFinish): every
// status move goes through task_state inside the store's transaction, so a repeated or late
// report changes nothing.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>
#include <vector>

#include "agent_fields.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/task.hpp"
#include "ferry/server/domain/text.hpp"
#include "ferry/server/domain/value_rules.hpp"
#include "ferry/server/gateway/agent_gateway.hpp"
#include "ferry/server/task_state.hpp"

namespace ferry::server {
namespace {

constexpr std::size_t kMaxErrorInfo = 1024;
constexpr std::size_t kMaxOutputUrl = 2048;
constexpr int64_t kMaxLogIndex = 1'000'000;
// Candidates read per store query; an instance rarely has more unfinished tasks than this.
constexpr int64_t kTaskPage = 500;

std::map<std::string, std::string> parameter_map(const std::string& text) {
  std::map<std::string, std::string> out;
  if (text.empty()) {
    return out;
  }
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) {
    return out;
  }
  for (const auto& [name, value] : j.items()) {
    if (value.is_string()) {
      out.emplace(name, value.get<std::string>());
    }
  }
  return out;
}

}  // namespace

nlohmann::json AgentGateway::task_to_wire(const InvocationTask& t,
                                          const RegisterInstance& agent) const {
  Task task;
  task.invocation_task_id = t.invocation_task_id;
  task.invocation_id = t.invocation_id;
  task.command_id = t.command_id;
  task.content = t.document.content;
  task.command_type = parse_command_type(t.document.command_type).value_or(CommandType::kShell);
  task.working_directory = t.document.working_directory;
  task.username = t.document.username;
  task.timeout_seconds = std::clamp(t.document.timeout, kMinTimeoutSeconds, kMaxTimeoutSeconds);
  task.enable_parameter = t.enable_parameter;
  task.parameters = parameter_map(t.parameters);
  const ExecutionSettings& e = t.document.execution;
  task.launcher = e.launcher;
  task.termination_mode =
      parse_termination_mode(e.termination_mode).value_or(TerminationMode::kProcessTree);
  task.container_id = e.container_id;
  task.container_name = e.container_name;
  task.builtins.region_id = ctx_.settings.regions.empty() ? "" : ctx_.settings.regions[0].region;
  task.builtins.account_id = ctx_.settings.account_id;
  task.builtins.instance_id = agent.instance_id;
  task.builtins.instance_name = agent.instance_name;
  if (!t.document.file.name.empty()) {
    task.file = t.document.file;
  }
  nlohmann::json j = to_json(task);
  j["OutputCOSBucketUrl"] = t.document.output_cos_bucket_url;
  j["OutputCOSKeyPrefix"] = t.document.output_cos_key_prefix;
  return j;
}

AgentGateway::Reply AgentGateway::describe_tasks(const RegisterInstance& agent, Params& p) {
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  TaskQuery q;
  q.instance_ids = {agent.instance_id};
  q.statuses = {TaskStatus::kPending, TaskStatus::kDeliverDelayed, TaskStatus::kDelivering,
                TaskStatus::kCancelling};
  q.with_output = false;
  q.limit = kTaskPage;
  auto listed = list_all_tasks(ctx_.store, q);
  if (!listed) {
    return listed.error();
  }
  std::vector<InvocationTask>& tasks = *listed;
  // Oldest first, so that a backlog drains in the order it was made.
  std::sort(tasks.begin(), tasks.end(), [](const InvocationTask& a, const InvocationTask& b) {
    return std::tie(a.created_ms, a.invocation_task_id) <
           std::tie(b.created_ms, b.invocation_task_id);
  });

  const int64_t now = ctx_.clock.now_ms();
  nlohmann::json normal = nlohmann::json::array();
  nlohmann::json cancels = nlohmann::json::array();
  bool has_more = false;
  for (const auto& t : tasks) {
    if (t.status == TaskStatus::kCancelling) {
      cancels.push_back({{"InvocationTaskId", t.invocation_task_id}});
      continue;
    }
    if (normal.size() >= options_.max_tasks_per_reply) {
      has_more = true;
      continue;
    }
    if (t.status == TaskStatus::kDelivering) {
      // Sent again until the agent reports a start: a lost reply must not lose the task.
      normal.push_back(task_to_wire(t, agent));
      continue;
    }
    auto updated = ctx_.store.modify_task(t.invocation_task_id, [&](InvocationTask& cur) {
      if (cur.instance_id != agent.instance_id ||
          !can_transition(cur.status, TaskStatus::kDelivering)) {
        return false;
      }
      cur.status = TaskStatus::kDelivering;
      cur.delivered_ms = now;
      cur.updated_ms = now;
      return true;
    });
    if (!updated) {
      return updated.error();
    }
    if (*updated && (*updated)->status == TaskStatus::kDelivering) {
      spdlog::info("agent: task {} delivered to {}", t.invocation_task_id, agent.instance_id);
      normal.push_back(task_to_wire(**updated, agent));
    } else if (*updated && (*updated)->status == TaskStatus::kCancelling) {
      cancels.push_back({{"InvocationTaskId", t.invocation_task_id}});
    }
  }
  return nlohmann::json{{"InvocationNormalTaskSet", std::move(normal)},
                        {"InvocationCancelTaskSet", std::move(cancels)},
                        {"HasMore", has_more}};
}

Expected<InvocationTask> AgentGateway::owned_task(const RegisterInstance& agent,
                                                  const std::string& task_id) {
  if (!is_token(task_id, 1, kMaxIdLength)) {
    return domain::invalid_value("InvocationTaskId", "must be 1 to 64 characters of [A-Za-z0-9_-]");
  }
  auto task = ctx_.store.get_task(task_id);
  if (!task) {
    return task.error();
  }
  if (!*task) {
    return Error{codes::kInvocationTaskNotFound, "task " + task_id + " does not exist"};
  }
  if ((*task)->instance_id != agent.instance_id) {
    return Error{agent_codes::kUnauthorizedOperation,
                 "task " + task_id + " belongs to another instance"};
  }
  return std::move(**task);
}

Expected<AgentGateway::Report> AgentGateway::apply_report(
    const RegisterInstance& agent, const std::string& task_id, int64_t now_ms,
    const std::function<bool(InvocationTask&)>& mutate) {
  if (auto owned = owned_task(agent, task_id); !owned) {
    return owned.error();
  }
  bool changed = false;
  auto updated = ctx_.store.modify_task(task_id, [&](InvocationTask& t) {
    changed = mutate(t);
    if (changed) {
      // The agent reports on it, so the agent has it, whatever the server had noted.
      if (t.delivered_ms == 0) {
        t.delivered_ms = now_ms;
      }
      t.updated_ms = now_ms;
    }
    return changed;
  });
  if (!updated) {
    return updated.error();
  }
  if (!*updated) {
    return Error{codes::kInvocationTaskNotFound, "task " + task_id + " does not exist"};
  }
  return Report{std::move(**updated), changed};
}

AgentGateway::Reply AgentGateway::report_task_start(const RegisterInstance& agent, Params& p) {
  const std::string task_id = p.req_string("InvocationTaskId");
  const auto timestamp = p.opt_string("TimeStamp");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto started_ms = parse_time_field("TimeStamp", timestamp);
  if (!started_ms) {
    return started_ms.error();
  }
  const int64_t now = ctx_.clock.now_ms();
  auto report = apply_report(agent, task_id, now, [&](InvocationTask& t) {
    if (!advance_task(t, TaskStatus::kRunning)) {
      return false;  // already running, being cancelled, or final: a repeat or a late report
    }
    t.start_ms = now;
    if (*started_ms != 0) {
      t.exec_start_ms = *started_ms;
    }
    return true;
  });
  if (!report) {
    return report.error();
  }
  if (report->changed) {
    spdlog::info("agent: task {} running on {}", task_id, agent.instance_id);
  }
  return nlohmann::json{{"TaskStatus", to_string(report->task.status)}};
}

AgentGateway::Reply AgentGateway::upload_task_log(const RegisterInstance& agent, Params& p) {
  const std::string task_id = p.req_string("InvocationTaskId");
  const auto index = p.opt_int("Index");
  const std::string output_b64 = p.req_string("Output");
  const auto dropped = p.opt_int("Dropped");
  if (p.ok() && !index) {
    p.fail(Error{codes::kMissingParameter, "the parameter Index is required"});
  }
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (*index < 0 || *index > kMaxLogIndex) {
    return domain::invalid_value("Index", "must be an integer in [0, 1000000]");
  }
  if (dropped && *dropped < 0) {
    return domain::invalid_value("Dropped", "must not be negative");
  }
  auto output = base64_decode(output_b64);
  if (!output) {
    return domain::invalid_value("Output", output.error().message);
  }
  auto task = owned_task(agent, task_id);
  if (!task) {
    return task.error();
  }
  if (is_final(task->status)) {
    return nlohmann::json::object();  // the final report already carries the output
  }
  auto stored = ctx_.store.task_log(task_id);
  if (!stored) {
    return stored.error();
  }
  const std::size_t budget = options_.max_live_output_bytes > stored->size()
                                 ? options_.max_live_output_bytes - stored->size()
                                 : 0;
  if (budget == 0) {
    return nlohmann::json::object();
  }
  if (auto s = ctx_.store.put_task_log(task_id, *index, domain::utf8_prefix(*output, budget)); !s) {
    return s.error();
  }
  return nlohmann::json::object();
}

AgentGateway::Reply AgentGateway::report_task_finish(const RegisterInstance& agent, Params& p) {
  const std::string task_id = p.req_string("InvocationTaskId");
  const std::string result_text = p.req_string("Result");
  const auto exit_code = p.opt_int("ExitCode");
  const std::string output_b64 = p.opt_string("Output").value_or("");
  const auto dropped = p.opt_int("Dropped");
  const auto output_size = p.opt_int("OutputSize");
  const auto exec_start = p.opt_string("ExecStartTime");
  const auto exec_end = p.opt_string("ExecEndTime");
  const std::string error_info = p.opt_string("ErrorInfo").value_or("");
  const auto final_log_index = p.opt_int("FinalLogIndex");
  const std::string output_url = p.opt_string("OutputUrl").value_or("");
  const std::string upload_error = p.opt_string("OutputUploadCOSErrorInfo").value_or("");
  const auto timestamp = p.opt_string("TimeStamp");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  const auto result = parse_task_status(result_text);
  if (!result || !is_agent_result(*result)) {
    return domain::invalid_value(
        "Result", "must be one of SUCCESS, FAILED, TIMEOUT, TERMINATED, START_FAILED, CANCELLED");
  }
  auto output = base64_decode(output_b64);
  if (!output) {
    return domain::invalid_value("Output", output.error().message);
  }
  if (output->size() > options_.max_final_output_bytes) {
    return Error{codes::kTooLong, "Output: at most " +
                                      std::to_string(options_.max_final_output_bytes) +
                                      " bytes once decoded"};
  }
  if ((dropped && *dropped < 0) || (output_size && *output_size < 0)) {
    return domain::invalid_value(dropped && *dropped < 0 ? "Dropped" : "OutputSize",
                                 "must not be negative");
  }
  if (final_log_index && (*final_log_index < -1 || *final_log_index > kMaxLogIndex)) {
    return domain::invalid_value("FinalLogIndex", "must be an integer in [-1, 1000000]");
  }
  if (!domain::is_short_text(output_url, kMaxOutputUrl)) {
    return domain::invalid_value("OutputUrl", "at most 2048 characters, no control characters");
  }
  auto start_ms = parse_time_field("ExecStartTime", exec_start);
  if (!start_ms) {
    return start_ms.error();
  }
  auto end_ms = parse_time_field("ExecEndTime", exec_end);
  if (!end_ms) {
    return end_ms.error();
  }
  if (auto ts = parse_time_field("TimeStamp", timestamp); !ts) {
    return ts.error();
  }
  const int64_t now = ctx_.clock.now_ms();
  TaskStatus final_status = *result;
  auto report = apply_report(agent, task_id, now, [&](InvocationTask& t) {
    if (is_final(t.status)) {
      return false;  // a repeated or late report: the first final state stands
    }
    final_status = *result;
    // CANCELLED means "never started"; a task that did start and was then cancelled ended
    // TERMINATED, which is what the API must show.
    if (final_status == TaskStatus::kCancelled &&
        (t.status == TaskStatus::kRunning || t.start_ms != 0)) {
      final_status = TaskStatus::kTerminated;
    }
    if (!advance_task(t, final_status)) {
      return false;
    }
    const bool ran = final_status != TaskStatus::kStartFailed &&
                     !(final_status == TaskStatus::kCancelled && t.start_ms == 0);
    if (t.start_ms == 0 && ran) {
      t.start_ms = now;
    }
    t.exit_code = exit_code.value_or(-1);
    t.output = output_b64;
    t.dropped = static_cast<uint64_t>(dropped.value_or(0));
    if (*start_ms != 0) {
      t.exec_start_ms = *start_ms;
    }
    t.exec_end_ms = *end_ms;
    t.error_info = domain::utf8_prefix(error_info, kMaxErrorInfo);
    t.output_url = output_url;
    t.output_upload_error = domain::utf8_prefix(upload_error, kMaxErrorInfo);
    t.end_ms = now;
    return true;
  });
  if (!report) {
    return report.error();
  }
  if (report->changed) {
    spdlog::info("agent: task {} finished on {}: {}", task_id, agent.instance_id,
                 to_string(final_status));
  } else {
    spdlog::debug("agent: task {}: {} report ignored, the task is {}", task_id, result_text,
                  to_string(report->task.status));
  }
  return nlohmann::json{{"TaskStatus", to_string(report->task.status)}};
}

}  // namespace ferry::server
