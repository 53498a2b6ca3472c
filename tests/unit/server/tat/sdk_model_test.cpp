// What the official SDK's model (tat_models.d.ts of tencentcloud-sdk-nodejs) promises and Ferry
// once answered otherwise: JSON types of fields a typed SDK decodes, paging errors that name
// the right field, documented filters, both forms of a command's default parameters.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "action_test_support.hpp"

using namespace ferry;
using namespace ferry::server;
using namespace ferry::test;
using nlohmann::json;

namespace {

struct ModelFixture : ActionFixture {
  ModelFixture() { add_instance({.id = "rins-model001"}); }

  json run() {
    return ok("RunCommand", {{"Content", b64("echo hi")}, {"InstanceIds", {"rins-model001"}}});
  }

  json only_task(const std::string& invocation_id) {
    auto r = ok("DescribeInvocationTasks",
                {{"Filters", {{{"Name", "invocation-id"}, {"Values", {invocation_id}}}}}});
    REQUIRE(r["InvocationTaskSet"].size() == 1);
    return r["InvocationTaskSet"][0];
  }
};

}  // namespace

TEST_CASE_METHOD(ModelFixture, "a negative Offset beside a Limit is refused as a Range error",
                 "[actions][sdk-model]") {
  // Every paged Describe action of the TAT dialect. The Offset used to be judged before Limit
  // was read, and the unread Limit was then refused as an unknown parameter.
  for (const char* action : {"DescribeCommands", "DescribeInvocations", "DescribeInvocationTasks",
                             "DescribeInvokers", "DescribeInvokerRecords", "DescribeRegisterCodes",
                             "DescribeRegisterInstances", "DescribeAutomationAgentStatus"}) {
    INFO(action);
    auto r = call(action, {{"Limit", 1}, {"Offset", -1}});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "InvalidParameterValue.Range");
    CHECK(r.error().message.find("Offset") != std::string::npos);
    auto good = call(action, {{"Limit", 1}, {"Offset", 0}});
    CHECK(good);
  }
}

TEST_CASE_METHOD(ModelFixture, "DescribeCommands takes the documented scene-id filter",
                 "[actions][sdk-model]") {
  ok("CreateCommand", {{"CommandName", "c1"}, {"Content", b64("echo 1")}});
  // No command of Ferry's is in a scene (DescribeScenes lists none): the filter matches none.
  auto r = ok("DescribeCommands", {{"Filters", {{{"Name", "scene-id"}, {"Values", {"sc-1"}}}}}});
  CHECK(r["TotalCount"] == 0);
  CHECK(r["CommandSet"] == json::array());
  CHECK(ok("DescribeCommands", json::object())["TotalCount"] == 1);
}

TEST_CASE_METHOD(ModelFixture, "a command's defaults show in both of the model's forms",
                 "[actions][sdk-model]") {
  const std::string id =
      ok("CreateCommand", {{"CommandName", "p"},
                           {"Content", b64("echo {{b}} {{a}}")},
                           {"EnableParameter", true},
                           {"DefaultParameters", R"({"b":"2","a":"1"})"}})["CommandId"];
  auto c = ok("DescribeCommands", {{"CommandIds", {id}}})["CommandSet"][0];
  CHECK(json::parse(c["DefaultParameters"].get<std::string>()) == json{{"a", "1"}, {"b", "2"}});
  CHECK(c["DefaultParameterConfs"] ==
        json::array(
            {json{{"ParameterName", "a"}, {"ParameterValue", "1"}, {"ParameterDescription", ""}},
             json{{"ParameterName", "b"}, {"ParameterValue", "2"}, {"ParameterDescription", ""}}}));

  // Confs given keep their descriptions; DefaultParameters is their JSON object.
  ok("ModifyCommand",
     {{"CommandId", id},
      {"DefaultParameterConfs",
       {{{"ParameterName", "a"}, {"ParameterValue", "x"}, {"ParameterDescription", "the a"}}}}});
  c = ok("DescribeCommands", {{"CommandIds", {id}}})["CommandSet"][0];
  CHECK(json::parse(c["DefaultParameters"].get<std::string>()) == json{{"a", "x"}});
  REQUIRE(c["DefaultParameterConfs"].size() == 1);
  CHECK(c["DefaultParameterConfs"][0]["ParameterDescription"] == "the a");
}

