// End to end: the real ferry-server and real ferry-agent daemons on loopback, driven through the
// public API. Each test registers its own agents, so tests do not see each other's tasks.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "agent_process.hpp"
#include "blackbox.hpp"
#include "tcp_proxy.hpp"
#include "test_process.hpp"

using namespace std::chrono_literals;
using ferry::test::AgentProcess;
using ferry::test::ApiClient;
using ferry::test::must;
using ferry::test::shared_server;
using nlohmann::json;

namespace {

// A scratch directory removed at the end of its scope; others may read it (tasks run as other
// users write and read files there).
struct Scratch : ferry::test::TempDir {
  Scratch() : TempDir("ferry-e2e", 0755) {}
};

// A registered, running agent in `dir` against `server_url`.
std::unique_ptr<AgentProcess> start_agent(ApiClient& api, const std::string& server_url,
                                          const std::filesystem::path& dir, json config = {}) {
  auto [code_id, code] = ferry::test::create_register_code(api);
  auto agent = std::make_unique<AgentProcess>(FERRY_AGENT_BINARY, dir, std::move(config));
  auto r = agent->register_with(server_url, code_id, code);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(agent->instance_id().starts_with("rins-"));
  agent->start();
  INFO(agent->log());
  REQUIRE(agent->wait_log("push socket up"));
  return agent;
}

json finished_task(ApiClient& api, const std::string& invocation, const std::string& instance,
                   std::chrono::milliseconds limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto t = ferry::test::task_of(api, invocation, instance, /*hide_output=*/false);
    const std::string s = t["TaskStatus"].get<std::string>();
    const bool final = s != "PENDING" && s != "DELIVERING" && s != "DELIVER_DELAYED" &&
                       s != "RUNNING" && s != "CANCELLING";
    if (final || std::chrono::steady_clock::now() > deadline) {
      return t;
    }
    std::this_thread::sleep_for(50ms);
  }
}

std::string output_of(const json& task) {
  return ferry::test::unb64(task["TaskResult"]["Output"]);
}

// Processes whose command line contains `marker`, this test's own excepted.
int processes_with(const std::string& marker) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::string cmdline = ferry::test::slurp_file(e.path() / "cmdline");
    for (auto& c : cmdline) {
      if (c == '\0')
        c = ' ';
    }
    if (cmdline.find(marker) != std::string::npos && std::stoi(name) != ::getpid()) {
      ++n;
    }
  }
  return n;
}

// Polled every 50 ms: the conditions walk /proc or read the agent's files.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  return ferry::test::eventually(pred, limit, 50ms);
}

}  // namespace

