// The Cloud Assistant actions through their registry, as the ACS dialect calls them after
// verifying a request: parameters as the SDKs flatten them, replies in the SDK's models, errors
// in seed 004's codes.
#include "ferry/server/acs/acs_actions.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ferry/core/base64.hpp"
#include "ferry/core/crypto.hpp"
#include "ferry/server/domain/repeats.hpp"
#include "server_fixture.hpp"

namespace ferry::test {
namespace {

using namespace ferry::server;
using Args = std::map<std::string, std::string>;

std::string b64(const std::string& text) {
  return base64_encode(text);
}

class AcsFixture : public ServerFixture {
 public:
  AcsFixture() {
    register_acs_actions(actions, ctx);
    add_instance({"rins-aaaaaaa1"});
    add_instance({"rins-aaaaaaa2"});
  }

  Expected<nlohmann::json> call(const std::string& action, const Args& args) {
    const AcsActionSpec* spec = actions.find(action);
    REQUIRE(spec != nullptr);
    AcsParams params(AcsParams::Map(args.begin(), args.end()));
    return spec->handler(ApiCall{action, "LTAItest", "cn-hangzhou", "req-1"}, params);
  }

  nlohmann::json ok(const std::string& action, const Args& args) {
    auto r = call(action, args);
    if (!r) {
      FAIL_CHECK(action << " failed: " << r.error().code << ": " << r.error().message);
      return nlohmann::json::object();
    }
    CHECK_FALSE(r->contains("Code"));
    return *r;
  }

  std::string code(const std::string& action, const Args& args) {
    auto r = call(action, args);
    if (r) {
      FAIL_CHECK(action << " succeeded: " << r->dump());
      return "";
    }
    return r.error().code;
  }

  // RunCommand of `script` on the first instance (and `more` arguments).
  nlohmann::json run(const std::string& script, Args more = {}) {
    Args args = std::move(more);
    args.merge(Args{
        {"Type", "RunShellScript"}, {"CommandContent", script}, {"InstanceId.1", "rins-aaaaaaa1"}});
    return ok("RunCommand", args);
  }

  nlohmann::json invocation(const std::string& invoke_id) {
    auto r = ok("DescribeInvocations", {{"InvokeId", invoke_id}, {"IncludeOutput", "true"}});
    REQUIRE(r["Invocations"]["Invocation"].size() == 1);
    return r["Invocations"]["Invocation"][0];
  }

