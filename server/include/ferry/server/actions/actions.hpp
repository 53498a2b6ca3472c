// The TAT actions, registered on the ApiFront by group. Handlers are plain functions of the
// request object and the store: no HTTP, no Beast.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ferry/server/api/api_front.hpp"
#include "ferry/server/clock.hpp"
#include "ferry/server/store/store.hpp"

namespace ferry::server {

struct ServerSettings {
  std::string account_id;  // {{ACS::AccountId}} and the owner shown in listings
  std::vector<ApiRegion> regions;
  int64_t command_quota = 500;        // saved commands
  int64_t register_code_quota = 100;  // register codes
  int64_t max_run_instances = 200;    // RunCommand / InvokeCommand InstanceIds
};

// Told about work for agents: new tasks and cancels (a WebSocket kick in the server).
class AgentNotifier {
 public:
  virtual ~AgentNotifier() = default;
  virtual void task_ready(const std::string& instance_id, const std::string& task_id) = 0;
  virtual void task_cancelled(const std::string& instance_id, const std::string& task_id) = 0;
};

// Which agents hold a live connection (the push hub knows); a seam for tests.
class AgentPresence {
 public:
  virtual ~AgentPresence() = default;
  [[nodiscard]] virtual bool is_online(const std::string& instance_id) const = 0;
  // Drops the agent's connection (its instance was deleted: its key no longer counts).
  virtual void disconnect(const std::string& instance_id) = 0;
};

struct ServerContext {
  Store& store;
  const Clock& clock;
  const ServerSettings& settings;
  AgentNotifier& notifier;
  AgentPresence& presence;
};

void register_command_actions(ApiFront& api, ServerContext& ctx);
void register_misc_actions(ApiFront& api, ServerContext& ctx);
// RunCommand, InvokeCommand, CancelInvocation, DescribeInvocations, DescribeInvocationTasks.
void register_invocation_actions(ApiFront& api, ServerContext& ctx);
// CreateRegisterCode, DescribeRegisterCodes, DisableRegisterCodes, DeleteRegisterCodes,
// DescribeRegisterInstances, ModifyRegisterInstance, DeleteRegisterInstance,
// DescribeAutomationAgentStatus.
void register_registration_actions(ApiFront& api, ServerContext& ctx);

// JSON of the API models.
nlohmann::json command_to_json(const Command& c);

class JsonWriter;
// An InvocationTask of DescribeInvocationTasks as the API shows it. `live_log` is the output the
// agent streamed so far, for tasks still running (nullopt: show the stored result).
void write_invocation_task(JsonWriter& w, const InvocationTask& t,
                           const std::optional<std::string>& live_log);

}  // namespace ferry::server
