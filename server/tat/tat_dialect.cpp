#include "ferry/server/tat/tat_dialect.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/tc3.hpp"
#include "ferry/server/api/json_request.hpp"
#include "ferry/server/tat/tat_envelope.hpp"

namespace ferry::server {
namespace {

// The fields a handler returned, RequestId added, as JSON text (what nlohmann writes for the
// whole envelope, since an object of one member is that member's text inside braces).
Status append_reply(Expected<nlohmann::json> result, const ApiCall& call, std::string& out) {
  if (!result) {
    return result.error();
  }
  nlohmann::json response = std::move(*result);
  if (!response.is_object()) {
    response = nlohmann::json::object();
  }
  response["RequestId"] = call.request_id;
  out += response.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return {};
}

}  // namespace

TatDialect::TatDialect(TatOptions options, const Clock& clock, const ActionRegistry& actions)
    : options_(std::move(options)),
      clock_(clock),
      actions_(actions),
      limiter_(options_.rate_limit, options_.rate_burst) {}

bool TatDialect::accepts(const HttpRequest& head) const {
  return !head.header("x-tc-action").empty();
}

HttpResponse TatDialect::error_response(const HttpError& error) const {
  return tat_error_response(error);
}

Expected<ApiCall> TatDialect::authenticate(const HttpRequest& request,
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
  if (version != kTatApiVersion) {
    return Error{"NoSuchVersion", "the API version " + version + " does not exist; use " +
                                      std::string(kTatApiVersion)};
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
  const auto credential =
      std::find_if(options_.credentials.begin(), options_.credentials.end(),
                   [&](const ApiCredential& c) { return c.secret_id == auth->secret_id; });
  if (credential == options_.credentials.end()) {
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

Status TatDialect::admit(const ApiCall& call, const ActionSpec& spec) {
  if (!call.region.empty()) {
    const bool known = options_.regions.empty() ||
                       std::any_of(options_.regions.begin(), options_.regions.end(),
                                   [&](const Region& r) { return r.region == call.region; });
    if (!known) {
      return Error{"UnsupportedRegion", "the region " + call.region + " is not served here"};
    }
  } else if (spec.region_required) {
    return Error{codes::kMissingParameter, "the header X-TC-Region is required for " + call.action};
  }
  if (!limiter_.allow(call.secret_id + "/" + call.action, clock_.now_ms())) {
    return Error{"RequestLimitExceeded",
                 "more than the allowed requests per second for " + call.action};
  }
  return {};
}

HttpResponse TatDialect::run(const ActionSpec& spec, const ApiCall& call, Params& params,
                             RequestOutcome& outcome) {
  // Both kinds of handler write the Response object into the body; a failed one's half-written
  // text is dropped for the error envelope.
  HttpResponse r;
  r.body.append(R"({"Response":)");
  Status status = Error{codes::kInternalError, "no result"};
  try {
    status = spec.serialized ? spec.serialized(call, params, r.body)
                             : append_reply(spec.handler(call, params), call, r.body);
  } catch (const std::exception& e) {
    // The reason may quote the request's values: at debug only.
    spdlog::error("api: {} {} failed: the handler threw (the reason at debug)", call.action,
                  call.request_id);
    spdlog::debug("api: {} {} failed: {}", call.action, call.request_id, e.what());
    status = Error{codes::kInternalError, "internal error; request " + call.request_id};
  }
  if (!status) {
    spdlog::debug("api: {} {} -> {}", call.action, call.request_id, status.error().code);
    outcome.result = status.error().code;
    return tat_error_response(status.error(), call.request_id);
  }
  outcome.result = "Success";
  r.body.push_back('}');
  spdlog::debug("api: {} {} -> ok", call.action, call.request_id);
  return r;
}

HttpResponse TatDialect::handle(const HttpRequest& request, RequestOutcome& outcome) {
  auto uuid = uuid4();
  const std::string request_id = uuid ? *uuid : std::string("00000000-0000-4000-8000-000000000000");
  outcome.api = "tat";
  const auto fail = [&](const Error& e) {
    outcome.result = e.code;
    return tat_error_response(e, request_id);
  };
  if (request.method != "POST") {
    return fail(Error{"UnsupportedProtocol", "only POST with a JSON body is supported"});
  }
  if (!has_json_content_type(request)) {
    return fail(Error{"UnsupportedProtocol", "the Content-Type must be application/json"});
  }
  auto call = authenticate(request, request_id);
  if (!call) {
    spdlog::info("api: refused request {}: {}", request_id, call.error().code);
    return fail(call.error());
  }
  const ActionSpec* spec = actions_.find(call->action);
  if (spec == nullptr) {
    return fail(Error{"InvalidAction", "the action " + call->action +
                                           " does not exist in version " + kTatApiVersion});
  }
  outcome.action = call->action;
  if (auto s = admit(*call, *spec); !s) {
    return fail(s.error());
  }
  if (!json_depth_within(request.body)) {
    return fail(Error{codes::kInvalidParameter,
                      "the request body nests deeper than " + std::to_string(kMaxJsonDepth)});
  }
  auto body = nlohmann::json::parse(request.body.empty() ? std::string("{}") : request.body,
                                    nullptr, false);
  if (body.is_discarded()) {
    return fail(Error{codes::kInvalidParameter, "the request body is not valid JSON"});
  }
  Params params(std::move(body));
  return run(*spec, *call, params, outcome);
}

}  // namespace ferry::server
