// Everything the server acknowledged survives a SIGKILL: the Describe* answers after a restart
// on the same data directory are those from just before the kill.
#include <catch2/catch.hpp>
#include <string>

#include "blackbox.hpp"

using namespace ferry::test;

namespace {

// The Describe* answers that hold the acknowledged state, without what legitimately differs
// between two calls (RequestId) or processes (presence lives in memory).
nlohmann::json snapshot(ApiClient& api, const std::vector<std::string>& invocations) {
  nlohmann::json s;
  auto strip = [](nlohmann::json r) {
    r.erase("RequestId");
    return r;
  };
  s["commands"] = strip(must(api.call("DescribeCommands", {{"Limit", 100}})));
  s["codes"] = strip(must(api.call("DescribeRegisterCodes", {{"Limit", 100}})));
  auto instances = strip(must(api.call("DescribeRegisterInstances", {{"Limit", 100}})));
  for (auto& i : instances["RegisterInstanceSet"]) {
    i.erase("Status");
  }
  s["instances"] = instances;
  s["invocations"] = strip(must(api.call("DescribeInvocations", {{"InvocationIds", invocations}})));
  s["tasks"] =
      strip(must(api.call("DescribeInvocationTasks",
                          {{"Filters", {{{"Name", "invocation-id"}, {"Values", invocations}}}},
                           {"HideOutput", false}})));
  return s;
}

// A second handle on the same key pair (the agents' clients are rebuilt for the new port).
ferry::Ed25519PrivateKey clone_key(const ferry::Ed25519PrivateKey& key) {
  auto pem = key.to_pem();
  REQUIRE(pem);
  auto copy = ferry::Ed25519PrivateKey::from_pem(*pem);
  REQUIRE(copy);
  return std::move(copy).value();
}

}  // namespace

TEST_CASE("acknowledged state survives SIGKILL and a restart", "[server][durability]") {
  ServerProcess server(FERRY_SERVER_BIN);
  auto api = server.api();
  ScriptedAgent agent(api, server.endpoint());
  ScriptedAgent second(api, server.endpoint());

  must(api.call("CreateCommand", {{"CommandName", "keep-plain"},
                                  {"Content", b64("echo keep")},
                                  {"Description", "kept"},
                                  {"Timeout", 120},
                                  {"Tags", {{{"Key", "team"}, {"Value", "ops"}}}}}));
  const auto param_cmd =
      must(api.call("CreateCommand", {{"CommandName", "keep-param"},
                                      {"Content", b64("echo {{who}}")},
                                      {"EnableParameter", true},
                                      {"DefaultParameters", R"({"who":"x"})"}}))["CommandId"]
          .get<std::string>();
  must(api.call("ModifyCommand", {{"CommandId", param_cmd}, {"Description", "modified"}}));
  create_register_code(api, {{"Description", "spare code"}});

  // One invocation finished, one running with live output, one cancelled before delivery, one
  // cancelled while running (CANCELLING).
  const auto done =
      must(api.call("InvokeCommand", {{"CommandId", param_cmd},
                                      {"InstanceIds", {agent.id()}},
                                      {"Parameters", R"({"who":"y"})"}}))["InvocationId"]
          .get<std::string>();
  auto task = agent.fetch_task();
  must(agent.start(task));
  must(agent.log(task, 0, "y\n"));
  must(agent.finish(task, "SUCCESS", 0, "y\n"));

  const auto running = run_command(api, {agent.id()}, "sleep 30", {{"Timeout", 600}});
  const auto running_task = agent.fetch_task();
  must(agent.start(running_task));
  must(agent.log(running_task, 0, "tick 1\n"));
  must(agent.log(running_task, 1, "tick 2\n"));

  const auto cancelled = run_command(api, {second.id()}, "echo no");
  must(api.call("CancelInvocation", {{"InvocationId", cancelled}}));

  const auto cancelling = run_command(api, {second.id()}, "sleep 100", {{"Timeout", 600}});
  const auto cancelling_task = second.fetch_task();
  must(second.start(cancelling_task));
  must(api.call("CancelInvocation", {{"InvocationId", cancelling}}));

  // The last acknowledged agent request: its nonce must stay spent after the restart.
  AgentSigning replay;
  replay.nonce = new_agent_nonce();
  replay.timestamp = unix_now();
  must(agent.client().call("Heartbeat", {{"Version", "bb-2.0"}}, replay));

  const std::vector<std::string> invocations{done, running, cancelled, cancelling};
  const auto before = snapshot(api, invocations);
  CHECK(server.kill() == 128 + SIGKILL);

  server.start();
  auto api2 = server.api();
  const auto after = snapshot(api2, invocations);
  CHECK(before["commands"] == after["commands"]);
  CHECK(before["codes"] == after["codes"]);
  CHECK(before["instances"] == after["instances"]);
  CHECK(before["invocations"] == after["invocations"]);
  CHECK(before["tasks"] == after["tasks"]);
  CHECK(before["commands"]["TotalCount"] == 2);
  CHECK(before["codes"]["TotalCount"] == 3);
  CHECK(before["instances"]["TotalCount"] == 2);
  CHECK(before["tasks"]["TotalCount"] == 4);
  CHECK(unb64(task_of(api2, running, agent.id(), false)["TaskResult"]["Output"]) ==
        "tick 1\ntick 2\n");

  // The agents carry on against the restarted server with their keys.
  AgentClient again(server.endpoint(), agent.id(), clone_key(agent.client().key()));
  expect_error(again.call("Heartbeat", {{"Version", "bb-2.0"}}, replay), "AuthFailure.NonceReused");
  CHECK(must(again.call("ReportTaskFinish", {{"InvocationTaskId", running_task},
                                             {"Result", "SUCCESS"},
                                             {"ExitCode", 0},
                                             {"Output", b64("done")}}))["TaskStatus"] == "SUCCESS");
  CHECK(task_status(api2, running, agent.id()) == "SUCCESS");
  AgentClient second_again(server.endpoint(), second.id(), clone_key(second.client().key()));
  auto cancels = must(second_again.call("DescribeTasks"));
  CHECK(ScriptedAgent::cancel_ids(cancels) == std::vector<std::string>{cancelling_task});
}
