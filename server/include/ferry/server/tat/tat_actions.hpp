// The TAT API's actions: thin adapters that read Params into the domain's requests, call the
// domain and write its results as the TAT models (tat_json.hpp).
#pragma once

#include "ferry/server/api/action_registry.hpp"
#include "ferry/server/domain/context.hpp"

namespace ferry::server {

// Every action of the TAT API 2020-10-28 (the invokers answer UnsupportedOperation until their
// issue). `ctx` must outlive `actions`.
void register_tat_actions(ActionRegistry& actions, ServerContext& ctx);

}  // namespace ferry::server
