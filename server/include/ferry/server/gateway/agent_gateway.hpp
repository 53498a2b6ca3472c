// The agent gateway: `POST /agent`, the endpoint ferry-agent daemons talk to (docs/protocol.md).
// Every request but RegisterInstance is signed with the instance's Ed25519 key; the gateway
// checks the signature, freshness and nonce (AgentAuthenticator), then runs the action. Reports
// are idempotent: a repeated or late one answers success and changes nothing. Its parts, one
// file each: the exchange and envelope (agent_gateway.cpp), registration
// (agent_registration.cpp), DescribeTasks and the task reports (agent_tasks.cpp), the
// heartbeat (agent_heartbeat.cpp), the presigned URLs of a task's output (agent_outputs.cpp),
// and the upload of a complete output to the server's own store (agent_output_upload.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "ferry/core/error.hpp"
#include "ferry/server/api/auth_failure_limiter.hpp"
#include "ferry/server/api/params.hpp"
#include "ferry/server/api/request_outcome.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/gateway/agent_authenticator.hpp"
#include "ferry/server/gateway/agent_protocol.hpp"
#include "ferry/server/http_server.hpp"
#include "ferry/server/model.hpp"
#include "ferry/server/outputs/output_store.hpp"

namespace ferry::server {

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
  // Told when an agent says it is stopping (ReportAgentStop), after on_agent_seen.
  std::function<void(const std::string& instance_id)> on_agent_stopped;
  // Where UploadTaskOutput keeps complete outputs; nullptr: no store (every piece refused).
  OutputStore* output_store = nullptr;
  // Failed authentications (AuthFailure.*) per source address: `auth_failure_burst` at once,
  // then `auth_failure_rate` per second; beyond, RequestLimitExceeded until the bucket refills.
  // A rate of 0: no limit.
  double auth_failure_rate = 1;
  double auth_failure_burst = 20;
};

class AgentGateway {
 public:
  AgentGateway(ServerContext& ctx, AgentAuthenticator& auth, GatewayOptions options = {});

  // The whole exchange of one `POST /agent`; `outcome` says what it came to.
  HttpResponse handle(const HttpRequest& request, RequestOutcome& outcome);
  HttpResponse handle(const HttpRequest& request) {
    RequestOutcome outcome;
    return handle(request, outcome);
  }

  // {"Response": {"Error": {...}, "RequestId", "ProtocolVersion", "ServerTime"}}
  static HttpResponse error_response(const Error& error, const std::string& request_id,
                                     int64_t now_ms, unsigned status = 200);

 private:
  using Reply = Expected<nlohmann::json>;

  Reply dispatch(const std::string& action, const HttpRequest& request, nlohmann::json body,
                 const std::string& request_id, RequestOutcome& outcome);

  Reply register_instance(const HttpRequest& request, Params& p, const std::string& request_id);
  Reply describe_tasks(const RegisterInstance& agent, Params& p);
  Reply report_task_start(const RegisterInstance& agent, Params& p);
  Reply upload_task_log(const RegisterInstance& agent, Params& p);
  Reply report_task_finish(const RegisterInstance& agent, Params& p);
  Reply heartbeat(const RegisterInstance& agent, Params& p);
  Reply report_agent_stop(const RegisterInstance& agent, Params& p);
  Reply presign_output_upload(const RegisterInstance& agent, Params& p);
  Reply upload_task_output(const RegisterInstance& agent, Params& p);

  // The task, when it exists and belongs to `agent`.
  Expected<InvocationTask> owned_task(const RegisterInstance& agent, const std::string& task_id);
  // A start or finish report: `mutate` runs on the agent's own task inside the store's
  // transaction and returns false to leave it as it is (a repeated or late report); a changed
  // task is marked delivered and updated at `now_ms`.
  struct Report {
    InvocationTask task;  // as stored afterwards
    bool changed = false;
  };
  Expected<Report> apply_report(const RegisterInstance& agent, const std::string& task_id,
                                int64_t now_ms, const std::function<bool(InvocationTask&)>& mutate);
  [[nodiscard]] nlohmann::json task_to_wire(const InvocationTask& task,
                                            const RegisterInstance& agent) const;

  ServerContext& ctx_;
  AgentAuthenticator& auth_;
  GatewayOptions options_;
  AuthFailureLimiter auth_failures_;
};

}  // namespace ferry::server
