// The agent gateway: `POST /agent`, the endpoint ferry-agent daemons talk to (docs/protocol.md).
// Every request but RegisterInstance is signed with the instance's Ed25519 key; the gateway
// checks the signature, freshness and nonce, then runs the action against the store. Reports
// are idempotent: a repeated or late one answers success and changes nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "ferry/core/error.hpp"
#include "ferry/server/actions/actions.hpp"
#include "ferry/server/clock.hpp"
#include "ferry/server/http_server.hpp"
#include "ferry/server/model.hpp"
#include "ferry/server/store/store.hpp"

namespace ferry::server {

// The agent protocol version this server speaks; sent back in every reply as ProtocolVersion.
inline constexpr int64_t kAgentProtocolVersion = 1;

// Request headers of the agent protocol (lowercase, as HttpRequest keeps them).
inline constexpr const char* kHeaderInstance = "x-ferry-instance";
inline constexpr const char* kHeaderTimestamp = "x-ferry-timestamp";
inline constexpr const char* kHeaderNonce = "x-ferry-nonce";
inline constexpr const char* kHeaderSignature = "x-ferry-signature";
inline constexpr const char* kHeaderProtocol = "x-ferry-protocol";

// Error codes of the agent protocol beyond the common API ones.
namespace agent_codes {
inline constexpr const char* kInvalidAuthorization = "AuthFailure.InvalidAuthorization";
inline constexpr const char* kInstanceNotFound = "AuthFailure.InstanceNotFound";
inline constexpr const char* kNonceReused = "AuthFailure.NonceReused";
inline constexpr const char* kUnauthorizedOperation = "AuthFailure.UnauthorizedOperation";
inline constexpr const char* kRegisterCodeInvalid = "AuthFailure.RegisterCodeInvalid";
inline constexpr const char* kIpAddressOutOfRange = "OperationDenied.IpAddressOutOfRange";
inline constexpr const char* kUnsupportedProtocolVersion = "UnsupportedProtocolVersion";
}  // namespace agent_codes

struct AgentAuthOptions {
  int64_t max_clock_skew_s = 300;
};

// Checks the X-Ferry-* headers of one request (an agent action or the WebSocket upgrade).
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

struct GatewayOptions {
  // What Heartbeat tells the agent to keep to; the push hub's online window is a multiple.
  int64_t heartbeat_interval_s = 60;
  // Live output (UploadTaskLog) kept per task, in bytes of decoded output; pieces beyond it
  // are acknowledged and dropped, since the final excerpt and the bucket hold the rest.
  std::size_t max_live_output_bytes = 24 * 1024;
  // ReportTaskFinish Output, decoded.
  std::size_t max_final_output_bytes = 24 * 1024;
  // Tasks in one DescribeTasks reply (HasMore says when more wait).
  std::size_t max_tasks_per_reply = 100;
  // Told about every authenticated agent request (the push hub's presence), with the time.
  std::function<void(const std::string& instance_id, int64_t now_ms)> on_agent_seen;
};

class AgentGateway {
 public:
  AgentGateway(ServerContext& ctx, AgentAuthenticator& auth, GatewayOptions options = {});

  // The whole exchange of one `POST /agent`.
  HttpResponse handle(const HttpRequest& request);

  // {"Response": {"Error": {...}, "RequestId", "ProtocolVersion", "ServerTime"}}
  static HttpResponse error_response(const Error& error, const std::string& request_id,
                                     int64_t now_ms, unsigned status = 200);

 private:
  Expected<nlohmann::json> dispatch(const std::string& action, const HttpRequest& request,
                                    nlohmann::json body, const std::string& request_id);

  Expected<nlohmann::json> register_instance(const HttpRequest& request, Params& p,
                                             const std::string& request_id);
  Expected<nlohmann::json> describe_tasks(const RegisterInstance& agent, Params& p);
  Expected<nlohmann::json> report_task_start(const RegisterInstance& agent, Params& p);
  Expected<nlohmann::json> upload_task_log(const RegisterInstance& agent, Params& p);
  Expected<nlohmann::json> report_task_finish(const RegisterInstance& agent, Params& p);
  Expected<nlohmann::json> heartbeat(const RegisterInstance& agent, Params& p);

  // The task, when it exists and belongs to `agent`.
  Expected<InvocationTask> owned_task(const RegisterInstance& agent, const std::string& task_id);
  [[nodiscard]] nlohmann::json task_to_wire(const InvocationTask& task,
                                            const RegisterInstance& agent) const;

  ServerContext& ctx_;
  AgentAuthenticator& auth_;
  GatewayOptions options_;
};

// Moves `task` to `to` when task_state allows it, directly or through DELIVERING (an agent
// reporting on a task the server had put back to PENDING / DELIVER_DELAYED while the agent
// was away evidently holds it). Returns false, leaving the task untouched, otherwise.
bool advance_task(InvocationTask& task, TaskStatus to);

}  // namespace ferry::server
