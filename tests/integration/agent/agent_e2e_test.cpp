// End to end: the real ferry-server and real ferry-agent daemons on loopback, driven through the
// public API. Each test registers its own agents, so tests do not see each other's tasks.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent_process.hpp"
#include "blackbox.hpp"
#include "started_agent.hpp"
#include "tcp_proxy.hpp"
#include "test_process.hpp"

using namespace std::chrono_literals;
using namespace ferry::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// One test's world: the shared server, an API client, and a scratch directory removed at the
// end (after the agents in it); others may read it, as tasks run as other users do.
struct E2e {
  ServerProcess& server = shared_server();
  ApiClient api = server.api();
  const TempDir scratch{"ferry-e2e", 0755};

  // A registered, running agent in scratch/a, against `server_url` (default: the server).
  std::unique_ptr<AgentProcess> start_agent(json config = json::object(),
                                            const std::string& server_url = "") {
    auto [code_id, code] = create_register_code(api);
    auto agent =
        std::make_unique<AgentProcess>(FERRY_AGENT_BINARY, scratch / "a", std::move(config));
    register_and_start(*agent, server_url.empty() ? server.endpoint() : server_url, code_id, code);
    return agent;
  }

  // The task once its status is final (its output included), or as last seen after `limit`.
  json finished(const std::string& invocation, const std::string& instance,
                std::chrono::milliseconds limit = 30s) {
    return finished_task(api, invocation, instance, limit);
  }

  // The explicit signal a "nothing happened" check waits for: a command given after the thing
  // that must not happen runs to SUCCESS, so every DescribeTasks reply and queue slot that could
  // have started that thing has been acted on.
  void run_later_command(const std::string& instance) {
    const auto inv = run_command(api, {instance}, "echo after");
    CHECK(finished(inv, instance, 10s)["TaskStatus"] == "SUCCESS");
  }
};

std::string output_of(const json& task) {
  return unb64(task["TaskResult"]["Output"]);
}

// Processes whose command line contains `marker`, zombies included, this test's own excepted.
int processes_with(const std::string& marker) {
  const auto table = process_table();
  return static_cast<int>(std::count_if(table.begin(), table.end(), [&](const ProcInfo& p) {
    return p.cmdline.find(marker) != std::string::npos && p.pid != ::getpid();
  }));
}

// Polled every 50 ms: the conditions walk /proc or read the agent's files.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  return eventually(pred, limit, 50ms);
}

}  // namespace

TEST_CASE_METHOD(E2e, "register: the instance is saved 0600; a wrong register code is refused",
                 "[e2e]") {
  auto [code_id, code] = create_register_code(api);

  AgentProcess bad(FERRY_AGENT_BINARY, scratch / "bad");
  auto refused = bad.register_with(server.endpoint(), code_id, code + "x");
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("AuthFailure.RegisterCodeInvalid") != std::string::npos);
  // The secret is never echoed.
  CHECK(refused.err.find(code) == std::string::npos);
  CHECK_FALSE(fs::exists(bad.state_dir() / "identity.json"));

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
  const std::string identity = read_file(good.state_dir() / "identity.json");
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

TEST_CASE_METHOD(E2e, "register: the code from a file; on the command line it is warned about",
                 "[e2e]") {
  auto [code_id, code] = create_register_code(api, 3);
  const auto code_file = scratch / "register-code";
  write_file(code_file, code + "\n");

  // The file wins over the environment (which register_with sets, here to a wrong code).
  AgentProcess from_file(FERRY_AGENT_BINARY, scratch / "from-file");
  auto r = from_file.register_with(server.endpoint(), code_id, code + "x",
                                   {"--register-code-file", code_file.string()});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(from_file.instance_id().starts_with("rins-"));
  CHECK(r.err.find("visible to every local user") == std::string::npos);

  AgentProcess missing(FERRY_AGENT_BINARY, scratch / "missing");
  auto m = missing.register_with(server.endpoint(), code_id, code,
                                 {"--register-code-file", (scratch / "nope").string()});
  CHECK(m.exit_code == 2);
  CHECK(m.err.find("nope: cannot be read (the register code)") != std::string::npos);

  AgentProcess both(FERRY_AGENT_BINARY, scratch / "both");
  CHECK(both.register_with(server.endpoint(), code_id, code,
                           {"--register-code", code, "--register-code-file", code_file.string()})
            .exit_code != 0);

  AgentProcess flag(FERRY_AGENT_BINARY, scratch / "flag");
  auto f = flag.register_with(server.endpoint(), code_id, code + "x", {"--register-code", code});
  CHECK(f.exit_code == 0);
  CHECK(f.err.find("--register-code is visible to every local user") != std::string::npos);
}

