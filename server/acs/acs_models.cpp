// The reply models of the Cloud Assistant actions, with the field names of the official SDK's
// response classes (ecs20140526).
#include <algorithm>

#include "acs_handlers.hpp"
#include "acs_vocabulary.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/parameters.hpp"
#include "ferry/server/acs/acs_codes.hpp"
#include "ferry/server/domain/repeats.hpp"
#include "ferry/server/domain/value_rules.hpp"
#include "ferry/server/hidden_parameters.hpp"

namespace ferry::server::acs {
namespace {

// The latest change of a task: its end, else its start, else its creation.
int64_t task_update_ms(const InvocationTask& t) {
  return std::max({t.updated_ms, t.end_ms, t.start_ms, t.created_ms});
}

std::string termination_mode_of(const ExecutionSettings& e) {
  return e.termination_mode.empty() ? std::string("ProcessTree") : e.termination_mode;
}

std::string output_of(const std::string& base64, bool plain_text) {
  return shown_content(base64, plain_text);
}

}  // namespace

std::optional<std::string> read_launcher(AcsFields& p) {
  auto launcher = p.opt_string("Launcher");
  if (launcher && launcher->size() > domain::kMaxLauncher) {
    p.fail(Error{codes::acs::kLauncherLengthLimitExceeded,
                 "The length of the parameter Launcher exceeds the limit of 1 KB characters."});
    return std::nullopt;
  }
  return launcher;
}

Expected<int64_t> invocation_count(ServerContext& ctx, const std::string& command_id) {
  InvocationQuery q;
  q.command_ids = {command_id};
  q.limit = 1;
  auto page = ctx.store.list_invocations(q);
  if (!page) {
    return page.error();
  }
  return page->total;
}

nlohmann::json command_json(const Command& c, bool plain_text, int64_t invoke_times) {
  nlohmann::json names = nlohmann::json::array();
  if (c.enable_parameter) {
    if (auto found = content_parameter_names(c.content)) {
      names = *found;
    }
  }
  return {
      {"CommandId", c.command_id},
      {"Name", c.command_name},
      {"Description", c.description},
      {"Type", acs_command_type(c.command_type)},
      {"CommandContent", shown_content(c.content, plain_text)},
      {"WorkingDir", c.working_directory},
      {"Timeout", c.timeout},
      {"EnableParameter", c.enable_parameter},
      {"ParameterNames", {{"ParameterName", std::move(names)}}},
      {"InvokeTimes", invoke_times},
      {"CreationTime", acs_time(c.created_ms)},
      {"Version", 1},
      {"Latest", true},
      {"Provider", ""},
      {"Category", ""},
      {"Launcher", c.launcher},
      {"ResourceGroupId", ""},
      {"Tags", tags_json(c.tags)},
  };
}

namespace {

// The times, ErrorCode and exit code of one run, as InvokeInstance and InvocationResult show
// them.
void add_run_fields(nlohmann::json& item, const InvocationTask& t) {
  const TaskStatusWords words = task_status_words(t);
  item["Dropped"] = t.dropped;
  item["ErrorCode"] = words.error_code;
  item["ErrorInfo"] = t.error_info;
  item["StartTime"] = acs_time(t.exec_start_ms != 0 ? t.exec_start_ms : t.start_ms);
  item["StopTime"] = (t.status == TaskStatus::kCancelled || t.status == TaskStatus::kTerminated)
                         ? acs_time(t.end_ms)
                         : std::string();
  if (t.exit_code) {
    item["ExitCode"] = *t.exit_code;
  }
}

}  // namespace

nlohmann::json invocation_json(const domain::InvocationSummary& s, bool plain_text,
                               bool include_output) {
  const Invocation& inv = s.invocation;
  const domain::AcsInvocationStatus status = domain::acs_invocation_status(inv, s.tasks);
  nlohmann::json instances = nlohmann::json::array();
  for (const auto& i : status.instances) {
    nlohmann::json item{
        {"InstanceId", i.instance_id},
        {"InvocationStatus", i.status},
        {"InstanceInvokeStatus", record_status_of(i.status)},
        {"Repeats", i.repeats},
        {"Timed", inv.repeat_mode != "Once"},
        {"OssOutputDelivery", ""},
        {"CreationTime", acs_time(inv.created_ms)},
        {"UpdateTime", acs_time(inv.updated_ms)},
        {"Dropped", 0},
        {"ErrorCode", ""},
        {"ErrorInfo", ""},
        {"StartTime", ""},
        {"FinishTime", ""},
        {"StopTime", ""},
    };
    if (const InvocationTask* t = i.latest) {
      add_run_fields(item, *t);
      item["CreationTime"] = acs_time(t->created_ms);
      item["FinishTime"] = acs_time(t->exec_end_ms != 0 ? t->exec_end_ms : t->end_ms);
      item["UpdateTime"] = acs_time(task_update_ms(*t));
      if (include_output) {
        item["Output"] = output_of(t->output, plain_text);
      }
    } else if (include_output) {
      item["Output"] = "";
    }
    instances.push_back(std::move(item));
  }
  return {
      {"InvokeId", inv.invocation_id},
      {"CommandId", inv.command_id},
      {"CommandName", inv.command_name},
      {"CommandType", acs_command_type(inv.command_type)},
      {"CommandDescription", inv.description},
      {"CommandContent", shown_content(inv.command_content, plain_text)},
      {"InvocationStatus", status.status},
      {"InvokeStatus", domain::legacy_invoke_status(status.status)},
      {"RepeatMode", inv.repeat_mode},
      {"Frequency", inv.frequency},
      {"Timed", inv.repeat_mode != "Once"},
      {"Timeout", inv.timeout},
      {"Parameters", inv.parameters.empty()
                         ? std::string("{}")
                         : shown_parameters(inv.parameters, inv.command_content)},
      {"Username", inv.username},
      {"WorkingDir", inv.working_directory},
      {"ContainerId", inv.execution.container_id},
      {"ContainerName", inv.execution.container_name},
      {"TerminationMode", termination_mode_of(inv.execution)},
      {"Launcher", inv.execution.launcher},
      {"CreationTime", acs_time(inv.created_ms)},
      {"InvokeInstances", {{"InvokeInstance", std::move(instances)}}},
      {"Tags", tags_json({})},
  };
}

nlohmann::json result_json(const domain::TaskView& view, const Invocation& inv, bool plain_text) {
  const InvocationTask& t = view.task;
  const TaskStatusWords words = task_status_words(t);
  const std::string output = view.live_log
                                 ? (plain_text ? *view.live_log : base64_encode(*view.live_log))
                                 : output_of(t.output, plain_text);
  nlohmann::json r{
      {"InvokeId", t.invocation_id},
      {"CommandId", t.command_id},
      {"InstanceId", t.instance_id},
      {"InvocationStatus", words.invocation_status},
      {"InvokeRecordStatus", words.record_status},
      {"Output", output},
      {"Repeats", t.run_number},
      {"FinishedTime", acs_time(t.exec_end_ms != 0 ? t.exec_end_ms : t.end_ms)},
      {"Username", inv.username},
      {"ContainerId", t.document.execution.container_id},
      {"ContainerName", t.document.execution.container_name},
      {"Launcher", t.document.execution.launcher},
      {"TerminationMode", termination_mode_of(t.document.execution)},
      {"OssOutputDelivery", ""},
      {"Tags", tags_json({})},
  };
  add_run_fields(r, t);
  return r;
}

nlohmann::json activation_json(const RegisterCode& code) {
  const int64_t ttl_hours =
      code.expired_ms == 0 ? 0 : (code.expired_ms - code.created_ms) / (3600 * 1000);
  return {
      {"ActivationId", code.register_code_id},
      {"InstanceName", code.instance_name_prefix},
      {"Description", code.description},
      {"InstanceCount", code.register_limit},
      {"RegisteredCount", code.registered_count},
      {"DeregisteredCount", 0},
      {"TimeToLiveInHours", ttl_hours},
      {"IpAddressRange", code.ip_address_range},
      {"CreationTime", acs_time(code.created_ms)},
      {"Disabled", !code.enabled},
      {"ResourceGroupId", ""},
      {"Tags", nlohmann::json::array()},
  };
}

nlohmann::json managed_instance_json(const domain::InstanceView& view) {
  const RegisterInstance& i = view.instance;
  nlohmann::json tags = nlohmann::json::array();
  for (const auto& t : i.tags) {
    tags.push_back({{"TagKey", t.key}, {"TagValue", t.value}});
  }
  return {
      {"InstanceId", i.instance_id},
      {"InstanceName", i.instance_name},
      {"Hostname", i.host_name},
      {"AgentVersion", i.agent_version},
      {"Connected", view.online},
      {"OsType", domain::environment_of(i)},
      {"OsVersion", ""},
      {"IntranetIp", i.local_ip},
      {"InternetIp", ""},
      {"ActivationId", i.register_code_id},
      {"MachineId", i.machine_id},
      {"RegistrationTime", acs_time(i.created_ms)},
      {"ResourceGroupId", ""},
      {"Tags", std::move(tags)},
  };
}

}  // namespace ferry::server::acs
