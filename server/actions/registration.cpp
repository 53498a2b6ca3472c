// CreateRegisterCode, DescribeRegisterCodes, DisableRegisterCodes, DeleteRegisterCodes,
// DescribeRegisterInstances, ModifyRegisterInstance, DeleteRegisterInstance,
// DescribeAutomationAgentStatus.
//
// Choices where the model is silent:
//   - RegisterCodeId is a UUID; the value is 32 characters of [a-z0-9] (165 bits), returned once
//     and stored only as its SHA-256. Nothing here logs or echoes it.
//   - EffectiveTime below 1 hour is InvalidParameterValue.Range (the model gives no minimum).
//   - The register code quota uses the command quota's code,
//   ResourceUnavailable.UserHasNoQuotaCode.
//   - DescribeAutomationAgentStatus leaves out ids that are not registered instances, as every
//     Describe action does: TotalCount counts what was found.
//   - Online / Offline comes from the push hub's presence, not from the last heartbeat.
#include <algorithm>
#include <functional>

#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/server/actions/actions.hpp"
#include "ferry/server/api/validation.hpp"

namespace ferry::server {
namespace {

constexpr std::size_t kMaxIds = 100;
constexpr std::size_t kMaxCodeDescription = 128;
constexpr std::size_t kMaxNamePrefix = 32;
constexpr std::size_t kMaxInstanceName = 60;
constexpr int64_t kDefaultRegisterLimit = 10;
constexpr int64_t kMaxRegisterLimit = 10000;
constexpr int64_t kDefaultEffectiveHours = 4;
constexpr int64_t kForeverHours = 99999;  // above this a code never expires
constexpr std::size_t kCodeValueLength = 32;
constexpr int64_t kAllPage = 500;

// UTF-8 code points; invalid bytes count one each.
std::size_t utf8_length(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char ch) {
    return (static_cast<unsigned char>(ch) & 0xC0U) != 0x80U;
  }));
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

Status check_text(std::string_view field, std::string_view value, std::size_t max) {
  if (utf8_length(value) > max) {
    return Error{codes::kTooLong,
                 std::string(field) + ": at most " + std::to_string(max) + " characters"};
  }
  if (has_control(value)) {
    return Error{codes::kInvalidParameterValue,
                 std::string(field) + ": control characters are not allowed"};
  }
  return {};
}

Status check_code_ids(const std::vector<std::string>& ids) {
  if (ids.size() > kMaxIds) {
    return Error{codes::kLimitExceeded, "RegisterCodeIds: at most 100 ids"};
  }
  for (const auto& id : ids) {
    const bool ok = !id.empty() && id.size() <= 64 &&
                    std::all_of(id.begin(), id.end(),
                                [](unsigned char c) { return std::isalnum(c) != 0 || c == '-'; });
    if (!ok) {
      return Error{codes::kInvalidParameterValue,
                   "RegisterCodeIds: '" + id.substr(0, 64) + "' is not a register code id"};
    }
  }
  return {};
}

Status check_filter_values(const Filter& f, std::initializer_list<std::string_view> allowed) {
  for (const auto& v : f.values) {
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string names;
      for (auto a : allowed) {
        names += (names.empty() ? "" : " or ") + std::string(a);
      }
      return Error{"InvalidParameterValue.InvalidFilter",
                   "Filters: " + f.name + " is " + names + ", not " + v};
    }
  }
  return {};
}

