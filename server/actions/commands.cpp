// CreateCommand, DescribeCommands, ModifyCommand, DeleteCommand, DeleteCommands,
// PreviewReplacedCommandContent.
#include <algorithm>

#include "ferry/core/base64.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/parameters.hpp"
#include "ferry/server/actions/actions.hpp"
#include "ferry/server/api/validation.hpp"

namespace ferry::server {
namespace {

constexpr std::size_t kMaxCommandIds = 100;

Status validate_command_id(const std::string& id) {
  const bool ok = id.size() == 12 && id.rfind("cmd-", 0) == 0 &&
                  std::all_of(id.begin() + 4, id.end(), [](unsigned char c) {
                    return std::islower(c) != 0 || std::isdigit(c) != 0;
                  });
  if (!ok) {
    return Error{"InvalidParameterValue.InvalidCommandId",
                 "CommandId: '" + id.substr(0, 64) + "' is not a command id (cmd-xxxxxxxx)"};
  }
  return {};
}

Error command_not_found(const std::string& id) {
  return Error{"ResourceNotFound.CommandNotFound", "the command " + id + " does not exist"};
}

// The script's references must be well formed (names, count) when parameters are on.
Status validate_references(const std::string& content_base64) {
  auto script = base64_decode(content_base64);
  if (!script) {
    return Error{codes::kCommandContentInvalid, "Content: " + script.error().message};
  }
  auto refs = referenced_parameters(*script);
  if (!refs) {
    return refs.error().wrap("Content");
  }
  return {};
}

// DefaultParameters / DefaultParameterConfs as given to CreateCommand, ModifyCommand or
// RunCommand, checked and normalised. Sets both fields of `c`.
Status apply_defaults(Params& p, Command& c, bool enable_parameter) {
  auto defaults = p.opt_string("DefaultParameters");
  auto confs = p.opt_parameter_confs("DefaultParameterConfs");
  if (!p.ok()) {
    return {};
  }
  if (!defaults && !confs) {
    return {};
  }
  if (defaults && confs) {
    return Error{"InvalidParameter.ConflictParameter",
                 "DefaultParameters and DefaultParameterConfs cannot be given together"};
  }
  if (!enable_parameter) {
    return Error{"InvalidParameterValue.SupportParametersOnlyIfEnableParameter",
                 "default parameters need EnableParameter to be true"};
  }
  if (defaults) {
    auto parsed = parse_parameter_object("DefaultParameters", *defaults);
    if (!parsed) {
      return parsed.error();
    }
    c.default_parameters = parameter_map_to_json(*parsed);
    c.default_parameter_confs.clear();
  } else {
    auto parsed = parameter_confs_to_map(*confs);
    if (!parsed) {
      return parsed.error();
    }
    c.default_parameter_confs = *confs;
    c.default_parameters = parameter_map_to_json(*parsed);
  }
  return {};
}

Status check_name_free(Store& store, const std::string& name, const std::string& except_id) {
  CommandQuery q;
  q.command_names = {name};
  q.limit = 2;
  auto page = store.list_commands(q);
  if (!page) {
    return page.error();
  }
  for (const auto& c : page->items) {
    if (c.command_id != except_id && c.command_name == name) {
      return Error{"InvalidParameterValue.CommandNameDuplicated",
                   "a command named " + name + " already exists"};
    }
  }
  return {};
}

Expected<nlohmann::json> create_command(ServerContext& ctx, Params& p) {
  Command c;
  c.command_name = p.req_string("CommandName");
  c.content = p.req_string("Content");
  c.description = p.opt_string("Description").value_or("");
  c.command_type = p.opt_string("CommandType").value_or("SHELL");
  c.working_directory = p.opt_string("WorkingDirectory").value_or("");
  c.timeout = p.opt_int("Timeout").value_or(60);
  c.enable_parameter = p.opt_bool("EnableParameter").value_or(false);
  c.tags = p.opt_tags("Tags").value_or(std::vector<Tag>{});
  c.username = p.opt_string("Username").value_or("");
  c.output_cos_bucket_url = p.opt_string("OutputCOSBucketUrl").value_or("");
  c.output_cos_key_prefix = p.opt_string("OutputCOSKeyPrefix").value_or("");
  if (auto s = apply_defaults(p, c, c.enable_parameter); !s) {
    return s.error();
  }
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  for (const Status& s :
       {validate_command_name(c.command_name, false), validate_content(c.content),
        validate_description(c.description), validate_command_type(c.command_type),
        validate_working_directory(c.working_directory, c.command_type),
        validate_timeout(c.timeout), c.username.empty() ? Status{} : validate_username(c.username),
        c.output_cos_bucket_url.empty() ? Status{}
                                        : validate_cos_bucket_url(c.output_cos_bucket_url),
        validate_cos_key_prefix(c.output_cos_key_prefix), validate_tags(c.tags),
        c.enable_parameter ? validate_references(c.content) : Status{}}) {
    if (!s) {
      return s.error();
    }
  }
  auto count = ctx.store.count_saved_commands();
  if (!count) {
    return count.error();
  }
  if (*count >= ctx.settings.command_quota) {
    return Error{
        "ResourceUnavailable.UserHasNoQuotaCode",
        "the quota of " + std::to_string(ctx.settings.command_quota) + " commands is used up"};
  }
  auto id = random_id("cmd-", 8);
  if (!id) {
    return id.error();
  }
  c.command_id = *id;
  c.created_ms = c.updated_ms = ctx.clock.now_ms();
  if (auto s = ctx.store.insert_command(c); !s) {
    return s.error();
  }
  return nlohmann::json{{"CommandId", c.command_id}};
}

Expected<nlohmann::json> describe_commands(ServerContext& ctx, Params& p) {
  auto listing = read_listing(p, "CommandIds");
  if (!listing) {
    return listing.error();
  }
  auto& ids = listing->ids;
  auto& filters = listing->filters;
  CommandQuery q;
  q.offset = listing->paging.offset;
  q.limit = listing->paging.limit;
  if (ids) {
    if (ids->size() > kMaxCommandIds) {
      return Error{codes::kLimitExceeded, "CommandIds: at most 100 ids"};
    }
    for (const auto& id : *ids) {
      if (auto s = validate_command_id(id); !s) {
        return s.error();
      }
    }
    q.command_ids = *ids;
  }
  if (filters) {
    if (auto s = validate_filters(
            *filters,
            {"command-id", "command-name", "command-type", "created-by", "tag-key", "tag-value"},
            true);
        !s) {
      return s.error();
    }
    for (const auto& f : *filters) {
      if (f.name == "command-id") {
        q.command_ids.insert(q.command_ids.end(), f.values.begin(), f.values.end());
      } else if (f.name == "command-name") {
        q.command_names = f.values;
      } else if (f.name == "command-type") {
        q.command_types = f.values;
      } else if (f.name == "created-by") {
        for (const auto& v : f.values) {
          if (v != "TAT" && v != "USER") {
            return Error{"InvalidParameterValue.InvalidFilter",
                         "Filters: created-by is TAT or USER, not " + v};
          }
        }
        q.created_by = f.values;
      } else if (f.name == "tag-key") {
        q.tag_keys = f.values;
      } else if (f.name == "tag-value") {
        q.tag_values = f.values;
      } else {
        q.tag_pairs.emplace_back(f.name.substr(4), f.values);
      }
    }
  }
  auto page = ctx.store.list_commands(q);
  if (!page) {
    return page.error();
  }
  nlohmann::json set = nlohmann::json::array();
  for (const auto& c : page->items) {
    set.push_back(command_to_json(c));
  }
  return nlohmann::json{{"TotalCount", page->total}, {"CommandSet", std::move(set)}};
}

Expected<nlohmann::json> modify_command(ServerContext& ctx, Params& p) {
  const std::string id = p.req_string("CommandId");
  auto name = p.opt_string("CommandName");
  auto description = p.opt_string("Description");
  auto content = p.opt_string("Content");
  auto type = p.opt_string("CommandType");
  auto dir = p.opt_string("WorkingDirectory");
  auto timeout = p.opt_int("Timeout");
  auto username = p.opt_string("Username");
  auto bucket = p.opt_string("OutputCOSBucketUrl");
  auto prefix = p.opt_string("OutputCOSKeyPrefix");
  // Defaults are read inside the transaction (they depend on the stored EnableParameter), but
  // their presence must count as read here for finish().
  const bool has_defaults = p.has("DefaultParameters") || p.has("DefaultParameterConfs");
  Command staged;
  staged.enable_parameter = true;
  if (auto s = apply_defaults(p, staged, true); !s) {
    return s.error();
  }
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (auto s = validate_command_id(id); !s) {
    return s.error();
  }
  if (name) {
    if (auto s = validate_command_name(*name, true); !s) {
      return s.error();
    }
    if (auto s = check_name_free(ctx.store, *name, id); !s) {
      return s.error();
    }
  }
  for (const Status& s : {description ? validate_description(*description) : Status{},
                          content ? validate_content(*content) : Status{},
                          type ? validate_command_type(*type) : Status{},
                          timeout ? validate_timeout(*timeout) : Status{},
                          username ? validate_username(*username) : Status{},
                          bucket && !bucket->empty() ? validate_cos_bucket_url(*bucket) : Status{},
                          prefix ? validate_cos_key_prefix(*prefix) : Status{}}) {
    if (!s) {
      return s.error();
    }
  }
  const int64_t now = ctx.clock.now_ms();
  auto updated = ctx.store.modify_command(id, [&](Command& c) -> Status {
    if (!c.saved) {
      return command_not_found(id);
    }
    if (has_defaults && !c.enable_parameter) {
      return Error{"InvalidParameterValue.SupportParametersOnlyIfEnableParameter",
                   "the command " + id + " was created without EnableParameter"};
    }
    if (name)
      c.command_name = *name;
    if (description)
      c.description = *description;
    if (content)
      c.content = *content;
    if (type)
      c.command_type = *type;
    if (dir)
      c.working_directory = *dir;
    if (timeout)
      c.timeout = *timeout;
    if (username)
      c.username = *username;
    if (bucket)
      c.output_cos_bucket_url = *bucket;
    if (prefix)
      c.output_cos_key_prefix = *prefix;
    if (has_defaults) {
      c.default_parameters = staged.default_parameters;
      c.default_parameter_confs = staged.default_parameter_confs;
    }
    if (auto s = validate_working_directory(c.working_directory, c.command_type); !s) {
      return s;
    }
    if (c.enable_parameter && content) {
      if (auto s = validate_references(c.content); !s) {
        return s;
      }
    }
    c.updated_ms = now;
    return {};
  });
  if (!updated) {
    return updated.error();
  }
  return nlohmann::json::object();
}

Expected<nlohmann::json> delete_commands(ServerContext& ctx, std::vector<std::string> ids) {
  for (const auto& id : ids) {
    if (auto s = validate_command_id(id); !s) {
      return s.error();
    }
    auto c = ctx.store.get_command(id);
    if (!c) {
      return c.error();
    }
    if (!*c || !(*c)->saved) {
      return command_not_found(id);
    }
  }
  if (auto s = ctx.store.delete_commands(ids); !s) {
    return s.error();
  }
  return nlohmann::json::object();
}

Expected<nlohmann::json> preview(ServerContext& ctx, Params& p) {
  auto parameters = p.opt_string("Parameters");
  auto command_id = p.opt_string("CommandId");
  auto content = p.opt_string("Content");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (command_id.has_value() == content.has_value()) {
    return Error{"InvalidParameter.ConflictParameter",
                 "exactly one of CommandId and Content must be given"};
  }
  std::map<std::string, std::string> values;
  std::string script_b64;
  if (command_id) {
    if (auto s = validate_command_id(*command_id); !s) {
      return s.error();
    }
    auto c = ctx.store.get_command(*command_id);
    if (!c) {
      return c.error();
    }
    if (!*c || !(*c)->saved) {
      return command_not_found(*command_id);
    }
    if (!(*c)->enable_parameter) {
      return Error{"InvalidParameterValue.ParameterDisabled",
                   "the command " + *command_id + " was created without EnableParameter"};
    }
    script_b64 = (*c)->content;
    if (!(*c)->default_parameters.empty()) {
      auto defaults = parse_parameter_object("DefaultParameters", (*c)->default_parameters);
      if (defaults) {
        values = *defaults;
      }
    }
  } else {
    if (auto s = validate_content(*content); !s) {
      return s.error();
    }
    script_b64 = *content;
  }
  if (parameters) {
    auto given = parse_parameter_object("Parameters", *parameters);
    if (!given) {
      return given.error();
    }
    for (auto& [k, v] : *given) {
      values[k] = v;
    }
  }
  auto script = base64_decode(script_b64);
  if (!script) {
    return Error{codes::kCommandContentInvalid, "Content: " + script.error().message};
  }
  // Built-ins belong to each instance: the preview shows them as written (in one spelling).
  BuiltinValues shown{"{{ACS::RegionId}}",     "{{ACS::AccountId}}", "{{ACS::InstanceId}}",
                      "{{ACS::InstanceName}}", "{{ACS::InvokeId}}",  "{{ACS::CommandId}}"};
  auto replaced = substitute_parameters(*script, values, shown);
  if (!replaced) {
    return replaced.error();
  }
  return nlohmann::json{{"ReplacedContent", base64_encode(*replaced)}};
}

}  // namespace

nlohmann::json command_to_json(const Command& c) {
  nlohmann::json confs = nlohmann::json::array();
  for (const auto& d : c.default_parameter_confs) {
    confs.push_back({{"ParameterName", d.name},
                     {"ParameterValue", d.value},
                     {"ParameterDescription", d.description}});
  }
  nlohmann::json tags = nlohmann::json::array();
  for (const auto& t : c.tags) {
    tags.push_back({{"Key", t.key}, {"Value", t.value}});
  }
  return nlohmann::json{{"CommandId", c.command_id},
                        {"CommandName", c.command_name},
                        {"Description", c.description},
                        {"FormattedDescription", ""},
                        {"CreatedBy", c.created_by},
                        {"Content", c.content},
                        {"CommandType", c.command_type},
                        {"WorkingDirectory", c.working_directory},
                        {"Timeout", c.timeout},
                        {"EnableParameter", c.enable_parameter},
                        {"DefaultParameters", c.default_parameters},
                        {"DefaultParameterConfs", std::move(confs)},
                        {"Scenes", nlohmann::json::array()},
                        {"Username", c.username},
                        {"OutputCOSBucketUrl", c.output_cos_bucket_url},
                        {"OutputCOSKeyPrefix", c.output_cos_key_prefix},
                        {"Tags", std::move(tags)},
                        {"CreatedTime", format_time(c.created_ms)},
                        {"UpdatedTime", format_time(c.updated_ms)}};
}

void register_command_actions(ApiFront& api, ServerContext& ctx) {
  api.add_action("CreateCommand",
                 {[&ctx](const ApiCall&, Params& p) { return create_command(ctx, p); }});
  api.add_action("DescribeCommands",
                 {[&ctx](const ApiCall&, Params& p) { return describe_commands(ctx, p); }});
  api.add_action("ModifyCommand",
                 {[&ctx](const ApiCall&, Params& p) { return modify_command(ctx, p); }, true});
  api.add_action("DeleteCommand", {[&ctx](const ApiCall&, Params& p) -> Expected<nlohmann::json> {
                   const std::string id = p.req_string("CommandId");
                   if (auto s = p.finish(); !s) {
                     return s.error();
                   }
                   return delete_commands(ctx, {id});
                 }});
  api.add_action("DeleteCommands", {[&ctx](const ApiCall&, Params& p) -> Expected<nlohmann::json> {
                   auto ids = p.req_string_list("CommandIds");
                   if (auto s = p.finish(); !s) {
                     return s.error();
                   }
                   if (ids.size() > kMaxCommandIds) {
                     return Error{codes::kLimitExceeded, "CommandIds: at most 100 ids"};
                   }
                   return delete_commands(ctx, ids);
                 }});
  api.add_action("PreviewReplacedCommandContent",
                 {[&ctx](const ApiCall&, Params& p) { return preview(ctx, p); }});
}

}  // namespace ferry::server
