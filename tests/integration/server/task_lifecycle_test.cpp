// Every task state, driven through the real ferry-server by a scripted agent.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "blackbox.hpp"

using namespace ferry::test;
using namespace std::chrono_literals;

TEST_CASE_METHOD(ScriptedAgentTest,
                 "a task goes PENDING, DELIVERING, RUNNING with live output, then SUCCESS",
                 "[server][lifecycle]") {
  const auto inv = run_command(api, {agent.id()}, "echo hello", {{"Timeout", 30}});
  CHECK(task_status(api, inv, agent.id()) == "PENDING");
  CHECK(invocation_status(api, inv) == "PENDING");

  auto reply = agent.describe_tasks();
  const auto ids = ScriptedAgent::normal_ids(reply);
  REQUIRE(ids.size() == 1);
  const std::string task = ids[0];
  const auto& wire = reply["InvocationNormalTaskSet"][0];
  CHECK(wire["InvocationId"] == inv);
  CHECK(unb64(wire["Content"]) == "echo hello");
  CHECK(wire["CommandType"] == "SHELL");
  CHECK(wire["Timeout"] == 30);
  CHECK(wire["InstanceId"] == agent.id());
  CHECK(reply["HasMore"] == false);
  CHECK(task_status(api, inv, agent.id()) == "DELIVERING");
  // Listed again until the start is reported: a lost reply loses nothing.
  CHECK(ScriptedAgent::normal_ids(agent.describe_tasks()) == ids);

  CHECK(must(agent.start(task))["TaskStatus"] == "RUNNING");
  CHECK(task_status(api, inv, agent.id()) == "RUNNING");
  CHECK(invocation_status(api, inv) == "RUNNING");
  CHECK(ScriptedAgent::normal_ids(agent.describe_tasks()).empty());

  must(agent.log(task, 0, "hello "));
  must(agent.log(task, 1, "world\n"));
  must(agent.log(task, 1, "REPEATED INDEX\n"));  // stored once per index
  auto live = task_of(api, inv, agent.id(), false);
  CHECK(live["TaskStatus"] == "RUNNING");
  CHECK(unb64(live["TaskResult"]["Output"]) == "hello world\n");
  CHECK(live["TaskResult"]["ExitCode"] == 0);
  CHECK(task_of(api, inv, agent.id(), true)["TaskResult"]["Output"] == "");

  CHECK(must(agent.finish(task, "SUCCESS", 0, "hello world\n"))["TaskStatus"] == "SUCCESS");
  auto done = task_of(api, inv, agent.id(), false);
  CHECK(done["TaskStatus"] == "SUCCESS");
  CHECK(done["TaskResult"]["ExitCode"] == 0);
  CHECK(unb64(done["TaskResult"]["Output"]) == "hello world\n");
  CHECK(done["EndTime"] != "");
  CHECK(done["StartTime"] != "");
  auto invocation = invocation_of(api, inv);
  CHECK(invocation["InvocationStatus"] == "SUCCESS");
  CHECK(invocation["EndTime"] != "");
}

TEST_CASE_METHOD(ScriptedAgentTest, "an agent's final results: FAILED, TIMEOUT, START_FAILED",
                 "[server][lifecycle]") {
  SECTION("FAILED keeps the exit code and the output") {
    const auto [inv, task] = run_started("exit 3");
    CHECK(must(agent.finish(task, "FAILED", 3, "boom\n"))["TaskStatus"] == "FAILED");
    auto t = task_of(api, inv, agent.id(), false);
    CHECK(t["TaskStatus"] == "FAILED");
    CHECK(t["TaskResult"]["ExitCode"] == 3);
    CHECK(unb64(t["TaskResult"]["Output"]) == "boom\n");
    CHECK(invocation_status(api, inv) == "FAILED");
  }
  SECTION("TIMEOUT as the agent reports it") {
    const auto [inv, task] = run_started("sleep 100", {{"Timeout", 1}});
    CHECK(must(agent.finish(task, "TIMEOUT", -1, "partial"))["TaskStatus"] == "TIMEOUT");
    CHECK(task_status(api, inv, agent.id()) == "TIMEOUT");
    CHECK(invocation_status(api, inv) == "TIMEOUT");
  }
  SECTION("START_FAILED without a start report, with ErrorInfo") {
    const auto inv = run_command(api, {agent.id()}, "whoami", {{"Username", "nosuchuser"}});
    const auto task = agent.fetch_task();
    CHECK(must(agent.finish(task, "START_FAILED", -1, "",
                            "user nosuchuser does not exist"))["TaskStatus"] == "START_FAILED");
    auto t = task_of(api, inv, agent.id());
    CHECK(t["TaskStatus"] == "START_FAILED");
    CHECK(t["ErrorInfo"] == "user nosuchuser does not exist");
    CHECK(t["TaskResult"]["ExitCode"] == -1);
    CHECK(invocation_status(api, inv) == "FAILED");
  }
}