  AcsActionRegistry actions;
};

TEST_CASE_METHOD(AcsFixture, "CreateCommand and DescribeCommands speak the SDK's model") {
  auto created = ok("CreateCommand", {{"Name", "a name with spaces, 中文"},
                                      {"Type", "RunShellScript"},
                                      {"CommandContent", b64("echo {{who}}")},
                                      {"ContentEncoding", "Base64"},
                                      {"EnableParameter", "true"},
                                      {"Description", std::string(512, 'd')},
                                      {"Timeout", "120"},
                                      {"Tag.1.Key", "team"},
                                      {"Tag.1.Value", "ops"}});
  const std::string id = created["CommandId"];
  auto listed = ok("DescribeCommands", {{"CommandId", id}});
  CHECK(listed["TotalCount"] == 1);
  CHECK(listed["PageNumber"] == 1);
  CHECK(listed["NextToken"] == "");
  const auto& c = listed["Commands"]["Command"][0];
  CHECK(c["Name"] == "a name with spaces, 中文");
  CHECK(c["Type"] == "RunShellScript");
  CHECK(c["CommandContent"] == b64("echo {{who}}"));
  CHECK(c["Timeout"] == 120);
  CHECK(c["EnableParameter"] == true);
  CHECK(c["ParameterNames"]["ParameterName"] == nlohmann::json{"who"});
  CHECK(c["Tags"]["Tag"][0]["TagKey"] == "team");
  CHECK(c["InvokeTimes"] == 0);
  CHECK(c["CreationTime"] == "2024-05-01T00:00:00Z");

  SECTION("PlainText shows the script as text") {
    auto plain = ok("DescribeCommands", {{"CommandId", id}, {"ContentEncoding", "PlainText"}});
    CHECK(plain["Commands"]["Command"][0]["CommandContent"] == "echo {{who}}");
  }
  SECTION("filters by type and tag") {
    CHECK(ok("DescribeCommands", {{"Type", "RunBatScript"}})["TotalCount"] == 0);
    CHECK(ok("DescribeCommands", {{"Tag.1.Key", "team"}, {"Tag.1.Value", "ops"}})["TotalCount"] ==
          1);
    CHECK(ok("DescribeCommands", {{"Provider", "AlibabaCloud"}})["TotalCount"] == 0);
  }
  SECTION("ModifyCommand and DeleteCommand") {
    ok("ModifyCommand", {{"CommandId", id}, {"CommandContent", "echo {{Who}} again"}});
    auto after = ok("DescribeCommands", {{"CommandId", id}, {"ContentEncoding", "PlainText"}});
    CHECK(after["Commands"]["Command"][0]["CommandContent"] == "echo {{Who}} again");
    ok("DeleteCommand", {{"CommandId", id}});
    CHECK(code("DeleteCommand", {{"CommandId", id}}) == "InvalidCmdId.NotFound");
  }
}

TEST_CASE_METHOD(AcsFixture, "command fields refused with seed 004's codes") {
  const Args base{{"Name", "n"}, {"Type", "RunShellScript"}, {"CommandContent", "echo"}};
  const auto with = [&](Args changes) {
    Args a = changes;
    a.merge(Args(base));
    return code("CreateCommand", a);
  };
  CHECK(with({{"Type", "RunPython"}}) == "InvalidCmdType.NotFound");
  CHECK(with({{"Name", std::string(129, 'n')}}) == "CmdName.ExceedLimit");
  CHECK(with({{"Description", std::string(513, 'd')}}) == "CmdDesc.ExceedLimit");
  CHECK(with({{"CommandContent", std::string(14 * 1024, 'x')}}) == "CmdContent.ExceedLimit");
  CHECK(with({{"CommandContent", "not base64!"}, {"ContentEncoding", "base64"}}) ==
        "CmdContent.DecodeError");
  CHECK(with({{"WorkingDir", std::string(201, 'w')}}) == "InvalidParameter.WorkingDir");
  CHECK(with({{"Launcher", std::string(1025, 'l')}}) == "InvalidLauncher.LengthLimitExceeded");
  CHECK(with({{"CommandContent", "echo {{}}"}, {"EnableParameter", "true"}}) ==
        "CmdParam.EmptyKey");
  CHECK(with({{"CommandContent", "echo {{a.b}}"}, {"EnableParameter", "true"}}) ==
        "CmdParam.InvalidParamName");
  CHECK(with({{"CommandContent", "echo {{" + std::string(65, 'p') + "}}"},
              {"EnableParameter", "true"}}) == "CmdParamName.ExceedLimit");
  std::string many;
  for (int i = 0; i < 21; ++i) {
    many += "{{p" + std::to_string(i) + "}}";
  }
  CHECK(with({{"CommandContent", many}, {"EnableParameter", "true"}}) ==
        "CmdParamCount.ExceedLimit");
  CHECK(with({{"Tag.1.Key", "aliyun-x"}, {"Tag.1.Value", "v"}}) == "InvalidTagKey.Malformed");
  CHECK(with({{"Tag.1.Key", "k"}, {"Tag.1.Value", "http://x"}}) == "InvalidTagValue.Malformed");
  CHECK(with({{"Tag.1.Key", "k"}, {"Tag.2.Key", "k"}}) == "Duplicate.TagKey");
  CHECK(with({{"Tag.1.Value", "v"}}) == "MissingParameter.TagKey");
  Args tags;
  for (int i = 1; i <= 21; ++i) {
    tags["Tag." + std::to_string(i) + ".Key"] = "k" + std::to_string(i);
  }
  CHECK(with(tags) == "NumberExceed.Tags");
  CHECK(code("CreateCommand", {{"Type", "RunShellScript"}, {"CommandContent", "echo"}}) ==
        "MissingParameter");
  settings.command_quota = 0;
  CHECK(with({}) == "CmdCount.ExceedQuota");
}

TEST_CASE_METHOD(AcsFixture, "RunCommand runs once on each instance and reports as the SDK reads") {
  auto r = run("echo hi", {{"InstanceId.2", "rins-aaaaaaa2"}, {"Name", "greet"}});
  const std::string invoke_id = r["InvokeId"];
  CHECK(std::string(r["CommandId"]).rfind("cmd-", 0) == 0);
  // KeepCommand false: the command is not listed.
  CHECK(ok("DescribeCommands", {})["TotalCount"] == 0);

  auto inv = invocation(invoke_id);
  CHECK(inv["InvocationStatus"] == "Pending");
  CHECK(inv["InvokeStatus"] == "Running");
  CHECK(inv["RepeatMode"] == "Once");
  CHECK(inv["CommandName"] == "greet");
  CHECK(inv["CommandType"] == "RunShellScript");
  CHECK(inv["InvokeInstances"]["InvokeInstance"].size() == 2);

  const auto tasks = tasks_of(invoke_id);
  REQUIRE(tasks.size() == 2);
  set_task_status(tasks[0].invocation_task_id, TaskStatus::kRunning);
  CHECK(invocation(invoke_id)["InvocationStatus"] == "Running");
  set_task_status(tasks[0].invocation_task_id, TaskStatus::kSuccess);
  set_task_status(tasks[1].invocation_task_id, TaskStatus::kFailed);
  inv = invocation(invoke_id);
  CHECK(inv["InvocationStatus"] == "PartialFailed");
  CHECK(inv["InvokeStatus"] == "Failed");
  for (const auto& item : inv["InvokeInstances"]["InvokeInstance"]) {
    if (item["InstanceId"] == tasks[1].instance_id) {
      CHECK(item["InvocationStatus"] == "Failed");
      CHECK(item["ErrorCode"] == "ExitCodeNonzero");
      CHECK(item["ExitCode"] == 1);
    } else {
      CHECK(item["InvocationStatus"] == "Success");
      CHECK(item["ErrorCode"] == "");
      CHECK(item["ExitCode"] == 0);
    }
  }

  SECTION("DescribeInvocationResults: one result a task, filters, paging both ways") {
    auto results = ok("DescribeInvocationResults", {{"InvokeId", invoke_id}});
    CHECK(results["Invocation"]["TotalCount"] == 2);
    CHECK(results["Invocation"]["InvocationResults"]["InvocationResult"].size() == 2);
    auto failed = ok("DescribeInvocationResults",
                     {{"InvokeId", invoke_id}, {"InvokeRecordStatus", "Failed"}});
    REQUIRE(failed["Invocation"]["TotalCount"] == 1);
    const auto& f = failed["Invocation"]["InvocationResults"]["InvocationResult"][0];
    CHECK(f["InstanceId"] == tasks[1].instance_id);
    CHECK(f["InvokeRecordStatus"] == "Failed");
    CHECK(f["Repeats"] == 1);
    auto first = ok("DescribeInvocationResults", {{"InvokeId", invoke_id}, {"MaxResults", "1"}});
    CHECK(first["Invocation"]["NextToken"] == "1");
    auto second = ok("DescribeInvocationResults",
                     {{"InvokeId", invoke_id}, {"MaxResults", "1"}, {"NextToken", "1"}});
    CHECK(second["Invocation"]["NextToken"] == "");
    CHECK(second["Invocation"]["InvocationResults"]["InvocationResult"][0]["InstanceId"] !=
          first["Invocation"]["InvocationResults"]["InvocationResult"][0]["InstanceId"]);
    auto paged = ok("DescribeInvocationResults",
                    {{"InvokeId", invoke_id}, {"PageSize", "1"}, {"PageNumber", "2"}});
    CHECK(paged["Invocation"]["PageNumber"] == 2);
    CHECK(paged["Invocation"]["InvocationResults"]["InvocationResult"].size() == 1);
    CHECK(code("DescribeInvocationResults", {{"InvokeRecordStatus", "Done"}}) ==
          "InvalidParameter");
    CHECK(code("DescribeInvocationResults", {{"NextToken", "x"}}) == "InvalidNextToken");
  }
  SECTION("DescribeInvocations filters by what the store does not hold") {
    run("echo other");
    CHECK(ok("DescribeInvocations", {})["TotalCount"] == 2);
    CHECK(ok("DescribeInvocations", {{"CommandName", "greet"}})["TotalCount"] == 1);
    CHECK(ok("DescribeInvocations", {{"InvokeStatus", "Failed"}})["TotalCount"] == 1);
    CHECK(ok("DescribeInvocations", {{"InvokeStatus", "Running"}})["TotalCount"] == 1);
    CHECK(ok("DescribeInvocations", {{"CommandType", "RunBatScript"}})["TotalCount"] == 0);
  }
}

TEST_CASE_METHOD(AcsFixture, "DescribeInvocations pages what it filters exactly") {
  // Newest first: greet 3, other 2, greet 2, other 1, greet 1; each has "out N" as its output.
  std::vector<std::string> greet;
  for (int i = 1; i <= 3; ++i) {
    if (i > 1) {
      clock.advance_ms(1000);
      run("echo other", {{"Name", "other"}});
    }
    clock.advance_ms(1000);
    const std::string id = run("echo greet", {{"Name", "greet"}})["InvokeId"];
    const auto task = tasks_of(id).at(0);
    set_task_status(task.invocation_task_id, TaskStatus::kSuccess);
    REQUIRE(store->modify_task(task.invocation_task_id, [i](InvocationTask& t) {
      t.output = base64_encode("out " + std::to_string(i));
      return true;
    }));
    greet.push_back(id);
  }
  const auto ids = [](const nlohmann::json& r) {
    std::vector<std::string> out;
    for (const auto& inv : r["Invocations"]["Invocation"]) {
      out.push_back(inv["InvokeId"]);
    }
    return out;
  };
  auto first = ok("DescribeInvocations", {{"CommandName", "greet"}, {"MaxResults", "2"}});
  CHECK(first["TotalCount"] == 3);
  CHECK(ids(first) == std::vector<std::string>{greet[2], greet[1]});
  CHECK(first["NextToken"] == "2");
  auto second = ok("DescribeInvocations", {{"CommandName", "greet"},
                                           {"MaxResults", "2"},
                                           {"NextToken", "2"},
                                           {"IncludeOutput", "true"},
                                           {"ContentEncoding", "PlainText"}});
  CHECK(second["TotalCount"] == 3);
  REQUIRE(ids(second) == std::vector<std::string>{greet[0]});
  CHECK(second["NextToken"] == "");
  CHECK(second["Invocations"]["Invocation"][0]["InvokeInstances"]["InvokeInstance"][0]["Output"] ==
        "out 1");
  auto page2 = ok("DescribeInvocations",
                  {{"InvokeStatus", "Finished"}, {"PageSize", "2"}, {"PageNumber", "2"}});
  CHECK(page2["TotalCount"] == 3);
  CHECK(ids(page2) == std::vector<std::string>{greet[0]});
  CHECK(ids(ok("DescribeInvocations",
               {{"CommandName", "greet"}, {"PageSize", "2"}, {"PageNumber", "3"}}))
            .empty());
  auto plain = ok("DescribeInvocations", {{"MaxResults", "2"}, {"NextToken", "4"}});
  CHECK(plain["TotalCount"] == 5);
  CHECK(ids(plain) == std::vector<std::string>{greet[0]});
}

TEST_CASE_METHOD(AcsFixture, "output is base64 unless PlainText is asked") {
  const std::string id = run("echo hi")["InvokeId"];
  const auto task = tasks_of(id).at(0);
  set_task_status(task.invocation_task_id, TaskStatus::kSuccess);
  auto stored = store->modify_task(task.invocation_task_id, [](InvocationTask& t) {
    t.output = base64_encode("hi\n");
    return true;
  });
  REQUIRE(stored);
  auto b = ok("DescribeInvocationResults", {{"InvokeId", id}});
  CHECK(b["Invocation"]["InvocationResults"]["InvocationResult"][0]["Output"] ==
        base64_encode("hi\n"));
  auto p = ok("DescribeInvocationResults", {{"InvokeId", id}, {"ContentEncoding", "PlainText"}});
  CHECK(p["Invocation"]["InvocationResults"]["InvocationResult"][0]["Output"] == "hi\n");
  CHECK(invocation(id)["InvokeInstances"]["InvokeInstance"][0]["Output"] == base64_encode("hi\n"));
}

TEST_CASE_METHOD(AcsFixture, "RunCommand's custom parameters by seed 004's rules") {
  const Args on{{"EnableParameter", "true"}};
  const auto run_with = [&](const std::string& script, const std::string& params) {
    Args a{{"Type", "RunShellScript"},
           {"CommandContent", script},
           {"InstanceId.1", "rins-aaaaaaa1"},
           {"EnableParameter", "true"},
           {"Parameters", params}};
    return call("RunCommand", a);
  };
  SECTION("names are case-insensitive; the agent gets every spelling; missing ones are empty") {
    auto r = run_with("echo {{Name}} {{name}} {{other}}", R"({"NAME":"Jack"})");
    REQUIRE(r);
    const auto task = tasks_of((*r)["InvokeId"]).at(0);
    CHECK(nlohmann::json::parse(task.parameters) ==
          nlohmann::json{{"Name", "Jack"}, {"name", "Jack"}, {"other", ""}});
  }
  SECTION("refusals") {
    const auto code_of = [](const Expected<nlohmann::json>& r) {
      return r ? std::string("ok") : r.error().code;
    };
    CHECK(code_of(run_with("echo {{a}}", R"({"b":"x"})")) == "Parameter.NotMatched");
    CHECK(code_of(run_with("echo {{a}}", R"({"a":"x","A":"y"})")) == "ParameterKey.Duplicate");
    CHECK(code_of(run_with("echo {{a}}", R"({"a":1})")) == "ParameterType.NotSupported");
    CHECK(code_of(run_with("echo {{a}}", R"({"":"x"})")) == "CmdParam.EmptyKey");
    CHECK(code_of(run_with("echo {{a}}", "{\"" + std::string(65, 'a') + "\":\"x\"}")) ==
          "ParameterKey.ExceedLimit");
    std::string script = "echo";
    nlohmann::json eleven = nlohmann::json::object();
    for (int i = 0; i < 11; ++i) {
      script += " {{p" + std::to_string(i) + "}}";
      eleven["p" + std::to_string(i)] = "v";
    }
    CHECK(code_of(run_with(script, eleven.dump())) == "ParameterCount.ExceedLimit");
    CHECK(code("RunCommand", {{"Type", "RunShellScript"},
                              {"CommandContent", "echo {{a}}"},
                              {"InstanceId.1", "rins-aaaaaaa1"},
                              {"Parameters", R"({"a":"x"})"}}) == "Parameter.Disabled");
  }
}

TEST_CASE_METHOD(AcsFixture, "RunCommand's targets and run settings") {
  CHECK(code("RunCommand", {{"Type", "RunShellScript"}, {"CommandContent", "echo"}}) ==
        "MissingParam.InstanceId");
  CHECK(code("RunCommand", {{"Type", "RunShellScript"},
                            {"CommandContent", "echo"},
                            {"InstanceId.1", "rins-00000000"}}) == "InvalidInstance.NotFound");
  settings.max_run_instances = 1;
  CHECK(code("RunCommand", {{"Type", "RunShellScript"},
                            {"CommandContent", "echo"},
                            {"InstanceId.1", "rins-aaaaaaa1"},
                            {"InstanceId.2", "rins-aaaaaaa2"}}) == "InstanceIds.ExceedLimit");
  settings.max_run_instances = 100;
  const auto run_code = [&](Args more) {
    Args a = std::move(more);
    a.merge(Args{
        {"Type", "RunShellScript"}, {"CommandContent", "echo"}, {"InstanceId.1", "rins-aaaaaaa1"}});
    return code("RunCommand", a);
  };
  CHECK(run_code({{"RepeatMode", "Sometimes"}}) == "InvalidRepeatMode.NotFound");
  CHECK(run_code({{"Username", std::string(256, 'u')}}) == "Username.ExceedLimit");
  CHECK(run_code({{"CommandContent", std::string(19 * 1024, 'x')}}) == "CmdContent.ExceedLimit");
  CHECK(run_code({{"CommandContent", std::string(19 * 1024, 'x')}, {"KeepCommand", "true"}}) ==
        "CmdContent.ExceedLimit");
  SECTION("24 KB of base64 without KeepCommand, 18 KB with it") {
    CHECK(run(std::string(17 * 1024, 'x'))["InvokeId"].is_string());
    auto kept = run(std::string(13 * 1024, 'x'), {{"KeepCommand", "true"}});
    CHECK(ok("DescribeCommands", {{"CommandId", kept["CommandId"]}})["TotalCount"] == 1);
  }
}

TEST_CASE_METHOD(AcsFixture, "InvokeCommand runs a kept command; StopInvocation stops it") {
  const std::string command_id = ok("CreateCommand", {{"Name", "kept"},
                                                      {"Type", "RunShellScript"},
                                                      {"CommandContent", "sleep {{t}}"},
                                                      {"EnableParameter", "true"}})["CommandId"];
  auto r = ok("InvokeCommand", {{"CommandId", command_id},
                                {"InstanceId.1", "rins-aaaaaaa1"},
                                {"Parameters", R"({"T":"5"})"}});
  const std::string invoke_id = r["InvokeId"];
  CHECK(nlohmann::json::parse(tasks_of(invoke_id).at(0).parameters) == nlohmann::json{{"t", "5"}});
  CHECK(ok("DescribeCommands",
           {{"CommandId", command_id}})["Commands"]["Command"][0]["InvokeTimes"] == 1);
  CHECK(code("InvokeCommand", {{"CommandId", "cmd-00000000"}, {"InstanceId.1", "rins-aaaaaaa1"}}) ==
        "InvalidCmdId.NotFound");

  set_task_status(tasks_of(invoke_id).at(0).invocation_task_id, TaskStatus::kRunning);
  ok("StopInvocation", {{"InvokeId", invoke_id}});
  CHECK(invocation(invoke_id)["InvocationStatus"] == "Stopping");
  CHECK(notifier.cancels().size() == 1);
  set_task_status(tasks_of(invoke_id).at(0).invocation_task_id, TaskStatus::kTerminated);
  auto inv = invocation(invoke_id);
  CHECK(inv["InvocationStatus"] == "Stopped");
  CHECK(inv["InvokeInstances"]["InvokeInstance"][0]["InvocationStatus"] == "Terminated");
  CHECK(inv["InvokeInstances"]["InvokeInstance"][0]["InstanceInvokeStatus"] == "Stopped");
  CHECK(ok("DescribeInvocationResults",
           {{"InvokeId", invoke_id}})["Invocation"]["InvocationResults"]["InvocationResult"][0]
                                     ["InvokeRecordStatus"] == "Stopped");
  CHECK(inv["InvokeInstances"]["InvokeInstance"][0]["StopTime"] != "");
  // Nothing is left to stop.
  CHECK(code("StopInvocation", {{"InvokeId", invoke_id}}) == "Operation.Forbidden");
  CHECK(code("StopInvocation", {{"InvokeId", "inv-00000000"}}) == "InvalidInvokeId.NotFound");
  CHECK(code("StopInvocation", {}) == "MissingParameter");
}

TEST_CASE_METHOD(AcsFixture, "per-instance error codes from how a task ended") {
  const std::string id = run("echo", {{"InstanceId.2", "rins-aaaaaaa2"}})["InvokeId"];
  const auto tasks = tasks_of(id);
  set_task_status(tasks[0].invocation_task_id, TaskStatus::kTimeout);
  set_task_status(tasks[1].invocation_task_id, TaskStatus::kStartFailed);
  REQUIRE(store->modify_task(tasks[1].invocation_task_id, [](InvocationTask& t) {
    t.error_info = "InvalidParameterValue.InvalidWorkingDirectory: /nope does not exist";
    return true;
  }));
  std::map<std::string, std::string> codes;
  const auto inv = invocation(id);
  for (const auto& item : inv["InvokeInstances"]["InvokeInstance"]) {
    codes[item["InstanceId"].get<std::string>()] = item["ErrorCode"].get<std::string>();
  }
  CHECK(codes[tasks[0].instance_id] == "ExecutionTimeout");
  CHECK(codes[tasks[1].instance_id] == "DirectoryNotExists");
  CHECK(inv["InvocationStatus"] == "Failed");
}

TEST_CASE_METHOD(AcsFixture, "activations are register codes") {
  auto created = ok("CreateActivation", {{"InstanceName", "web"},
                                         {"InstanceCount", "5"},
                                         {"TimeToLiveInHours", "8"},
                                         {"Description", "for the web tier"}});
  const std::string id = created["ActivationId"];
  CHECK(std::string(created["ActivationCode"]).size() >= 16);
  auto listed = ok("DescribeActivations", {{"ActivationId", id}});
  REQUIRE(listed["TotalCount"] == 1);
  const auto& a = listed["ActivationList"][0];
  CHECK(a["InstanceName"] == "web");
  CHECK(a["InstanceCount"] == 5);
  CHECK(a["TimeToLiveInHours"] == 8);
  CHECK(a["Disabled"] == false);
  CHECK(ok("DescribeActivations", {{"InstanceName", "db"}})["TotalCount"] == 0);
  CHECK(ok("DisableActivation", {{"ActivationId", id}})["Activation"]["Disabled"] == true);
  CHECK(ok("DeleteActivation", {{"ActivationId", id}})["Activation"]["ActivationId"] == id);
  CHECK(code("DeleteActivation", {{"ActivationId", id}}) == "InvalidActivationId.NotFound");
}

TEST_CASE_METHOD(AcsFixture, "managed instances and the Cloud Assistant status are the instances") {
  presence.set_online("rins-aaaaaaa2", false);
  auto listed = ok("DescribeManagedInstances", {});
  CHECK(listed["TotalCount"] == 2);
  auto online = ok("DescribeManagedInstances", {{"Connected", "true"}});
  REQUIRE(online["TotalCount"] == 1);
  CHECK(online["Instances"][0]["InstanceId"] == "rins-aaaaaaa1");
  CHECK(online["Instances"][0]["OsType"] == "Linux");

  run("echo");
  auto status = ok("DescribeCloudAssistantStatus",
                   {{"InstanceId.1", "rins-aaaaaaa1"}, {"InstanceId.2", "rins-aaaaaaa2"}});
  REQUIRE(status["TotalCount"] == 2);
  for (const auto& s : status["InstanceCloudAssistantStatusSet"]["InstanceCloudAssistantStatus"]) {
    if (s["InstanceId"] == "rins-aaaaaaa1") {
      CHECK(s["CloudAssistantStatus"] == "true");
      CHECK(s["ActiveTaskCount"] == 1);
      CHECK(s["InvocationCount"] == 1);
      CHECK(s["LastInvokedTime"] != "");
    } else {
      CHECK(s["CloudAssistantStatus"] == "false");
      CHECK(s["InvocationCount"] == 0);
    }
  }

  auto renamed =
      ok("ModifyManagedInstance", {{"InstanceId", "rins-aaaaaaa2"}, {"InstanceName", "db-1"}});
  CHECK(renamed["Instance"]["InstanceName"] == "db-1");
  CHECK(ok("DescribeManagedInstances", {{"InstanceName", "db-1"}})["TotalCount"] == 1);
  auto gone = ok("DeregisterManagedInstance", {{"InstanceId", "rins-aaaaaaa2"}});
  CHECK(gone["Instance"]["InstanceId"] == "rins-aaaaaaa2");
  CHECK(ok("DescribeManagedInstances", {})["TotalCount"] == 1);
  CHECK(code("DeregisterManagedInstance", {{"InstanceId", "rins-aaaaaaa2"}}) ==
        "InvalidInstance.NotFound");
}

TEST_CASE_METHOD(AcsFixture, "Launcher, TerminationMode and containers reach the tasks") {
  auto r = run("print(1)", {{"Launcher", "python3 -u {{ACS::ScriptFileName|Ext(\".py\")}}"},
                            {"TerminationMode", "Process"},
                            {"KeepCommand", "true"}});
  auto task = tasks_of(r["InvokeId"]).at(0);
  CHECK(task.document.execution.launcher == "python3 -u {{ACS::ScriptFileName|Ext(\".py\")}}");
  CHECK(task.document.execution.termination_mode == "Process");
  auto inv = invocation(r["InvokeId"]);
  CHECK(inv["TerminationMode"] == "Process");
  CHECK(inv["Launcher"] == "python3 -u {{ACS::ScriptFileName|Ext(\".py\")}}");
  // The kept command keeps its Launcher; InvokeCommand runs with it unless told otherwise.
  auto listed = ok("DescribeCommands", {{"CommandId", r["CommandId"]}});
  CHECK(listed["Commands"]["Command"][0]["Launcher"] == inv["Launcher"]);
  auto again =
      ok("InvokeCommand", {{"CommandId", r["CommandId"]}, {"InstanceId.1", "rins-aaaaaaa2"}});
  CHECK(tasks_of(again["InvokeId"]).at(0).document.execution.launcher == inv["Launcher"]);
  CHECK(tasks_of(again["InvokeId"]).at(0).document.execution.termination_mode.empty());

  auto c = run("hostname", {{"ContainerId", "docker://0123456789ab"}});
  task = tasks_of(c["InvokeId"]).at(0);
  CHECK(task.document.execution.container_id == "docker://0123456789ab");
  CHECK(invocation(c["InvokeId"])["ContainerId"] == "docker://0123456789ab");
  auto n = run("hostname", {{"ContainerName", "web-1"}});
  CHECK(tasks_of(n["InvokeId"]).at(0).document.execution.container_name == "web-1");

  const auto run_code = [&](Args more) {
    more.merge(Args{
        {"Type", "RunShellScript"}, {"CommandContent", "echo"}, {"InstanceId.1", "rins-aaaaaaa1"}});
    return code("RunCommand", more);
  };
  CHECK(run_code({{"TerminationMode", "Gently"}}) == "InvalidTerminationMode.NotFound");
  CHECK(run_code({{"ContainerId", "not-hex"}}) == "InvalidContainerId.Malformed");
  CHECK(run_code({{"ContainerName", "-bad"}}) == "InvalidContainerName.Malformed");
  CHECK(run_code({{"ContainerName", "web"}, {"ContainerId", "0123456789ab"}}) ==
        "InvalidParameter");
  CHECK(run_code({{"ContainerName", "web"}, {"Launcher", "bash {{ACS::ScriptFileName}}"}}) ==
        "InvalidParameter");
  add_instance({"rins-windows1", true, "", "Windows"});
  CHECK(run_code({{"ContainerName", "web"},
                  {"Type", "RunBatScript"},
                  {"InstanceId.1", "rins-windows1"}}) == "InvalidParameter");
  CHECK(code("CreateCommand", {{"Name", "l"},
                               {"Type", "RunShellScript"},
                               {"CommandContent", "echo"},
                               {"Launcher", "python3 {{ACS::ScriptFileName|Ext(}}"}}) ==
        "InvalidParameter");
}

TEST_CASE_METHOD(AcsFixture, "tags of instances and commands; ResourceTag targets by them") {
  ok("TagResources", {{"ResourceType", "managedinstance"},
                      {"ResourceId.1", "rins-aaaaaaa1"},
                      {"ResourceId.2", "rins-aaaaaaa2"},
                      {"Tag.1.Key", "env"},
                      {"Tag.1.Value", "prod"}});
  ok("TagResources", {{"ResourceType", "instance"},
                      {"ResourceId.1", "rins-aaaaaaa2"},
                      {"Tag.1.Key", "role"},
                      {"Tag.1.Value", "db"}});
  auto listed = ok("ListTagResources", {{"ResourceType", "instance"}});
  CHECK(listed["TagResources"]["TagResource"].size() == 3);
  CHECK(listed["NextToken"] == "");
  auto db = ok("ListTagResources",
               {{"ResourceType", "instance"}, {"Tag.1.Key", "role"}, {"Tag.1.Value", "db"}});
  for (const auto& row : db["TagResources"]["TagResource"]) {
    CHECK(row["ResourceId"] == "rins-aaaaaaa2");
  }

  SECTION("ResourceTag runs on every instance with all the tags") {
    auto both = ok("RunCommand", {{"Type", "RunShellScript"},
                                  {"CommandContent", "echo"},
                                  {"ResourceTag.1.Key", "env"},
                                  {"ResourceTag.1.Value", "prod"}});
    CHECK(tasks_of(both["InvokeId"]).size() == 2);
    auto one = ok("RunCommand", {{"Type", "RunShellScript"},
                                 {"CommandContent", "echo"},
                                 {"ResourceTag.1.Key", "env"},
                                 {"ResourceTag.2.Key", "role"},
                                 {"ResourceTag.2.Value", "db"}});
    const auto tasks = tasks_of(one["InvokeId"]);
    REQUIRE(tasks.size() == 1);
    CHECK(tasks[0].instance_id == "rins-aaaaaaa2");
    const Args base{{"Type", "RunShellScript"}, {"CommandContent", "echo"}};
    const auto with = [&](Args more) {
      more.merge(Args(base));
      return code("RunCommand", more);
    };
    CHECK(with({{"ResourceTag.1.Key", "env"}, {"InstanceId.1", "rins-aaaaaaa1"}}) ==
          "InvalidResourceTag.ConflictWithInstanceIds");
    CHECK(with({{"ResourceTag.1.Key", "nobody"}}) == "InvalidResourceTag.InstanceNotFound");
    CHECK(with({{"ResourceTag.1.Value", "x"}}) == "MissingParameter.ResourceTagKey");
    CHECK(with({{"ResourceTag.1.Key", "acs:x"}}) == "InvalidResourceTagKey.Malformed");
    CHECK(with({{"ResourceTag.1.Key", "k"}, {"ResourceTag.1.Value", "https://x"}}) ==
          "InvalidResourceTagValue.Malformed");
    CHECK(with({{"ResourceTag.1.Key", "k"}, {"ResourceTag.2.Key", "k"}}) ==
          "Duplicate.ResourceTagKey");
    Args eleven;
    for (int i = 1; i <= 11; ++i) {
      eleven["ResourceTag." + std::to_string(i) + ".Key"] = "k" + std::to_string(i);
    }
    CHECK(with(eleven) == "NumberExceed.ResourceTags");
    settings.max_run_instances = 1;
    CHECK(with({{"ResourceTag.1.Key", "env"}}) == "InstanceIds.ExceedLimit");
  }
  SECTION("UntagResources by key, or all") {
    ok("UntagResources",
       {{"ResourceType", "instance"}, {"ResourceId.1", "rins-aaaaaaa2"}, {"TagKey.1", "env"}});
    auto left =
        ok("ListTagResources", {{"ResourceType", "instance"}, {"ResourceId.1", "rins-aaaaaaa2"}});
    REQUIRE(left["TagResources"]["TagResource"].size() == 1);
    CHECK(left["TagResources"]["TagResource"][0]["TagKey"] == "role");
    ok("UntagResources",
       {{"ResourceType", "instance"}, {"ResourceId.1", "rins-aaaaaaa2"}, {"All", "true"}});
    CHECK(ok("ListTagResources", {{"ResourceType", "instance"},
                                  {"ResourceId.1", "rins-aaaaaaa2"}})["TagResources"]["TagResource"]
              .empty());
  }
  SECTION("commands are tagged the same way") {
    const std::string id =
        ok("CreateCommand",
           {{"Name", "c"}, {"Type", "RunShellScript"}, {"CommandContent", "echo"}})["CommandId"];
    ok("TagResources", {{"ResourceType", "command"},
                        {"ResourceId.1", id},
                        {"Tag.1.Key", "k"},
                        {"Tag.1.Value", "v"}});
    CHECK(ok("DescribeCommands", {{"Tag.1.Key", "k"}, {"Tag.1.Value", "v"}})["TotalCount"] == 1);
    auto rows = ok("ListTagResources", {{"ResourceType", "command"}});
    REQUIRE(rows["TagResources"]["TagResource"].size() == 1);
    CHECK(rows["TagResources"]["TagResource"][0]["ResourceType"] == "command");
  }
  SECTION("refusals") {
    CHECK(code("TagResources",
               {{"ResourceType", "disk"}, {"ResourceId.1", "d-1"}, {"Tag.1.Key", "k"}}) ==
          "InvalidResourceType.NotFound");
    CHECK(code("TagResources", {{"ResourceType", "instance"},
                                {"ResourceId.1", "rins-00000000"},
                                {"Tag.1.Key", "k"}}) == "InvalidResourceId.NotFound");
    CHECK(code("TagResources", {{"ResourceType", "instance"}, {"Tag.1.Key", "k"}}) ==
          "MissingParameter");
    Args many{{"ResourceType", "instance"}, {"ResourceId.1", "rins-aaaaaaa1"}};
    for (int i = 1; i <= 20; ++i) {
      many["Tag." + std::to_string(i) + ".Key"] = "t" + std::to_string(i);
    }
    // 20 new ones on top of env: 21 on the instance.
    CHECK(code("TagResources", many) == "NumberExceed.Tags");
  }
}

TEST_CASE_METHOD(AcsFixture, "RepeatMode Period: runs on schedule, history, modify, stop") {
  const auto fire_due = [&] {
    auto due = store->due_repeat_invocations(clock.now_ms(), 10);
    REQUIRE(due);
    domain::fire_repeat_slots(ctx, *due);
  };
  auto r = run("echo tick", {{"Frequency", "rate(1m)"}, {"RepeatMode", "Once"}, {"Timeout", "30"}});
  const std::string id = r["InvokeId"];
  auto inv = invocation(id);
  // A Frequency makes it Period whatever RepeatMode says; no run before the first period.
  CHECK(inv["RepeatMode"] == "Period");
  CHECK(inv["Frequency"] == "rate(1m)");
  CHECK(inv["Timed"] == true);
  CHECK(inv["InvocationStatus"] == "Scheduled");
  CHECK(inv["InvokeInstances"]["InvokeInstance"][0]["InvocationStatus"] == "Scheduled");
  CHECK(tasks_of(id).empty());

  clock.advance_ms(60'000);
  fire_due();
  REQUIRE(tasks_of(id).size() == 1);
  set_task_status(tasks_of(id)[0].invocation_task_id, TaskStatus::kSuccess);
  clock.advance_ms(60'000);
  fire_due();
  REQUIRE(tasks_of(id).size() == 2);

  auto latest = ok("DescribeInvocationResults", {{"InvokeId", id}});
  REQUIRE(latest["Invocation"]["TotalCount"] == 1);
  CHECK(latest["Invocation"]["InvocationResults"]["InvocationResult"][0]["Repeats"] == 2);
  auto history = ok("DescribeInvocationResults", {{"InvokeId", id}, {"IncludeHistory", "true"}});
  CHECK(history["Invocation"]["TotalCount"] == 2);
  CHECK(invocation(id)["InvokeInstances"]["InvokeInstance"][0]["Repeats"] == 2);
  CHECK(ok("DescribeInvocations", {{"RepeatMode", "Period"}})["TotalCount"] == 1);
  CHECK(ok("DescribeInvocations", {{"RepeatMode", "Once"}})["TotalCount"] == 0);

  SECTION("ModifyInvocationAttribute changes the later runs") {
    auto m = ok("ModifyInvocationAttribute",
                {{"InvokeId", id}, {"Frequency", "rate(2m)"}, {"CommandContent", "echo tock"}});
    CHECK(m["CommandId"] == r["CommandId"]);
    CHECK(invocation(id)["Frequency"] == "rate(2m)");
    clock.advance_ms(120'000);
    fire_due();
    const auto tasks = tasks_of(id);
    REQUIRE(tasks.size() == 3);
    CHECK(std::any_of(tasks.begin(), tasks.end(), [](const InvocationTask& t) {
      return t.document.content == base64_encode("echo tock");
    }));
    CHECK(code("ModifyInvocationAttribute", {{"InvokeId", id}, {"Frequency", "rate(5s)"}}) ==
          "InvalidParam.Frequency");
    CHECK(code("ModifyInvocationAttribute", {{"InvokeId", "inv-00000000"}}) ==
          "InvalidInvokeId.NotFound");
  }
  SECTION("StopInvocation ends the schedule") {
    ok("StopInvocation", {{"InvokeId", id}});
    // The pending second run is cancelled at once.
    CHECK(invocation(id)["InvocationStatus"] == "Stopped");
    CHECK(invocation(id)["InvokeInstances"]["InvokeInstance"][0]["InvocationStatus"] ==
          "Cancelled");
    clock.advance_ms(600'000);
    fire_due();
    CHECK(tasks_of(id).size() == 2);
    CHECK(code("StopInvocation", {{"InvokeId", id}}) == "Operation.Forbidden");
  }
}

TEST_CASE_METHOD(AcsFixture, "RepeatMode and Frequency refusals") {
  const auto run_code = [&](Args more) {
    more.merge(Args{
        {"Type", "RunShellScript"}, {"CommandContent", "echo"}, {"InstanceId.1", "rins-aaaaaaa1"}});
    return code("RunCommand", more);
  };
  CHECK(run_code({{"RepeatMode", "Period"}}) == "MissingParam.Frequency");
  CHECK(run_code({{"Frequency", "rate(30s)"}}) == "InvalidParam.Frequency");
  CHECK(run_code({{"Frequency", "rate(2m)"}, {"Timeout", "300"}}) == "InvalidParam.Frequency");
  CHECK(run_code({{"Frequency", "*/5 * * * * ?"}}) == "InvalidParam.Frequency");
  CHECK(run_code({{"Frequency", "at(2020-01-01 00:00:00 UTC)"}}) == "InvalidParam.Frequency");
  CHECK(run_code({{"RepeatMode", "Hourly"}}) == "InvalidRepeatMode.NotFound");
  CHECK(code("DescribeInvocations", {{"RepeatMode", "Hourly"}}) == "InvalidRepeatMode.NotFound");
  // Once has no schedule to change.
  const std::string once = run("echo")["InvokeId"];
  CHECK(code("ModifyInvocationAttribute", {{"InvokeId", once}, {"Frequency", "rate(5m)"}}) ==
        "Operation.Forbidden");
}

TEST_CASE_METHOD(AcsFixture, "EveryReboot runs at each boot the agent reports") {
  const auto boot = [&](const std::string& boot_id) {
    auto inst = store->get_instance("rins-aaaaaaa1");
    REQUIRE(inst);
    REQUIRE(*inst);
    REQUIRE(domain::record_agent_boot(ctx, **inst, boot_id));
  };
  boot("boot-0");
  const std::string id = run("echo booted", {{"RepeatMode", "EveryReboot"}})["InvokeId"];
  CHECK(invocation(id)["RepeatMode"] == "EveryReboot");
  CHECK(tasks_of(id).empty());
  boot("boot-0");
  CHECK(tasks_of(id).empty());
  boot("boot-1");
  CHECK(tasks_of(id).size() == 1);
  boot("boot-2");
  CHECK(tasks_of(id).size() == 2);
  CHECK(ok("DescribeInvocationResults",
           {{"InvokeId", id}, {"IncludeHistory", "true"}})["Invocation"]["TotalCount"] == 2);
}

TEST_CASE_METHOD(AcsFixture, "ClientToken: one run per token and parameters") {
  const Args args{{"Type", "RunShellScript"},
                  {"CommandContent", "echo once"},
                  {"InstanceId.1", "rins-aaaaaaa1"},
                  {"ClientToken", "123e4567-e89b-12d3-a456-426655440000"}};
  auto first = ok("RunCommand", args);
  auto again = ok("RunCommand", args);
  CHECK(again == first);
  CHECK(ok("DescribeInvocations", {})["TotalCount"] == 1);
  Args other = args;
  other["CommandContent"] = "echo twice";
  CHECK(code("RunCommand", other) == "IdempotentParameterMismatch");
  // Another caller's token is its own.
  AcsParams params(AcsParams::Map(args.begin(), args.end()));
  auto theirs =
      actions.find("RunCommand")
          ->handler(ApiCall{"RunCommand", "LTAIsomeoneelse", "cn-hangzhou", "req-2"}, params);
  REQUIRE(theirs);
  CHECK((*theirs)["InvokeId"] != first["InvokeId"]);

  SECTION("a failed request frees its token") {
    Args bad = args;
    bad["ClientToken"] = "t-2";
    bad["InstanceId.1"] = "rins-00000000";
    CHECK(code("RunCommand", bad) == "InvalidInstance.NotFound");
    bad["InstanceId.1"] = "rins-aaaaaaa2";
    CHECK(ok("RunCommand", bad)["InvokeId"].is_string());
  }
  SECTION("a token claimed by a request still running") {
    // The claim another request with these parameters made and has not completed: the hash of
    // the action and every parameter but the token, in the parameters' order.
    std::string text = "RunCommand";
    for (const auto& [name, value] : args) {
      if (name != "ClientToken") {
        text += '\n' + name + '=' + value;
      }
    }
    for (const auto& [hash, answer] :
         {std::pair{sha256_hex(text), "IdempotentProcessing"},
          std::pair{sha256_hex("other"), "IdempotentParameterMismatch"}}) {
      REQUIRE(store->claim_client_token("LTAItest", "t-3", hash, clock.now_ms(), 60'000));
      Args busy = args;
      busy["ClientToken"] = "t-3";
      CHECK(code("RunCommand", busy) == answer);
      REQUIRE(store->release_client_token("LTAItest", "t-3"));
    }
    Args busy = args;
    busy["ClientToken"] = "t-3";
    CHECK(ok("RunCommand", busy)["InvokeId"].is_string());
  }
  SECTION("malformed tokens") {
    Args bad = args;
    bad["ClientToken"] = std::string(65, 't');
    CHECK(code("RunCommand", bad) == "InvalidClientToken.Malformed");
    bad["ClientToken"] = "caf\xc3\xa9";
    CHECK(code("RunCommand", bad) == "InvalidClientToken.Malformed");
  }
  SECTION("CreateCommand and InvokeCommand take one too") {
    const Args create{{"Name", "idem"},
                      {"Type", "RunShellScript"},
                      {"CommandContent", "echo"},
                      {"ClientToken", "c-1"}};
    auto c1 = ok("CreateCommand", create);
    CHECK(ok("CreateCommand", create) == c1);
    const Args invoke{
        {"CommandId", c1["CommandId"]}, {"InstanceId.1", "rins-aaaaaaa1"}, {"ClientToken", "i-1"}};
    CHECK(ok("InvokeCommand", invoke) == ok("InvokeCommand", invoke));
  }
}

TEST_CASE_METHOD(AcsFixture, "illegal characters, charsets, systems and Parameter Store") {
  add_instance({"rins-windows1", true, "", "Windows"});
  SECTION("control characters or malformed UTF-8 in a command's texts") {
    const std::pair<const char*, const char*> fields[] = {
        {"Name", "InvalidParameterCharacter.CommandName"},
        {"Description", "InvalidParameterCharacter.CommandDescription"},
        {"WorkingDir", "InvalidParameterCharacter.CommandWorkingDir"},
    };
    for (const auto& [field, expected] : fields) {
      for (const char* bad : {"a\x01"
                              "b",
                              "line\nbreak", "caf\xc3"}) {
        Args args{{"Type", "RunShellScript"},
                  {"CommandContent", "echo"},
                  {"InstanceId.1", "rins-aaaaaaa1"},
                  {field, std::string("/") + bad}};
        CHECK(code("RunCommand", args) == expected);
        args.erase("InstanceId.1");
        args["Name"] = args.count("Name") > 0 ? args["Name"] : "n";
        CHECK(code("CreateCommand", args) == expected);
      }
    }
    auto id =
        ok("CreateCommand",
           {{"Name", "n"}, {"Type", "RunShellScript"}, {"CommandContent", "echo"}})["CommandId"];
    CHECK(
        code("InvokeCommand",
             {{"CommandId", id}, {"InstanceId.1", "rins-aaaaaaa1"}, {"WorkingDir", "/tmp\x7f"}}) ==
        "InvalidParameterCharacter.CommandWorkingDir");
    CHECK(code("ModifyCommand", {{"CommandId", id}, {"Name", "tab\there"}}) ==
          "InvalidParameterCharacter.CommandName");
    // Text that is neither is taken, newlines and all.
    CHECK(run("echo", {{"Name", "名前 with spaces"}, {"WorkingDir", "/tmp/a b"}})["InvokeId"]
              .is_string());
  }
  SECTION("Parameters that are not Unicode text") {
    const Args base{{"Type", "RunShellScript"},
                    {"CommandContent", "echo {{a}}"},
                    {"EnableParameter", "true"},
                    {"InstanceId.1", "rins-aaaaaaa1"}};
    for (const std::string& bad :
         {std::string(R"({"a":"x\u0000y"})"), std::string(R"({"a":"\ud800"})"),
          std::string("{\"a\":\"caf\xc3\"}")}) {
      Args args = base;
      args["Parameters"] = bad;
      CHECK(code("RunCommand", args) == "InvalidParameterCharset.Parameters");
    }
    Args good = base;
    good["Parameters"] = R"({"a":"caf\u00e9 \ud83d\ude00"})";
    CHECK(ok("RunCommand", good)["InvokeId"].is_string());
    good["Parameters"] = R"({"a":)";
    CHECK(code("RunCommand", good) == "InvalidParameter");
    // A number too large for a double: nlohmann's out_of_range, once an InternalError.
    good["Parameters"] = R"({"a":1E400})";
    CHECK(code("RunCommand", good) == "InvalidParameter");
  }
  SECTION("a command type the instance's system does not run") {
    const Args bat{{"Type", "RunBatScript"}, {"CommandContent", "echo"}};
    Args args = bat;
    args["InstanceId.1"] = "rins-aaaaaaa1";
    CHECK(code("RunCommand", args) == "InvalidInstance.NotMatch");
    args["InstanceId.1"] = "rins-windows1";
    CHECK(ok("RunCommand", args)["InvokeId"].is_string());
    args["Type"] = "RunShellScript";
    CHECK(code("RunCommand", args) == "InvalidInstance.NotMatch");
    args["Type"] = "RunPowerShellScript";
    CHECK(ok("RunCommand", args)["InvokeId"].is_string());
    args["InstanceId.1"] = "rins-aaaaaaa1";
    CHECK(ok("RunCommand", args)["InvokeId"].is_string());  // pwsh on Linux
    auto id =
        ok("CreateCommand",
           {{"Name", "b"}, {"Type", "RunBatScript"}, {"CommandContent", "echo"}})["CommandId"];
    CHECK(code("InvokeCommand", {{"CommandId", id},
                                 {"InstanceId.1", "rins-windows1"},
                                 {"InstanceId.2", "rins-aaaaaaa2"}}) == "InvalidInstance.NotMatch");
    CHECK(ok("InvokeCommand", {{"CommandId", id}, {"InstanceId.1", "rins-windows1"}})["InvokeId"]
              .is_string());
  }
  SECTION("WindowsPasswordName names a Parameter Store secret") {
    Args args{{"Type", "RunPowerShellScript"},
              {"CommandContent", "echo"},
              {"InstanceId.1", "rins-windows1"},
              {"Username", "ops"},
              {"WindowsPasswordName", "axtSecretPassword"}};
    CHECK(code("RunCommand", args) == "ParameterStore.NotSupported");
    args["WindowsPasswordName"] = std::string(256, 'p');
    CHECK(code("RunCommand", args) == "WindowsPasswordName.ExceedLimit");
  }
}

}  // namespace
}  // namespace ferry::test
