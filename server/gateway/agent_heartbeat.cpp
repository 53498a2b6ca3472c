// Heartbeat: the agent's version, environment and features, its machine's boot id (a new one
// starts the runs of reboot-mode invocations), and the interval it keeps to. ReportAgentStop:
// the agent is going away on purpose, and is Offline from now on until it is heard from again.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "ferry/server/domain/repeats.hpp"
#include "ferry/server/domain/text.hpp"
#include "ferry/server/domain/value_rules.hpp"
#include "ferry/server/gateway/agent_gateway.hpp"

namespace ferry::server {
namespace {

constexpr std::size_t kMaxShortText = 128;
constexpr std::size_t kMaxFeatures = 64;
constexpr std::size_t kMaxBootId = 64;

}  // namespace

AgentGateway::Reply AgentGateway::heartbeat(const RegisterInstance& agent, Params& p) {
  const std::string version = p.opt_string("Version").value_or("");
  const std::string environment = p.opt_string("Environment").value_or("");
  const auto features = p.opt_string_list("SupportFeatures");
  const std::string boot_id = p.opt_string("BootId").value_or("");
  (void)p.opt_int("ProtocolVersion");
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (!domain::is_short_text(version, kMaxShortText)) {
    return domain::invalid_value("Version", "at most 128 characters, no control characters");
  }
  if (!environment.empty() && environment != "Linux" && environment != "Windows") {
    return domain::invalid_value("Environment", "must be Linux or Windows");
  }
  if (features && (features->size() > kMaxFeatures ||
                   !std::all_of(features->begin(), features->end(), [](const std::string& f) {
                     return domain::is_short_text(f, kMaxShortText);
                   }))) {
    return domain::invalid_value("SupportFeatures", "at most 64 names of at most 128 characters");
  }
  if (!domain::is_short_text(boot_id, kMaxBootId)) {
    return domain::invalid_value("BootId", "at most 64 characters, no control characters");
  }
  const int64_t now = ctx_.clock.now_ms();
  if (auto s = ctx_.store.record_heartbeat(agent.instance_id, version, environment,
                                           features.value_or(std::vector<std::string>{}), now);
      !s) {
    return s.error();
  }
  if (auto runs = domain::record_agent_boot(ctx_, agent, boot_id); !runs) {
    return runs.error();
  }
  return nlohmann::json{{"HeartbeatInterval", options_.heartbeat_interval_s}};
}

AgentGateway::Reply AgentGateway::report_agent_stop(const RegisterInstance& agent, Params& p) {
  if (auto s = p.finish(); !s) {
    return s.error();
  }
  if (options_.on_agent_stopped) {
    options_.on_agent_stopped(agent.instance_id);
  }
  return nlohmann::json::object();
}

}  // namespace ferry::server
