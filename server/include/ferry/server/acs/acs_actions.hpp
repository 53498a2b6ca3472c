// The Cloud Assistant actions (RunCommand, DescribeInvocations, ...) over the domain layer.
#pragma once

#include "ferry/server/acs/acs_action_registry.hpp"
#include "ferry/server/domain/context.hpp"

namespace ferry::server {

// Adds every Cloud Assistant action to `actions`; `ctx` must outlive the registry.
void register_acs_actions(AcsActionRegistry& actions, ServerContext& ctx);

}  // namespace ferry::server
