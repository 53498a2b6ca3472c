// The Cloud Assistant API's actions: thin adapters that read AcsParams into the domain's
// requests, call the domain and write its results as the SDK's models.
#pragma once

#include "ferry/server/acs/acs_params.hpp"
#include "ferry/server/domain/context.hpp"

namespace ferry::server {

// Every action of the Cloud Assistant API that Ferry serves. `ctx` must outlive `actions`.
void register_acs_actions(AcsActionRegistry& actions, ServerContext& ctx);

}  // namespace ferry::server
