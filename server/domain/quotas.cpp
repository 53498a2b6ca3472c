#include "ferry/server/domain/quotas.hpp"

#include "ferry/core/error_codes.hpp"

namespace ferry::server::domain {

Expected<QuotaUsage> quota_usage(ServerContext& ctx, const std::string& resource) {
  if (resource == "COMMAND") {
    auto used = ctx.store.count_saved_commands();
    if (!used) {
      return used.error();
    }
    return QuotaUsage{*used, ctx.settings.command_quota};
  }
  if (resource == "REGISTER_CODE") {
    auto codes_page = ctx.store.list_register_codes({}, 0, 1);
    if (!codes_page) {
      return codes_page.error();
    }
    return QuotaUsage{codes_page->total, ctx.settings.register_code_quota};
  }
  return Error{codes::kInvalidParameterValue,
               "ResourceNames: COMMAND or REGISTER_CODE, not " + resource};
}

}  // namespace ferry::server::domain
