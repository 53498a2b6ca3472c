// CreateCommand, DescribeCommands, ModifyCommand, DeleteCommand.
#include "acs_handlers.hpp"
#include "acs_vocabulary.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/server/acs/acs_codes.hpp"
#include "ferry/server/domain/commands.hpp"
#include "ferry/server/domain/text.hpp"

namespace ferry::server::acs {

void read_command_texts(AcsFields& p, domain::CommandFields& f) {
  f.text_rules = domain::TextRules::kCloudAssistant;
  f.command_name = p.opt_string("Name");
  if (f.command_name && domain::utf8_length(*f.command_name) > 128) {
    p.fail(Error{codes::acs::kCmdNameExceedLimit,
                 "The length of the command name exceeds the upper limit of 128 characters."});
  }
  check_characters(p, f.command_name, codes::acs::kNameCharacter, "Name");
  f.description = p.opt_string("Description");
  if (f.description && domain::utf8_length(*f.description) > 512) {
    p.fail(Error{codes::acs::kCmdDescExceedLimit,
                 "The length of the command description exceeds the upper limit of 512 "
                 "characters."});
  }
  check_characters(p, f.description, codes::acs::kDescriptionCharacter, "Description");
  f.working_directory = read_working_dir(p);
  f.timeout = p.opt_int("Timeout");
  f.launcher = read_launcher(p);
}

Reply create_command(ServerContext& ctx, AcsFields& p) {
  domain::CommandFields f;
  read_command_texts(p, f);
  if (!f.command_name) {
    p.req_string("Name");
  }
  f.command_type = read_command_type(p, true);
  f.content = read_content(p, kMaxKeptContent, true);
  f.enable_parameter = p.opt_bool("EnableParameter");
  f.tags = read_tags(p);
  if (p.ok() && f.enable_parameter.value_or(false)) {
    if (auto names = content_parameter_names(*f.content); !names) {
      p.fail(names.error());
    }
  }
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto id = domain::create_command(ctx, f);
  if (!id) {
    return to_acs_error(id.error());
  }
  return nlohmann::json{{"CommandId", *id}};
}

Reply describe_commands(ServerContext& ctx, AcsFields& p) {
  CommandQuery q;
  if (auto id = p.opt_string("CommandId"); id && !id->empty()) {
    q.command_ids = {*id};
  }
  if (auto name = p.opt_string("Name"); name && !name->empty()) {
    q.command_names = {*name};
  }
  if (auto type = read_command_type(p, false)) {
    q.command_types = {*type};
  }
  if (auto tags = read_tags(p)) {
    for (auto& t : *tags) {
      q.tag_pairs.emplace_back(t.key, std::vector<std::string>{t.value});
    }
  }
  // Ferry keeps no public commands: a listing of a Provider's finds none.
  const auto provider = p.opt_string("Provider");
  const bool plain = read_plain_text(p);
  const Paging paging = read_paging(p);
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  nlohmann::json commands = nlohmann::json::array();
  int64_t total = 0;
  if (!provider || provider->empty()) {
    q.offset = paging.offset;
    q.limit = paging.size;
    auto page = domain::describe_commands(ctx, q);
    if (!page) {
      return to_acs_error(page.error());
    }
    total = page->total;
    for (const auto& c : page->items) {
      auto invoke_times = invocation_count(ctx, c.command_id);
      if (!invoke_times) {
        return invoke_times.error();
      }
      commands.push_back(command_json(c, plain, *invoke_times));
    }
  }
  nlohmann::json out{{"Commands", {{"Command", std::move(commands)}}}};
  write_paging(out, paging, total);
  return out;
}

Reply modify_command(ServerContext& ctx, AcsFields& p) {
  const std::string id = p.req_string("CommandId");
  domain::CommandFields f;
  read_command_texts(p, f);
  f.content = read_content(p, kMaxKeptContent, false);
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (f.content) {
    auto c = domain::get_saved_command(ctx, id);
    if (!c) {
      return to_acs_error(c.error());
    }
    if (c->enable_parameter) {
      if (auto names = content_parameter_names(*f.content); !names) {
        return names.error();
      }
    }
  }
  if (auto s = domain::modify_command(ctx, id, f); !s) {
    return to_acs_error(s.error());
  }
  return nlohmann::json::object();
}

Reply delete_command(ServerContext& ctx, AcsFields& p) {
  const std::string id = p.req_string("CommandId");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (auto s = domain::delete_commands(ctx, {id}); !s) {
    return to_acs_error(s.error());
  }
  return nlohmann::json::object();
}

}  // namespace ferry::server::acs
