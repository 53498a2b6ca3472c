// The command actions of the domain, and the one place where a command's fields are checked.
#include "ferry/server/domain/commands.hpp"

#include "ferry/core/base64.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/parameters.hpp"
#include "ferry/core/script_command.hpp"
#include "ferry/core/task.hpp"
#include "ferry/server/domain/parameter_rules.hpp"
#include "ferry/server/domain/value_rules.hpp"

namespace ferry::server::domain {
namespace {

Error command_not_found(const std::string& id) {
  return Error{codes::kCommandNotFound, "the command " + id + " does not exist"};
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
      return Error{codes::kCommandNameDuplicated, "a command named " + name + " already exists"};
    }
  }
  return {};
}

}  // namespace

Expected<Command> get_saved_command(ServerContext& ctx, const std::string& id) {
  auto c = ctx.store.get_command(id);
  if (!c) {
    return c.error();
  }
  if (!*c || !(*c)->saved) {
    return command_not_found(id);
  }
  return std::move(**c);
}

Expected<std::optional<DefaultParameters>> resolve_default_parameters(
    const std::optional<std::string>& json_text,
    const std::optional<std::vector<DefaultParameterConf>>& confs, bool enable_parameter) {
  if (!json_text && !confs) {
    return std::optional<DefaultParameters>();
  }
  if (json_text && confs) {
    return Error{"InvalidParameter.ConflictParameter",
                 "DefaultParameters and DefaultParameterConfs cannot be given together"};
  }
  if (!enable_parameter) {
    return Error{"InvalidParameterValue.SupportParametersOnlyIfEnableParameter",
                 "default parameters need EnableParameter to be true"};
  }
  DefaultParameters out;
  auto parsed = json_text ? parse_parameter_object("DefaultParameters", *json_text)
                          : parameter_confs_to_map(*confs);
  if (!parsed) {
    return parsed.error();
  }
  out.json = parameter_map_to_json(*parsed);
  if (confs) {
    out.confs = *confs;
  }
  return std::optional<DefaultParameters>(std::move(out));
}

CommandFields new_command_fields(CommandFields fields) {
  fields.content = fields.content.value_or("");
  if (fields.username && fields.username->empty()) {
    fields.username.reset();
  }
  return fields;
}

void apply_command_fields(const CommandFields& f, Command& c) {
  const auto set = [](auto& target, const auto& given) {
    if (given) {
      target = *given;
    }
  };
  set(c.command_name, f.command_name);
  set(c.content, f.content);
  set(c.description, f.description);
  set(c.command_type, f.command_type);
  set(c.working_directory, f.working_directory);
  set(c.timeout, f.timeout);
  set(c.enable_parameter, f.enable_parameter);
  set(c.tags, f.tags);
  set(c.username, f.username);
  set(c.output_cos_bucket_url, f.output_cos_bucket_url);
  set(c.output_cos_key_prefix, f.output_cos_key_prefix);
  set(c.launcher, f.launcher);
  if (f.defaults) {
    c.default_parameters = f.defaults->json;
    c.default_parameter_confs = f.defaults->confs;
  }
}

Status check_execution(const ExecutionSettings& e, std::string_view command_type) {
  if (e.launcher.size() > kMaxLauncher) {
    return Error{codes::acs::kLauncherLengthLimitExceeded, "Launcher: at most 1 KB (1024 bytes)"};
  }
  if (!e.launcher.empty()) {
    if (auto parsed = parse_launcher(e.launcher); !parsed) {
      return Error{codes::kInvalidParameter, "Launcher: " + parsed.error().message};
    }
  }
  if (!e.termination_mode.empty() && !parse_termination_mode(e.termination_mode)) {
    return Error{
        codes::acs::kInvalidTerminationMode,
        "TerminationMode: Process or ProcessTree, not " + e.termination_mode.substr(0, 32)};
  }
  if (!e.container_id.empty() && !is_valid_container_id(e.container_id)) {
    return Error{codes::kInvalidContainerId,
                 "ContainerId: an optional docker://, containerd:// or cri-o:// and 12 to 64 hex "
                 "digits"};
  }
  if (!e.container_name.empty() && !is_valid_container_name(e.container_name)) {
    return Error{codes::kInvalidContainerName,
                 "ContainerName: 1 to 255 of [A-Za-z0-9_.-], first a letter or digit"};
  }
  const bool container = !e.container_id.empty() || !e.container_name.empty();
  if (container && !e.container_id.empty() && !e.container_name.empty()) {
    return Error{codes::kInvalidParameter, "ContainerId and ContainerName: give one of them"};
  }
  if (container && !e.launcher.empty()) {
    return Error{codes::kInvalidParameter, "Launcher: not for a command in a container"};
  }
  if (container && command_type != "SHELL") {
    return Error{codes::kInvalidParameter, "a container runs shell scripts only"};
  }
  return {};
}

