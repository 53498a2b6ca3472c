// Shared pieces of the black-box suite: the shared server, a scripted agent that speaks the
// agent protocol without running anything, and API helpers that poll with deadlines.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "api_client.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/core/ed25519.hpp"
#include "server_process.hpp"
#include "test_process.hpp"

namespace ferry::test {

// One server with the default test configuration for every test that needs nothing special;
// each test registers its own instances, so they do not see each other's tasks.
inline ServerProcess& shared_server() {
  static auto server = std::make_unique<ServerProcess>(FERRY_SERVER_BIN);
  return *server;
}

inline std::string b64(std::string_view text) {
  return base64_encode(text);
}

inline std::string unb64(const nlohmann::json& v) {
  if (!v.is_string()) {
    return "<not a string>";
  }
  auto d = base64_decode(v.get<std::string>());
  return d ? *d : "<bad base64>";
}

inline bool is_uuid(const std::string& s) {
  static const std::regex re("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  return std::regex_match(s, re);
}

// A successful call's Response; fails the test otherwise.
inline nlohmann::json must(const ApiResponse& r) {
  INFO(r.describe());
  REQUIRE(r.ok());
  CHECK(is_uuid(r.request_id()));
  return r.response;
}

// A call that must fail with `code`.
inline void expect_error(const ApiResponse& r, const std::string& code) {
  INFO(r.describe());
  CHECK(r.http_status == 200);
  CHECK(r.error_code() == code);
  CHECK(is_uuid(r.request_id()));
}

// Makes a register code through the API (RegisterLimit `limit`).
inline std::pair<std::string, std::string> create_register_code(ApiClient& api,
                                                                nlohmann::json extra = {}) {
  nlohmann::json body{{"Description", "black-box"}, {"InstanceNamePrefix", "bb"}};
  if (extra.is_object()) {
    for (auto& [k, v] : extra.items()) {
      body[k] = v;
    }
  }
  auto r = must(api.call("CreateRegisterCode", body));
  return {r["RegisterCodeId"].get<std::string>(), r["RegisterCodeValue"].get<std::string>()};
}

inline Ed25519PrivateKey new_key() {
  auto k = Ed25519PrivateKey::generate();
  REQUIRE(k);
  return std::move(*k);
}

// An agent that registers with a code made through the API, then follows the protocol by
// hand: it fetches tasks and reports whatever the test says, running nothing.
class ScriptedAgent {
 public:
  ScriptedAgent(ApiClient& api, const std::string& endpoint) : client_(endpoint, "", new_key()) {
    auto [id, value] = create_register_code(api);
    must(client_.register_instance(id, value, "Linux", "scripted-host"));
    REQUIRE(client_.instance_id().rfind("rins-", 0) == 0);
    heartbeat();
  }

  [[nodiscard]] const std::string& id() const { return client_.instance_id(); }
  AgentClient& client() { return client_; }

  void heartbeat() {
    must(client_.call("Heartbeat", {{"Version", "bb-1.0"},
                                    {"Environment", "Linux"},
                                    {"SupportFeatures", nlohmann::json::array()},
                                    {"ProtocolVersion", 1}}));
  }
  nlohmann::json describe_tasks() { return must(client_.call("DescribeTasks")); }
  // The id of the first task the next DescribeTasks hands over.
  std::string fetch_task() { return normal_ids(describe_tasks()).at(0); }
  // The ids of the tasks to run in one DescribeTasks reply.
  static std::vector<std::string> normal_ids(const nlohmann::json& reply) {
    std::vector<std::string> ids;
    for (const auto& t : reply["InvocationNormalTaskSet"]) {
      ids.push_back(t["InvocationTaskId"].get<std::string>());
    }
    return ids;
  }
  static std::vector<std::string> cancel_ids(const nlohmann::json& reply) {
    std::vector<std::string> ids;
    for (const auto& t : reply["InvocationCancelTaskSet"]) {
      ids.push_back(t["InvocationTaskId"].get<std::string>());
    }
    return ids;
  }
  ApiResponse start(const std::string& task) {
    return client_.call("ReportTaskStart",
                        {{"InvocationTaskId", task}, {"TimeStamp", "2024-05-01T12:00:00Z"}});
  }
  ApiResponse log(const std::string& task, int64_t index, std::string_view text) {
    return client_.call("UploadTaskLog",
                        {{"InvocationTaskId", task}, {"Index", index}, {"Output", b64(text)}});
  }
  ApiResponse finish(const std::string& task, const std::string& result, int64_t exit_code,
                     std::string_view output = "", const std::string& error_info = "") {
    nlohmann::json body{{"InvocationTaskId", task},
                        {"Result", result},
                        {"ExitCode", exit_code},
                        {"Output", b64(output)},
                        {"Dropped", 0},
                        {"OutputSize", output.size()},
                        {"ExecStartTime", "2024-05-01T12:00:00Z"},
                        {"ExecEndTime", "2024-05-01T12:00:01Z"},
                        {"FinalLogIndex", -1}};
    if (!error_info.empty()) {
      body["ErrorInfo"] = error_info;
    }
    return client_.call("ReportTaskFinish", body);
  }

 private:
  AgentClient client_;
};

// RunCommand of `script` on `instances`; the InvocationId.
inline std::string run_command(ApiClient& api, const std::vector<std::string>& instances,
                               std::string_view script = "echo hello", nlohmann::json extra = {}) {
  nlohmann::json body{{"Content", b64(script)}, {"InstanceIds", instances}};
  if (extra.is_object()) {
    for (auto& [k, v] : extra.items()) {
      body[k] = v;
    }
  }
  return must(api.call("RunCommand", body))["InvocationId"].get<std::string>();
}

// A test against the shared server with a scripted agent of its own.
struct ScriptedAgentTest {
  ServerProcess& server = shared_server();
  ApiClient api = server.api();
  ScriptedAgent agent{api, server.endpoint()};

  struct Started {
    std::string invocation;
    std::string task;
  };
  // RunCommand of `script` on the agent, which fetches its task and reports it started.
  Started run_started(std::string_view script = "echo hello", nlohmann::json extra = {}) {
    Started s{run_command(api, {agent.id()}, script, std::move(extra)), ""};
    s.task = agent.fetch_task();
    must(agent.start(s.task));
    return s;
  }
};

// The task of `invocation` on `instance`, as DescribeInvocationTasks shows it.
inline nlohmann::json task_of(ApiClient& api, const std::string& invocation,
                              const std::string& instance, bool hide_output = true) {
  auto r = must(
      api.call("DescribeInvocationTasks", {{"Filters",
                                            {{{"Name", "invocation-id"}, {"Values", {invocation}}},
                                             {{"Name", "instance-id"}, {"Values", {instance}}}}},
                                           {"HideOutput", hide_output}}));
  REQUIRE(r["InvocationTaskSet"].size() == 1);
  return r["InvocationTaskSet"][0];
}

inline std::string task_id_of(ApiClient& api, const std::string& invocation,
                              const std::string& instance) {
  return task_of(api, invocation, instance)["InvocationTaskId"].get<std::string>();
}

inline std::string task_status(ApiClient& api, const std::string& invocation,
                               const std::string& instance) {
  return task_of(api, invocation, instance)["TaskStatus"].get<std::string>();
}

inline nlohmann::json invocation_of(ApiClient& api, const std::string& invocation) {
  auto r = must(api.call("DescribeInvocations", {{"InvocationIds", {invocation}}}));
  REQUIRE(r["InvocationSet"].size() == 1);
  return r["InvocationSet"][0];
}

inline std::string invocation_status(ApiClient& api, const std::string& invocation) {
  return invocation_of(api, invocation)["InvocationStatus"].get<std::string>();
}

// Polls the task until it reaches `status` or `limit` passes; the last status seen.
inline std::string wait_task_status(ApiClient& api, const std::string& invocation,
                                    const std::string& instance, const std::string& status,
                                    std::chrono::milliseconds limit) {
  std::string seen;
  eventually(
      [&] {
        seen = task_status(api, invocation, instance);
        return seen == status;
      },
      limit, std::chrono::milliseconds(50));
  return seen;
}

// Whether a task status is one a task never leaves.
inline bool is_final_status(const std::string& s) {
  return s != "PENDING" && s != "DELIVERING" && s != "DELIVER_DELAYED" && s != "RUNNING" &&
         s != "CANCELLING";
}

// Polls the task (with its output) until its status is final or `limit` passes; the task as
// last seen.
inline nlohmann::json finished_task(ApiClient& api, const std::string& invocation,
                                    const std::string& instance, std::chrono::milliseconds limit) {
  nlohmann::json t;
  eventually(
      [&] {
        t = task_of(api, invocation, instance, /*hide_output=*/false);
        return is_final_status(t["TaskStatus"].get<std::string>());
      },
      limit, std::chrono::milliseconds(50));
  return t;
}

// The agent's Status in DescribeRegisterInstances ("Online" / "Offline").
inline std::string instance_status(ApiClient& api, const std::string& instance) {
  auto r = must(api.call("DescribeRegisterInstances", {{"InstanceIds", {instance}}}));
  REQUIRE(r["RegisterInstanceSet"].size() == 1);
  return r["RegisterInstanceSet"][0]["Status"].get<std::string>();
}

}  // namespace ferry::test
