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
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto id = domain::create_command(ctx, f);
  if (!id) {
    return id.error();
  }
  return nlohmann::json{{"CommandId", *id}};
}

Reply describe_commands(ServerContext& ctx, Params& p) {
  auto listing = read_listing(
      p, {"CommandIds",
          {"command-id", "command-name", "command-type", "created-by", "tag-key", "tag-value"},
          true});
  if (!listing) {
    return listing.error();
  }
  CommandQuery q;
  q.offset = listing->paging.offset;
  q.limit = listing->paging.limit;
  if (listing->ids) {
    if (auto s = domain::check_command_ids(*listing->ids); !s) {
      return s.error();
    }
    q.command_ids = *listing->ids;
  }
  if (listing->filters) {
    if (auto s = apply_filters(*listing->filters,
                               {{"command-id", &q.command_ids},
                                {"command-name", &q.command_names, {}, true},
                                {"command-type", &q.command_types, {}, true},
                                {"created-by", &q.created_by, {"TAT", "USER"}, true},
                                {"tag-key", &q.tag_keys, {}, true},
                                {"tag-value", &q.tag_values, {}, true}},
                               &q.tag_pairs);
        !s) {
      return s.error();
    }
  }
  auto page = domain::describe_commands(ctx, q);
  if (!page) {
    return page.error();
  }
  nlohmann::json set = nlohmann::json::array();
  for (const auto& c : page->items) {
    set.push_back(command_to_json(c));
  }
  return nlohmann::json{{"TotalCount", page->total}, {"CommandSet", std::move(set)}};
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
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  return reply_if(domain::modify_command(ctx, id, f));
}

Reply delete_command(ServerContext& ctx, Params& p) {
  const std::string id = p.req_string("CommandId");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  return reply_if(domain::delete_commands(ctx, {id}));
}

Reply delete_commands(ServerContext& ctx, Params& p) {
  const auto ids = p.req_string_list("CommandIds");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  return reply_if(domain::delete_commands(ctx, ids));
}

Reply preview_replaced_command_content(ServerContext& ctx, Params& p) {
  domain::PreviewRequest r;
  r.parameters = p.opt_string("Parameters");
  r.command_id = p.opt_string("CommandId");
  r.content = p.opt_string("Content");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto replaced = domain::preview_command_content(ctx, r);
  if (!replaced) {
    return replaced.error();
  }
  return nlohmann::json{{"ReplacedContent", *replaced}};
}

}  // namespace ferry::server::tat_actions