TEST_CASE_METHOD(E2e, "run: output, exit code and parameters with built-ins come back", "[e2e]") {
  auto agent = start_agent();
  const std::string& id = agent->instance_id();

  SECTION("a plain command") {
    auto inv = run_command(api, {id}, "echo out; echo err >&2; exit 7");
    auto t = finished(inv, id);
    CHECK(t["TaskStatus"] == "FAILED");
    CHECK(t["TaskResult"]["ExitCode"] == 7);
    CHECK(output_of(t) == "out\nerr\n");
    auto ok = run_command(api, {id}, "printf done");
    auto t2 = finished(ok, id);
    CHECK(t2["TaskStatus"] == "SUCCESS");
    CHECK(t2["TaskResult"]["ExitCode"] == 0);
    CHECK(output_of(t2) == "done");
    CHECK_FALSE(t2["TaskResult"]["ExecStartTime"].get<std::string>().empty());
  }
  SECTION("parameters and built-ins") {
    auto inv = run_command(api, {id},
                           "echo {{greeting}} {{ ACS::InstanceId }} {{TAT::InvokeId}} "
                           "{{acs::CommandId}} {{ACS::RegionId}}",
                           {{"EnableParameter", true},
                            {"DefaultParameters", R"({"greeting":"default"})"},
                            {"Parameters", R"({"greeting":"hello"})"}});
    auto t = finished(inv, id);
    CHECK(t["TaskStatus"] == "SUCCESS");
    const std::string command_id = invocation_of(api, inv)["CommandId"];
    CHECK(output_of(t) == "hello " + id + " " + inv + " " + command_id + " " + kTestRegion + "\n");
  }
  SECTION("a hidden parameter: the task gets its value, the API shows the mask") {
    auto inv = run_command(
        api, {id}, "echo login {{user}} {{tat-hidden:pw}}",
        {{"EnableParameter", true}, {"Parameters", R"({"user":"ann","pw":"s3cret-e2e"})"}});
    auto t = finished(inv, id);
    CHECK(t["TaskStatus"] == "SUCCESS");
    CHECK(output_of(t) == "login ann s3cret-e2e\n");
    CHECK(nlohmann::json::parse(invocation_of(api, inv)["Parameters"].get<std::string>()) ==
          nlohmann::json{{"user", "ann"}, {"pw", "******"}});
    CHECK(agent->log().find("s3cret-e2e") == std::string::npos);
    CHECK(server.stderr_text().find("s3cret-e2e") == std::string::npos);
  }
  SECTION("a user and a working directory") {
    auto inv =
        run_command(api, {id}, "id -un; pwd", {{"Username", "root"}, {"WorkingDirectory", "/tmp"}});
    auto t = finished(inv, id);
    CHECK(t["TaskStatus"] == "SUCCESS");
    CHECK(output_of(t) == "root\n/tmp\n");
    auto missing = run_command(api, {id}, "true", {{"Username", "no-such-user-ferry-e2e"}});
    auto t2 = finished(missing, id);
    CHECK(t2["TaskStatus"] == "START_FAILED");
  }
  // The agent logs task ids and states, never the script or its output.
  const std::string log = agent->log();
  CHECK(log.find("task invt-") != std::string::npos);
  CHECK(log.find("echo out") == std::string::npos);
  CHECK(log.find("greeting") == std::string::npos);
  CHECK(agent->stop() == 0);
}

TEST_CASE_METHOD(E2e, "live output is visible before the task ends", "[e2e]") {
  auto agent = start_agent();
  const std::string& id = agent->instance_id();
  auto inv =
      run_command(api, {id}, "echo first-line; sleep 4; echo second-line", {{"Timeout", 30}});
  // RUNNING with only the first line: seen before the task ended, however long that took.
  std::string seen;
  const bool live = wait_until(
      [&] {
        auto t = task_of(api, inv, id, false);
        seen = t["TaskStatus"].get<std::string>() + " " + output_of(t);
        return t["TaskStatus"] == "RUNNING" && output_of(t) == "first-line\n";
      },
      10s);
  INFO(seen);
  CHECK(live);
  auto t = finished(inv, id);
  CHECK(t["TaskStatus"] == "SUCCESS");
  CHECK(output_of(t) == "first-line\nsecond-line\n");
}

