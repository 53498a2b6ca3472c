// The Cloud Assistant actions, one function each (acs_actions.cpp registers them), and the
// models they write. Handlers read their AcsParams, call the domain and map its errors with
// to_acs_error; they never see HTTP.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "acs_support.hpp"
#include "ferry/server/domain/commands.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/domain/instances.hpp"
#include "ferry/server/domain/invocation_listings.hpp"

namespace ferry::server::acs {

// Launcher: at most 1 KB (InvalidLauncher.LengthLimitExceeded).
std::optional<std::string> read_launcher(AcsFields& p);

// Name, Description, WorkingDir, Timeout, Launcher: the fields CreateCommand, ModifyCommand
// and RunCommand share, with seed 004's limits and codes, and Cloud Assistant's TextRules for
// what the domain checks after them.
void read_command_texts(AcsFields& p, domain::CommandFields& f);

// How many invocations ran the command (DescribeCommands' InvokeTimes).
Expected<int64_t> invocation_count(ServerContext& ctx, const std::string& command_id);

// The models of the replies.
nlohmann::json command_json(const Command& c, bool plain_text, int64_t invoke_times);
nlohmann::json invocation_json(const domain::InvocationSummary& s, bool plain_text,
                               bool include_output);
nlohmann::json result_json(const domain::TaskView& view, const Invocation& invocation,
                           bool plain_text);
nlohmann::json activation_json(const RegisterCode& code);
nlohmann::json managed_instance_json(const domain::InstanceView& view);

// commands
Reply create_command(ServerContext& ctx, AcsFields& p);
Reply describe_commands(ServerContext& ctx, AcsFields& p);
Reply modify_command(ServerContext& ctx, AcsFields& p);
Reply delete_command(ServerContext& ctx, AcsFields& p);
// invocations
Reply run_command(ServerContext& ctx, AcsFields& p);
Reply invoke_command(ServerContext& ctx, AcsFields& p);
Reply describe_invocations(ServerContext& ctx, AcsFields& p);
Reply describe_invocation_results(ServerContext& ctx, AcsFields& p);
Reply stop_invocation(ServerContext& ctx, AcsFields& p);
Reply modify_invocation_attribute(ServerContext& ctx, AcsFields& p);
// files (acs_file_actions.cpp)
Reply send_file(ServerContext& ctx, AcsFields& p);
Reply describe_send_file_results(ServerContext& ctx, AcsFields& p);
// instances and activations
Reply describe_cloud_assistant_status(ServerContext& ctx, AcsFields& p);
Reply create_activation(ServerContext& ctx, AcsFields& p);
Reply describe_activations(ServerContext& ctx, AcsFields& p);
Reply disable_activation(ServerContext& ctx, AcsFields& p);
Reply delete_activation(ServerContext& ctx, AcsFields& p);
Reply describe_managed_instances(ServerContext& ctx, AcsFields& p);
Reply modify_managed_instance(ServerContext& ctx, AcsFields& p);
Reply deregister_managed_instance(ServerContext& ctx, AcsFields& p);
// tags of instances and commands
Reply tag_resources(ServerContext& ctx, AcsFields& p);
Reply untag_resources(ServerContext& ctx, AcsFields& p);
Reply list_tag_resources(ServerContext& ctx, AcsFields& p);

}  // namespace ferry::server::acs