TEST_CASE("register: the instance is saved 0600; a wrong register code is refused", "[e2e]") {
  auto& server = shared_server();
  auto api = server.api();
  Scratch scratch;
  auto [code_id, code] = ferry::test::create_register_code(api);

  AgentProcess bad(FERRY_AGENT_BINARY, scratch / "bad");
  auto refused = bad.register_with(server.endpoint(), code_id, code + "x");
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("AuthFailure.RegisterCodeInvalid") != std::string::npos);
  // The secret is never echoed.
  CHECK(refused.err.find(code) == std::string::npos);
  CHECK_FALSE(std::filesystem::exists(bad.state_dir() / "identity.json"));

  AgentProcess good(FERRY_AGENT_BINARY, scratch / "good");
  auto r = good.register_with(server.endpoint(), code_id, code);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(good.instance_id().starts_with("rins-"));
  for (const char* f : {"identity.json", "agent.key"}) {
    struct stat st {};
    REQUIRE(::stat((good.state_dir() / f).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  const std::string identity = ferry::test::slurp_file(good.state_dir() / "identity.json");
  CHECK(identity.find(good.instance_id()) != std::string::npos);
  CHECK(identity.find(code) == std::string::npos);

  // Registered already: a second register is refused without --force.
  auto again = good.register_with(server.endpoint(), code_id, code);
  CHECK(again.exit_code != 0);
  CHECK(again.err.find("already registered") != std::string::npos);

  // Plain http to an address that is not loopback is refused before anything is sent.
  AgentProcess plain(FERRY_AGENT_BINARY, scratch / "plain");
  auto p = plain.register_with("http://192.0.2.1:9", code_id, code);
  CHECK(p.exit_code != 0);
  CHECK(p.err.find("plain http") != std::string::npos);
}

TEST_CASE("run: output, exit code and parameters with built-ins come back", "[e2e]") {
  auto& server = shared_server();
  auto api = server.api();
  Scratch scratch;
  auto agent = start_agent(api, server.endpoint(), scratch / "a");
  const std::string& id = agent->instance_id();

  SECTION("a plain command") {
    auto inv = ferry::test::run_command(api, {id}, "echo out; echo err >&2; exit 7");
    auto t = finished_task(api, inv, id);
    CHECK(t["TaskStatus"] == "FAILED");
    CHECK(t["TaskResult"]["ExitCode"] == 7);
    CHECK(output_of(t) == "out\nerr\n");
    auto ok = ferry::test::run_command(api, {id}, "printf done");
    auto t2 = finished_task(api, ok, id);
    CHECK(t2["TaskStatus"] == "SUCCESS");
    CHECK(t2["TaskResult"]["ExitCode"] == 0);
    CHECK(output_of(t2) == "done");
    CHECK_FALSE(t2["TaskResult"]["ExecStartTime"].get<std::string>().empty());
  }
  SECTION("parameters and built-ins") {
    auto inv = ferry::test::run_command(
        api, {id},
        "echo {{greeting}} {{ ACS::InstanceId }} {{TAT::InvokeId}} {{acs::CommandId}} "
        "{{ACS::RegionId}}",
        {{"EnableParameter", true},
         {"DefaultParameters", R"({"greeting":"default"})"},
         {"Parameters", R"({"greeting":"hello"})"}});
    auto t = finished_task(api, inv, id);
    CHECK(t["TaskStatus"] == "SUCCESS");
    const std::string command_id = ferry::test::invocation_of(api, inv)["CommandId"];
    CHECK(output_of(t) ==
          "hello " + id + " " + inv + " " + command_id + " " + ferry::test::kTestRegion + "\n");
  }
  SECTION("a user and a working directory") {
    auto inv = ferry::test::run_command(api, {id}, "id -un; pwd",
                                        {{"Username", "root"}, {"WorkingDirectory", "/tmp"}});
    auto t = finished_task(api, inv, id);
    CHECK(t["TaskStatus"] == "SUCCESS");
    CHECK(output_of(t) == "root\n/tmp\n");
    auto missing =
        ferry::test::run_command(api, {id}, "true", {{"Username", "no-such-user-ferry-e2e"}});
    auto t2 = finished_task(api, missing, id);
    CHECK(t2["TaskStatus"] == "START_FAILED");
  }
  // The agent logs task ids and states, never the script or its output.
  const std::string log = agent->log();
  CHECK(log.find("task invt-") != std::string::npos);
  CHECK(log.find("echo out") == std::string::npos);
  CHECK(log.find("greeting") == std::string::npos);
  CHECK(agent->stop() == 0);
}

TEST_CASE("live output is visible before the task ends", "[e2e]") {
  auto& server = shared_server();
  auto api = server.api();
  Scratch scratch;
  auto agent = start_agent(api, server.endpoint(), scratch / "a");
  const std::string& id = agent->instance_id();
  auto inv = ferry::test::run_command(api, {id}, "echo first-line; sleep 4; echo second-line",
                                      {{"Timeout", 30}});
  std::string seen;
  const bool live = wait_until(
      [&] {
        auto t = ferry::test::task_of(api, inv, id, false);
        seen = t["TaskStatus"].get<std::string>() + " " + output_of(t);
        return t["TaskStatus"] == "RUNNING" && output_of(t) == "first-line\n";
      },
      3500ms);
  INFO(seen);
  CHECK(live);
  auto t = finished_task(api, inv, id);
  CHECK(t["TaskStatus"] == "SUCCESS");
  CHECK(output_of(t) == "first-line\nsecond-line\n");
}

TEST_CASE("cancel: a running task ends TERMINATED with its whole tree", "[e2e]") {
  auto& server = shared_server();
  auto api = server.api();
  Scratch scratch;
  auto agent = start_agent(api, server.endpoint(), scratch / "a");
  const std::string& id = agent->instance_id();
  const std::string marker = "ferry-e2e-cancel-" + std::to_string(::getpid());
  auto inv = ferry::test::run_command(api, {id},
                                      "setsid bash -c 'exec -a " + marker +
                                          " sleep 300' & bash -c 'exec -a " + marker +
                                          " sleep 300' & echo started; wait",
                                      {{"Timeout", 120}});
  REQUIRE(wait_until([&] { return processes_with(marker) == 2; }, 10s));
  REQUIRE(wait_until([&] { return ferry::test::task_status(api, inv, id) == "RUNNING"; }, 5s));
  const auto cancel_at = std::chrono::steady_clock::now();
  must(api.call("CancelInvocation", {{"InvocationId", inv}}));
  auto t = finished_task(api, inv, id, 10s);
  const auto took = std::chrono::steady_clock::now() - cancel_at;
  CHECK(t["TaskStatus"] == "TERMINATED");
  // The kick reaches the agent at once; the supervisor's SIGTERM ends `wait` at once.
  CHECK(took < 1500ms);
  CHECK(wait_until([&] { return processes_with(marker) == 0; }, 5s));
}

TEST_CASE("cancel: a task not started yet ends CANCELLED and never runs", "[e2e]") {
  auto& server = shared_server();
  auto api = server.api();
  Scratch scratch;
  const auto ran = scratch / "ran";

  SECTION("queued on the agent behind a running task") {
    auto agent = start_agent(api, server.endpoint(), scratch / "a", {{"max_concurrent_tasks", 1}});
    const std::string& id = agent->instance_id();
    auto first = ferry::test::run_command(api, {id}, "sleep 30", {{"Timeout", 60}});
    REQUIRE(ferry::test::wait_task_status(api, first, id, "RUNNING", 5s) == "RUNNING");
    auto second = ferry::test::run_command(api, {id}, "touch " + ran.string());
    REQUIRE(agent->wait_log("task " + ferry::test::task_id_of(api, second, id) + ": received"));
    must(api.call("CancelInvocation", {{"InvocationId", second}}));
    auto t = finished_task(api, second, id, 10s);
    CHECK(t["TaskStatus"] == "CANCELLED");
    must(api.call("CancelInvocation", {{"InvocationId", first}}));
    CHECK(finished_task(api, first, id, 10s)["TaskStatus"] == "TERMINATED");
    std::this_thread::sleep_for(500ms);
    CHECK_FALSE(std::filesystem::exists(ran));
  }
  SECTION("pending on the server while the agent is away") {
    auto agent = start_agent(api, server.endpoint(), scratch / "a");
    const std::string id = agent->instance_id();
    REQUIRE(agent->stop() == 0);
    auto inv = ferry::test::run_command(api, {id}, "touch " + ran.string());
    must(api.call("CancelInvocation", {{"InvocationId", inv}}));
    CHECK(ferry::test::task_status(api, inv, id) == "CANCELLED");
    agent->start();
    REQUIRE(agent->wait_log("push socket up"));
    std::this_thread::sleep_for(1s);
    CHECK_FALSE(std::filesystem::exists(ran));
    CHECK(ferry::test::task_status(api, inv, id) == "CANCELLED");
  }
}

TEST_CASE("timeout: the task is TIMEOUT and its whole tree is gone", "[e2e]") {
  auto& server = shared_server();
  auto api = server.api();
  Scratch scratch;
  auto agent = start_agent(api, server.endpoint(), scratch / "a");
  const std::string& id = agent->instance_id();
  const std::string marker = "ferry-e2e-timeout-" + std::to_string(::getpid());
  // A daemon of its own (setsid, double fork) and a child that ignores SIGTERM.
  auto inv = ferry::test::run_command(api, {id},
                                      "(setsid bash -c 'exec -a " + marker +
                                          " sleep 600' &) ; "
                                          "bash -c 'trap \"\" TERM; exec -a " +
                                          marker + " sleep 600' & echo begun; sleep 600",
                                      {{"Timeout", 2}});
  auto t = finished_task(api, inv, id, 20s);
  CHECK(t["TaskStatus"] == "TIMEOUT");
  CHECK(output_of(t) == "begun\n");
  CHECK(wait_until([&] { return processes_with(marker) == 0; }, 5s));
}

TEST_CASE("agent offline: DELIVER_DELAYED, then the task runs when it is back", "[e2e]") {
  auto& server = shared_server();
  auto api = server.api();
  Scratch scratch;
  auto agent = start_agent(api, server.endpoint(), scratch / "a");
  const std::string id = agent->instance_id();
  REQUIRE(agent->stop() == 0);
  // The server counts the agent offline once its online window (5 s in the tests) has passed.
  REQUIRE(wait_until([&] { return ferry::test::instance_status(api, id) == "Offline"; }, 15s));
  auto inv = ferry::test::run_command(api, {id}, "echo back");
  CHECK(ferry::test::task_status(api, inv, id) == "DELIVER_DELAYED");
  agent->start();
  auto t = finished_task(api, inv, id, 20s);
  CHECK(t["TaskStatus"] == "SUCCESS");
  CHECK(output_of(t) == "back\n");
}

TEST_CASE("agent killed: the server ends its running task TASK_TIMEOUT", "[e2e]") {
  auto& server = shared_server();
  auto api = server.api();
  Scratch scratch;
  auto agent = start_agent(api, server.endpoint(), scratch / "a");
  const std::string& id = agent->instance_id();
  auto inv = ferry::test::run_command(api, {id}, "sleep 30", {{"Timeout", 2}});
  REQUIRE(ferry::test::wait_task_status(api, inv, id, "RUNNING", 5s) == "RUNNING");
  agent->kill();
  // Timeout (2 s) + the test server's grace (1 s), then the sweeper.
  auto t = finished_task(api, inv, id, 15s);
  CHECK(t["TaskStatus"] == "TASK_TIMEOUT");
}

TEST_CASE("push socket cut: tasks still arrive by polling", "[e2e]") {
  auto& server = shared_server();
  auto api = server.api();
  Scratch scratch;
  ferry::test::TcpProxy proxy(server.port());
  auto agent = start_agent(api, proxy.endpoint(), scratch / "a");
  const std::string& id = agent->instance_id();
  proxy.block_websocket(true);
  REQUIRE(agent->wait_log("push socket down"));
  for (int i = 0; i < 3; ++i) {
    auto inv = ferry::test::run_command(api, {id}, "echo polled " + std::to_string(i));
    auto t = finished_task(api, inv, id, 10s);
    CHECK(t["TaskStatus"] == "SUCCESS");
    CHECK(output_of(t) == "polled " + std::to_string(i) + "\n");
  }
  CHECK(proxy.websocket_refusals() > 0);
  // Back to push once the socket may connect again.
  proxy.block_websocket(false);
  const auto before = agent->log().size();
  CHECK(wait_until([&] { return agent->log().find("push socket up", before) != std::string::npos; },
                   10s));
}

TEST_CASE("a replayed or altered agent request is refused", "[e2e]") {
  auto& server = shared_server();
  auto api = server.api();
  Scratch scratch;
  ferry::test::TcpProxy proxy(server.port());
  auto agent = start_agent(api, proxy.endpoint(), scratch / "a");
  REQUIRE(agent->stop() == 0);
  // A real signed request the agent sent (the first on its first connection after
  // registration: a Heartbeat or DescribeTasks), taken apart into headers and body.
  std::string request;
  for (const auto& c : proxy.captured_posts()) {
    if (c.find("X-Ferry-Instance") != std::string::npos) {
      request = c;
      break;
    }
  }
  REQUIRE_FALSE(request.empty());
  const auto header_end = request.find("\r\n\r\n");
  REQUIRE(header_end != std::string::npos);
  std::vector<std::pair<std::string, std::string>> headers;
  std::size_t content_length = 0;
  std::size_t pos = request.find("\r\n") + 2;
  while (pos < header_end) {
    const auto eol = request.find("\r\n", pos);
    const std::string line = request.substr(pos, eol - pos);
    const auto colon = line.find(':');
    std::string name = line.substr(0, colon);
    std::string value = line.substr(colon + 2);
    if (name == "Content-Length") {
      content_length = std::stoul(value);
    } else if (name.starts_with("X-Ferry") || name == "Content-Type") {
      headers.emplace_back(name, value);
    }
    pos = eol + 2;
  }
  const std::string body = request.substr(header_end + 4, content_length);
  REQUIRE(body.size() == content_length);
  ferry::test::HttpConnection http;
  const std::string url = server.endpoint() + "/agent";
  auto code_of = [](const ferry::test::HttpReply& reply) {
    auto j = json::parse(reply.body, nullptr, false);
    return j.is_object() ? j["Response"]["Error"].value("Code", "") : std::string("?");
  };
  CHECK(code_of(http.request("POST", url, headers, body)) == "AuthFailure.NonceReused");
  std::string altered = body;
  altered.insert(altered.size() - 1, " ");
  CHECK(code_of(http.request("POST", url, headers, altered)) == "AuthFailure.SignatureFailure");
  auto new_nonce = headers;
  for (auto& [k, v] : new_nonce) {
    if (k == "X-Ferry-Nonce")
      v = "AAAAAAAAAAAAAAAAAAAAAAAA";
  }
  CHECK(code_of(http.request("POST", url, new_nonce, body)) == "AuthFailure.SignatureFailure");
}

TEST_CASE("SIGTERM: the agent exits 0 and its running task finishes under its supervisor",
          "[e2e]") {
  auto& server = shared_server();
  auto api = server.api();
  Scratch scratch;
  auto agent = start_agent(api, server.endpoint(), scratch / "a");
  const std::string& id = agent->instance_id();
  const auto done = scratch / "done";
  auto inv =
      ferry::test::run_command(api, {id}, "sleep 2; touch " + done.string(), {{"Timeout", 30}});
  REQUIRE(ferry::test::wait_task_status(api, inv, id, "RUNNING", 5s) == "RUNNING");
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(agent->stop() == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 4s);
  CHECK(agent->log().find("stopped") != std::string::npos);
  CHECK(wait_until([&] { return std::filesystem::exists(done); }, 10s));
}

TEST_CASE("20 agents each run the command of one RunCommand", "[e2e]") {
  auto& server = shared_server();
  auto api = server.api();
  Scratch scratch;
  auto [code_id, code] = ferry::test::create_register_code(api, {{"RegisterLimit", 20}});
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto a =
        std::make_unique<AgentProcess>(FERRY_AGENT_BINARY, scratch / ("agent" + std::to_string(i)));
    auto r = a->register_with(server.endpoint(), code_id, code);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    ids.push_back(a->instance_id());
    a->start();
    agents.push_back(std::move(a));
  }
  for (auto& a : agents) {
    REQUIRE(a->wait_log("push socket up", 20s));
  }
  auto inv =
      ferry::test::run_command(api, ids, "echo {{ACS::InstanceId}}", {{"EnableParameter", true}});
  int success = 0;
  for (const auto& id : ids) {
    auto t = finished_task(api, inv, id, 60s);
    if (t["TaskStatus"] == "SUCCESS" && output_of(t) == id + "\n") {
      ++success;
    }
  }
  CHECK(success == 20);
  CHECK(ferry::test::invocation_status(api, inv) == "SUCCESS");
  for (auto& a : agents) {
    CHECK(a->stop() == 0);
  }
}

TEST_CASE("restart: live output resumes and a cancel reaches the re-attached supervisor", "[e2e]") {
  auto& server = shared_server();
  auto api = server.api();
  Scratch scratch;
  auto agent = start_agent(api, server.endpoint(), scratch / "a");
  const std::string& id = agent->instance_id();
  const std::string marker = "ferry-e2e-reattach-" + std::to_string(::getpid());
  const auto gate = scratch / "gate";
  auto inv = ferry::test::run_command(api, {id},
                                      "echo before; while [ ! -e " + gate.string() +
                                          " ]; do sleep 0.05; done; echo after; bash -c 'exec -a " +
                                          marker + " sleep 300'",
                                      {{"Timeout", 120}});
  // The first agent sends the first line live, then dies.
  REQUIRE(wait_until(
      [&] {
        auto t = ferry::test::task_of(api, inv, id, false);
        return t["TaskStatus"] == "RUNNING" && output_of(t) == "before\n";
      },
      10s));
  agent->kill();
  agent->start();
  REQUIRE(agent->wait_log("re-attached to its supervisor"));
  // The next agent goes on from where the first stopped: the second line follows, once.
  std::ofstream(gate) << "go";
  REQUIRE(wait_until([&] { return processes_with(marker) == 1; }, 10s));
  std::string seen;
  CHECK(wait_until(
      [&] {
        auto t = ferry::test::task_of(api, inv, id, false);
        seen = t["TaskStatus"].get<std::string>() + " " + output_of(t);
        return seen == "RUNNING before\nafter\n";
      },
      5s));
  INFO(seen);
  must(api.call("CancelInvocation", {{"InvocationId", inv}}));
  auto t = finished_task(api, inv, id, 10s);
  CHECK(t["TaskStatus"] == "TERMINATED");
  CHECK(output_of(t) == "before\nafter\n");
  CHECK(wait_until([&] { return processes_with(marker) == 0; }, 5s));
  // Reported once and forgotten: the journal is empty.
  CHECK(wait_until([&] { return std::filesystem::is_empty(agent->state_dir() / "tasks"); }, 5s));
}

TEST_CASE("restart: the supervisor enforces the timeout while no agent runs", "[e2e]") {
  auto& server = shared_server();
  auto api = server.api();
  Scratch scratch;
  auto agent = start_agent(api, server.endpoint(), scratch / "a");
  const std::string& id = agent->instance_id();
  const std::string marker = "ferry-e2e-alone-" + std::to_string(::getpid());
  auto inv = ferry::test::run_command(api, {id}, "bash -c 'exec -a " + marker + " sleep 300'",
                                      {{"Timeout", 2}});
  REQUIRE(wait_until([&] { return processes_with(marker) == 1; }, 10s));
  const std::string task_id = ferry::test::task_id_of(api, inv, id);
  agent->kill();
  // No agent: the supervisor alone ends the task at its timeout and records TIMEOUT.
  const auto state_file = agent->state_dir() / "tasks" / task_id / "state.json";
  std::string state;
  CHECK(wait_until(
      [&] {
        state = ferry::test::slurp_file(state_file);
        return state.find("\"finished\"") != std::string::npos;
      },
      10s));
  CHECK(state.find("\"TIMEOUT\"") != std::string::npos);
  CHECK(wait_until([&] { return processes_with(marker) == 0; }, 5s));
  agent->start();
  // The server may have ended it TASK_TIMEOUT first (its grace is 1 s in the tests); either way
  // it is final and the agent's journal entry goes once its report is acknowledged.
  auto t = finished_task(api, inv, id, 10s);
  CHECK((t["TaskStatus"] == "TIMEOUT" || t["TaskStatus"] == "TASK_TIMEOUT"));
  CHECK(wait_until([&] { return std::filesystem::is_empty(agent->state_dir() / "tasks"); }, 5s));
}

TEST_CASE("journal cap: a task over journal_max_tasks is START_FAILED and never runs", "[e2e]") {
  auto& server = shared_server();
  auto api = server.api();
  Scratch scratch;
  auto agent = start_agent(api, server.endpoint(), scratch / "a", {{"journal_max_tasks", 2}});
  const std::string& id = agent->instance_id();
  std::vector<std::string> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(ferry::test::run_command(api, {id}, "sleep 60", {{"Timeout", 120}}));
    REQUIRE(ferry::test::wait_task_status(api, held.back(), id, "RUNNING", 5s) == "RUNNING");
  }
  const auto ran = scratch / "ran";
  auto over = ferry::test::run_command(api, {id}, "touch " + ran.string());
  auto t = finished_task(api, over, id, 10s);
  CHECK(t["TaskStatus"] == "START_FAILED");
  CHECK(t.value("ErrorInfo", "").find("journal is at its cap") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(ran));
  for (const auto& inv : held) {
    must(api.call("CancelInvocation", {{"InvocationId", inv}}));
    CHECK(finished_task(api, inv, id, 10s)["TaskStatus"] == "TERMINATED");
  }
  // Room again once the server has the results.
  REQUIRE(wait_until([&] { return std::filesystem::is_empty(agent->state_dir() / "tasks"); }, 5s));
  auto after = ferry::test::run_command(api, {id}, "touch " + ran.string());
  CHECK(finished_task(api, after, id, 10s)["TaskStatus"] == "SUCCESS");
  CHECK(std::filesystem::exists(ran));
}

