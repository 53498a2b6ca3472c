// DescribeRegions, DescribeQuotas, DescribeScenes.
#include "action_handlers.hpp"
#include "ferry/server/domain/quotas.hpp"
#include "ferry/server/tat/tat_listing.hpp"

namespace ferry::server::tat_actions {

Reply describe_regions(ServerContext& ctx, const ApiCall& call, Params& p) {
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  nlohmann::json set = nlohmann::json::array();
  for (const auto& r : ctx.settings.regions) {
    set.push_back(
        {{"Region", r.region}, {"RegionName", r.region_name}, {"RegionState", r.region_state}});
  }
  // Without a configured list every region is served: the one the request names stands for
  // them (none when it names none).
  if (ctx.settings.regions.empty() && !call.region.empty()) {
    set.push_back(
        {{"Region", call.region}, {"RegionName", call.region}, {"RegionState", "AVAILABLE"}});
  }
  return nlohmann::json{{"TotalCount", set.size()}, {"RegionSet", std::move(set)}};
}

Reply describe_quotas(ServerContext& ctx, Params& p) {
  auto names = p.req_string_list("ResourceNames");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  nlohmann::json set = nlohmann::json::array();
  for (const auto& name : names) {
    auto usage = domain::quota_usage(ctx, name);
    if (!usage) {
      return usage.error();
    }
    set.push_back({{"ResourceName", name},
                   {"ResourceQuotaUsed", usage->used},
                   {"ResourceQuotaTotal", usage->total}});
  }
  return nlohmann::json{{"GeneralResourceQuotaSet", std::move(set)}};
}

// Ferry has no public (TAT-made) commands, so it has no scenes: the answer is a real, empty
// listing that still checks its parameters.
Reply describe_scenes(ServerContext& /*ctx*/, Params& p) {
  auto listing =
      read_listing(p, {"SceneIds", nullptr, {}, {{"scene-id"}, {"scene-name"}, {"created-by"}}});
  if (!listing) {
    return listing.error();
  }
  return nlohmann::json{{"TotalCount", 0}, {"SceneSet", nlohmann::json::array()}};
}

}  // namespace ferry::server::tat_actions