TEST_CASE_METHOD(ScriptedAgentTest, "cancelling a fetched task goes CANCELLING, then TERMINATED",
                 "[server][lifecycle]") {
  const auto [inv, task] = run_started("sleep 100");

  must(api.call("CancelInvocation", {{"InvocationId", inv}}));
  CHECK(task_status(api, inv, agent.id()) == "CANCELLING");
  CHECK(invocation_status(api, inv) == "CANCELLING");
  // Repeated on every DescribeTasks until the agent reports a final result.
  for (int i = 0; i < 2; ++i) {
    auto reply = agent.describe_tasks();
    CHECK(ScriptedAgent::cancel_ids(reply) == std::vector<std::string>{task});
    CHECK(ScriptedAgent::normal_ids(reply).empty());
  }
  CHECK(must(agent.finish(task, "TERMINATED", 137, "killed"))["TaskStatus"] == "TERMINATED");
  CHECK(task_status(api, inv, agent.id()) == "TERMINATED");
  CHECK(invocation_status(api, inv) == "CANCELLED");
  CHECK(ScriptedAgent::cancel_ids(agent.describe_tasks()).empty());
  // Nothing left to cancel.
  expect_error(api.call("CancelInvocation", {{"InvocationId", inv}}), "InvalidParameterValue");
}

TEST_CASE_METHOD(ScriptedAgentTest, "cancelling a task no agent fetched ends it CANCELLED at once",
                 "[server][lifecycle]") {
  const auto inv = run_command(api, {agent.id()}, "sleep 100");
  must(api.call("CancelInvocation", {{"InvocationId", inv}}));
  CHECK(task_status(api, inv, agent.id()) == "CANCELLED");
  CHECK(invocation_status(api, inv) == "CANCELLED");
  auto reply = agent.describe_tasks();
  CHECK(ScriptedAgent::normal_ids(reply).empty());
  CHECK(ScriptedAgent::cancel_ids(reply).empty());
}

// SERVER BUG (reported): docs/protocol.md says "a CANCELLED result for a task that was RUNNING
// is recorded as TERMINATED: it did start". report_task_finish only converts when the stored
// status is RUNNING; once CancelInvocation moved the running task to CANCELLING, the agent's
// CANCELLED is stored as CANCELLED although the task started (StartTime is set).
TEST_CASE_METHOD(ScriptedAgentTest,
                 "a CANCELLED report for a task that had started is recorded as TERMINATED",
                 "[server][lifecycle]") {
  const auto [inv, task] = run_started("sleep 100");
  must(api.call("CancelInvocation", {{"InvocationId", inv}}));
  REQUIRE(task_status(api, inv, agent.id()) == "CANCELLING");
  must(agent.finish(task, "CANCELLED", -1));
  auto t = task_of(api, inv, agent.id());
  CHECK(t["StartTime"] != "");
  CHECK(t["TaskStatus"] == "TERMINATED");
}