TEST_CASE_METHOD(ModelFixture, "ExitCode is a number and unknown times are null",
                 "[actions][sdk-model]") {
  const std::string inv = run()["InvocationId"];
  auto t = only_task(inv);
  CHECK(t["TaskStatus"] == "PENDING");
  // TaskResult.ExitCode is `number` in the model, never null; a typed SDK (Go, Java) fails on
  // a null where it expects one.
  CHECK(t["TaskResult"]["ExitCode"].is_number_integer());
  CHECK(t["TaskResult"]["ExitCode"] == 0);
  // "May return null": not "" while there is no such time.
  for (const char* field : {"StartTime", "EndTime"}) {
    INFO(field);
    CHECK(t[field].is_null());
  }
  for (const char* field : {"ExecStartTime", "ExecEndTime"}) {
    INFO(field);
    CHECK(t["TaskResult"][field].is_null());
  }
  CHECK(t["CreatedTime"].is_string());
  auto i = ok("DescribeInvocations", {{"InvocationIds", {inv}}})["InvocationSet"][0];
  CHECK(i["EndTime"].is_null());

  REQUIRE(store->modify_task(t["InvocationTaskId"].get<std::string>(), [&](InvocationTask& task) {
    task.status = TaskStatus::kRunning;
    task.start_ms = clock.now_ms();
    return true;
  }));
  t = only_task(inv);
  CHECK(t["StartTime"].is_string());
  CHECK(t["EndTime"].is_null());
}

TEST_CASE_METHOD(ModelFixture, "hidden parameters: masked wherever shown, kept only while needed",
                 "[actions][sdk-model][hidden]") {
  const std::string script = "login {{user}} {{tat-hidden:pw}}";
  const std::string inv =
      ok("RunCommand", {{"Content", b64(script)},
                        {"InstanceIds", {"rins-model001"}},
                        {"EnableParameter", true},
                        {"DefaultParameters", R"({"pw":"default-secret"})"},
                        {"Parameters", R"({"user":"ann","pw":"s3cret"})"}})["InvocationId"];
  const auto shown = ok("DescribeInvocations", {{"InvocationIds", {inv}}})["InvocationSet"][0];
  CHECK(json::parse(shown["Parameters"].get<std::string>()) ==
        json{{"user", "ann"}, {"pw", "******"}});
  CHECK(json::parse(shown["DefaultParameters"].get<std::string>()) == json{{"pw", "******"}});
  // The invocation of one run does not keep the secret at all.
  auto stored = store->get_invocation(inv);
  REQUIRE(stored.has_value());
  REQUIRE(stored->has_value());
  CHECK((*stored)->parameters.find("s3cret") == std::string::npos);

  // Its task keeps the value for its agent until the agent holds the task.
  auto tasks = tasks_of(inv);
  REQUIRE(tasks.size() == 1);
  const std::string task_id = tasks[0].invocation_task_id;
  CHECK(json::parse(tasks[0].parameters)["pw"] == "s3cret");
  REQUIRE(store->modify_task(task_id, [](InvocationTask& t) {
    t.status = TaskStatus::kDelivering;
    return true;
  }));
  CHECK(json::parse(task(task_id).parameters)["pw"] == "s3cret");
  REQUIRE(store->modify_task(task_id, [](InvocationTask& t) {
    t.status = TaskStatus::kRunning;
    return true;
  }));
  CHECK(json::parse(task(task_id).parameters) == json{{"user", "ann"}, {"pw", "******"}});

  // The preview shows the mask in its place.
  const std::string cmd =
      ok("CreateCommand",
         {{"CommandName", "h"}, {"Content", b64(script)}, {"EnableParameter", true}})["CommandId"];
  auto preview = ok("PreviewReplacedCommandContent",
                    {{"CommandId", cmd}, {"Parameters", R"({"user":"bob","pw":"p"})"}});
  CHECK(preview["ReplacedContent"] == b64("login bob ******"));
}

TEST_CASE_METHOD(ModelFixture, "hidden parameters: masked in an invoker's Parameters too",
                 "[actions][sdk-model][hidden]") {
  REQUIRE(store->record_heartbeat("rins-model001", "1.0", "Linux", {}, clock.now_ms()));
  const std::string cmd = ok("CreateCommand", {{"CommandName", "h"},
                                               {"Content", b64("login {{user}} {{tat-hidden:pw}}")},
                                               {"EnableParameter", true}})["CommandId"];
  const std::string invoker =
      ok("CreateInvoker",
         {{"Name", "nightly"},
          {"Type", "SCHEDULE"},
          {"CommandId", cmd},
          {"InstanceIds", {"rins-model001"}},
          {"Parameters", R"({"user":"ann","pw":"s3cret"})"},
          {"ScheduleSettings",
           {{"Policy", "ONCE"}, {"InvokeTime", "2031-09-01T00:00:00+08:00"}}}})["InvokerId"];
  const auto shown = ok("DescribeInvokers", {{"InvokerIds", {invoker}}})["InvokerSet"][0];
  CHECK(json::parse(shown["Parameters"].get<std::string>()) ==
        json{{"user", "ann"}, {"pw", "******"}});
}
