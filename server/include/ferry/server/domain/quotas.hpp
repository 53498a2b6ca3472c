// How much of each quota is used: saved commands and register codes.
#pragma once

#include <cstdint>
#include <string>

#include "ferry/core/error.hpp"
#include "ferry/server/domain/context.hpp"

namespace ferry::server::domain {

struct QuotaUsage {
  int64_t used = 0;
  int64_t total = 0;
};

// `resource` is COMMAND or REGISTER_CODE (InvalidParameterValue otherwise).
Expected<QuotaUsage> quota_usage(ServerContext& ctx, const std::string& resource);

}  // namespace ferry::server::domain
