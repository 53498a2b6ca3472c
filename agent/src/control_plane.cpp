#include "ferry/agent/control_plane.hpp"

#include <nlohmann/json.hpp>

#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "net/control_plane_shared.hpp"

namespace ferry::agent {
namespace {

// A string member of the reply's Error object; "" when there is none.
std::string error_field(const nlohmann::json& response, const char* key) {
  const auto it = response.find("Error");
  if (it == response.end() || !it->is_object()) {
    return "";
  }
  const auto field = it->find(key);
  return field != it->end() && field->is_string() ? field->get<std::string>() : "";
}

}  // namespace

CallResult::CallResult()
    : response_(std::make_shared<const nlohmann::json>(nlohmann::json::object())) {}

const nlohmann::json& CallResult::response() const {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  return response_ ? *response_ : kEmpty;  // a moved-from result has none
}

void CallResult::set_response(nlohmann::json response) {
  response_ = std::make_shared<const nlohmann::json>(std::move(response));
}

bool CallResult::ok() const {
  return transport_error.empty() && http_status == 200 && !response().contains("Error");
}

std::string CallResult::error_code() const {
  return transport_error.empty() ? error_field(response(), "Code") : "";
}

std::string CallResult::error_message() const {
  return error_field(response(), "Message");
}

std::string CallResult::describe() const {
  if (!transport_error.empty()) {
    return transport_error;
  }
  if (ok()) {
    return "ok";
  }
  std::string out = error_code();
  if (out.empty()) {
    return "HTTP " + std::to_string(http_status);
  }
  out += ": " + error_message();
  const auto rid = response().find("RequestId");
  if (rid != response().end() && rid->is_string()) {
    out += " (RequestId " + rid->get<std::string>() + ")";
  }
  return out;
}

CallResult net_shared::to_call_result(unsigned status, const std::string& body) {
  CallResult r;
  r.http_status = static_cast<long>(status);
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("Response") || !j["Response"].is_object()) {
    r.transport_error = "HTTP " + std::to_string(status) + " without a protocol reply";
    return r;
  }
  r.set_response(std::move(j["Response"]));
  return r;
}

Expected<std::vector<std::pair<std::string, std::string>>> agent_auth_headers(
    const AgentCredentials& credentials, const std::string& action, const std::string& body,
    std::int64_t unix_time) {
  if (!credentials.key) {
    return Error{codes::kInternalError, "no agent key"};
  }
  auto random = random_bytes(18);
  if (!random) {
    return random.error();
  }
  // base64url without padding: 18 bytes make 24 characters.
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string nonce;
  const std::string& r = *random;
  for (std::size_t i = 0; i + 2 < r.size(); i += 3) {
    const auto byte = [&](std::size_t k) {
      return static_cast<unsigned>(static_cast<unsigned char>(r[k]));
    };
    const unsigned v = (byte(i) << 16u) | (byte(i + 1) << 8u) | byte(i + 2);
    for (int shift = 18; shift >= 0; shift -= 6) {
      nonce += kAlphabet[(v >> shift) & 63];
    }
  }
  auto message =
      agent_signing_string(action, sha256_hex(body), unix_time, nonce, credentials.instance_id);
  if (!message) {
    return message.error();
  }
  auto signature = credentials.key->sign_base64(*message);
  if (!signature) {
    return signature.error();
  }
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(5);
  headers.emplace_back("X-Ferry-Protocol", "1");
  if (!credentials.instance_id.empty()) {
    headers.emplace_back("X-Ferry-Instance", credentials.instance_id);
  }
  headers.emplace_back("X-Ferry-Timestamp", std::to_string(unix_time));
  headers.emplace_back("X-Ferry-Nonce", std::move(nonce));
  headers.emplace_back("X-Ferry-Signature", std::move(*signature));
  return headers;
}

}  // namespace ferry::agent