TEST_CASE_METHOD(ScriptedAgentTest,
                 "an offline agent's tasks wait DELIVER_DELAYED and run when it comes back",
                 "[server][lifecycle][slow]") {
  CHECK(instance_status(api, agent.id()) == "Online");
  // Made while the agent is online: PENDING, until the sweeper sees it gone.
  const auto before = run_command(api, {agent.id()}, "echo before");
  CHECK(task_status(api, before, agent.id()) == "PENDING");
  // Fetched (DELIVERING) but its start is reported only after the outage.
  const auto held = run_command(api, {agent.id()}, "echo held");
  const auto held_task = task_id_of(api, held, agent.id());
  auto fetched = agent.describe_tasks();
  REQUIRE(ScriptedAgent::normal_ids(fetched).size() == 2);
  CHECK(task_status(api, held, agent.id()) == "DELIVERING");
  // `before` was fetched too; the agent drops it (it will be listed again after the outage).

  // Silent for longer than online_window_s (5 s).
  REQUIRE(eventually([&] { return instance_status(api, agent.id()) == "Offline"; }, 12s, 200ms));
  CHECK(wait_task_status(api, before, agent.id(), "DELIVER_DELAYED", 3s) == "DELIVER_DELAYED");
  CHECK(wait_task_status(api, held, agent.id(), "DELIVER_DELAYED", 3s) == "DELIVER_DELAYED");
  const auto after = run_command(api, {agent.id()}, "echo after");
  CHECK(task_status(api, after, agent.id()) == "DELIVER_DELAYED");

  // Back: the start of the task it held before the outage is still recorded.
  CHECK(must(agent.start(held_task))["TaskStatus"] == "RUNNING");
  must(agent.finish(held_task, "SUCCESS", 0, "held"));
  CHECK(task_status(api, held, agent.id()) == "SUCCESS");
  // One DescribeTasks hands over the other two, oldest first.
  auto reply = agent.describe_tasks();
  const auto ids = ScriptedAgent::normal_ids(reply);
  REQUIRE(ids.size() == 2);
  CHECK(ids[0] == task_id_of(api, before, agent.id()));
  CHECK(ids[1] == task_id_of(api, after, agent.id()));
  CHECK(instance_status(api, agent.id()) == "Online");
  for (const auto& id : ids) {
    must(agent.start(id));
    must(agent.finish(id, "SUCCESS", 0, "ok"));
  }
  CHECK(task_status(api, before, agent.id()) == "SUCCESS");
  CHECK(task_status(api, after, agent.id()) == "SUCCESS");
}

TEST_CASE("a task nobody picks up becomes DELIVER_FAILED after deliver_timeout_s",
          "[server][lifecycle]") {
  ServerProcess server(FERRY_SERVER_BIN, {{"deliver_timeout_s", 1}});
  auto api = server.api();
  ScriptedAgent agent(api, server.endpoint());
  const auto inv = run_command(api, {agent.id()}, "echo never");
  CHECK(wait_task_status(api, inv, agent.id(), "DELIVER_FAILED", 5s) == "DELIVER_FAILED");
  CHECK(task_of(api, inv, agent.id())["ErrorInfo"] != "");
  CHECK(invocation_status(api, inv) == "FAILED");
  CHECK(ScriptedAgent::normal_ids(agent.describe_tasks()).empty());
  // A start arriving after that changes nothing.
  must(agent.start(task_id_of(api, inv, agent.id())));
  CHECK(task_status(api, inv, agent.id()) == "DELIVER_FAILED");
}

TEST_CASE_METHOD(ScriptedAgentTest,
                 "a fetched task whose start is never reported becomes DELIVER_FAILED",
                 "[server][lifecycle]") {
  const auto inv = run_command(api, {agent.id()}, "echo lost", {{"Timeout", 1}});
  REQUIRE(ScriptedAgent::normal_ids(agent.describe_tasks()).size() == 1);
  // Timeout 1 s + grace 1 s after the hand-over.
  CHECK(wait_task_status(api, inv, agent.id(), "DELIVER_FAILED", 6s) == "DELIVER_FAILED");
}

