#include "ferry/server/gateway/agent_authenticator.hpp"

#include "agent_fields.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/core/ed25519.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/core/tc3.hpp"
#include "ferry/server/domain/text.hpp"

namespace ferry::server {
namespace {

constexpr std::size_t kMinNonce = 16;
constexpr std::size_t kMaxNonce = 64;

}  // namespace

AgentAuthenticator::AgentAuthenticator(Store& store, const Clock& clock, AgentAuthOptions options)
    : store_(store), clock_(clock), options_(options) {}

Status AgentAuthenticator::check_protocol(const HttpRequest& request) {
  const std::string& text = request.header(kHeaderProtocol);
  const std::string spoken = std::to_string(kAgentProtocolVersion);
  if (text.empty()) {
    return Error{codes::kMissingParameter,
                 "the header X-Ferry-Protocol is required; this server speaks agent protocol "
                 "version " +
                     spoken};
  }
  auto version = parse_decimal(text);
  if (!version || *version != kAgentProtocolVersion) {
    return Error{agent_codes::kUnsupportedProtocolVersion,
                 "this server speaks agent protocol version " + spoken + ", not " +
                     domain::utf8_prefix(text, 16)};
  }
  return {};
}

Expected<AgentAuthenticator::SignedHeaders> AgentAuthenticator::read_headers(
    const HttpRequest& request, bool registration) {
  SignedHeaders h;
  h.signature = request.header(kHeaderSignature);
  if (h.signature.empty()) {
    return Error{agent_codes::kInvalidAuthorization,
                 "the request is not signed: the header X-Ferry-Signature is missing"};
  }
  h.instance_id = request.header(kHeaderInstance);
  if (registration) {
    if (!h.instance_id.empty()) {
      return Error{agent_codes::kInvalidAuthorization,
                   "X-Ferry-Instance must be empty for RegisterInstance"};
    }
  } else if (!is_token(h.instance_id, 1, kMaxIdLength)) {
    return Error{agent_codes::kInvalidAuthorization,
                 "the header X-Ferry-Instance must hold the instance id"};
  }
  auto ts = parse_decimal(request.header(kHeaderTimestamp));
  if (!ts) {
    return Error{agent_codes::kInvalidAuthorization,
                 "the header X-Ferry-Timestamp must be a Unix time in seconds"};
  }
  h.timestamp = *ts;
  h.nonce = request.header(kHeaderNonce);
  if (!is_token(h.nonce, kMinNonce, kMaxNonce)) {
    return Error{agent_codes::kInvalidAuthorization,
                 "the header X-Ferry-Nonce must be 16 to 64 characters of [A-Za-z0-9_-]"};
  }
  return h;
}

Status AgentAuthenticator::verify(const SignedHeaders& h, std::string_view public_key_b64,
                                  std::string_view action, std::string_view body,
                                  const std::string& nonce_owner) {
  auto signing =
      agent_signing_string(action, sha256_hex(body), h.timestamp, h.nonce, h.instance_id);
  if (!signing) {
    return Error{agent_codes::kInvalidAuthorization, signing.error().message};
  }
  if (auto s = ed25519_verify(public_key_b64, *signing, h.signature); !s) {
    // The message stays generic: what was expected is nobody's business.
    return Error{auth_codes::kSignatureFailure, "the signature does not match the request"};
  }
  const int64_t now_ms = clock_.now_ms();
  if (auto s = check_timestamp(h.timestamp, now_ms / 1000, options_.max_clock_skew_s); !s) {
    return Error{auth_codes::kSignatureExpire,
                 "X-Ferry-Timestamp is more than " + std::to_string(options_.max_clock_skew_s) +
                     " s away from the server's time (ServerTime in this reply)"};
  }
  // Remembered as long as the timestamp itself would still be accepted.
  const int64_t expires_ms = (h.timestamp + options_.max_clock_skew_s + 1) * 1000;
  auto fresh = store_.remember_nonce(nonce_owner, h.nonce, expires_ms, now_ms);
  if (!fresh) {
    return fresh.error();
  }
  if (!*fresh) {
    return Error{agent_codes::kNonceReused,
                 "this X-Ferry-Nonce was used before; every request needs a new one"};
  }
  return {};
}

Expected<RegisterInstance> AgentAuthenticator::authenticate(const HttpRequest& request,
                                                            std::string_view action,
                                                            std::string_view body) {
  auto h = read_headers(request, false);
  if (!h) {
    return h.error();
  }
  auto instance = store_.get_instance(h->instance_id);
  if (!instance) {
    return instance.error();
  }
  if (!*instance) {
    return Error{agent_codes::kInstanceNotFound,
                 "instance " + h->instance_id +
                     " is not registered (a deleted instance must register again)"};
  }
  if (auto s = verify(*h, (*instance)->public_key, action, body, h->instance_id); !s) {
    return s.error();
  }
  return std::move(**instance);
}

Status AgentAuthenticator::verify_registration(const HttpRequest& request,
                                               std::string_view public_key_b64) {
  auto h = read_headers(request, true);
  if (!h) {
    return h.error();
  }
  // Registration nonces live in their own namespace: no instance exists yet.
  return verify(*h, public_key_b64, "RegisterInstance", request.body,
                "register:" + std::string(public_key_b64));
}

}  // namespace ferry::server
