// The actions one dialect serves, by name. The registry knows no wire: a dialect verifies the
// request, builds the ApiCall and the Params, looks the action up here and writes the result in
// its own envelope. Handlers are plain functions of their parameters and the domain; they never
// see HTTP.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"
#include "ferry/server/api/params.hpp"

namespace ferry::server {

// Who called and how, as the dialect learned it from the request.
struct ApiCall {
  std::string action;
  std::string secret_id;  // the credential the request was signed with
  std::string region;     // "" when the request named none
  std::string request_id;
};

// Reads the action's parameters from `params` (then calls params.finish()) and returns the
// fields of the reply, or an Error in Ferry's vocabulary (core/error_codes.hpp).
using ActionHandler = std::function<Expected<nlohmann::json>(const ApiCall&, Params&)>;

// For actions whose reply is large (DescribeInvocationTasks with output): the handler appends
// the whole reply object, RequestId (call.request_id) included, as JSON text to `out`, so that
// no nlohmann::json tree is built and the text is written once, in place. When it fails, what
// it appended is discarded.
using SerializedActionHandler = std::function<Status(const ApiCall&, Params&, std::string& out)>;

struct ActionSpec {
  ActionHandler handler = {};
  bool region_required = false;  // the seeds mark Region required for some actions
  // When set, the dialect answers with it; add() then derives `handler` from it (the text
  // parsed, RequestId removed) for callers that want JSON, such as the handler tests.
  SerializedActionHandler serialized = {};
};

class ActionRegistry {
 public:
  void add(const std::string& name, ActionSpec spec);
  // The registered action, or nullptr.
  [[nodiscard]] const ActionSpec* find(std::string_view name) const;

 private:
  std::map<std::string, ActionSpec, std::less<>> actions_;
};

}  // namespace ferry::server