TEST_CASE_METHOD(ScriptedAgentTest, "a started task whose agent falls silent becomes TASK_TIMEOUT",
                 "[server][lifecycle]") {
  const auto [inv, task] = run_started("sleep 100", {{"Timeout", 1}});
  CHECK(wait_task_status(api, inv, agent.id(), "TASK_TIMEOUT", 6s) == "TASK_TIMEOUT");
  CHECK(task_of(api, inv, agent.id())["ErrorInfo"] != "");
  CHECK(invocation_status(api, inv) == "TIMEOUT");
  // The agent's late result is acknowledged and ignored.
  CHECK(must(agent.finish(task, "SUCCESS", 0, "late"))["TaskStatus"] == "TASK_TIMEOUT");
  CHECK(task_status(api, inv, agent.id()) == "TASK_TIMEOUT");
}

TEST_CASE_METHOD(ScriptedAgentTest, "repeated and late reports change nothing",
                 "[server][lifecycle]") {
  const auto [inv, task] = run_started("echo once");
  must(agent.finish(task, "SUCCESS", 0, "first\n"));

  CHECK(must(agent.finish(task, "FAILED", 9, "second\n"))["TaskStatus"] == "SUCCESS");
  CHECK(must(agent.finish(task, "SUCCESS", 0, "first\n"))["TaskStatus"] == "SUCCESS");
  CHECK(must(agent.start(task))["TaskStatus"] == "SUCCESS");
  must(agent.log(task, 5, "late piece"));
  auto t = task_of(api, inv, agent.id(), false);
  CHECK(t["TaskStatus"] == "SUCCESS");
  CHECK(t["TaskResult"]["ExitCode"] == 0);
  CHECK(unb64(t["TaskResult"]["Output"]) == "first\n");
  CHECK(ScriptedAgent::normal_ids(agent.describe_tasks()).empty());
}

TEST_CASE("an agent cannot report another instance's task", "[server][lifecycle]") {
  auto& server = shared_server();
  auto api = server.api();
  ScriptedAgent owner(api, server.endpoint());
  ScriptedAgent other(api, server.endpoint());
  const auto inv = run_command(api, {owner.id()}, "echo mine");
  const auto task = task_id_of(api, inv, owner.id());
  expect_error(other.start(task), "AuthFailure.UnauthorizedOperation");
  expect_error(other.finish(task, "SUCCESS", 0), "AuthFailure.UnauthorizedOperation");
  expect_error(other.start("invt-zzzzzzzz"), "ResourceNotFound.InvocationTaskNotFound");
  CHECK(task_status(api, inv, owner.id()) == "PENDING");
}

TEST_CASE("InvocationStatus aggregates two agents' tasks", "[server][lifecycle]") {
  auto& server = shared_server();
  auto api = server.api();
  ScriptedAgent a(api, server.endpoint());
  ScriptedAgent b(api, server.endpoint());
  const auto both = [&](const std::string& ra, int64_t ea, const std::string& rb, int64_t eb) {
    const auto inv = run_command(api, {a.id(), b.id()});
    for (auto* agent : {&a, &b}) {
      const auto task = agent->fetch_task();
      must(agent->start(task));
      const bool first = agent == &a;
      must(agent->finish(task, first ? ra : rb, first ? ea : eb));
    }
    return invocation_status(api, inv);
  };
  CHECK(both("SUCCESS", 0, "SUCCESS", 0) == "SUCCESS");
  CHECK(both("FAILED", 1, "FAILED", 2) == "FAILED");
  CHECK(both("SUCCESS", 0, "FAILED", 1) == "PARTIAL_FAILED");

  SECTION("CANCELLED: both cancelled") {
    const auto inv = run_command(api, {a.id(), b.id()});
    // One fetched and running, one never fetched.
    const auto task = a.fetch_task();
    must(a.start(task));
    CHECK(invocation_status(api, inv) == "RUNNING");
    must(api.call("CancelInvocation", {{"InvocationId", inv}}));
    CHECK(task_status(api, inv, b.id()) == "CANCELLED");
    CHECK(invocation_status(api, inv) == "CANCELLING");
    must(a.finish(task, "TERMINATED", 143));
    CHECK(invocation_status(api, inv) == "CANCELLED");
  }
  SECTION("PARTIAL_CANCELLED: one succeeded, one cancelled") {
    const auto inv = run_command(api, {a.id(), b.id()});
    const auto task = a.fetch_task();
    must(a.start(task));
    must(a.finish(task, "SUCCESS", 0));
    must(api.call("CancelInvocation", {{"InvocationId", inv}, {"InstanceIds", {b.id()}}}));
    CHECK(task_status(api, inv, b.id()) == "CANCELLED");
    CHECK(invocation_status(api, inv) == "PARTIAL_CANCELLED");
  }
}

