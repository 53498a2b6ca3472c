// CreateInvoker, DescribeInvokers, ModifyInvoker, EnableInvoker, DisableInvoker, DeleteInvoker,
// DescribeInvokerRecords.
#include <map>
#include <nlohmann/json.hpp>

#include "action_handlers.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/server/domain/invokers.hpp"
#include "ferry/server/hidden_parameters.hpp"
#include "ferry/server/tat/tat_json.hpp"
#include "ferry/server/tat/tat_listing.hpp"

namespace ferry::server::tat_actions {
namespace {

// ScheduleSettings: an object of strings, Policy required, no other keys than the model's
// (and Ferry's StartTime and EndTime). The first problem goes to `p`.
std::optional<domain::ScheduleFields> read_schedule(Params& p) {
  auto json = p.opt_json("ScheduleSettings");
  if (!json) {
    return std::nullopt;
  }
  if (!json->is_object()) {
    p.fail(Error{codes::kInvalidParameter, "ScheduleSettings: must be an object"});
    return std::nullopt;
  }
  domain::ScheduleFields out;
  bool has_policy = false;
  for (const auto& [key, value] : json->items()) {
    std::optional<std::string>* target = key == "Recurrence"   ? &out.recurrence
                                         : key == "InvokeTime" ? &out.invoke_time
                                         : key == "StartTime"  ? &out.start_time
                                         : key == "EndTime"    ? &out.end_time
                                                               : nullptr;
    if (key != "Policy" && target == nullptr) {
      p.fail(Error{"UnknownParameter", "ScheduleSettings." + key + ": not a field of it"});
      return std::nullopt;
    }
    if (value.is_null()) {
      continue;
    }
    if (!value.is_string()) {
      p.fail(Error{codes::kInvalidParameter, "ScheduleSettings." + key + ": must be a string"});
      return std::nullopt;
    }
    if (key == "Policy") {
      out.policy = value.get<std::string>();
      has_policy = true;
    } else {
      *target = value.get<std::string>();
    }
  }
  if (!has_policy) {
    p.fail(Error{codes::kMissingParameter, "ScheduleSettings.Policy: required"});
    return std::nullopt;
  }
  return out;
}

Reply invoker_id_action(ServerContext& ctx, Params& p,
                        Status (*action)(ServerContext&, const std::string&)) {
  const std::string id = p.req_string("InvokerId");
  return finish_then(p, [&] { return action(ctx, id); });
}

}  // namespace

Reply create_invoker(ServerContext& ctx, Params& p) {
  domain::InvokerFields f;
  f.name = p.req_string("Name");
  f.type = p.req_string("Type");
  f.command_id = p.req_string("CommandId");
  f.instance_ids = p.req_string_list("InstanceIds");
  f.username = p.opt_string("Username");
  f.parameters = p.opt_string("Parameters");
  f.schedule = read_schedule(p);
  f.tags = p.opt_tags("Tags");
  return finish_then(
      p, [&] { return domain::create_invoker(ctx, f); },
      [](const std::string& id) {
        return nlohmann::json{{"InvokerId", id}};
      });
}

Reply describe_invokers(ServerContext& ctx, Params& p) {
  InvokerQuery q;
  auto listing = read_listing(p, q,
                              {"InvokerIds",
                               &q.invoker_ids,
                               domain::check_invoker_ids,
                               {{"invoker-id", &q.invoker_ids},
                                {"command-id", &q.command_ids},
                                {"invoker-type", &q.types}}});
  if (!listing) {
    return listing.error();
  }
  auto page = domain::describe_invokers(ctx, q);
  if (page) {
    // Hidden parameters' values are masked as in an invocation (hidden_parameters.hpp): the
    // names come from each invoker's command, read once per command on the page.
    std::map<std::string, std::vector<std::string>> hidden_by_command;
    for (auto& invoker : page->items) {
      if (invoker.parameters.empty()) {
        continue;
      }
      auto [it, added] = hidden_by_command.try_emplace(invoker.command_id);
      if (added) {
        auto command = ctx.store.get_command(invoker.command_id);
        if (command && *command) {
          it->second = hidden_parameter_names((*command)->content);
        }
      }
      invoker.parameters = mask_hidden_values(invoker.parameters, it->second);
    }
  }
  return page_reply(page, "InvokerSet", &invoker_to_json);
}

Reply modify_invoker(ServerContext& ctx, Params& p) {
  const std::string id = p.req_string("InvokerId");
  domain::InvokerFields f;
  f.name = p.opt_string("Name");
  f.type = p.opt_string("Type");
  f.command_id = p.opt_string("CommandId");
  f.username = p.opt_string("Username");
  f.parameters = p.opt_string("Parameters");
  f.instance_ids = p.opt_string_list("InstanceIds");
  f.schedule = read_schedule(p);
  return finish_then(p, [&] { return domain::modify_invoker(ctx, id, f); });
}

Reply enable_invoker(ServerContext& ctx, Params& p) {
  return invoker_id_action(ctx, p, [](ServerContext& c, const std::string& id) {
    return domain::set_invoker_enabled(c, id, true);
  });
}

Reply disable_invoker(ServerContext& ctx, Params& p) {
  return invoker_id_action(ctx, p, [](ServerContext& c, const std::string& id) {
    return domain::set_invoker_enabled(c, id, false);
  });
}

Reply delete_invoker(ServerContext& ctx, Params& p) {
  return invoker_id_action(ctx, p, &domain::delete_invoker);
}

Reply describe_invoker_records(ServerContext& ctx, Params& p) {
  InvokerRecordQuery q;
  q.invoker_ids = p.opt_string_list("InvokerIds").value_or(std::vector<std::string>{});
  auto paging = read_paging(p);
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (!paging) {
    return paging.error();
  }
  if (auto s = domain::check_invoker_ids(q.invoker_ids); !s) {
    return s.error();
  }
  q.offset = paging->offset;
  q.limit = paging->limit;
  return page_reply(domain::describe_invoker_records(ctx, q), "InvokerRecordSet",
                    &invoker_record_to_json);
}

}  // namespace ferry::server::tat_actions
