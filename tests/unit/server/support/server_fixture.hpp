// What the server's unit tests share: a real SQLite store in a temporary directory, a settable
// clock, and fakes of the agents' two seams that record what they were told. The domain, the
// TAT actions and the agent gateway are driven on top of it, without HTTP.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ferry/server/clock.hpp"
#include "ferry/server/domain/context.hpp"
#include "ferry/server/model.hpp"
#include "ferry/server/store/store.hpp"
#include "test_process.hpp"

namespace ferry::test {

// 2024-05-01T00:00:00Z: any fixed time will do, but a realistic one keeps RFC 3339 honest.
inline constexpr int64_t kStartMs = 1'714'521'600'000;

class FakeClock final : public server::Clock {
 public:
  [[nodiscard]] int64_t now_ms() const override { return now_.load(); }
  void advance_ms(int64_t ms) { now_ += ms; }
  void set_ms(int64_t ms) { now_ = ms; }

 private:
  std::atomic<int64_t> now_{kStartMs};
};

using InstanceTask = std::pair<std::string, std::string>;  // instance, task

class RecordingNotifier final : public server::AgentNotifier {
 public:
  void task_ready(const std::string& instance_id, const std::string& task_id) override;
  void task_cancelled(const std::string& instance_id, const std::string& task_id) override;
  // Kicks (task_ready) and cancels, in the order told.
  [[nodiscard]] std::vector<InstanceTask> kicks() const;
  [[nodiscard]] std::vector<InstanceTask> cancels() const;

 private:
  mutable std::mutex mutex_;
  std::vector<InstanceTask> kicks_;
  std::vector<InstanceTask> cancels_;
};

class FakePresence final : public server::AgentPresence {
 public:
  [[nodiscard]] bool is_online(const std::string& instance_id) const override;
  // Offline from now on, and recorded.
  void disconnect(const std::string& instance_id) override;
  void set_online(const std::string& instance_id, bool online);
  [[nodiscard]] std::vector<std::string> disconnected() const;

 private:
  mutable std::mutex mutex_;
  std::set<std::string> online_;
  std::vector<std::string> disconnected_;
};

// An instance registered straight through the store.
struct InstanceSpec {
  std::string id;
  bool online = true;
  std::string name = "";
  std::string system = "Linux";
  std::string local_ip = "10.0.0.1";
  std::vector<server::Tag> tags = {};
};

class ServerFixture {
 public:
  ServerFixture();
  ServerFixture(const ServerFixture&) = delete;
  ServerFixture& operator=(const ServerFixture&) = delete;

  // Registers an instance (with a register code made for the purpose), online or not.
  void add_instance(const InstanceSpec& spec);
  // The tasks of an invocation, by instance id.
  std::vector<server::InvocationTask> tasks_of(const std::string& invocation_id);
  server::InvocationTask task(const std::string& task_id);
  // Sets a task's status (and times) the way the agent gateway would, through the states a
  // real task passes.
  void set_task_status(const std::string& task_id, TaskStatus status);

  TempDir dir{"ferry-server-test"};
  FakeClock clock;
  std::unique_ptr<server::Store> store;
  server::ServerSettings settings;
  RecordingNotifier notifier;
  FakePresence presence;
  server::ServerContext ctx;

 private:
  std::string fixture_code_id_;
};

}  // namespace ferry::test