TEST_CASE_METHOD(ScriptedAgentTest, "DescribeTasks hands over at most 100 tasks and says HasMore",
                 "[server][lifecycle]") {
  for (int i = 0; i < 101; ++i) {
    run_command(api, {agent.id()}, "echo " + std::to_string(i));
  }
  auto first = agent.describe_tasks();
  CHECK(first["InvocationNormalTaskSet"].size() == 100);
  CHECK(first["HasMore"] == true);
  for (const auto& id : ScriptedAgent::normal_ids(first)) {
    must(agent.start(id));
  }
  auto second = agent.describe_tasks();
  CHECK(second["InvocationNormalTaskSet"].size() == 1);
  CHECK(second["HasMore"] == false);
}

TEST_CASE_METHOD(ScriptedAgentTest, "null counts as absent in agent requests",
                 "[server][lifecycle]") {
  const auto inv = run_command(api, {agent.id()});
  const auto task = agent.fetch_task();
  must(
      agent.client().call("ReportTaskStart", {{"InvocationTaskId", task}, {"TimeStamp", nullptr}}));
  must(agent.client().call("ReportTaskFinish", {{"InvocationTaskId", task},
                                                {"Result", "FAILED"},
                                                {"ExitCode", nullptr},
                                                {"Output", nullptr},
                                                {"ErrorInfo", nullptr}}));
  auto t = task_of(api, inv, agent.id());
  CHECK(t["TaskStatus"] == "FAILED");
  CHECK(t["TaskResult"]["ExitCode"] == -1);
}

TEST_CASE_METHOD(ScriptedAgentTest,
                 "agent report limits: live output cap, indexes, results, output size",
                 "[server][lifecycle]") {
  const auto [inv, task] = run_started();

  // 30 KiB streamed: the live view keeps at most 24 KiB.
  const std::string piece(10 * 1024, 'x');
  for (int i = 0; i < 3; ++i) {
    must(agent.log(task, i, piece));
  }
  const auto live = unb64(task_of(api, inv, agent.id(), false)["TaskResult"]["Output"]);
  CHECK(live.size() <= 24 * 1024);
  CHECK(live.size() >= 20 * 1024);

  expect_error(agent.log(task, 1000001, "x"), "InvalidParameterValue");
  expect_error(agent.log(task, -1, "x"), "InvalidParameterValue");
  expect_error(agent.client().call("UploadTaskLog",
                                   {{"InvocationTaskId", task}, {"Index", 7}, {"Output", "%%"}}),
               "InvalidParameterValue");
  expect_error(agent.finish(task, "PENDING", 0), "InvalidParameterValue");
  expect_error(agent.finish(task, "TASK_TIMEOUT", 0), "InvalidParameterValue");
  expect_error(agent.finish(task, "SUCCESS", 0, std::string(24 * 1024 + 1, 'y')),
               "InvalidParameterValue.TooLong");
  CHECK(task_status(api, inv, agent.id()) == "RUNNING");
  must(agent.finish(task, "SUCCESS", 0, std::string(24 * 1024, 'y')));
  CHECK(unb64(task_of(api, inv, agent.id(), false)["TaskResult"]["Output"]).size() == 24 * 1024);
}

