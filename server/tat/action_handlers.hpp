// Internal to server/tat/: the handlers of the TAT actions, one file per group, and what they
// share. tat_actions.cpp registers them.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "ferry/core/error.hpp"
#include "ferry/server/api/action_registry.hpp"
#include "ferry/server/api/params.hpp"
#include "ferry/server/domain/commands.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/model.hpp"

namespace ferry::server::tat_actions {

using Reply = Expected<nlohmann::json>;

// The command fields of the TAT actions, read in the order an action lists them: Params keeps
// the first problem, so the order decides which one a request with several is told about.
enum class CommandField {
  kCommandName,
  kContent,
  kDescription,
  kCommandType,
  kWorkingDirectory,
  kTimeout,
  kEnableParameter,
  kTags,
  kUsername,
  kOutputCosBucketUrl,
  kOutputCosKeyPrefix,
};
void read_command_fields(Params& p, std::initializer_list<CommandField> fields,
                         domain::CommandFields& out);
// DefaultParameters / DefaultParameterConfs, resolved at once (domain::resolve_default_parameters)
// unless an earlier field failed: their errors come before unknown parameters.
Status read_default_parameters(Params& p, bool enable_parameter, domain::CommandFields& out);
// `reply` when `status` is fine, else its error.
Reply reply_if(const Status& status, nlohmann::json reply = nlohmann::json::object());
// to_json(the value), or the error.
template <typename T, typename ToJson>
Reply reply_from(const Expected<T>& result, ToJson&& to_json) {
  if (!result) {
    return result.error();
  }
  return to_json(*result);
}
// The adapter's last step once every parameter is read: `p`'s first problem, else the domain
// `call`'s result, an empty reply for a Status and to_json(the value) for an Expected.
template <typename Call>
Reply finish_then(Params& p, Call&& call) {
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  return reply_if(call());
}
template <typename Call, typename ToJson>
Reply finish_then(Params& p, Call&& call, ToJson&& to_json) {
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  return reply_from(call(), to_json);
}
// {"TotalCount": total, set_name: [to_json(item), ...]} of a page, or the error.
template <typename T, typename ToJson>
Reply page_reply(const Expected<Page<T>>& page, const char* set_name, ToJson&& to_json) {
  return reply_from(page, [&](const Page<T>& p) {
    nlohmann::json set = nlohmann::json::array();
    for (const auto& item : p.items) {
      set.push_back(to_json(item));
    }
    return nlohmann::json{{"TotalCount", p.total}, {set_name, std::move(set)}};
  });
}

// commands.cpp
Reply create_command(ServerContext& ctx, Params& p);
Reply describe_commands(ServerContext& ctx, Params& p);
Reply modify_command(ServerContext& ctx, Params& p);
Reply delete_command(ServerContext& ctx, Params& p);
Reply delete_commands(ServerContext& ctx, Params& p);
Reply preview_replaced_command_content(ServerContext& ctx, Params& p);
// invocations.cpp
Reply run_command(ServerContext& ctx, Params& p);
Reply invoke_command(ServerContext& ctx, Params& p);
Reply cancel_invocation(ServerContext& ctx, Params& p);
Reply describe_invocations(ServerContext& ctx, Params& p);
Status describe_invocation_tasks(ServerContext& ctx, const ApiCall& call, Params& p,
                                 std::string& out);
// registration.cpp
Reply create_register_code(ServerContext& ctx, Params& p);
Reply describe_register_codes(ServerContext& ctx, Params& p);
Reply disable_register_codes(ServerContext& ctx, Params& p);
Reply delete_register_codes(ServerContext& ctx, Params& p);
Reply describe_register_instances(ServerContext& ctx, Params& p);
Reply modify_register_instance(ServerContext& ctx, Params& p);
Reply delete_register_instance(ServerContext& ctx, Params& p);
Reply describe_automation_agent_status(ServerContext& ctx, Params& p);
// invoker_actions.cpp
Reply create_invoker(ServerContext& ctx, Params& p);
Reply describe_invokers(ServerContext& ctx, Params& p);
Reply modify_invoker(ServerContext& ctx, Params& p);
Reply enable_invoker(ServerContext& ctx, Params& p);
Reply disable_invoker(ServerContext& ctx, Params& p);
Reply delete_invoker(ServerContext& ctx, Params& p);
Reply describe_invoker_records(ServerContext& ctx, Params& p);
// misc.cpp
Reply describe_regions(ServerContext& ctx, const ApiCall& call, Params& p);
Reply describe_quotas(ServerContext& ctx, Params& p);
Reply describe_scenes(ServerContext& ctx, Params& p);

// A Describe action's last step once its listing is read (read_listing): the listing's error,
// an empty page when a filter excludes every item, else the page the domain `call` returns, as
// page_reply writes it.
template <typename Listing, typename Call, typename ToJson>
Reply listing_reply(const Expected<Listing>& listing, Call&& call, const char* set_name,
                    ToJson&& to_json) {
  if (!listing) {
    return listing.error();
  }
  if (listing->matches_nothing) {
    return nlohmann::json{{"TotalCount", 0}, {set_name, nlohmann::json::array()}};
  }
  return page_reply(call(), set_name, to_json);
}

}  // namespace ferry::server::tat_actions
