// The Tencent Cloud API 3.0 front: `POST /` with X-TC-Action, signed with TC3-HMAC-SHA256.
// It checks the envelope (method, content type, version, region, timestamp, signature, rate
// limit), hands the body to the action's handler and wraps the answer or the error as
// {"Response": {..., "RequestId"}}. Handlers see plain JSON; nothing here knows HTTP libraries.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ferry/core/error.hpp"
#include "ferry/server/api/params.hpp"
#include "ferry/server/api/rate_limiter.hpp"
#include "ferry/server/clock.hpp"
#include "ferry/server/http_server.hpp"

namespace ferry::server {

inline constexpr const char* kApiVersion = "2020-10-28";

struct ApiCredential {
  std::string secret_id;
  std::string secret_key;  // secret: never logged
};

struct ApiRegion {
  std::string region;
  std::string region_name;
  std::string region_state = "AVAILABLE";
};

struct ApiOptions {
  std::vector<ApiCredential> credentials;
  std::vector<ApiRegion> regions;
  double rate_limit = 20;  // requests per second per SecretId and action; 0: off
  double rate_burst = 30;
};

// Who called and how; handed to every handler.
struct ApiCall {
  std::string action;
  std::string secret_id;
  std::string region;  // X-TC-Region, "" when not sent
  std::string request_id;
};

// A handler reads its parameters from `params` (then calls params.finish()) and returns the
// fields of the Response object, or an Error with the API code.
using ActionHandler = std::function<Expected<nlohmann::json>(const ApiCall&, Params&)>;

// For actions whose reply is large (DescribeInvocationTasks with output): the handler appends
// the whole Response object, RequestId (call.request_id) included, as JSON text to `out`, so
// that no nlohmann::json tree is built and the text is written once, in place. When it fails,
// what it appended is discarded.
using SerializedActionHandler = std::function<Status(const ApiCall&, Params&, std::string& out)>;

struct ActionSpec {
  ActionHandler handler = {};
  bool region_required = false;  // the seeds mark Region required for some actions
  // When set, ApiFront answers with it; add_action then derives `handler` from it (the text
  // parsed, RequestId removed) for callers that want JSON, such as the handler tests.
  SerializedActionHandler serialized = {};
};

class ApiFront {
 public:
  ApiFront(ApiOptions options, const Clock& clock);

  void add_action(const std::string& name, ActionSpec spec);
  [[nodiscard]] bool has_action(const std::string& name) const;
  // The registered action, or nullptr; lets tests call a handler without signing a request.
  [[nodiscard]] const ActionSpec* find_action(const std::string& name) const;

  // The whole exchange for one HTTP request to the API endpoint.
  HttpResponse handle(const HttpRequest& request);

  // {"Response": {"Error": {"Code", "Message"}, "RequestId"}}
  static HttpResponse error_response(const Error& error, const std::string& request_id,
                                     unsigned status = 200);

 private:
  Expected<ApiCall> authenticate(const HttpRequest& request, const std::string& request_id) const;
  static HttpResponse serialized_response(const ActionSpec& spec, const ApiCall& call,
                                          Params& params);

  ApiOptions options_;
  const Clock& clock_;
  RateLimiter limiter_;
  std::map<std::string, ActionSpec> actions_;
};

}  // namespace ferry::server
