// What one request to the public API or the agent gateway came to, for the metrics: which API,
// which action, which result. Filled by the dialect or the gateway as it answers.
#pragma once

#include <string>

namespace ferry::server {

struct RequestOutcome {
  // "tat", "acs" or "agent"; empty when no handler claimed the request (an unknown path).
  std::string api;
  // The action's name when it is one the API has; empty for a missing or unknown action, so that
  // callers cannot grow the metrics' label sets with names of their own.
  std::string action;
  // "Success", or the error code of the reply.
  std::string result;
  // A registered agent's signature was checked (whatever the result after it).
  bool agent_authenticated = false;
};

}  // namespace ferry::server
