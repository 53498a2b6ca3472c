// The exchange of one `POST /agent`: the checks in the order docs/protocol.md gives, the action,
// and the agent protocol's envelope (the TAT one with ProtocolVersion and ServerTime).
#include "ferry/server/gateway/agent_gateway.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "ferry/core/crypto.hpp"
#include "ferry/core/error_codes.hpp"
#include "ferry/server/api/json_request.hpp"
#include "ferry/server/domain/text.hpp"
#include "ferry/server/tat/tat_envelope.hpp"

namespace ferry::server {
namespace {

// The reply's Response object with the fields every agent reply carries.
HttpResponse agent_envelope(nlohmann::json response, const std::string& request_id, int64_t now_ms,
                            unsigned status) {
  response["RequestId"] = request_id;
  response["ProtocolVersion"] = kAgentProtocolVersion;
  response["ServerTime"] = now_ms / 1000;
  return response_envelope(response, status);
}

}  // namespace

AgentGateway::AgentGateway(ServerContext& ctx, AgentAuthenticator& auth, GatewayOptions options)
    : ctx_(ctx),
      auth_(auth),
      options_(std::move(options)),
      auth_failures_(options_.auth_failure_rate, options_.auth_failure_burst) {}

HttpResponse AgentGateway::error_response(const Error& error, const std::string& request_id,
                                          int64_t now_ms, unsigned status) {
  return agent_envelope({{"Error", error_fields(error)}}, request_id, now_ms, status);
}

HttpResponse AgentGateway::handle(const HttpRequest& request, RequestOutcome& outcome) {
  auto uuid = uuid4();
  const std::string request_id = uuid ? *uuid : std::string("00000000-0000-4000-8000-000000000000");
  outcome.api = "agent";
  const auto fail = [&](const Error& e) {
    outcome.result = e.code;
    return error_response(e, request_id, ctx_.clock.now_ms());
  };
  if (auth_failures_.blocked(request.remote_address, ctx_.clock.now_ms())) {
    spdlog::debug("agent: {} from {} refused: too many failed authentications", request_id,
                  request.remote_address);
    return fail(Error{"RequestLimitExceeded",
                      "too many failed authentications from this address; try again later"});
  }
  if (request.method != "POST") {
    return fail(Error{"UnsupportedProtocol", "the agent endpoint takes POST with a JSON body"});
  }
  if (!has_json_content_type(request)) {
    return fail(Error{"UnsupportedProtocol", "the Content-Type must be application/json"});
  }
  if (auto s = AgentAuthenticator::check_protocol(request); !s) {
    return fail(s.error());
  }
  if (!json_depth_within(request.body)) {
    return fail(Error{codes::kInvalidParameter,
                      "the request body nests deeper than " + std::to_string(kMaxJsonDepth)});
  }
  auto body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return fail(Error{codes::kInvalidParameter, "the request body must be a JSON object"});
  }
  const auto action_it = body.find("Action");
  if (action_it == body.end() || !action_it->is_string() || action_it->get<std::string>().empty()) {
    return fail(Error{codes::kMissingParameter, "the field Action is required"});
  }
  const std::string action = action_it->get<std::string>();
  Reply result = Error{codes::kInternalError, "no result"};
  try {
    result = dispatch(action, request, std::move(body), request_id, outcome);
  } catch (const std::exception& e) {
    // The reason may quote the request's values (outputs): at debug only.
    spdlog::error("agent: {} {} failed: the handler threw (the reason at debug)", action,
                  request_id);
    spdlog::debug("agent: {} {} failed: {}", action, request_id, e.what());
    result = Error{codes::kInternalError, "internal error; request " + request_id};
  }
  if (!result) {
    spdlog::debug("agent: {} {} from {} -> {}", action, request_id, request.remote_address,
                  result.error().code);
    if (result.error().code.starts_with("AuthFailure.")) {
      auth_failures_.record_failure(request.remote_address, ctx_.clock.now_ms());
    }
    return fail(result.error());
  }
  nlohmann::json response = std::move(*result);
  if (!response.is_object()) {
    response = nlohmann::json::object();
  }
  outcome.result = "Success";
  return agent_envelope(std::move(response), request_id, ctx_.clock.now_ms(), 200);
}

AgentGateway::Reply AgentGateway::dispatch(const std::string& action, const HttpRequest& request,
                                           nlohmann::json body, const std::string& request_id,
                                           RequestOutcome& outcome) {
  Params p(std::move(body));
  (void)p.opt_string("Action");
  if (action == "RegisterInstance") {
    outcome.action = action;
    return register_instance(request, p, request_id);
  }
  using Handler = Reply (AgentGateway::*)(const RegisterInstance&, Params&);
  static const std::map<std::string, Handler, std::less<>> kActions = {
      {"DescribeTasks", &AgentGateway::describe_tasks},
      {"ReportTaskStart", &AgentGateway::report_task_start},
      {"UploadTaskLog", &AgentGateway::upload_task_log},
      {"ReportTaskFinish", &AgentGateway::report_task_finish},
      {"Heartbeat", &AgentGateway::heartbeat},
      {"ReportAgentStop", &AgentGateway::report_agent_stop},
      {"PresignOutputUpload", &AgentGateway::presign_output_upload},
      {"UploadTaskOutput", &AgentGateway::upload_task_output},
  };
  const auto it = kActions.find(action);
  if (it == kActions.end()) {
    return Error{"InvalidAction", "the agent action " + domain::utf8_prefix(action, 64) +
                                      " does not exist in protocol version " +
                                      std::to_string(kAgentProtocolVersion)};
  }
  outcome.action = action;
  auto agent = auth_.authenticate(request, action, request.body);
  if (!agent) {
    spdlog::info("agent: refused {} {} from {}: {}", action, request_id, request.remote_address,
                 agent.error().code);
    return agent.error();
  }
  outcome.agent_authenticated = true;
  if (options_.on_agent_seen) {
    options_.on_agent_seen(agent->instance_id, ctx_.clock.now_ms());
  }
  return (this->*(it->second))(*agent, p);
}

}  // namespace ferry::server
