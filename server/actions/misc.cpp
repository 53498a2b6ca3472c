// DescribeRegions, DescribeQuotas, DescribeScenes, and the invoker actions until their issue.
#include "ferry/core/error_codes.hpp"
#include "ferry/server/actions/actions.hpp"
#include "ferry/server/api/validation.hpp"

namespace ferry::server {
namespace {

Expected<nlohmann::json> describe_regions(ServerContext& ctx, Params& p) {
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  nlohmann::json set = nlohmann::json::array();
  for (const auto& r : ctx.settings.regions) {
    set.push_back(
        {{"Region", r.region}, {"RegionName", r.region_name}, {"RegionState", r.region_state}});
  }
  return nlohmann::json{{"TotalCount", set.size()}, {"RegionSet", std::move(set)}};
}

Expected<nlohmann::json> describe_quotas(ServerContext& ctx, Params& p) {
  auto names = p.req_string_list("ResourceNames");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  nlohmann::json set = nlohmann::json::array();
  for (const auto& name : names) {
    if (name == "COMMAND") {
      auto used = ctx.store.count_saved_commands();
      if (!used) {
        return used.error();
      }
      set.push_back({{"ResourceName", name},
                     {"ResourceQuotaUsed", *used},
                     {"ResourceQuotaTotal", ctx.settings.command_quota}});
    } else if (name == "REGISTER_CODE") {
      auto codes_page = ctx.store.list_register_codes({}, 0, 1);
      if (!codes_page) {
        return codes_page.error();
      }
      set.push_back({{"ResourceName", name},
                     {"ResourceQuotaUsed", codes_page->total},
                     {"ResourceQuotaTotal", ctx.settings.register_code_quota}});
    } else {
      return Error{codes::kInvalidParameterValue,
                   "ResourceNames: COMMAND or REGISTER_CODE, not " + name};
    }
  }
  return nlohmann::json{{"GeneralResourceQuotaSet", std::move(set)}};
}

// Ferry has no public (TAT-made) commands, so it has no scenes: the answer is a real, empty
// listing that still checks its parameters.
Expected<nlohmann::json> describe_scenes(Params& p) {
  auto listing = read_listing(p, "SceneIds");
  if (!listing) {
    return listing.error();
  }
  if (listing->filters) {
    if (auto s =
            validate_filters(*listing->filters, {"scene-id", "scene-name", "created-by"}, false);
        !s) {
      return s.error();
    }
  }
  return nlohmann::json{{"TotalCount", 0}, {"SceneSet", nlohmann::json::array()}};
}

}  // namespace

void register_misc_actions(ApiFront& api, ServerContext& ctx) {
  api.add_action("DescribeRegions",
                 {[&ctx](const ApiCall&, Params& p) { return describe_regions(ctx, p); }});
  api.add_action("DescribeQuotas",
                 {[&ctx](const ApiCall&, Params& p) { return describe_quotas(ctx, p); }});
  api.add_action("DescribeScenes", {[](const ApiCall&, Params& p) { return describe_scenes(p); }});
  for (const char* name : {"CreateInvoker", "DescribeInvokers", "ModifyInvoker", "EnableInvoker",
                           "DisableInvoker", "DeleteInvoker", "DescribeInvokerRecords"}) {
    api.add_action(name, {[](const ApiCall& call, Params&) -> Expected<nlohmann::json> {
                     return Error{"UnsupportedOperation",
                                  call.action +
                                      " is not available yet in this ferry-server "
                                      "version: invokers come in a later release"};
                   }});
  }
}

}  // namespace ferry::server