bool any_of_values(const std::vector<std::string>& values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

// One page of instances. Conditions the store cannot evaluate (presence lives in memory) are
// applied to every match, then the page is cut, so that TotalCount and paging stay exact.
using InstancePredicate = std::function<bool(const RegisterInstance&)>;
Expected<Page<RegisterInstance>> list_instances(Store& store, RegisterInstanceQuery q,
                                                const InstancePredicate& keep,
                                                const Paging& paging) {
  if (!keep) {
    q.offset = paging.offset;
    q.limit = paging.limit;
    return store.list_instances(q);
  }
  Page<RegisterInstance> out;
  q.offset = 0;
  q.limit = kAllPage;
  for (;;) {
    auto page = store.list_instances(q);
    if (!page) {
      return page.error();
    }
    for (auto& inst : page->items) {
      if (!keep(inst)) {
        continue;
      }
      if (out.total >= paging.offset && out.total < paging.offset + paging.limit) {
        out.items.push_back(std::move(inst));
      }
      ++out.total;
    }
    const auto n = static_cast<int64_t>(page->items.size());
    q.offset += n;
    if (n < q.limit || q.offset >= page->total) {
      return out;
    }
  }
}

nlohmann::json code_to_json(const RegisterCode& c) {
  return nlohmann::json{{"RegisterCodeId", c.register_code_id},
                        {"Description", c.description},
                        {"InstanceNamePrefix", c.instance_name_prefix},
                        {"RegisterLimit", c.register_limit},
                        {"ExpiredTime", format_time(c.expired_ms)},
                        {"IpAddressRange", c.ip_address_range},
                        {"Enabled", c.enabled},
                        {"RegisteredCount", c.registered_count},
                        {"CreatedTime", format_time(c.created_ms)},
                        {"UpdatedTime", format_time(c.updated_ms)}};
}

std::string_view status_of(const AgentPresence& presence, const RegisterInstance& inst) {
  return presence.is_online(inst.instance_id) ? "Online" : "Offline";
}

nlohmann::json instance_to_json(const AgentPresence& presence, const RegisterInstance& inst) {
  nlohmann::json tags = nlohmann::json::array();
  for (const auto& t : inst.tags) {
    tags.push_back({{"Key", t.key}, {"Value", t.value}});
  }
  return nlohmann::json{{"RegisterCodeId", inst.register_code_id},
                        {"InstanceId", inst.instance_id},
                        {"InstanceName", inst.instance_name},
                        {"MachineId", inst.machine_id},
                        {"SystemName", inst.system_name},
                        {"HostName", inst.host_name},
                        {"LocalIp", inst.local_ip},
                        {"PublicKey", inst.public_key},
                        {"Status", std::string(status_of(presence, inst))},
                        {"CreatedTime", format_time(inst.created_ms)},
                        {"UpdatedTime", format_time(inst.updated_ms)},
                        {"Tags", std::move(tags)}};
}

// The agent reports its environment with its heartbeats; before the first one the system the
// instance registered with stands in.
std::string environment_of(const RegisterInstance& inst) {
  return inst.environment.empty() ? inst.system_name : inst.environment;
}

Expected<nlohmann::json> create_register_code(ServerContext& ctx, Params& p) {
  RegisterCode c;
  c.description = p.opt_string("Description").value_or("");
  c.instance_name_prefix = p.opt_string("InstanceNamePrefix").value_or("");
  c.register_limit = p.opt_int("RegisterLimit").value_or(kDefaultRegisterLimit);
  const int64_t hours = p.opt_int("EffectiveTime").value_or(kDefaultEffectiveHours);
  c.ip_address_range = p.opt_string("IpAddressRange").value_or("");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  for (const Status& s : {check_text("Description", c.description, kMaxCodeDescription),
                          check_text("InstanceNamePrefix", c.instance_name_prefix, kMaxNamePrefix),
                          validate_ip_range(c.ip_address_range)}) {
    if (!s) {
      return s.error();
    }
  }
  if (c.register_limit < 1 || c.register_limit > kMaxRegisterLimit) {
    return Error{codes::kRange,
                 "RegisterLimit: must be in [1, 10000], not " + std::to_string(c.register_limit)};
  }
  if (hours < 1) {
    return Error{codes::kRange,
                 "EffectiveTime: must be at least 1 hour (above 99999: never expires), not " +
                     std::to_string(hours)};
  }
  auto existing = ctx.store.list_register_codes({}, 0, 1);
  if (!existing) {
    return existing.error();
  }
  if (existing->total >= ctx.settings.register_code_quota) {
    return Error{"ResourceUnavailable.UserHasNoQuotaCode",
                 "the quota of " + std::to_string(ctx.settings.register_code_quota) +
                     " register codes is used up"};
  }
  auto id = uuid4();
  if (!id) {
    return id.error();
  }
  auto value = random_id("", kCodeValueLength);
  if (!value) {
    return value.error();
  }
  const int64_t now = ctx.clock.now_ms();
  c.register_code_id = *id;
  c.value_hash = sha256_hex(*value);
  c.expired_ms = hours > kForeverHours ? 0 : now + hours * 3600 * 1000;
  c.enabled = true;
  c.registered_count = 0;
  c.created_ms = c.updated_ms = now;
  if (auto s = ctx.store.insert_register_code(c); !s) {
    return s.error();
  }
  return nlohmann::json{{"RegisterCodeId", c.register_code_id}, {"RegisterCodeValue", *value}};
}

Expected<nlohmann::json> describe_register_codes(ServerContext& ctx, Params& p) {
  auto ids = p.opt_string_list("RegisterCodeIds");
  auto paging = read_paging(p);
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (!paging) {
    return paging.error();
  }
  if (ids) {
    if (auto s = check_code_ids(*ids); !s) {
      return s.error();
    }
  }
  auto page = ctx.store.list_register_codes(ids.value_or(std::vector<std::string>{}),
                                            paging->offset, paging->limit);
  if (!page) {
    return page.error();
  }
  nlohmann::json set = nlohmann::json::array();
  for (const auto& c : page->items) {
    set.push_back(code_to_json(c));
  }
  return nlohmann::json{{"TotalCount", page->total}, {"RegisterCodeSet", std::move(set)}};
}

// DisableRegisterCodes and DeleteRegisterCodes: all or none; an unknown id fails the call with
// ResourceNotFound.RegisterCodeNotFound naming it (the store checks inside its transaction).
Expected<nlohmann::json> change_register_codes(ServerContext& ctx, Params& p, bool remove) {
  auto ids = p.req_string_list("RegisterCodeIds");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (auto s = check_code_ids(ids); !s) {
    return s.error();
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  const Status s = remove ? ctx.store.delete_register_codes(ids)
                          : ctx.store.set_register_codes_enabled(ids, false, ctx.clock.now_ms());
  if (!s) {
    return s.error();
  }
  return nlohmann::json::object();
}

Expected<nlohmann::json> describe_register_instances(ServerContext& ctx, Params& p) {
  auto listing = read_listing(p, "InstanceIds");
  if (!listing) {
    return listing.error();
  }
  auto& ids = listing->ids;
  auto& filters = listing->filters;
  RegisterInstanceQuery q;
  std::vector<std::string> statuses;
  if (ids) {
    if (auto s = validate_instance_ids(*ids, kMaxIds); !s) {
      return s.error();
    }
    q.instance_ids = *ids;
  }
  if (filters) {
    if (auto s = validate_filters(*filters,
                                  {"instance-name", "instance-id", "register-status", "local-ip",
                                   "register-code-id", "sys-name", "tag-key", "tag-value"},
                                  true);
        !s) {
      return s.error();
    }
    for (const auto& f : *filters) {
      const auto add = [&f](std::vector<std::string>& field) {
        field.insert(field.end(), f.values.begin(), f.values.end());
      };
      if (f.name == "instance-name") {
        add(q.instance_names);
      } else if (f.name == "instance-id") {
        add(q.instance_ids);
      } else if (f.name == "register-status") {
        if (auto s = check_filter_values(f, {"Online", "Offline"}); !s) {
          return s.error();
        }
        add(statuses);
      } else if (f.name == "local-ip") {
        add(q.local_ips);
      } else if (f.name == "register-code-id") {
        add(q.register_code_ids);
      } else if (f.name == "sys-name") {
        if (auto s = check_filter_values(f, {"Linux", "Windows"}); !s) {
          return s.error();
        }
        add(q.system_names);
      } else if (f.name == "tag-key") {
        add(q.tag_keys);
      } else if (f.name == "tag-value") {
        add(q.tag_values);
      } else {
        q.tag_pairs.emplace_back(f.name.substr(4), f.values);
      }
    }
  }
  InstancePredicate keep;
  if (!statuses.empty()) {
    keep = [&](const RegisterInstance& inst) {
      return any_of_values(statuses, status_of(ctx.presence, inst));
    };
  }
  auto page = list_instances(ctx.store, q, keep, listing->paging);
  if (!page) {
    return page.error();
  }
  nlohmann::json set = nlohmann::json::array();
  for (const auto& inst : page->items) {
    set.push_back(instance_to_json(ctx.presence, inst));
  }
  return nlohmann::json{{"TotalCount", page->total}, {"RegisterInstanceSet", std::move(set)}};
}

Expected<nlohmann::json> modify_register_instance(ServerContext& ctx, Params& p) {
  const std::string id = p.req_string("InstanceId");
  const std::string name = p.req_string("InstanceName");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (auto s = validate_instance_ids({id}, 1); !s) {
    return s.error();
  }
  const std::size_t length = utf8_length(name);
  if (length < 1 || length > kMaxInstanceName || has_control(name)) {
    return Error{codes::kInvalidParameterValue,
                 "InstanceName: 1 to 60 characters without control characters"};
  }
  if (auto s = ctx.store.rename_instance(id, name, ctx.clock.now_ms()); !s) {
    return s.error();
  }
  return nlohmann::json::object();
}

Expected<nlohmann::json> delete_register_instance(ServerContext& ctx, Params& p) {
  const std::string id = p.req_string("InstanceId");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (auto s = validate_instance_ids({id}, 1); !s) {
    return s.error();
  }
  if (auto s = ctx.store.delete_instance(id); !s) {
    return s.error();
  }
  // The key is gone from the store; the live connection it opened must not outlast it.
  ctx.presence.disconnect(id);
  return nlohmann::json::object();
}

Expected<nlohmann::json> describe_agent_status(ServerContext& ctx, Params& p) {
  auto listing = read_listing(p, "InstanceIds");
  if (!listing) {
    return listing.error();
  }
  auto& ids = listing->ids;
  auto& filters = listing->filters;
  RegisterInstanceQuery q;
  std::vector<std::string> statuses;
  std::vector<std::string> environments;
  if (ids) {
    if (auto s = validate_instance_ids(*ids, kMaxIds); !s) {
      return s.error();
    }
    q.instance_ids = *ids;
  }
  if (filters) {
    if (auto s = validate_filters(*filters, {"agent-status", "environment", "instance-id"}, false);
        !s) {
      return s.error();
    }
    for (const auto& f : *filters) {
      if (f.name == "agent-status") {
        if (auto s = check_filter_values(f, {"Online", "Offline"}); !s) {
          return s.error();
        }
        statuses.insert(statuses.end(), f.values.begin(), f.values.end());
      } else if (f.name == "environment") {
        if (auto s = check_filter_values(f, {"Linux", "Windows"}); !s) {
          return s.error();
        }
        environments.insert(environments.end(), f.values.begin(), f.values.end());
      } else {
        q.instance_ids.insert(q.instance_ids.end(), f.values.begin(), f.values.end());
      }
    }
  }
  InstancePredicate keep;
  if (!statuses.empty() || !environments.empty()) {
    keep = [&](const RegisterInstance& inst) {
      return (statuses.empty() || any_of_values(statuses, status_of(ctx.presence, inst))) &&
             (environments.empty() || any_of_values(environments, environment_of(inst)));
    };
  }
  auto page = list_instances(ctx.store, q, keep, listing->paging);
  if (!page) {
    return page.error();
  }
  nlohmann::json set = nlohmann::json::array();
  for (const auto& inst : page->items) {
    set.push_back({{"InstanceId", inst.instance_id},
                   {"Version", inst.agent_version},
                   {"LastHeartbeatTime", format_time(inst.last_heartbeat_ms)},
                   {"AgentStatus", std::string(status_of(ctx.presence, inst))},
                   {"Environment", environment_of(inst)},
                   {"SupportFeatures", inst.support_features}});
  }
  return nlohmann::json{{"AutomationAgentSet", std::move(set)}, {"TotalCount", page->total}};
}

}  // namespace

void register_registration_actions(ApiFront& api, ServerContext& ctx) {
  api.add_action("CreateRegisterCode",
                 {[&ctx](const ApiCall&, Params& p) { return create_register_code(ctx, p); }});
  api.add_action("DescribeRegisterCodes",
                 {[&ctx](const ApiCall&, Params& p) { return describe_register_codes(ctx, p); }});
  api.add_action("DisableRegisterCodes", {[&ctx](const ApiCall&, Params& p) {
                   return change_register_codes(ctx, p, false);
                 }});
  api.add_action("DeleteRegisterCodes", {[&ctx](const ApiCall&, Params& p) {
                   return change_register_codes(ctx, p, true);
                 }});
  api.add_action("DescribeRegisterInstances", {[&ctx](const ApiCall&, Params& p) {
                   return describe_register_instances(ctx, p);
                 }});
  api.add_action("ModifyRegisterInstance",
                 {[&ctx](const ApiCall&, Params& p) { return modify_register_instance(ctx, p); }});
  api.add_action("DeleteRegisterInstance",
                 {[&ctx](const ApiCall&, Params& p) { return delete_register_instance(ctx, p); }});
  api.add_action("DescribeAutomationAgentStatus",
                 {[&ctx](const ApiCall&, Params& p) { return describe_agent_status(ctx, p); }});
}

}  // namespace ferry::server
