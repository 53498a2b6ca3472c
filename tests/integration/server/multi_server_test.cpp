// Several ferry-servers on one PostgreSQL (the test's own, pg_test_server.hpp): a real agent on
// server B's socket, reached through the API of server A (LISTEN/NOTIFY), B killed, and the
// database restarted under load. The agent talks to the servers through a TCP proxy, the tests'
// load balancer, so that it can be moved from B to A.
//
// B's sweeper looks every 30 s: a task that reaches B's agent within the bounds below was pushed
// through the database, not found by B's sweeper (which would take one to two passes).
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent_process.hpp"
#include "blackbox.hpp"
#include "pg_test_server.hpp"
#include "server_process.hpp"
#include "started_agent.hpp"
#include "tcp_proxy.hpp"
#include "test_process.hpp"

using namespace std::chrono_literals;
using namespace ferry::test;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kSlowSweep = 30'000;  // ms: B's sweeper, far longer than any bound below

// Two servers on a new database, a real agent behind a proxy that points at B.
struct TwoServersOnPostgres {
  PgTestServer& pg = PgTestServer::get();
  const std::string database = pg.create_database();
  ServerProcess a{FERRY_SERVER_BIN, json::object(), {"--database", pg.url(database)}};
  ServerProcess b{
      FERRY_SERVER_BIN, json{{"sweep_interval_ms", kSlowSweep}}, {"--database", pg.url(database)}};
  ApiClient api_a = a.api();
  ApiClient api_b = b.api();
  TcpProxy proxy{b.port()};
  const TempDir scratch{"ferry-multi", 0755};
  std::unique_ptr<AgentProcess> agent;

  TwoServersOnPostgres() {
    auto [code_id, code] = create_register_code(api_a);
    agent = std::make_unique<AgentProcess>(FERRY_AGENT_BINARY, scratch / "agent");
    register_and_start(*agent, proxy.endpoint(), code_id, code);
  }
  ~TwoServersOnPostgres() {
    agent.reset();
    a.kill();
    b.kill();
    pg.drop_database(database);
  }

  [[nodiscard]] const std::string& instance() const { return agent->instance_id(); }
};

// Polls the task every 20 ms until `done(status)` or `limit`: the time that took, or nullopt.
std::optional<std::chrono::milliseconds> time_until(
    ApiClient& api, const std::string& invocation, const std::string& instance,
    Clock::time_point since, const std::function<bool(const std::string&)>& done,
    std::chrono::milliseconds limit) {
  std::optional<std::chrono::milliseconds> took;
  eventually(
      [&] {
        if (!done(task_status(api, invocation, instance))) {
          return false;
        }
        took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since);
        return true;
      },
      limit, 20ms);
  return took;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

bool left_pending(const std::string& status) {
  return status != "PENDING" && status != "DELIVER_DELAYED";
}

}  // namespace

TEST_CASE_METHOD(TwoServersOnPostgres,
                 "PostgreSQL, two servers: RunCommand on A reaches B's agent at once",
                 "[postgres][peers]") {
  for (int i = 0; i < 3; ++i) {
    const auto sent = Clock::now();
    const auto inv = run_command(api_a, {instance()}, "echo from-a");
    const auto took = time_until(api_a, inv, instance(), sent, left_pending, 10s);
    REQUIRE(took.has_value());
    CHECK(took->count() < 2000);
    const auto done = finished_task(api_a, inv, instance(), 20s);
    CHECK(done["TaskStatus"] == "SUCCESS");
    CHECK(unb64(done["TaskResult"]["Output"]) == "from-a\n");
  }
}

TEST_CASE_METHOD(TwoServersOnPostgres,
                 "PostgreSQL, two servers: a malformed message is logged and ignored",
                 "[postgres][peers]") {
  // B's channel, from the server that holds the agent in the store's presence.
  const std::string holder = pg.query(
      database, "SELECT server_id FROM agent_presence WHERE instance_id = '" + instance() + "'");
  REQUIRE(holder.starts_with("srv-"));
  pg.query(database, "SELECT pg_notify('ferry_" + holder + "', 'kick; secret-marker')");
  pg.query(database, "SELECT pg_notify('ferry_" + holder + "', 'kick " + holder + " " + instance() +
                         " invt-x''; rm')");
  REQUIRE(eventually([&] { return count(b.stderr_text(), "peers: ignored a malformed") == 2; }, 5s,
                     20ms));
  // Sizes only in the log, and B still serves.
  CHECK(b.stderr_text().find("secret-marker") == std::string::npos);
  const auto sent = Clock::now();
  const auto inv = run_command(api_a, {instance()}, "echo still");
  const auto took = time_until(api_a, inv, instance(), sent, left_pending, 10s);
  REQUIRE(took.has_value());
  CHECK(took->count() < 2000);
}