Status check_command_fields(const ServerSettings& settings, const CommandFields& f,
                            std::optional<std::string_view> directory_type, bool non_ascii_name) {
  const auto& http_hosts = settings.output_buckets.allow_http_hosts;
  const auto given = [](const auto& field, auto&& rule) { return field ? rule(*field) : Status{}; };
  const bool acs = f.text_rules == TextRules::kCloudAssistant;
  const Status checks[] = {
      given(f.command_name,
            [&](const std::string& v) {
              return acs ? validate_text("Name", v, kMaxAcsCommandName)
                         : validate_command_name(v, non_ascii_name);
            }),
      given(f.content, [](const std::string& v) { return validate_content(v); }),
      given(f.description,
            [&](const std::string& v) {
              return acs ? validate_text("Description", v, kMaxAcsDescription)
                         : validate_description(v);
            }),
      given(f.command_type, [](const std::string& v) { return validate_command_type(v); }),
      directory_type ? given(f.working_directory,
                             [&](const std::string& v) {
                               return validate_working_directory(v, *directory_type);
                             })
                     : Status{},
      given(f.timeout, [](int64_t v) { return validate_timeout(v); }),
      given(f.username, [](const std::string& v) { return validate_username(v); }),
      given(f.output_cos_bucket_url,
            [&](const std::string& v) {
              return v.empty() ? Status{} : validate_cos_bucket_url(v, http_hosts);
            }),
      given(f.output_cos_key_prefix,
            [](const std::string& v) { return validate_cos_key_prefix(v); }),
      given(f.launcher,
            [&](const std::string& v) {
              return check_execution(ExecutionSettings{v, "", "", ""},
                                     directory_type.value_or("SHELL"));
            }),
      given(f.tags,
            [&](const std::vector<Tag>& v) {
              return validate_tags(v, acs ? kMaxAcsTags : kMaxTags);
            }),
  };
  for (const Status& s : checks) {
    if (!s) {
      return s;
    }
  }
  return {};
}

Status check_command_quota(ServerContext& ctx) {
  auto count = ctx.store.count_saved_commands();
  if (!count) {
    return count.error();
  }
  if (*count >= ctx.settings.command_quota) {
    return Error{
        "ResourceUnavailable.UserHasNoQuotaCode",
        "the quota of " + std::to_string(ctx.settings.command_quota) + " commands is used up"};
  }
  return {};
}