TEST_CASE_METHOD(E2e, "cancel: a running task ends TERMINATED with its whole tree", "[e2e]") {
  auto agent = start_agent();
  const std::string& id = agent->instance_id();
  const std::string marker = "ferry-e2e-cancel-" + std::to_string(::getpid());
  auto inv = run_command(api, {id},
                         "setsid bash -c 'exec -a " + marker + " sleep 300' & bash -c 'exec -a " +
                             marker + " sleep 300' & echo started; wait",
                         {{"Timeout", 120}});
  REQUIRE(wait_until([&] { return processes_with(marker) == 2; }, 10s));
  REQUIRE(wait_until([&] { return task_status(api, inv, id) == "RUNNING"; }, 5s));
  const auto cancel_at = std::chrono::steady_clock::now();
  must(api.call("CancelInvocation", {{"InvocationId", inv}}));
  auto t = finished(inv, id, 10s);
  const auto took = std::chrono::steady_clock::now() - cancel_at;
  CHECK(t["TaskStatus"] == "TERMINATED");
  // The point: the kick reaches the agent at once (no poll) and the supervisor's SIGTERM ends
  // `wait` at once (no kill grace), well before the sleeps would end.
  CHECK(took < time_bound(1500ms, 10s));
  CHECK(wait_until([&] { return processes_with(marker) == 0; }, 5s));
}

TEST_CASE_METHOD(E2e, "cancel: a task not started yet ends CANCELLED and never runs", "[e2e]") {
  const auto ran = scratch / "ran";

  SECTION("queued on the agent behind a running task") {
    auto agent = start_agent({{"max_concurrent_tasks", 1}});
    const std::string& id = agent->instance_id();
    auto first = run_command(api, {id}, "sleep 30", {{"Timeout", 60}});
    REQUIRE(wait_task_status(api, first, id, "RUNNING", 5s) == "RUNNING");
    auto second = run_command(api, {id}, "touch " + ran.string());
    REQUIRE(agent->wait_log("task " + task_id_of(api, second, id) + ": received"));
    must(api.call("CancelInvocation", {{"InvocationId", second}}));
    auto t = finished(second, id, 10s);
    CHECK(t["TaskStatus"] == "CANCELLED");
    must(api.call("CancelInvocation", {{"InvocationId", first}}));
    CHECK(finished(first, id, 10s)["TaskStatus"] == "TERMINATED");
    // One task at a time, in order: had `second` stayed queued, it would run before this one.
    run_later_command(id);
    CHECK_FALSE(fs::exists(ran));
  }
  SECTION("pending on the server while the agent is away") {
    auto agent = start_agent();
    const std::string id = agent->instance_id();
    REQUIRE(agent->stop() == 0);
    auto inv = run_command(api, {id}, "touch " + ran.string());
    must(api.call("CancelInvocation", {{"InvocationId", inv}}));
    CHECK(task_status(api, inv, id) == "CANCELLED");
    agent->start();
    REQUIRE(agent->wait_log("push socket up"));
    run_later_command(id);
    CHECK_FALSE(fs::exists(ran));
    CHECK(task_status(api, inv, id) == "CANCELLED");
  }
}

TEST_CASE_METHOD(E2e, "timeout: the task is TIMEOUT and its whole tree is gone", "[e2e]") {
  auto agent = start_agent();
  const std::string& id = agent->instance_id();
  const std::string marker = "ferry-e2e-timeout-" + std::to_string(::getpid());
  // A daemon of its own (setsid, double fork) and a child that ignores SIGTERM.
  auto inv = run_command(api, {id},
                         "(setsid bash -c 'exec -a " + marker +
                             " sleep 600' &) ; "
                             "bash -c 'trap \"\" TERM; exec -a " +
                             marker + " sleep 600' & echo begun; sleep 600",
                         {{"Timeout", 2}});
  auto t = finished(inv, id, 20s);
  CHECK(t["TaskStatus"] == "TIMEOUT");
  CHECK(output_of(t) == "begun\n");
  CHECK(wait_until([&] { return processes_with(marker) == 0; }, 5s));
}