TEST_CASE_METHOD(ScriptedAgentTest, "cancelling a fetched task that never started ends CANCELLED",
                 "[server][lifecycle]") {
  const auto inv = run_command(api, {agent.id()});
  const auto task = agent.fetch_task();
  must(api.call("CancelInvocation", {{"InvocationId", inv}}));
  CHECK(task_status(api, inv, agent.id()) == "CANCELLING");
  auto reply = agent.describe_tasks();
  CHECK(ScriptedAgent::cancel_ids(reply) == std::vector<std::string>{task});
  CHECK(ScriptedAgent::normal_ids(reply).empty());
  // A start racing with the cancel does not revive it.
  CHECK(must(agent.start(task))["TaskStatus"] == "CANCELLING");
  must(agent.finish(task, "CANCELLED", -1));
  auto t = task_of(api, inv, agent.id());
  CHECK(t["TaskStatus"] == "CANCELLED");
  CHECK(invocation_status(api, inv) == "CANCELLED");
}

TEST_CASE_METHOD(ScriptedAgentTest,
                 "an oversized body is refused before the gateway with the error envelope",
                 "[server][lifecycle]") {
  const std::string big(1024 * 1024 + 16, 'z');
  auto r = agent.client().call("Heartbeat", {{"Version", big}});
  INFO(r.describe().substr(0, 300));
  // HTTP 200 with the envelope, as the API answers every error, so that SDKs read the code.
  CHECK(r.http_status == 200);
  CHECK(r.error_code() == "InvalidParameter");
}

TEST_CASE("DescribeInvocationTasks answers in exactly the bytes nlohmann's dump would give",
          "[server][describe]") {
  // The reply is written by JsonWriter, not dumped from a tree: parsing it and dumping it again
  // must give the same bytes (keys sorted, the same escapes), also for text that needs escaping.
  auto& server = shared_server();
  auto api = server.api();
  ScriptedAgent agent(api, server.endpoint());
  const std::string odd =
      "quote \" backslash \\ newline \n tab \t ctrl \x01 \xe4\xb8\xad\xe6\x96\x87";
  const auto done_inv = run_command(api, {agent.id()}, "echo done", {{"CommandName", "named"}});
  const auto running_inv = run_command(api, {agent.id()}, "echo running");
  REQUIRE(ScriptedAgent::normal_ids(agent.describe_tasks()).size() == 2);
  const std::string done_task = task_of(api, done_inv, agent.id())["InvocationTaskId"];
  const std::string running_task = task_of(api, running_inv, agent.id())["InvocationTaskId"];
  must(agent.start(done_task));
  must(agent.finish(done_task, "FAILED", 2, std::string(1024, 'o'), odd));
  must(agent.start(running_task));
  must(agent.log(running_task, 0, "live " + odd));

  const nlohmann::json body{{"Filters", {{{"Name", "instance-id"}, {"Values", {agent.id()}}}}},
                            {"Limit", 100},
                            {"HideOutput", false}};
  const auto reply = api.call_unparsed("DescribeInvocationTasks", body.dump());
  REQUIRE(reply.status == 200);
  const auto parsed = nlohmann::json::parse(reply.body);
  REQUIRE(parsed["Response"]["InvocationTaskSet"].size() == 2);
  CHECK(parsed["Response"]["TotalCount"] == 2);
  CHECK(parsed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) == reply.body);
  const auto& tasks = parsed["Response"]["InvocationTaskSet"];
  const auto& failed = tasks[0]["InvocationTaskId"] == done_task ? tasks[0] : tasks[1];
  const auto& running = tasks[0]["InvocationTaskId"] == done_task ? tasks[1] : tasks[0];
  CHECK(failed["ErrorInfo"] == odd);
  CHECK(unb64(failed["TaskResult"]["Output"]) == std::string(1024, 'o'));
  CHECK(unb64(running["TaskResult"]["Output"]) == "live " + odd);
  CHECK(running["TaskResult"]["ExitCode"] == 0);
}
