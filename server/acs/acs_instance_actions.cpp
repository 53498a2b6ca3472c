// DescribeCloudAssistantStatus, the activations (Ferry's register codes) and the managed
// instances (Ferry's registered instances: one id in both APIs).
#include <algorithm>
#include <cctype>
#include <functional>

#include "acs_handlers.hpp"
#include "acs_vocabulary.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/server/acs/acs_codes.hpp"
#include "ferry/server/domain/register_codes.hpp"

namespace ferry::server::acs {
namespace {

// What the tasks on an instance add up to: how many, how many not ended, the newest one's time.
struct TaskCounts {
  int64_t total = 0;
  int64_t active = 0;
  int64_t last_ms = 0;
};

Expected<TaskCounts> task_counts(ServerContext& ctx, const std::string& instance_id) {
  TaskQuery q;
  q.instance_ids = {instance_id};
  q.limit = 1;
  q.with_output = false;
  auto all = ctx.store.list_tasks(q);
  if (!all) {
    return all.error();
  }
  q.statuses = {TaskStatus::kPending, TaskStatus::kDelivering, TaskStatus::kDeliverDelayed,
                TaskStatus::kRunning, TaskStatus::kCancelling};
  auto active = ctx.store.list_tasks(q);
  if (!active) {
    return active.error();
  }
  TaskCounts counts{all->total, active->total, 0};
  if (!all->items.empty()) {
    counts.last_ms = all->items.front().created_ms;
  }
  return counts;
}

// A page of instances with what their tasks add up to, each written by `item`; the total.
struct InstanceItems {
  nlohmann::json items = nlohmann::json::array();
  int64_t total = 0;
};
Expected<InstanceItems> instance_page(
    ServerContext& ctx, domain::InstanceListing listing, const Paging& paging,
    const std::function<nlohmann::json(const domain::InstanceView&, const TaskCounts&)>& item) {
  listing.query.offset = paging.offset;
  listing.query.limit = paging.size;
  auto page = domain::describe_instances(ctx, listing);
  if (!page) {
    return to_acs_error(page.error());
  }
  InstanceItems out;
  out.total = page->total;
  for (const auto& view : page->items) {
    auto counts = task_counts(ctx, view.instance.instance_id);
    if (!counts) {
      return to_acs_error(counts.error());
    }
    out.items.push_back(item(view, *counts));
  }
  return out;
}

// "linux" / "Windows" as the listings spell an environment.
std::string os_type(std::string_view given) {
  std::string lower(given);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "linux") {
    return "Linux";
  }
  if (lower == "windows") {
    return "Windows";
  }
  return std::string(given);
}

Expected<RegisterCode> one_activation(ServerContext& ctx, const std::string& id) {
  auto page = domain::describe_register_codes(ctx, {id}, 0, 1);
  if (!page) {
    return to_acs_error(page.error());
  }
  if (page->items.empty()) {
    return Error{codes::acs::kActivationNotFound, "The specified activation does not exist."};
  }
  return page->items.front();
}

Expected<domain::InstanceView> one_instance(ServerContext& ctx, const std::string& id) {
  domain::InstanceListing listing;
  listing.query.instance_ids = {id};
  listing.query.limit = 1;
  auto page = domain::describe_instances(ctx, listing);
  if (!page) {
    return to_acs_error(page.error());
  }
  if (page->items.empty()) {
    return Error{codes::acs::kInstanceNotFound, "The specified instance does not exist."};
  }
  return page->items.front();
}

}  // namespace

Reply describe_cloud_assistant_status(ServerContext& ctx, AcsFields& p) {
  domain::InstanceListing listing;
  if (auto ids = p.opt_list("InstanceId")) {
    listing.query.instance_ids = *ids;
  }
  if (auto os = p.opt_string("OSType"); os && !os->empty()) {
    listing.environments = {os_type(*os)};
  }
  const Paging paging = read_paging(p);
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto page = instance_page(ctx, listing, paging,
                            [](const domain::InstanceView& view, const TaskCounts& counts) {
                              return nlohmann::json{
                                  {"InstanceId", view.instance.instance_id},
                                  {"CloudAssistantStatus", view.online ? "true" : "false"},
                                  {"CloudAssistantVersion", view.instance.agent_version},
                                  {"LastHeartbeatTime", acs_time(view.instance.last_heartbeat_ms)},
                                  {"ActiveTaskCount", counts.active},
                                  {"InvocationCount", counts.total},
                                  {"LastInvokedTime", acs_time(counts.last_ms)},
                                  {"OSType", domain::environment_of(view.instance)},
                                  {"SupportSessionManager", false},
                              };
                            });
  if (!page) {
    return page.error();
  }
  nlohmann::json out{{"InstanceCloudAssistantStatusSet",
                      {{"InstanceCloudAssistantStatus", std::move(page->items)}}}};
  write_paging(out, paging, page->total);
  return out;
}

