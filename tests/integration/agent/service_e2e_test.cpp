// ferry-agent under a stand-in for systemd: the notify protocol seen on a test socket (READY,
// STATUS, WATCHDOG, RELOADING and READY after SIGHUP, STOPPING after SIGTERM, in that order),
// STOPPING after a fatal error too, SIGHUP's reload, and one agent per state dir.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "agent_process.hpp"
#include "blackbox.hpp"
#include "notify_listener.hpp"
#include "started_agent.hpp"
#include "test_process.hpp"

using namespace std::chrono_literals;
using namespace ferry::test;
using nlohmann::json;

namespace {

struct ServiceE2e {
  ServerProcess& server = shared_server();
  ApiClient api = server.api();
  const TempDir scratch{"ferry-service-e2e", 0755};

  std::unique_ptr<AgentProcess> registered_agent(std::vector<std::string> env = {}) {
    auto [code_id, code] = create_register_code(api);
    auto agent = std::make_unique<AgentProcess>(FERRY_AGENT_BINARY, scratch / "a");
    agent->set_env(std::move(env));
    register_and_start(*agent, server.endpoint(), code_id, code);
    return agent;
  }
};

void write_json(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::trunc);
  out << text;
}

}  // namespace

TEST_CASE_METHOD(ServiceE2e, "agent: notify protocol in order, SIGHUP reloads, SIGTERM stops",
                 "[e2e][systemd]") {
  NotifyListener notify(scratch.path());
  // 1 s: a ping every 0.5 s.
  auto agent = registered_agent({"NOTIFY_SOCKET=" + notify.name(), "WATCHDOG_USEC=1000000"});

  const int ready = notify.wait_for("READY=1");
  const int status = notify.wait_for("STATUS=connected to " + server.endpoint());
  const int watchdog = notify.wait_for("WATCHDOG=1");
  INFO(agent->log());
  REQUIRE(ready >= 0);
  REQUIRE(status > ready);
  REQUIRE(watchdog > ready);
  CHECK(notify.seen()[static_cast<std::size_t>(status)].ends_with(", 0 tasks running"));
  // The pings go on (from the daemon's loop).
  CHECK(notify.wait_for("WATCHDOG=1", static_cast<std::size_t>(watchdog) + 1) > watchdog);

  // A running task shows in the status.
  const auto inv = run_command(api, {agent->instance_id()}, "sleep 2");
  CHECK(notify.wait_for("STATUS=connected to " + server.endpoint() + ", 1 task running") > 0);
  CHECK(finished_task(api, inv, agent->instance_id(), 30s)["TaskStatus"] == "SUCCESS");

  // SIGHUP with two keys changed: one applied, one for the next start.
  json changed = agent->config();
  changed["poll_interval_ms"] = 700;
  changed["use_cgroup"] = false;
  write_json(agent->config_file(), changed.dump(2));
  const std::size_t before_reload = notify.seen().size();
  REQUIRE(::kill(agent->pid(), SIGHUP) == 0);
  const int reloading = notify.wait_for("RELOADING=1\nMONOTONIC_USEC=", before_reload);
  REQUIRE(reloading >= 0);
  const int ready_again = notify.wait_for("READY=1", static_cast<std::size_t>(reloading));
  CHECK(ready_again > reloading);
  CHECK(agent->wait_log("reload: poll_interval_ms changed: applied"));
  CHECK(agent->wait_log("reload: use_cgroup changed: takes effect at the next start"));
  CHECK(agent->log().find("reload: log_level changed") == std::string::npos);

  // An invalid file: said in the log, the agent goes on with what it has.
  write_json(agent->config_file(), R"({"poll_interval_ms": 5})");
  const std::size_t before_bad = notify.seen().size();
  REQUIRE(::kill(agent->pid(), SIGHUP) == 0);
  const int bad_reloading = notify.wait_for("RELOADING=1", before_bad);
  CHECK(notify.wait_for("READY=1", static_cast<std::size_t>(bad_reloading)) > bad_reloading);
  CHECK(agent->wait_log("poll_interval_ms: must be an integer from 100"));
  CHECK(agent->wait_log("the running configuration is kept"));
  const auto after_bad = run_command(api, {agent->instance_id()}, "echo still here");
  CHECK(finished_task(api, after_bad, agent->instance_id(), 30s)["TaskStatus"] == "SUCCESS");

  const std::size_t before_stop = notify.seen().size();
  CHECK(agent->stop() == 0);
  CHECK(notify.wait_for("STOPPING=1", before_stop, 5s) >= 0);
}

TEST_CASE_METHOD(ServiceE2e, "agent: a fatal error stops it with STOPPING too", "[e2e][systemd]") {
  NotifyListener notify(scratch.path());
  auto agent = registered_agent({"NOTIFY_SOCKET=" + notify.name()});
  REQUIRE(notify.wait_for("READY=1") >= 0);
  // The server forgets the instance: the agent's next call learns it and the agent stops.
  const std::size_t before = notify.seen().size();
  must(api.call("DeleteRegisterInstance", {{"InstanceId", agent->instance_id()}}));
  const auto code = agent->wait_exit(60s);
  INFO(agent->log());
  REQUIRE(code);
  CHECK(*code == 2);
  CHECK(notify.wait_for("STOPPING=1", before, 5s) >= 0);
}

TEST_CASE_METHOD(ServiceE2e, "agent: one per state dir; tasks do not hold the lock",
                 "[e2e][systemd]") {
  auto agent = registered_agent();
  const std::string pid = std::to_string(agent->pid());
  const auto lock_file = (agent->state_dir() / "agent.lock").string();

  // A second daemon on the same state dir stops at once, naming the lock and its holder.
  LaunchOptions second;
  second.argv = {FERRY_AGENT_BINARY, "--config", agent->config_file().string()};
  second.out_file = scratch / "second.log";
  second.err_file = scratch / "second.log";
  const auto refused = run_process(std::move(second), 30s);
  CHECK(refused.exit_code != 0);
  const std::string said = read_file(scratch / "second.log");
  INFO(said);
  CHECK(said.find(lock_file + " is locked by pid " + pid) != std::string::npos);

  // So does register.
  auto [code_id, code] = create_register_code(api);
  const auto reg = agent->register_with(server.endpoint(), code_id, code, {"--force"});
  CHECK(reg.exit_code != 0);
  CHECK(reg.err.find(lock_file + " is locked by pid " + pid) != std::string::npos);

  // A task's supervisor outlives a killed agent without keeping the state dir locked: the
  // next agent starts and reports the task.
  const auto inv = run_command(api, {agent->instance_id()}, "sleep 3; echo done");
  REQUIRE(eventually([&] { return agent->log().find(": started") != std::string::npos; }, 15s));
  agent->kill();
  agent->start();
  const bool up = agent->wait_log("push socket up");
  INFO(agent->log());
  REQUIRE(up);
  const auto task = finished_task(api, inv, agent->instance_id(), 30s);
  CHECK(task["TaskStatus"] == "SUCCESS");
}
