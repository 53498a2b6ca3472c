#include "ferry/server/tat/tat_actions.hpp"

#include "action_handlers.hpp"

namespace ferry::server {
namespace tat_actions {

void read_command_fields(Params& p, std::initializer_list<CommandField> fields,
                         domain::CommandFields& out) {
  for (CommandField field : fields) {
    switch (field) {
      case CommandField::kCommandName:
        out.command_name = p.opt_string("CommandName");
        break;
      case CommandField::kContent:
        out.content = p.opt_string("Content");
        break;
      case CommandField::kDescription:
        out.description = p.opt_string("Description");
        break;
      case CommandField::kCommandType:
        out.command_type = p.opt_string("CommandType");
        break;
      case CommandField::kWorkingDirectory:
        out.working_directory = p.opt_string("WorkingDirectory");
        break;
      case CommandField::kTimeout:
        out.timeout = p.opt_int("Timeout");
        break;
      case CommandField::kEnableParameter:
        out.enable_parameter = p.opt_bool("EnableParameter");
        break;
      case CommandField::kTags:
        out.tags = p.opt_tags("Tags");
        break;
      case CommandField::kUsername:
        out.username = p.opt_string("Username");
        break;
      case CommandField::kOutputCosBucketUrl:
        out.output_cos_bucket_url = p.opt_string("OutputCOSBucketUrl");
        break;
      case CommandField::kOutputCosKeyPrefix:
        out.output_cos_key_prefix = p.opt_string("OutputCOSKeyPrefix");
        break;
    }
  }
}

Status read_default_parameters(Params& p, bool enable_parameter, domain::CommandFields& out) {
  auto json_text = p.opt_string("DefaultParameters");
  auto confs = p.opt_parameter_confs("DefaultParameterConfs");
  if (!p.ok()) {
    return {};  // finish() reports the first problem
  }
  auto defaults = domain::resolve_default_parameters(json_text, confs, enable_parameter);
  if (!defaults) {
    return defaults.error();
  }
  out.defaults = std::move(*defaults);
  return {};
}

Reply reply_if(const Status& status, nlohmann::json reply) {
  if (!status) {
    return status.error();
  }
  return reply;
}

}  // namespace tat_actions

void register_tat_actions(ActionRegistry& actions, ServerContext& ctx) {
  using Handler = tat_actions::Reply (*)(ServerContext&, Params&);
  struct Entry {
    const char* name;
    Handler handler;
    bool region_required = false;
  };
  namespace a = tat_actions;
  static constexpr Entry kActions[] = {
      {"CreateCommand", &a::create_command},
      {"DescribeCommands", &a::describe_commands},
      {"ModifyCommand", &a::modify_command, true},
      {"DeleteCommand", &a::delete_command},
      {"DeleteCommands", &a::delete_commands},
      {"PreviewReplacedCommandContent", &a::preview_replaced_command_content},
      {"RunCommand", &a::run_command, true},
      {"InvokeCommand", &a::invoke_command},
      {"CancelInvocation", &a::cancel_invocation},
      {"DescribeInvocations", &a::describe_invocations},
      {"CreateRegisterCode", &a::create_register_code},
      {"DescribeRegisterCodes", &a::describe_register_codes},
      {"DisableRegisterCodes", &a::disable_register_codes},
      {"DeleteRegisterCodes", &a::delete_register_codes},
      {"DescribeRegisterInstances", &a::describe_register_instances},
      {"ModifyRegisterInstance", &a::modify_register_instance},
      {"DeleteRegisterInstance", &a::delete_register_instance},
      {"CreateInvoker", &a::create_invoker, true},
      {"DescribeInvokers", &a::describe_invokers},
      {"ModifyInvoker", &a::modify_invoker},
      {"EnableInvoker", &a::enable_invoker},
      {"DisableInvoker", &a::disable_invoker},
      {"DeleteInvoker", &a::delete_invoker},
      {"DescribeInvokerRecords", &a::describe_invoker_records},
      {"DescribeAutomationAgentStatus", &a::describe_automation_agent_status},
      {"DescribeQuotas", &a::describe_quotas},
      {"DescribeScenes", &a::describe_scenes},
  };
  for (const Entry& e : kActions) {
    actions.add(e.name,
                {[&ctx, handler = e.handler](const ApiCall&, Params& p) { return handler(ctx, p); },
                 e.region_required});
  }
  actions.add("DescribeRegions", {[&ctx](const ApiCall& call, Params& p) {
                return a::describe_regions(ctx, call, p);
              }});
  actions.add("DescribeInvocationTasks",
              {.serialized = [&ctx](const ApiCall& call, Params& p, std::string& out) {
                return a::describe_invocation_tasks(ctx, call, p, out);
              }});
}

}  // namespace ferry::server
