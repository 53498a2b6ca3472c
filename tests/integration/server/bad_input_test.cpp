// Bad input at both doors changes nothing (issue 18): one table of malformed, oversized,
// truncated, replayed and forged requests to the public API and to the agent gateway, each
// checked for its error code and, after each, for a store that is exactly as before (what the
// API shows of commands, invocations, register codes, instances, and a running task).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "blackbox.hpp"

using namespace ferry::test;
using nlohmann::json;

namespace {

// What the API shows of everything a bad request might have changed.
json store_fingerprint(ApiClient& api, const std::string& invocation, const std::string& instance) {
  const json all = json::object();
  json f;
  f["commands"] = must(api.call("DescribeCommands", all))["TotalCount"];
  f["invocations"] = must(api.call("DescribeInvocations", all))["TotalCount"];
  f["codes"] = must(api.call("DescribeRegisterCodes", all))["TotalCount"];
  f["instances"] = must(api.call("DescribeRegisterInstances", all))["TotalCount"];
  const json task = task_of(api, invocation, instance, /*hide_output=*/false);
  f["task"] = {task["TaskStatus"], task["TaskResult"]};
  return f;
}

// Sends a request head announcing all of `body` and only its first `sent` bytes, then closes:
// a request cut off in the middle. The server must answer nothing and apply nothing.
void send_cut_off(std::uint16_t port, const std::string& path, const std::string& body,
                  std::size_t sent) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  const std::string request = "POST " + path +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                              "X-TC-Action: RunCommand\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, sent);
  CHECK(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size()));
  ::close(fd);
}

// `depth` nested arrays around a number.
std::string nested_arrays(int depth) {
  return std::string(static_cast<std::size_t>(depth), '[') + "1" +
         std::string(static_cast<std::size_t>(depth), ']');
}

struct BadRequest {
  std::string what;
  std::function<ApiResponse()> send;
  std::string code;
};

}  // namespace

