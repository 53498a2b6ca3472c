// CreateCommand, DescribeCommands, ModifyCommand, DeleteCommand, DeleteCommands,
// PreviewReplacedCommandContent.
#include "action_handlers.hpp"
#include "ferry/server/tat/tat_json.hpp"
#include "ferry/server/tat/tat_listing.hpp"

namespace ferry::server::tat_actions {

using F = CommandField;

Reply create_command(ServerContext& ctx, Params& p) {
  domain::CommandFields f;
  f.command_name = p.req_string("CommandName");
  f.content = p.req_string("Content");
  read_command_fields(
      p,
      {F::kDescription, F::kCommandType, F::kWorkingDirectory, F::kTimeout, F::kEnableParameter,
       F::kTags, F::kUsername, F::kOutputCosBucketUrl, F::kOutputCosKeyPrefix},
      f);
  if (auto s = read_default_parameters(p, f.enable_parameter.value_or(false), f); !s) {
    return s.error();
  }
  return finish_then(
      p, [&] { return domain::create_command(ctx, f); },
      [](const std::string& id) {
        return nlohmann::json{{"CommandId", id}};
      });
}

Reply describe_commands(ServerContext& ctx, Params& p) {
  CommandQuery q;
  return listing_reply(
      read_listing(p, q,
                   {"CommandIds",
                    &q.command_ids,
                    domain::check_command_ids,
                    {{"command-id", &q.command_ids},
                     {"command-name", &q.command_names, {}, true},
                     {"command-type", &q.command_types, {}, true},
                     {"created-by", &q.created_by, {"TAT", "USER"}, true},
                     {"scene-id", nullptr, {}, false, std::nullopt, true},
                     {"tag-key", &q.tag_keys, {}, true},
                     {"tag-value", &q.tag_values, {}, true}},
                    &q.tag_pairs}),
      [&] { return domain::describe_commands(ctx, q); }, "CommandSet", &command_to_json);
}

Reply modify_command(ServerContext& ctx, Params& p) {
  const std::string id = p.req_string("CommandId");
  domain::CommandFields f;
  read_command_fields(
      p,
      {F::kCommandName, F::kDescription, F::kContent, F::kCommandType, F::kWorkingDirectory,
       F::kTimeout, F::kUsername, F::kOutputCosBucketUrl, F::kOutputCosKeyPrefix},
      f);
  // Whether the stored command has EnableParameter is the domain's to check.
  if (auto s = read_default_parameters(p, true, f); !s) {
    return s.error();
  }
  return finish_then(p, [&] { return domain::modify_command(ctx, id, f); });
}

Reply delete_command(ServerContext& ctx, Params& p) {
  const std::string id = p.req_string("CommandId");
  return finish_then(p, [&] { return domain::delete_commands(ctx, {id}); });
}

Reply delete_commands(ServerContext& ctx, Params& p) {
  const auto ids = p.req_string_list("CommandIds");
  return finish_then(p, [&] { return domain::delete_commands(ctx, ids); });
}

Reply preview_replaced_command_content(ServerContext& ctx, Params& p) {
  domain::PreviewRequest r;
  r.parameters = p.opt_string("Parameters");
  r.command_id = p.opt_string("CommandId");
  r.content = p.opt_string("Content");
  return finish_then(
      p, [&] { return domain::preview_command_content(ctx, r); },
      [](const std::string& content) {
        return nlohmann::json{{"ReplacedContent", content}};
      });
}

}  // namespace ferry::server::tat_actions