TEST_CASE_METHOD(E2e, "agent offline: DELIVER_DELAYED, then the task runs when it is back",
                 "[e2e]") {
  auto agent = start_agent();
  const std::string id = agent->instance_id();
  REQUIRE(agent->stop() == 0);
  // A stopped agent told the server (ReportAgentStop): Offline at once, not after the online
  // window (5 s in the tests).
  CHECK(instance_status(api, id) == "Offline");
  auto inv = run_command(api, {id}, "echo back");
  CHECK(task_status(api, inv, id) == "DELIVER_DELAYED");
  agent->start();
  auto t = finished(inv, id, 20s);
  CHECK(t["TaskStatus"] == "SUCCESS");
  CHECK(output_of(t) == "back\n");
}

TEST_CASE_METHOD(E2e, "agent killed: the server ends its running task TASK_TIMEOUT", "[e2e]") {
  auto agent = start_agent();
  const std::string& id = agent->instance_id();
  auto inv = run_command(api, {id}, "sleep 30", {{"Timeout", 2}});
  REQUIRE(wait_task_status(api, inv, id, "RUNNING", 5s) == "RUNNING");
  agent->kill();
  // Timeout (2 s) + the test server's grace (1 s), then the sweeper.
  auto t = finished(inv, id, 15s);
  CHECK(t["TaskStatus"] == "TASK_TIMEOUT");
}

