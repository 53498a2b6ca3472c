#include "ferry/server/api/api_front.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/tc3.hpp"
#include "ferry/server/api/store_error_map.hpp"

namespace ferry::server {
namespace {

HttpResponse json_response(const nlohmann::json& body, unsigned status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

ApiFront::ApiFront(ApiOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      limiter_(options_.rate_limit, options_.rate_burst) {}

void ApiFront::add_action(const std::string& name, ActionSpec spec) {
  if (spec.serialized && !spec.handler) {
    spec.handler = [serialized = spec.serialized](const ApiCall& call,
                                                  Params& params) -> Expected<nlohmann::json> {
      std::string text;
      if (auto s = serialized(call, params, text); !s) {
        return s.error();
      }
      auto response = nlohmann::json::parse(text);
      response.erase("RequestId");
      return response;
    };
  }
  actions_[name] = std::move(spec);
}

bool ApiFront::has_action(const std::string& name) const {
  return actions_.contains(name);
}

const ActionSpec* ApiFront::find_action(const std::string& name) const {
  auto it = actions_.find(name);
  return it == actions_.end() ? nullptr : &it->second;
}

HttpResponse ApiFront::error_response(const Error& store_or_api_error,
                                      const std::string& request_id, unsigned status) {
  const Error error = tat_error(store_or_api_error);
  return json_response(
      nlohmann::json{{"Response",
                      {{"Error", {{"Code", error.code}, {"Message", error.message}}},
                       {"RequestId", request_id}}}},
      status);
}

Expected<ApiCall> ApiFront::authenticate(const HttpRequest& request,
                                         const std::string& request_id) const {
  ApiCall call;
  call.request_id = request_id;
  call.action = request.header("x-tc-action");
  if (call.action.empty()) {
    return Error{codes::kMissingParameter, "the header X-TC-Action is required"};
  }
  const std::string& version = request.header("x-tc-version");
  if (version.empty()) {
    return Error{codes::kMissingParameter, "the header X-TC-Version is required"};
  }
  if (version != kApiVersion) {
    return Error{"NoSuchVersion",
                 "the API version " + version + " does not exist; use " + std::string(kApiVersion)};
  }
  const std::string& ts_text = request.header("x-tc-timestamp");
  int64_t timestamp = 0;
  auto [end, ec] = std::from_chars(ts_text.data(), ts_text.data() + ts_text.size(), timestamp);
  if (ts_text.empty() || ec != std::errc() || end != ts_text.data() + ts_text.size()) {
    return Error{codes::kMissingParameter, "the header X-TC-Timestamp must be a Unix time"};
  }
  const std::string& authorization = request.header("authorization");
  if (authorization.empty()) {
    return Error{"AuthFailure.SignatureFailure", "the Authorization header is missing"};
  }
  auto auth = parse_tc3_authorization(authorization);
  if (!auth) {
    return auth.error();
  }
  const ApiCredential* credential = nullptr;
  for (const auto& c : options_.credentials) {
    if (c.secret_id == auth->secret_id) {
      credential = &c;
      break;
    }
  }
  if (credential == nullptr) {
    return Error{"AuthFailure.SecretIdNotFound", "the SecretId is not found"};
  }
  if (auto s = check_timestamp(timestamp, clock_.now_ms() / 1000); !s) {
    return s.error();
  }
  Tc3HeaderMap headers(request.headers.begin(), request.headers.end());
  const auto q = request.target.find('?');
  const std::string uri = q == std::string::npos ? request.target : request.target.substr(0, q);
  const std::string query = q == std::string::npos ? "" : request.target.substr(q + 1);
  if (auto s = tc3_verify(*auth, credential->secret_key, headers, request.body, request.method, uri,
                          query, timestamp);
      !s) {
    return s.error();
  }
  call.secret_id = auth->secret_id;
  call.region = request.header("x-tc-region");
  return call;
}

HttpResponse ApiFront::serialized_response(const ActionSpec& spec, const ApiCall& call,
                                           Params& params) {
  static constexpr std::string_view kPrefix = R"({"Response":)";
  HttpResponse r;
  r.body.append(kPrefix);
  Status status = Error{codes::kInternalError, "no result"};
  try {
    status = spec.serialized(call, params, r.body);
  } catch (const std::exception& e) {
    spdlog::error("api: {} {} failed: {}", call.action, call.request_id, e.what());
    status = Error{codes::kInternalError, "internal error; request " + call.request_id};
  }
  if (!status) {
    spdlog::debug("api: {} {} -> {}", call.action, call.request_id, status.error().code);
    return error_response(status.error(), call.request_id);
  }
  r.body.push_back('}');
  spdlog::debug("api: {} {} -> ok", call.action, call.request_id);
  return r;
}

HttpResponse ApiFront::handle(const HttpRequest& request) {
  auto uuid = uuid4();
  const std::string request_id = uuid ? *uuid : std::string("00000000-0000-4000-8000-000000000000");
  if (request.method != "POST") {
    return error_response(Error{"UnsupportedProtocol", "only POST with a JSON body is supported"},
                          request_id);
  }
  const std::string content_type = lowercase(request.header("content-type"));
  if (content_type.rfind("application/json", 0) != 0) {
    return error_response(Error{"UnsupportedProtocol", "the Content-Type must be application/json"},
                          request_id);
  }
  auto call = authenticate(request, request_id);
  if (!call) {
    spdlog::info("api: refused request {}: {}", request_id, call.error().code);
    return error_response(call.error(), request_id);
  }
  auto it = actions_.find(call->action);
  if (it == actions_.end()) {
    return error_response(Error{"InvalidAction", "the action " + call->action +
                                                     " does not exist in version " + kApiVersion},
                          request_id);
  }
  if (!call->region.empty()) {
    const bool known = std::any_of(options_.regions.begin(), options_.regions.end(),
                                   [&](const ApiRegion& r) { return r.region == call->region; });
    if (!known) {
      return error_response(
          Error{"UnsupportedRegion", "the region " + call->region + " is not served here"},
          request_id);
    }
  } else if (it->second.region_required) {
    return error_response(
        Error{codes::kMissingParameter, "the header X-TC-Region is required for " + call->action},
        request_id);
  }
  if (!limiter_.allow(call->secret_id + "/" + call->action, clock_.now_ms())) {
    return error_response(Error{"RequestLimitExceeded",
                                "more than the allowed requests per "
                                "second for " +
                                    call->action},
                          request_id);
  }
  auto body = nlohmann::json::parse(request.body.empty() ? std::string("{}") : request.body,
                                    nullptr, false);
  if (body.is_discarded()) {
    return error_response(Error{codes::kInvalidParameter, "the request body is not valid JSON"},
                          request_id);
  }
  Params params(std::move(body));
  if (it->second.serialized) {
    return serialized_response(it->second, *call, params);
  }
  Expected<nlohmann::json> result = Error{codes::kInternalError, "no result"};
  try {
    result = it->second.handler(*call, params);
  } catch (const std::exception& e) {
    spdlog::error("api: {} {} failed: {}", call->action, request_id, e.what());
    result = Error{codes::kInternalError, "internal error; request " + request_id};
  }
  if (!result) {
    spdlog::debug("api: {} {} -> {}", call->action, request_id, result.error().code);
    return error_response(result.error(), request_id);
  }
  nlohmann::json response = std::move(*result);
  if (!response.is_object()) {
    response = nlohmann::json::object();
  }
  response["RequestId"] = request_id;
  spdlog::debug("api: {} {} -> ok", call->action, request_id);
  return json_response(nlohmann::json{{"Response", std::move(response)}});
}

}  // namespace ferry::server