TEST_CASE("bad requests to the API and the agent gateway get their code and change nothing",
          "[server][bad-input]") {
  // A server of its own, so that nothing else moves its counts.
  ServerProcess server(FERRY_SERVER_BIN);
  ApiClient api = server.api();
  ScriptedAgent agent(api, server.endpoint());
  // A task RUNNING on the scripted agent: the target a bad report would change.
  const auto inv = run_command(api, {agent.id()}, "echo target");
  const std::string task = agent.fetch_task();
  must(agent.start(task));
  const json before = store_fingerprint(api, inv, agent.id());

  const std::string script = b64("echo injected");
  const json run{{"Content", script}, {"InstanceIds", {agent.id()}}};
  const auto signing = [](auto deviate) {
    ApiSigning s;
    deviate(s);
    return s;
  };
  const auto agent_signing = [](auto deviate) {
    AgentSigning s;
    deviate(s);
    return s;
  };
  const json finish{{"InvocationTaskId", task},
                    {"Result", "SUCCESS"},
                    {"ExitCode", 0},
                    {"Output", b64("forged")},
                    {"Dropped", 0},
                    {"OutputSize", 6},
                    {"ExecStartTime", "2024-05-01T12:00:00Z"},
                    {"ExecEndTime", "2024-05-01T12:00:01Z"},
                    {"FinalLogIndex", -1}};
  const auto other_key = new_key();
  // A nonce the server has seen (a heartbeat used it): any request with it is a replay.
  AgentSigning replay;
  replay.nonce = new_agent_nonce();
  must(agent.client().call("Heartbeat", {{"Version", "1"}}, replay));
  const json huge_output = [&] {
    json f = finish;
    f["Output"] = b64(std::string(1200 * 1024, 'x'));
    return f;
  }();

  const std::vector<BadRequest> cases{
      // The public API (TC3).
      {"RunCommand, body not JSON", [&] { return api.call_raw("RunCommand", "{\"Content\":"); },
       "InvalidParameter"},
      {"RunCommand, body truncated inside a string",
       [&] { return api.call_raw("RunCommand", run.dump().substr(0, 30)); }, "InvalidParameter"},
      {"RunCommand, body a JSON array", [&] { return api.call_raw("RunCommand", "[]"); },
       "InvalidParameter"},
      {"RunCommand, body over max_body_bytes",
       [&] {
         json big = run;
         big["Description"] = std::string(1100 * 1024, 'd');
         return api.call("RunCommand", big);
       },
       "InvalidParameter"},
      {"RunCommand, nested too deep",
       [&] {
         return api.call_raw("RunCommand", R"({"Content":")" + script + R"(","InstanceIds":)" +
                                               nested_arrays(100) + "}");
       },
       "InvalidParameter"},
      {"RunCommand, InstanceIds of the wrong type",
       [&] {
         json bad = run;
         bad["InstanceIds"] = agent.id();
         return api.call("RunCommand", bad);
       },
       "InvalidParameter"},
      {"RunCommand, Content not base64",
       [&] {
         json bad = run;
         bad["Content"] = "not base64 at all!";
         return api.call("RunCommand", bad);
       },
       "InvalidParameterValue.CommandContentInvalid"},
      {"RunCommand, Timeout past 2^63",
       [&] {
         return api.call_raw("RunCommand",
                             run.dump().insert(1, R"("Timeout":9223372036854775808,)"));
       },
       "InvalidParameter"},
      {"RunCommand, signed with the wrong key",
       [&] {
         return api.call("RunCommand", run, signing([](ApiSigning& s) { s.secret_key = "k"; }));
       },
       "AuthFailure.SignatureFailure"},
      {"RunCommand, replayed an hour later",
       [&] {
         return api.call("RunCommand", run,
                         signing([](ApiSigning& s) { s.timestamp = unix_now() - 3600; }));
       },
       "AuthFailure.SignatureExpire"},
      {"CreateCommand, unknown field",
       [&] {
         return api.call("CreateCommand",
                         {{"CommandName", "x"}, {"Content", script}, {"Bogus", 1}});
       },
       "UnknownParameter"},
      {"CreateRegisterCode, wrong type",
       [&] {
         return api.call("CreateRegisterCode", {{"RegisterLimit", "many"}});
       },
       "InvalidParameter"},
      {"DeleteRegisterInstance, unknown instance",
       [&] {
         return api.call("DeleteRegisterInstance", {{"InstanceId", "rins-zzzzzzzz"}});
       },
       "ResourceNotFound.InstanceNotFound"},
      // The agent gateway: forged, replayed and malformed reports of the running task.
      {"ReportTaskFinish, signed with another key",
       [&] {
         return agent.client().call("ReportTaskFinish", finish,
                                    agent_signing([&](AgentSigning& s) { s.key = &other_key; }));
       },
       "AuthFailure.SignatureFailure"},
      {"ReportTaskFinish, replayed nonce",
       [&] { return agent.client().call("ReportTaskFinish", finish, replay); },
       "AuthFailure.NonceReused"},
      {"ReportTaskFinish, stale",
       [&] {
         return agent.client().call("ReportTaskFinish", finish, agent_signing([](AgentSigning& s) {
                                      s.timestamp = unix_now() - 400;
                                    }));
       },
       "AuthFailure.SignatureExpire"},
      {"ReportTaskFinish, signed as another action",
       [&] {
         return agent.client().call("ReportTaskFinish", finish, agent_signing([](AgentSigning& s) {
                                      s.signed_action = "Heartbeat";
                                    }));
       },
       "AuthFailure.SignatureFailure"},
      {"ReportTaskFinish, body over max_body_bytes",
       [&] { return agent.client().call("ReportTaskFinish", huge_output); }, "InvalidParameter"},
      {"ReportTaskFinish, nested too deep",
       [&] {
         json bad = finish;
         bad["Output"] = json::parse(nested_arrays(60));
         return agent.client().call("ReportTaskFinish", bad);
       },
       "InvalidParameter"},
      {"ReportTaskFinish, ExitCode of the wrong type",
       [&] {
         json bad = finish;
         bad["ExitCode"] = "zero";
         return agent.client().call("ReportTaskFinish", bad);
       },
       "InvalidParameter"},
      {"ReportTaskFinish, an unknown status",
       [&] {
         json bad = finish;
         bad["Result"] = "VICTORY";
         return agent.client().call("ReportTaskFinish", bad);
       },
       "InvalidParameterValue"},
      {"ReportTaskFinish, Output not base64",
       [&] {
         json bad = finish;
         bad["Output"] = "***";
         return agent.client().call("ReportTaskFinish", bad);
       },
       "InvalidParameterValue"},
  };

  for (const auto& c : cases) {
    INFO(c.what);
    const ApiResponse r = c.send();
    INFO(r.describe());
    CHECK(r.http_status == 200);
    CHECK(r.error_code() == c.code);
    CHECK(store_fingerprint(api, inv, agent.id()) == before);
  }

  {
    INFO("requests cut off in the middle are applied nowhere");
    const std::string body = run.dump();
    send_cut_off(server.port(), "/", body, body.size() / 2);
    const json agent_body = json{{"Action", "ReportTaskFinish"}}.dump();
    send_cut_off(server.port(), "/agent", agent_body, 5);
    // The server is still there and answers; nothing changed.
    CHECK(store_fingerprint(api, inv, agent.id()) == before);
  }

  // After all that, a good report is still taken.
  must(agent.finish(task, "SUCCESS", 0, "target\n"));
  CHECK(unb64(finished_task(api, inv, agent.id(),
                            std::chrono::seconds(5))["TaskResult"]["Output"]) == "target\n");
}
