#include "ferry/server/acs/acs_actions.hpp"

#include "acs_handlers.hpp"

namespace ferry::server {

void register_acs_actions(AcsActionRegistry& actions, ServerContext& ctx) {
  using Handler = Expected<nlohmann::json> (*)(ServerContext&, acs::AcsFields&);
  const std::pair<const char*, Handler> table[] = {
      {"CreateCommand", &acs::create_command},
      {"DescribeCommands", &acs::describe_commands},
      {"ModifyCommand", &acs::modify_command},
      {"DeleteCommand", &acs::delete_command},
      {"RunCommand", &acs::run_command},
      {"InvokeCommand", &acs::invoke_command},
      {"DescribeInvocations", &acs::describe_invocations},
      {"DescribeInvocationResults", &acs::describe_invocation_results},
      {"StopInvocation", &acs::stop_invocation},
      {"ModifyInvocationAttribute", &acs::modify_invocation_attribute},
      {"SendFile", &acs::send_file},
      {"DescribeSendFileResults", &acs::describe_send_file_results},
      {"DescribeCloudAssistantStatus", &acs::describe_cloud_assistant_status},
      {"CreateActivation", &acs::create_activation},
      {"DescribeActivations", &acs::describe_activations},
      {"DisableActivation", &acs::disable_activation},
      {"DeleteActivation", &acs::delete_activation},
      {"DescribeManagedInstances", &acs::describe_managed_instances},
      {"ModifyManagedInstance", &acs::modify_managed_instance},
      {"DeregisterManagedInstance", &acs::deregister_managed_instance},
      {"TagResources", &acs::tag_resources},
      {"UntagResources", &acs::untag_resources},
      {"ListTagResources", &acs::list_tag_resources},
  };
  for (const auto& [name, handler] : table) {
    actions.add(name, AcsActionSpec{[&ctx, handler = handler](const ApiCall&, AcsParams& params) {
                  acs::AcsFields fields(params);
                  return handler(ctx, fields);
                }});
  }
}

}  // namespace ferry::server
