#include "ferry/cli/acs_api.hpp"

#include <algorithm>

#include "api_support.hpp"
#include "ferry/core/crypto.hpp"

namespace ferry::cli {
namespace {

std::string acs_string_field(const nlohmann::json& object, const char* key) {
  return object.contains(key) && object[key].is_string() ? object[key].get<std::string>() : "";
}

}  // namespace

Expected<nlohmann::json> parse_acs_reply(long http_status, const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error{"", "HTTP " + std::to_string(http_status) + " without an API reply: " +
                         (body.empty() ? "(empty)" : detail::reply_excerpt(body))};
  }
  const std::string code = acs_string_field(j, "Code");
  if (code.empty() && http_status == 200) {
    return j;
  }
  if (code.empty()) {
    return Error{"", "HTTP " + std::to_string(http_status) + ": " + detail::reply_excerpt(body)};
  }
  Error error{code, acs_string_field(j, "Message")};
  if (const std::string request_id = acs_string_field(j, "RequestId"); !request_id.empty()) {
    error.message += (error.message.empty() ? "(RequestId " : " (RequestId ") + request_id + ")";
  }
  return error;
}

AcsHttpRequest acs_http_request(const ClientConfig& config, const std::string& action,
                                const AcsParamList& params, std::int64_t unix_seconds,
                                const std::string& nonce) {
  Acs3Request req;
  req.query = params;
  if (std::none_of(params.begin(), params.end(),
                   [](const AcsParam& p) { return p.first == "RegionId"; })) {
    req.query.emplace_back("RegionId", config.region);
  }
  req.canonical_uri = config.endpoint.base_path + "/";
  req.host = config.endpoint.host_header;
  req.action = action;
  req.version = kAcsApiVersion;
  req.date = acs_date(unix_seconds);
  req.nonce = nonce;
  const auto signed_req = acs3_sign(req, config.secret_id, config.secret_key);
  return AcsHttpRequest{config.endpoint.api_url() + "?" + acs_query_string(req.query),
                        signed_req.headers};
}

HttpAcsApi::HttpAcsApi(ClientConfig config, std::function<std::int64_t()> now)
    : config_(std::move(config)),
      now_(now ? std::move(now) : std::function<std::int64_t()>(detail::unix_now)),
      http_(detail::http_options(config_)) {}

Expected<nlohmann::json> HttpAcsApi::call(const std::string& action, const AcsParamList& params) {
  auto nonce = random_bytes(16);
  if (!nonce) {
    return nonce.error().wrap(action + ": making a signature nonce");
  }
  const auto req = acs_http_request(config_, action, params, now_(), hex_encode(*nonce));
  const std::string where = config_.endpoint.api_url();  // the query holds the command: not shown
  auto reply = http_.post(req.url, req.headers, "");
  if (!reply) {
    return Error{"", action + " at " + where + ": " + reply.error().message};
  }
  return parse_acs_reply(reply->status, reply->body);
}

}  // namespace ferry::cli
