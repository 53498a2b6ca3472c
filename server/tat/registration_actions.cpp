// CreateRegisterCode, DescribeRegisterCodes, DisableRegisterCodes, DeleteRegisterCodes,
// DescribeRegisterInstances, ModifyRegisterInstance, DeleteRegisterInstance,
// DescribeAutomationAgentStatus.
#include "action_handlers.hpp"
#include "ferry/server/domain/instances.hpp"
#include "ferry/server/domain/register_codes.hpp"
#include "ferry/server/domain/value_rules.hpp"
#include "ferry/server/tat/tat_json.hpp"
#include "ferry/server/tat/tat_listing.hpp"

namespace ferry::server::tat_actions {
namespace {

Status check_instance_ids(const std::vector<std::string>& ids) {
  return domain::validate_instance_ids(ids, domain::kMaxIds);
}

}  // namespace

Reply create_register_code(ServerContext& ctx, Params& p) {
  domain::RegisterCodeFields f;
  f.description = p.opt_string("Description");
  f.instance_name_prefix = p.opt_string("InstanceNamePrefix");
  f.register_limit = p.opt_int("RegisterLimit");
  f.effective_hours = p.opt_int("EffectiveTime");
  f.ip_address_range = p.opt_string("IpAddressRange");
  return finish_then(
      p, [&] { return domain::create_register_code(ctx, f); },
      [](const domain::NewRegisterCode& c) {
        return nlohmann::json{{"RegisterCodeId", c.register_code_id},
                              {"RegisterCodeValue", c.value}};
      });
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
  return page_reply(domain::describe_register_codes(ctx, ids.value_or(std::vector<std::string>{}),
                                                    paging->offset, paging->limit),
                    "RegisterCodeSet", &register_code_to_json);
}

Reply disable_register_codes(ServerContext& ctx, Params& p) {
  auto ids = p.req_string_list("RegisterCodeIds");
  return finish_then(p, [&] { return domain::set_register_codes_enabled(ctx, ids, false); });
}

Reply delete_register_codes(ServerContext& ctx, Params& p) {
  auto ids = p.req_string_list("RegisterCodeIds");
  return finish_then(p, [&] { return domain::delete_register_codes(ctx, ids); });
}

Reply describe_register_instances(ServerContext& ctx, Params& p) {
  domain::InstanceListing l;
  auto& q = l.query;
  return listing_reply(
      read_listing(p, q,
                   {"InstanceIds",
                    &q.instance_ids,
                    check_instance_ids,
                    {{"instance-name", &q.instance_names},
                     {"instance-id", &q.instance_ids},
                     {"register-status", &l.presence, {"Online", "Offline"}},
                     {"local-ip", &q.local_ips},
                     {"register-code-id", &q.register_code_ids},
                     {"sys-name", &q.system_names, {"Linux", "Windows"}},
                     {"tag-key", &q.tag_keys},
                     {"tag-value", &q.tag_values}},
                    &q.tag_pairs}),
      [&] { return domain::describe_instances(ctx, l); }, "RegisterInstanceSet", &instance_to_json);
}

Reply modify_register_instance(ServerContext& ctx, Params& p) {
  const std::string id = p.req_string("InstanceId");
  const std::string name = p.req_string("InstanceName");
  return finish_then(p, [&] { return domain::rename_instance(ctx, id, name); });
}

Reply delete_register_instance(ServerContext& ctx, Params& p) {
  const std::string id = p.req_string("InstanceId");
  return finish_then(p, [&] { return domain::delete_instance(ctx, id); });
}

Reply describe_automation_agent_status(ServerContext& ctx, Params& p) {
  domain::InstanceListing l;
  return listing_reply(
      read_listing(p, l.query,
                   {"InstanceIds",
                    &l.query.instance_ids,
                    check_instance_ids,
                    {{"agent-status", &l.presence, {"Online", "Offline"}},
                     {"environment", &l.environments, {"Linux", "Windows"}},
                     {"instance-id", &l.query.instance_ids}}}),
      [&] { return domain::describe_instances(ctx, l); }, "AutomationAgentSet",
      &agent_status_to_json);
}

}  // namespace ferry::server::tat_actions