TEST_CASE("restart: a corrupt journal record is quarantined; the task is still reported once",
          "[e2e]") {
  auto& server = shared_server();
  auto api = server.api();
  Scratch scratch;
  auto agent = start_agent(api, server.endpoint(), scratch / "a");
  const std::string& id = agent->instance_id();
  const auto ran = scratch / "ran";
  const std::string marker = "ferry-e2e-corrupt-" + std::to_string(::getpid());
  auto inv = ferry::test::run_command(
      api, {id},
      "echo x >> " + ran.string() + "; bash -c 'exec -a " + marker + " sleep 2'; echo done",
      {{"Timeout", 60}});
  REQUIRE(wait_until([&] { return processes_with(marker) == 1; }, 10s));
  const std::string task_id = ferry::test::task_id_of(api, inv, id);
  const auto journal = agent->state_dir() / "tasks" / task_id / "journal.json";
  REQUIRE(wait_until([&] { return std::filesystem::exists(journal); }, 5s));
  REQUIRE(agent->stop() == 0);
  {
    std::ofstream out(journal, std::ios::trunc);
    out << "{\"Version\": 1, \"InvocationTa";
  }
  agent->start();
  // The record is moved aside and the agent logs why; the live supervisor is found by its
  // arguments and its real result reported.
  auto t = finished_task(api, inv, id, 15s);
  CHECK(t["TaskStatus"] == "SUCCESS");
  CHECK(output_of(t) == "done\n");
  CHECK(std::filesystem::exists(agent->state_dir() / "quarantine" / (task_id + ".journal.json")));
  CHECK(agent->log().find("journal record unreadable") != std::string::npos);
  CHECK(ferry::test::slurp_file(ran) == "x\n");
  CHECK(wait_until([&] { return std::filesystem::is_empty(agent->state_dir() / "tasks"); }, 5s));
}