Reply create_activation(ServerContext& ctx, AcsFields& p) {
  domain::RegisterCodeFields f;
  f.instance_name_prefix = p.opt_string("InstanceName");
  f.description = p.opt_string("Description");
  f.register_limit = p.opt_int("InstanceCount");
  f.effective_hours = p.opt_int("TimeToLiveInHours");
  f.ip_address_range = p.opt_string("IpAddressRange");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto code = domain::create_register_code(ctx, f);
  if (!code) {
    return to_acs_error(code.error());
  }
  return nlohmann::json{{"ActivationId", code->register_code_id}, {"ActivationCode", code->value}};
}

Reply describe_activations(ServerContext& ctx, AcsFields& p) {
  std::vector<std::string> ids;
  if (auto id = p.opt_string("ActivationId"); id && !id->empty()) {
    ids = {*id};
  }
  const auto name = p.opt_string("InstanceName");
  const Paging paging = read_paging(p);
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  // Register codes are few (their quota is small): filter by name over all of them.
  auto page = domain::describe_register_codes(ctx, ids, 0, ctx.settings.register_code_quota + 1);
  if (!page) {
    return to_acs_error(page.error());
  }
  std::vector<const RegisterCode*> matching;
  for (const auto& c : page->items) {
    if (!name || name->empty() || c.instance_name_prefix == *name) {
      matching.push_back(&c);
    }
  }
  nlohmann::json list = nlohmann::json::array();
  for (int64_t i = paging.offset;
       i < static_cast<int64_t>(matching.size()) && i < paging.offset + paging.size; ++i) {
    list.push_back(activation_json(*matching[static_cast<std::size_t>(i)]));
  }
  nlohmann::json out{{"ActivationList", std::move(list)}};
  write_paging(out, paging, static_cast<int64_t>(matching.size()));
  return out;
}

Reply disable_activation(ServerContext& ctx, AcsFields& p) {
  const std::string id = p.req_string("ActivationId");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (auto s = domain::set_register_codes_enabled(ctx, {id}, false); !s) {
    return to_acs_error(s.error());
  }
  auto code = one_activation(ctx, id);
  if (!code) {
    return code.error();
  }
  return nlohmann::json{{"Activation", activation_json(*code)}};
}

Reply delete_activation(ServerContext& ctx, AcsFields& p) {
  const std::string id = p.req_string("ActivationId");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto code = one_activation(ctx, id);
  if (!code) {
    return code.error();
  }
  if (auto s = domain::delete_register_codes(ctx, {id}); !s) {
    return to_acs_error(s.error());
  }
  return nlohmann::json{{"Activation", activation_json(*code)}};
}

Reply describe_managed_instances(ServerContext& ctx, AcsFields& p) {
  domain::InstanceListing listing;
  if (auto ids = p.opt_list("InstanceId")) {
    listing.query.instance_ids = *ids;
  }
  if (auto name = p.opt_string("InstanceName"); name && !name->empty()) {
    listing.query.instance_names = {*name};
  }
  if (auto ip = p.opt_string("InstanceIp"); ip && !ip->empty()) {
    listing.query.local_ips = {*ip};
  }
  if (auto id = p.opt_string("ActivationId"); id && !id->empty()) {
    listing.query.register_code_ids = {*id};
  }
  if (auto os = p.opt_string("OsType"); os && !os->empty()) {
    listing.environments = {os_type(*os)};
  }
  if (auto connected = p.opt_bool("Connected")) {
    listing.presence = {std::string(domain::presence_name(*connected))};
  }
  if (auto tags = read_tags(p)) {
    for (auto& t : *tags) {
      listing.query.tag_pairs.emplace_back(t.key, std::vector<std::string>{t.value});
    }
  }
  const Paging paging = read_paging(p);
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto page = instance_page(ctx, listing, paging,
                            [](const domain::InstanceView& view, const TaskCounts& counts) {
                              nlohmann::json item = managed_instance_json(view);
                              item["InvocationCount"] = counts.total;
                              item["LastInvokedTime"] = acs_time(counts.last_ms);
                              return item;
                            });
  if (!page) {
    return page.error();
  }
  nlohmann::json out{{"Instances", std::move(page->items)}};
  write_paging(out, paging, page->total);
  return out;
}

Reply modify_managed_instance(ServerContext& ctx, AcsFields& p) {
  const std::string id = p.req_string("InstanceId");
  const std::string name = p.req_string("InstanceName");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (auto s = domain::rename_instance(ctx, id, name); !s) {
    return to_acs_error(s.error());
  }
  return nlohmann::json{{"Instance", {{"InstanceId", id}, {"InstanceName", name}}}};
}

Reply deregister_managed_instance(ServerContext& ctx, AcsFields& p) {
  const std::string id = p.req_string("InstanceId");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  auto view = one_instance(ctx, id);
  if (!view) {
    return view.error();
  }
  if (auto s = domain::delete_instance(ctx, id); !s) {
    return to_acs_error(s.error());
  }
  return nlohmann::json{{"Instance", managed_instance_json(*view)}};
}

}  // namespace ferry::server::acs