TEST_CASE_METHOD(E2e, "push socket cut: tasks still arrive by polling", "[e2e]") {
  TcpProxy proxy(server.port());
  auto agent = start_agent({}, proxy.endpoint());
  const std::string& id = agent->instance_id();
  proxy.block_websocket(true);
  REQUIRE(agent->wait_log("push socket down"));
  for (int i = 0; i < 3; ++i) {
    auto inv = run_command(api, {id}, "echo polled " + std::to_string(i));
    auto t = finished(inv, id, 10s);
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

TEST_CASE_METHOD(E2e, "a replayed or altered agent request is refused", "[e2e]") {
  TcpProxy proxy(server.port());
  auto agent = start_agent({}, proxy.endpoint());
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
  HttpConnection http;
  const std::string url = server.endpoint() + "/agent";
  auto code_of = [](const HttpReply& reply) {
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

TEST_CASE_METHOD(E2e,
                 "SIGTERM: the agent exits 0 and its running task finishes under its supervisor",
                 "[e2e]") {
  auto agent = start_agent();
  const std::string& id = agent->instance_id();
  const auto gate = scratch / "gate";
  const auto done = scratch / "done";
  auto inv = run_command(
      api, {id},
      "while [ ! -e " + gate.string() + " ]; do sleep 0.05; done; touch " + done.string(),
      {{"Timeout", 30}});
  REQUIRE(wait_task_status(api, inv, id, "RUNNING", 5s) == "RUNNING");
  CHECK(agent->stop() == 0);
  // The task is held by its gate: the agent exited without waiting for it.
  CHECK_FALSE(fs::exists(done));
  CHECK(agent->log().find("stopped") != std::string::npos);
  std::ofstream(gate) << "go";
  CHECK(wait_until([&] { return fs::exists(done); }, 10s));
}

TEST_CASE_METHOD(E2e, "20 agents each run the command of one RunCommand", "[e2e]") {
  auto [code_id, code] = create_register_code(api, {{"RegisterLimit", 20}});
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
  auto inv = run_command(api, ids, "echo {{ACS::InstanceId}}", {{"EnableParameter", true}});
  int success = 0;
  for (const auto& id : ids) {
    auto t = finished(inv, id, 60s);
    if (t["TaskStatus"] == "SUCCESS" && output_of(t) == id + "\n") {
      ++success;
    }
  }
  CHECK(success == 20);
  CHECK(invocation_status(api, inv) == "SUCCESS");
  for (auto& a : agents) {
    CHECK(a->stop() == 0);
  }
}

TEST_CASE_METHOD(E2e,
                 "restart: live output resumes and a cancel reaches the re-attached supervisor",
                 "[e2e]") {
  auto agent = start_agent();
  const std::string& id = agent->instance_id();
  const std::string marker = "ferry-e2e-reattach-" + std::to_string(::getpid());
  const auto gate = scratch / "gate";
  auto inv = run_command(api, {id},
                         "echo before; while [ ! -e " + gate.string() +
                             " ]; do sleep 0.05; done; echo after; bash -c 'exec -a " + marker +
                             " sleep 300'",
                         {{"Timeout", 120}});
  // The first agent sends the first line live, then dies.
  REQUIRE(wait_until(
      [&] {
        auto t = task_of(api, inv, id, false);
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
        auto t = task_of(api, inv, id, false);
        seen = t["TaskStatus"].get<std::string>() + " " + output_of(t);
        return seen == "RUNNING before\nafter\n";
      },
      5s));
  INFO(seen);
  must(api.call("CancelInvocation", {{"InvocationId", inv}}));
  auto t = finished(inv, id, 10s);
  CHECK(t["TaskStatus"] == "TERMINATED");
  CHECK(output_of(t) == "before\nafter\n");
  CHECK(wait_until([&] { return processes_with(marker) == 0; }, 5s));
  // Reported once and forgotten: the journal is empty.
  CHECK(wait_until([&] { return agent->journal_empty(); }, 5s));
}

TEST_CASE_METHOD(E2e, "restart: the supervisor enforces the timeout while no agent runs", "[e2e]") {
  auto agent = start_agent();
  const std::string& id = agent->instance_id();
  const std::string marker = "ferry-e2e-alone-" + std::to_string(::getpid());
  auto inv = run_command(api, {id}, "bash -c 'exec -a " + marker + " sleep 300'", {{"Timeout", 2}});
  REQUIRE(wait_until([&] { return processes_with(marker) == 1; }, 10s));
  const std::string task_id = task_id_of(api, inv, id);
  agent->kill();
  // No agent: the supervisor alone ends the task at its timeout and records TIMEOUT.
  const auto state_file = agent->state_dir() / "tasks" / task_id / "state.json";
  std::string state;
  CHECK(wait_until(
      [&] {
        state = read_file(state_file);
        return state.find("\"finished\"") != std::string::npos;
      },
      10s));
  CHECK(state.find("\"TIMEOUT\"") != std::string::npos);
  CHECK(wait_until([&] { return processes_with(marker) == 0; }, 5s));
  agent->start();
  // The server may have ended it TASK_TIMEOUT first (its grace is 1 s in the tests); either way
  // it is final and the agent's journal entry goes once its report is acknowledged.
  auto t = finished(inv, id, 10s);
  CHECK((t["TaskStatus"] == "TIMEOUT" || t["TaskStatus"] == "TASK_TIMEOUT"));
  CHECK(wait_until([&] { return agent->journal_empty(); }, 5s));
}

TEST_CASE_METHOD(E2e, "journal cap: a task over journal_max_tasks is START_FAILED and never runs",
                 "[e2e]") {
  auto agent = start_agent({{"journal_max_tasks", 2}});
  const std::string& id = agent->instance_id();
  std::vector<std::string> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(run_command(api, {id}, "sleep 60", {{"Timeout", 120}}));
    REQUIRE(wait_task_status(api, held.back(), id, "RUNNING", 5s) == "RUNNING");
  }
  const auto ran = scratch / "ran";
  auto over = run_command(api, {id}, "touch " + ran.string());
  auto t = finished(over, id, 10s);
  CHECK(t["TaskStatus"] == "START_FAILED");
  CHECK(t.value("ErrorInfo", "").find("journal is at its cap") != std::string::npos);
  CHECK_FALSE(fs::exists(ran));
  for (const auto& inv : held) {
    must(api.call("CancelInvocation", {{"InvocationId", inv}}));
    CHECK(finished(inv, id, 10s)["TaskStatus"] == "TERMINATED");
  }
  // Room again once the server has the results.
  REQUIRE(wait_until([&] { return agent->journal_empty(); }, 5s));
  auto after = run_command(api, {id}, "touch " + ran.string());
  CHECK(finished(after, id, 10s)["TaskStatus"] == "SUCCESS");
  CHECK(fs::exists(ran));
}

TEST_CASE_METHOD(
    E2e, "restart: a corrupt journal record is quarantined; the task is still reported once",
    "[e2e]") {
  auto agent = start_agent();
  const std::string& id = agent->instance_id();
  const auto ran = scratch / "ran";
  const std::string marker = "ferry-e2e-corrupt-" + std::to_string(::getpid());
  auto inv = run_command(
      api, {id},
      "echo x >> " + ran.string() + "; bash -c 'exec -a " + marker + " sleep 2'; echo done",
      {{"Timeout", 60}});
  REQUIRE(wait_until([&] { return processes_with(marker) == 1; }, 10s));
  const std::string task_id = task_id_of(api, inv, id);
  const auto journal = agent->state_dir() / "tasks" / task_id / "journal.json";
  REQUIRE(wait_until([&] { return fs::exists(journal); }, 5s));
  REQUIRE(agent->stop() == 0);
  {
    std::ofstream out(journal, std::ios::trunc);
    out << "{\"Version\": 1, \"InvocationTa";
  }
  agent->start();
  // The record is moved aside and the agent logs why; the live supervisor is found by its
  // arguments and its real result reported.
  auto t = finished(inv, id, 15s);
  CHECK(t["TaskStatus"] == "SUCCESS");
  CHECK(output_of(t) == "done\n");
  CHECK(fs::exists(agent->state_dir() / "quarantine" / (task_id + ".journal.json")));
  CHECK(agent->log().find("journal record unreadable") != std::string::npos);
  CHECK(read_file(ran) == "x\n");
  CHECK(wait_until([&] { return agent->journal_empty(); }, 5s));
}

TEST_CASE_METHOD(E2e,
                 "local policy: a refused task never runs; after SIGHUP with a new policy it does",
                 "[e2e]") {
  json config{{"policy", {{"denied_users", {"root"}}}}};
  auto agent = start_agent(config);
  const std::string& id = agent->instance_id();
  const fs::path marker = scratch / "marker";
  const std::string script = "touch " + marker.string();

  auto refused = finished(run_command(api, {id}, script), id);
  CHECK(refused["TaskStatus"] == "START_FAILED");
  CHECK(refused.value("ErrorInfo", "") == "refused by local policy: denied_users (root)");
  CHECK_FALSE(fs::exists(marker));
  // The refusal is on the audit trail, without the script.
  const fs::path audit_log = agent->state_dir() / "audit.log";
  struct stat st {};
  REQUIRE(::stat(audit_log.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(read_file(audit_log).find("touch") == std::string::npos);
  LaunchOptions audit;
  audit.argv = {FERRY_AGENT_BINARY, "audit",        "--state-dir", agent->state_dir().string(),
                "--result",         "START_FAILED", "--json"};
  audit.out_file = scratch / "audit.out";
  audit.err_file = scratch / "audit.err";
  auto printed = run_process(audit);
  REQUIRE(printed.exit_code == 0);
  const auto line = json::parse(printed.out.substr(0, printed.out.find('\n')));
  CHECK(line["event"] == "refused");
  CHECK(line["rule"] == "denied_users");
  CHECK(line["result"] == "START_FAILED");
  CHECK(printed.out.find('\n') == printed.out.size() - 1);  // one line

  // A typo in the new policy is refused on SIGHUP: the running one is kept.
  config = agent->config();
  config["policy"] = {{"denied_user", {"nobody"}}};
  std::ofstream(agent->config_file()) << config.dump();
  REQUIRE(::kill(agent->pid(), SIGHUP) == 0);
  CHECK(agent->wait_log("policy.denied_user: unknown key; the running configuration is kept"));
  auto still = finished(run_command(api, {id}, script), id);
  CHECK(still["TaskStatus"] == "START_FAILED");
  CHECK_FALSE(fs::exists(marker));

  config["policy"] = {{"denied_users", {"nobody"}}};
  std::ofstream(agent->config_file()) << config.dump();
  REQUIRE(::kill(agent->pid(), SIGHUP) == 0);
  CHECK(agent->wait_log("local policy: changed"));
  auto ran = finished(run_command(api, {id}, script), id);
  CHECK(ran["TaskStatus"] == "SUCCESS");
  CHECK(fs::exists(marker));
  CHECK(agent->stop() == 0);
}
