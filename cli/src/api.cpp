#include "ferry/cli/api.hpp"

#include <chrono>

#include "api_support.hpp"
#include "ferry/core/tc3.hpp"

namespace ferry::cli {
namespace detail {

std::string reply_excerpt(const std::string& body) {
  std::string out;
  for (char c : body.substr(0, 200)) {
    const auto b = static_cast<unsigned char>(c);
    out += (b < 0x20 || b == 0x7f) ? ' ' : c;
  }
  return body.size() > 200 ? out + "..." : out;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

HttpOptions http_options(const ClientConfig& config) {
  HttpOptions o;
  o.ca_file = config.ca_file;
  o.no_proxy = config.endpoint.loopback();
  return o;
}

}  // namespace detail

Expected<nlohmann::json> parse_api_reply(long http_status, const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("Response") || !j["Response"].is_object()) {
    return Error{"", "HTTP " + std::to_string(http_status) + " without an API reply: " +
                         (body.empty() ? "(empty)" : detail::reply_excerpt(body))};
  }
  nlohmann::json response = std::move(j["Response"]);
  std::string request_id;
  if (response.contains("RequestId") && response["RequestId"].is_string()) {
    request_id = response["RequestId"].get<std::string>();
  }
  if (response.contains("Error")) {
    const auto& e = response["Error"];
    Error error{"InternalError", "the reply's Error has no Code"};
    if (e.is_object() && e.contains("Code") && e["Code"].is_string()) {
      error.code = e["Code"].get<std::string>();
      error.message = e.contains("Message") && e["Message"].is_string()
                          ? e["Message"].get<std::string>()
                          : std::string();
    }
    if (!request_id.empty()) {
      error.message += (error.message.empty() ? "(RequestId " : " (RequestId ") + request_id + ")";
    }
    return error;
  }
  if (http_status != 200) {
    return Error{"", "HTTP " + std::to_string(http_status) + ": " + detail::reply_excerpt(body)};
  }
  return response;
}

std::string describe_error(const Error& error) {
  if (error.code.empty()) {
    return error.message;
  }
  return error.message.empty() ? error.code : error.code + ": " + error.message;
}

HttpApi::HttpApi(ClientConfig config, std::function<std::int64_t()> now)
    : config_(std::move(config)),
      now_(now ? std::move(now) : std::function<std::int64_t()>(detail::unix_now)),
      http_(detail::http_options(config_)) {}

Expected<nlohmann::json> HttpApi::call(const std::string& action, const nlohmann::json& params) {
  Tc3Request req;
  req.host = config_.endpoint.host_header;
  try {
    req.body = params.dump();
  } catch (const nlohmann::json::exception&) {
    return Error{"", action + ": a value given is not valid UTF-8"};
  }
  req.action = action;
  req.version = kApiVersion;
  req.region = config_.region;
  req.timestamp = now_();
  req.service = kApiService;
  const auto signed_req = tc3_sign_headers(req, {config_.secret_id, config_.secret_key});
  const std::string url = config_.endpoint.api_url();
  auto reply = http_.post(url, signed_req.headers, req.body);
  if (!reply) {
    return Error{"", action + " at " + url + ": " + reply.error().message};
  }
  return parse_api_reply(reply->status, reply->body);
}

}  // namespace ferry::cli
