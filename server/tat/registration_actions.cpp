// CreateRegisterCode, DescribeRegisterCodes, DisableRegisterCodes, DeleteRegisterCodes,
// DescribeRegisterInstances, ModifyRegisterInstance, DeleteRegisterInstance,
// DescribeAutomationAgentStatus.
#include <functional>

#include "action_handlers.hpp"
#include "ferry/server/domain/instances.hpp"
#include "ferry/server/domain/register_codes.hpp"
#include "ferry/server/domain/value_rules.hpp"
#include "ferry/server/tat/tat_json.hpp"
#include "ferry/server/tat/tat_listing.hpp"

namespace ferry::server::tat_actions {
namespace {

// The head both instance listings share: InstanceIds or Filters (their fields set by
// `apply`), and the page.
Expected<domain::InstanceListing> read_instance_listing(
    Params& p, ListingRules rules,
    const std::function<Status(const std::vector<Filter>&, domain::InstanceListing&)>& apply) {
  rules.ids_field = "InstanceIds";
  auto listing = read_listing(p, rules);
  if (!listing) {
    return listing.error();
  }
  domain::InstanceListing out;
  out.query.offset = listing->paging.offset;
  out.query.limit = listing->paging.limit;
  if (listing->ids) {
    if (auto s = domain::validate_instance_ids(*listing->ids, domain::kMaxIds); !s) {
      return s.error();
    }
    out.query.instance_ids = *listing->ids;
  }
  if (listing->filters) {
    if (auto s = apply(*listing->filters, out); !s) {
      return s.error();
    }
  }
  return out;
}

// A page of instances as `to_json` shows each, in the set named `set_name`.
Reply instance_page(ServerContext& ctx, const Expected<domain::InstanceListing>& listing,
                    const char* set_name, nlohmann::json (*to_json)(const domain::InstanceView&)) {
  if (!listing) {
    return listing.error();
  }
  auto page = domain::describe_instances(ctx, *listing);
  if (!page) {
    return page.error();
  }
  nlohmann::json set = nlohmann::json::array();
  for (const auto& view : page->items) {
    set.push_back(to_json(view));
  }
  return nlohmann::json{{"TotalCount", page->total}, {set_name, std::move(set)}};
}

}  // namespace

Reply create_register_code(ServerContext& ctx, Params& p) {
  domain::RegisterCodeFields f;
  f.description = p.opt_string("Description");
  f.instance_name_prefix = p.opt_string("InstanceNamePrefix");
  f.register_limit = p.opt_int("RegisterLimit");
  f.effective_hours = p.opt_int("EffectiveTime");
  f.ip_address_range = p.opt_string("IpAddressRange");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto code = domain::create_register_code(ctx, f);
  if (!code) {
    return code.error();
  }
  return nlohmann::json{{"RegisterCodeId", code->register_code_id},
                        {"RegisterCodeValue", code->value}};
}

Reply describe_register_codes(ServerContext& ctx, Params& p) {
  auto ids = p.opt_string_list("RegisterCodeIds");
  auto paging = read_paging(p);
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (!paging) {
    return paging.error();
  }
  auto page = domain::describe_register_codes(ctx, ids.value_or(std::vector<std::string>{}),
                                              paging->offset, paging->limit);
  if (!page) {
    return page.error();
  }
  nlohmann::json set = nlohmann::json::array();
  for (const auto& c : page->items) {
    set.push_back(register_code_to_json(c));
  }
  return nlohmann::json{{"TotalCount", page->total}, {"RegisterCodeSet", std::move(set)}};
}

Reply disable_register_codes(ServerContext& ctx, Params& p) {
  auto ids = p.req_string_list("RegisterCodeIds");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  return reply_if(domain::set_register_codes_enabled(ctx, std::move(ids), false));
}

Reply delete_register_codes(ServerContext& ctx, Params& p) {
  auto ids = p.req_string_list("RegisterCodeIds");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  return reply_if(domain::delete_register_codes(ctx, std::move(ids)));
}

Reply describe_register_instances(ServerContext& ctx, Params& p) {
  auto listing = read_instance_listing(
      p,
      {{},
       {"instance-name", "instance-id", "register-status", "local-ip", "register-code-id",
        "sys-name", "tag-key", "tag-value"},
       true},
      [](const std::vector<Filter>& filters, domain::InstanceListing& l) {
        auto& q = l.query;
        return apply_filters(filters,
                             {{"instance-name", &q.instance_names},
                              {"instance-id", &q.instance_ids},
                              {"register-status", &l.presence, {"Online", "Offline"}},
                              {"local-ip", &q.local_ips},
                              {"register-code-id", &q.register_code_ids},
                              {"sys-name", &q.system_names, {"Linux", "Windows"}},
                              {"tag-key", &q.tag_keys},
                              {"tag-value", &q.tag_values}},
                             &q.tag_pairs);
      });
  return instance_page(ctx, listing, "RegisterInstanceSet", &instance_to_json);
}

Reply modify_register_instance(ServerContext& ctx, Params& p) {
  const std::string id = p.req_string("InstanceId");
  const std::string name = p.req_string("InstanceName");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  return reply_if(domain::rename_instance(ctx, id, name));
}

Reply delete_register_instance(ServerContext& ctx, Params& p) {
  const std::string id = p.req_string("InstanceId");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  return reply_if(domain::delete_instance(ctx, id));
}

Reply describe_automation_agent_status(ServerContext& ctx, Params& p) {
  auto listing = read_instance_listing(
      p, {{}, {"agent-status", "environment", "instance-id"}, false},
      [](const std::vector<Filter>& filters, domain::InstanceListing& l) {
        return apply_filters(filters, {{"agent-status", &l.presence, {"Online", "Offline"}},
                                       {"environment", &l.environments, {"Linux", "Windows"}},
                                       {"instance-id", &l.query.instance_ids}});
      });
  return instance_page(ctx, listing, "AutomationAgentSet", &agent_status_to_json);
}

}  // namespace ferry::server::tat_actions
