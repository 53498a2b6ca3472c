// Checks the X-Ferry-* headers of one agent request (an action or the WebSocket upgrade):
// the instance, the Ed25519 signature over action, body digest, timestamp and nonce, the
// timestamp's freshness and the nonce's first use (docs/protocol.md, "Authentication").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"
#include "ferry/server/clock.hpp"
#include "ferry/server/gateway/agent_protocol.hpp"
#include "ferry/server/http_server.hpp"
#include "ferry/server/model.hpp"
#include "ferry/server/store/store.hpp"

namespace ferry::server {

struct AgentAuthOptions {
  int64_t max_clock_skew_s = 300;
};

// Shared by the gateway and the push hub so that both refuse exactly the same requests.
class AgentAuthenticator {
 public:
  AgentAuthenticator(Store& store, const Clock& clock, AgentAuthOptions options = {});

  // X-Ferry-Protocol present and spoken here. MissingParameter / UnsupportedProtocolVersion.
  [[nodiscard]] static Status check_protocol(const HttpRequest& request);

  // The instance that signed `action` over `body` (the request's own body, or "" for the
  // WebSocket upgrade). AuthFailure.* on any problem; the nonce is consumed only once the
  // signature has been verified, so that an unsigned caller cannot burn an agent's nonces.
  Expected<RegisterInstance> authenticate(const HttpRequest& request, std::string_view action,
                                          std::string_view body);

  // Registration's proof of possession: the request is signed with `public_key_b64`, the key
  // being registered, with an empty X-Ferry-Instance.
  Status verify_registration(const HttpRequest& request, std::string_view public_key_b64);

  [[nodiscard]] const Clock& clock() const { return clock_; }

 private:
  struct SignedHeaders {
    std::string instance_id;
    int64_t timestamp = 0;
    std::string nonce;
    std::string signature;
  };
  static Expected<SignedHeaders> read_headers(const HttpRequest& request, bool registration);
  Status verify(const SignedHeaders& h, std::string_view public_key_b64, std::string_view action,
                std::string_view body, const std::string& nonce_owner);

  Store& store_;
  const Clock& clock_;
  AgentAuthOptions options_;
};

}  // namespace ferry::server