Expected<std::string> create_command(ServerContext& ctx, const CommandFields& fields) {
  CommandFields given = new_command_fields(fields);
  given.command_name = fields.command_name.value_or("");  // required, unlike RunCommand's
  Command c;
  apply_command_fields(given, c);
  if (auto s = check_command_fields(ctx.settings, given, c.command_type); !s) {
    return s.error();
  }
  if (c.enable_parameter) {
    if (auto s = validate_references(c.content); !s) {
      return s.error();
    }
  }
  if (auto s = check_command_quota(ctx); !s) {
    return s.error();
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
  return c.command_id;
}

Status modify_command(ServerContext& ctx, const std::string& id, const CommandFields& changes) {
  if (auto s = validate_command_id(id); !s) {
    return s;
  }
  if (changes.enable_parameter || changes.tags) {
    return Error{codes::kInvalidParameter,
                 "EnableParameter and Tags of a saved command cannot be modified"};
  }
  if (auto s = check_command_fields(ctx.settings, changes, std::nullopt, true); !s) {
    return s;
  }
  if (changes.command_name) {
    if (auto s = check_name_free(ctx.store, *changes.command_name, id); !s) {
      return s;
    }
  }
  const int64_t now = ctx.clock.now_ms();
  auto updated = ctx.store.modify_command(id, [&](Command& c) -> Status {
    if (!c.saved) {
      return command_not_found(id);
    }
    if (changes.defaults && !c.enable_parameter) {
      return Error{"InvalidParameterValue.SupportParametersOnlyIfEnableParameter",
                   "the command " + id + " was created without EnableParameter"};
    }
    apply_command_fields(changes, c);
    // The directory's form depends on the type, which may change or not.
    if (auto s = validate_working_directory(c.working_directory, c.command_type); !s) {
      return s;
    }
    if (c.enable_parameter && changes.content) {
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
  return {};
}

Expected<std::vector<Tag>> modify_command_tags(
    ServerContext& ctx, const std::string& id,
    const std::function<Status(std::vector<Tag>&)>& mutate, std::size_t max_tags) {
  if (auto s = validate_command_id(id); !s) {
    return s.error();
  }
  auto updated = ctx.store.modify_command(id, [&](Command& c) -> Status {
    if (!c.saved) {
      return command_not_found(id);
    }
    if (auto s = mutate(c.tags); !s) {
      return s;
    }
    c.updated_ms = ctx.clock.now_ms();
    return validate_tags(c.tags, max_tags);
  });
  if (!updated) {
    return updated.error();
  }
  return updated->tags;
}

Status delete_commands(ServerContext& ctx, const std::vector<std::string>& ids) {
  if (auto s = validate_id_count(ids, "CommandIds"); !s) {
    return s;
  }
  for (const auto& id : ids) {
    if (auto s = validate_command_id(id); !s) {
      return s;
    }
    if (auto c = get_saved_command(ctx, id); !c) {
      return c.error();
    }
  }
  return ctx.store.delete_commands(ids);
}

Status check_command_ids(const std::vector<std::string>& ids) {
  if (auto s = validate_id_count(ids, "CommandIds"); !s) {
    return s;
  }
  for (const auto& id : ids) {
    if (auto s = validate_command_id(id); !s) {
      return s;
    }
  }
  return {};
}

Expected<Page<Command>> describe_commands(ServerContext& ctx, const CommandQuery& query) {
  return ctx.store.list_commands(query);
}

Expected<std::string> preview_command_content(ServerContext& ctx, const PreviewRequest& r) {
  if (r.command_id.has_value() == r.content.has_value()) {
    return Error{"InvalidParameter.ConflictParameter",
                 "exactly one of CommandId and Content must be given"};
  }
  std::map<std::string, std::string> values;
  std::string script_b64;
  if (r.command_id) {
    if (auto s = validate_command_id(*r.command_id); !s) {
      return s.error();
    }
    auto c = get_saved_command(ctx, *r.command_id);
    if (!c) {
      return c.error();
    }
    if (!c->enable_parameter) {
      return Error{"InvalidParameterValue.ParameterDisabled",
                   "the command " + *r.command_id + " was created without EnableParameter"};
    }
    script_b64 = c->content;
    if (!c->default_parameters.empty()) {
      auto defaults = parse_parameter_object("DefaultParameters", c->default_parameters);
      if (defaults) {
        values = *defaults;
      }
    }
  } else {
    if (auto s = validate_content(*r.content); !s) {
      return s.error();
    }
    script_b64 = *r.content;
  }
  if (r.parameters) {
    auto given = parse_parameter_object("Parameters", *r.parameters);
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
  // Hidden parameters' values are secrets: the preview shows the mask in their place.
  auto replaced = substitute_parameters(*script, values, shown, HiddenValues::kMasked);
  if (!replaced) {
    return replaced.error();
  }
  return base64_encode(*replaced);
}

}  // namespace ferry::server::domain
