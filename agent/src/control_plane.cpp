#include "ferry/agent/control_plane.hpp"

#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"

namespace ferry::agent {

std::string CallResult::error_code() const {
  if (!transport_error.empty()) {
    return "";
  }
  const auto it = response.find("Error");
  if (it == response.end() || !it->is_object()) {
    return "";
  }
  const auto code = it->find("Code");
  return code != it->end() && code->is_string() ? code->get<std::string>() : "";
}

std::string CallResult::error_message() const {
  const auto it = response.find("Error");
  if (it == response.end() || !it->is_object()) {
    return "";
  }
  const auto message = it->find("Message");
  return message != it->end() && message->is_string() ? message->get<std::string>() : "";
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
  const auto rid = response.find("RequestId");
  if (rid != response.end() && rid->is_string()) {
    out += " (RequestId " + rid->get<std::string>() + ")";
  }
  return out;
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