TEST_CASE_METHOD(TwoServersOnPostgres,
                 "PostgreSQL, two servers: live output and cancel through A of a task on B",
                 "[postgres][peers]") {
  const auto inv =
      run_command(api_a, {instance()}, "echo live-marker; sleep 60", {{"Timeout", 120}});
  REQUIRE(time_until(
      api_a, inv, instance(), Clock::now(), [](const std::string& s) { return s == "RUNNING"; },
      10s));
  // The agent streams its output to B; A reads it from the store.
  std::string live;
  const bool streamed = eventually(
      [&] {
        live = unb64(task_of(api_a, inv, instance(), false)["TaskResult"]["Output"]);
        return live.find("live-marker") != std::string::npos;
      },
      10s, 50ms);
  INFO(live);
  CHECK(streamed);

  const auto sent = Clock::now();
  must(api_a.call("CancelInvocation", {{"InvocationId", inv}}));
  const auto took = time_until(
      api_a, inv, instance(), sent, [](const std::string& s) { return s == "TERMINATED"; }, 10s);
  INFO(task_status(api_a, inv, instance()));
  REQUIRE(took.has_value());
  CHECK(took->count() < 4000);
}

TEST_CASE_METHOD(TwoServersOnPostgres,
                 "PostgreSQL, two servers: B killed, its agent moves to A and loses nothing",
                 "[postgres][peers]") {
  const auto running = run_command(api_a, {instance()}, "sleep 3; echo survived");
  REQUIRE(time_until(
      api_a, running, instance(), Clock::now(), [](const std::string& s) { return s == "RUNNING"; },
      10s));
  // The load balancer sends new connections to A; the agent's socket to B goes with B.
  proxy.set_upstream_port(a.port());
  REQUIRE(b.kill() == 128 + SIGKILL);
  const bool moved = eventually([&] { return count(agent->log(), "push socket up") >= 2; }, 15s);
  INFO(agent->log());
  REQUIRE(moved);

  // The task that ran through the move finishes on A as it ran: not timed out, not failed.
  const auto t = finished_task(api_a, running, instance(), 30s);
  CHECK(t["TaskStatus"] == "SUCCESS");
  CHECK(unb64(t["TaskResult"]["Output"]) == "survived\n");
  // A holds the agent now: a new command reaches it at once.
  const auto sent = Clock::now();
  const auto next = run_command(api_a, {instance()}, "echo on-a");
  const auto took = time_until(api_a, next, instance(), sent, left_pending, 10s);
  REQUIRE(took.has_value());
  CHECK(took->count() < 2000);
  CHECK(finished_task(api_a, next, instance(), 20s)["TaskStatus"] == "SUCCESS");
}

TEST_CASE_METHOD(TwoServersOnPostgres,
                 "PostgreSQL, two servers: the database restarted under load loses nothing",
                 "[postgres][peers]") {
  // Every 25 ms a RunCommand on A (for B's agent: only a push through the database gets it
  // there in time) and a listing on B, while the database stops and starts again.
  std::vector<std::string> acknowledged;
  std::set<std::string> failures;
  std::atomic<bool> restarted{false};
  std::thread load([&] {
    std::size_t ok_after_restart = 0;
    const auto deadline = Clock::now() + 30s;
    for (int i = 0; i < 1000 && Clock::now() < deadline && ok_after_restart < 5; ++i) {
      const auto run = api_a.call("RunCommand", {{"Content", b64("echo n" + std::to_string(i))},
                                                 {"InstanceIds", {instance()}}});
      const auto list = api_b.call("DescribeInvocations", json::object());
      if (run.ok()) {
        acknowledged.push_back(run.response["InvocationId"].get<std::string>());
        if (restarted) {
          ++ok_after_restart;
        }
      }
      for (const auto* r : {&run, &list}) {
        if (!r->ok()) {
          failures.insert(r->error_code().empty() ? r->describe() : r->error_code());
        }
      }
      std::this_thread::sleep_for(25ms);
    }
  });
  std::this_thread::sleep_for(300ms);
  pg.stop();
  std::this_thread::sleep_for(1s);
  pg.start();
  restarted = true;
  load.join();

  // The outage was seen, as InternalError only, and the calls came back by themselves.
  INFO("acknowledged " << acknowledged.size());
  CHECK(failures == std::set<std::string>{"InternalError"});
  REQUIRE(acknowledged.size() >= 5);
  // Every acknowledged task runs on B's agent, well before B's sweeper would have kicked it:
  // pushed through the database, or by B's catch-up once its listener was back.
  const auto deadline = Clock::now() + 20s;
  for (const auto& inv : acknowledged) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const auto t = finished_task(api_a, inv, instance(), std::max(left, 100ms));
    INFO(inv);
    CHECK(t["TaskStatus"] == "SUCCESS");
  }
  // B listens again: a new command through A reaches its agent at once.
  const auto sent = Clock::now();
  const auto next = run_command(api_a, {instance()}, "echo after");
  const auto took = time_until(api_a, next, instance(), sent, left_pending, 10s);
  REQUIRE(took.has_value());
  CHECK(took->count() < 2000);
}
