// A ServerContext over a real SQLite store in a temporary directory, with a settable clock and
// fakes that record what the handlers told the agents. Handlers are called directly, without
// HTTP or signing.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ferry/server/actions/actions.hpp"
#include "ferry/server/api/api_front.hpp"
#include "ferry/server/store/store.hpp"

namespace ferry::server::testing {

class FakeClock final : public Clock {
 public:
  [[nodiscard]] int64_t now_ms() const override { return now; }
  int64_t now = 1'700'000'000'000;
};

class FakeNotifier final : public AgentNotifier {
 public:
  void task_ready(const std::string& instance_id, const std::string& task_id) override {
    ready.emplace_back(instance_id, task_id);
  }
  void task_cancelled(const std::string& instance_id, const std::string& task_id) override {
    cancelled.emplace_back(instance_id, task_id);
  }
  std::vector<std::pair<std::string, std::string>> ready;      // instance, task
  std::vector<std::pair<std::string, std::string>> cancelled;  // instance, task
};

class FakePresence final : public AgentPresence {
 public:
  [[nodiscard]] bool is_online(const std::string& instance_id) const override {
    return online.contains(instance_id);
  }
  void disconnect(const std::string& instance_id) override {
    disconnected.push_back(instance_id);
    online.erase(instance_id);
  }
  std::set<std::string> online;
  std::vector<std::string> disconnected;
};

struct InstanceSpec {
  std::string id;
  bool online = true;
  std::string name = "";
  std::string system = "Linux";
  std::string local_ip = "10.0.0.1";
  std::vector<Tag> tags = {};
};

class ActionFixture {
 public:
  ActionFixture();
  ~ActionFixture();
  ActionFixture(const ActionFixture&) = delete;
  ActionFixture& operator=(const ActionFixture&) = delete;

  // Calls the action's handler with `body` as its parameters.
  Expected<nlohmann::json> call(const std::string& action, const nlohmann::json& body);
  // The call's result, failing the test when it is an error.
  nlohmann::json ok(const std::string& action, const nlohmann::json& body);
  // The call's error code, failing the test when it succeeded ("" then).
  std::string code(const std::string& action, const nlohmann::json& body);

  // Registers an instance through the store (with a register code made for the purpose).
  void add_instance(const InstanceSpec& spec);
  // Sets a task's status (and times) the way the agent gateway would.
  void set_task_status(const std::string& task_id, TaskStatus status);
  std::vector<InvocationTask> tasks_of(const std::string& invocation_id);

  std::filesystem::path dir;
  std::unique_ptr<Store> store;
  FakeClock clock;
  FakeNotifier notifier;
  FakePresence presence;
  ServerSettings settings;
  std::unique_ptr<ServerContext> ctx;
  std::unique_ptr<ApiFront> api;

 private:
  std::string code_id_;
};

// Base64 of `text`.
std::string b64(const std::string& text);

}  // namespace ferry::server::testing
