#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "action_test_support.hpp"
#include "ferry/core/base64.hpp"
#include "ferry/server/domain/send_files.hpp"
#include "ferry/server/store/store_errors.hpp"
#include "ferry/server/tat/tat_json.hpp"

using namespace ferry;
using namespace ferry::server;
using namespace ferry::test;
using nlohmann::json;

namespace {

// Three registered instances: two connected, one not.
struct RunFixture : ActionFixture {
  RunFixture() {
    add_instance({.id = "rins-aaaaaaa1"});
    add_instance({.id = "rins-aaaaaaa2"});
    add_instance({.id = "rins-aaaaaaa3", .online = false});
    // The buckets the tests name are ones the server holds credentials for.
    settings.output_buckets.credentials["default"] = {{"AKIDtatbuckets", "tat-bucket-secret", ""},
                                                      ""};
  }

  json run(json body) {
    if (!body.contains("Content")) {
      body["Content"] = b64("echo hello");
    }
    if (!body.contains("InstanceIds")) {
      body["InstanceIds"] = {"rins-aaaaaaa1"};
    }
    return ok("RunCommand", body);
  }

  std::string run_code(json body) {
    if (!body.contains("Content")) {
      body["Content"] = b64("echo hello");
    }
    if (!body.contains("InstanceIds")) {
      body["InstanceIds"] = {"rins-aaaaaaa1"};
    }
    return code("RunCommand", body);
  }

  json describe_invocation(const std::string& id) {
    auto r = ok("DescribeInvocations", {{"InvocationIds", {id}}});
    REQUIRE(r["InvocationSet"].size() == 1);
    return r["InvocationSet"][0];
  }
};

bool is_id(const json& v, const std::string& prefix) {
  const auto s = v.get<std::string>();
  return s.size() == prefix.size() + 8 && s.rfind(prefix, 0) == 0;
}

}  // namespace

TEST_CASE_METHOD(RunFixture, "RunCommand creates one task per instance, kicked when online",
                 "[actions][run]") {
  auto r = run({{"InstanceIds", {"rins-aaaaaaa1", "rins-aaaaaaa2", "rins-aaaaaaa3"}},
                {"CommandName", "whoami"},
                {"Description", "who am i"},
                {"WorkingDirectory", "/tmp"},
                {"Timeout", 30},
                {"Username", "nobody"},
                {"OutputCOSBucketUrl", "https://bucket-1.cos.ap-guangzhou.myqcloud.com"},
                {"OutputCOSKeyPrefix", "logs/run"}});
  REQUIRE(is_id(r["CommandId"], "cmd-"));
  REQUIRE(is_id(r["InvocationId"], "inv-"));
  const auto inv_id = r["InvocationId"].get<std::string>();

  auto tasks = tasks_of(inv_id);
  REQUIRE(tasks.size() == 3);
  CHECK(tasks[0].status == TaskStatus::kPending);
  CHECK(tasks[1].status == TaskStatus::kPending);
  CHECK(tasks[2].status == TaskStatus::kDeliverDelayed);
  for (const auto& t : tasks) {
    CHECK(t.invocation_task_id.rfind("invt-", 0) == 0);
    CHECK(t.command_id == r["CommandId"]);
    CHECK(t.command_name == "whoami");
    CHECK(t.document.content == b64("echo hello"));
    CHECK(t.document.command_type == "SHELL");
    CHECK(t.document.timeout == 30);
    CHECK(t.document.working_directory == "/tmp");
    CHECK(t.document.username == "nobody");
    CHECK(t.document.output_cos_bucket_url == "https://bucket-1.cos.ap-guangzhou.myqcloud.com");
    CHECK(t.document.output_cos_key_prefix == "logs/run");
    CHECK(t.parameters.empty());
    CHECK_FALSE(t.enable_parameter);
    CHECK(t.invocation_source == "USER");
    CHECK(t.created_ms == clock.now_ms());
  }
  const auto kicks = notifier.kicks();
  REQUIRE(kicks.size() == 2);
  CHECK(kicks[0].first != kicks[1].first);
  for (const auto& [instance, task] : kicks) {
    CHECK(instance != "rins-aaaaaaa3");
  }

  auto inv = describe_invocation(inv_id);
  CHECK(inv["InvocationStatus"] == "PENDING");
  CHECK(inv["CommandName"] == "whoami");
  CHECK(inv["Description"] == "who am i");
  CHECK(inv["Timeout"] == 30);
  CHECK(inv["Username"] == "nobody");
  CHECK(inv["InvocationTaskBasicInfoSet"].size() == 3);

  // Not saved: the command is the invocation's, not the user's list.
  auto cmds = ok("DescribeCommands", json::object());
  CHECK(cmds["TotalCount"] == 0);
}

TEST_CASE_METHOD(RunFixture, "RunCommand with SaveCommand saves and lists the command",
                 "[actions][run]") {
  SECTION("named") {
    auto r = run({{"SaveCommand", true},
                  {"CommandName", "saved-one"},
                  {"Tags", {{{"Key", "team"}, {"Value", "ops"}}}}});
    auto cmds = ok("DescribeCommands", json::object());
    REQUIRE(cmds["TotalCount"] == 1);
    CHECK(cmds["CommandSet"][0]["CommandId"] == r["CommandId"]);
    CHECK(cmds["CommandSet"][0]["CommandName"] == "saved-one");
    CHECK(cmds["CommandSet"][0]["Tags"][0]["Key"] == "team");
    // The same name again, by RunCommand or CreateCommand.
    CHECK(run_code({{"SaveCommand", true}, {"CommandName", "saved-one"}}) ==
          "InvalidParameterValue.CommandNameDuplicated");
    CHECK(code("CreateCommand", {{"CommandName", "saved-one"}, {"Content", b64("ls")}}) ==
          "InvalidParameterValue.CommandNameDuplicated");
    // An unsaved command may share a saved one's name.
    run({{"CommandName", "saved-one"}});
  }
  SECTION("unnamed gets a generated name") {
    auto r = run({{"SaveCommand", true}});
    auto cmds = ok("DescribeCommands", json::object());
    REQUIRE(cmds["TotalCount"] == 1);
    CHECK(cmds["CommandSet"][0]["CommandName"] == r["CommandId"]);
  }
  SECTION("the quota counts saved commands only") {
    settings.command_quota = 1;
    run({{"SaveCommand", true}});
    run({});  // unsaved: no quota
    CHECK(run_code({{"SaveCommand", true}}) == "ResourceUnavailable.UserHasNoQuotaCode");
  }
}

TEST_CASE_METHOD(RunFixture, "RunCommand refuses bad requests with the seed's codes",
                 "[actions][run]") {
  const json ok_confs = json::array({{{"ParameterName", "a"}, {"ParameterValue", "1"}}});
  CHECK(code("RunCommand", {{"InstanceIds", {"rins-aaaaaaa1"}}}) == "MissingParameter");
  CHECK(code("RunCommand", {{"Content", b64("ls")}}) == "MissingParameter");
  CHECK(run_code({{"InstanceIds", json::array()}}) == "MissingParameter");
  CHECK(run_code({{"Timeout", "60"}}) == "InvalidParameter");
  CHECK(run_code({{"Bogus", 1}}) == "UnknownParameter");
  CHECK(run_code({{"CommandName", "bad name"}}) == "InvalidParameterValue.InvalidCommandName");
  CHECK(run_code({{"CommandName", std::string(61, 'a')}}) ==
        "InvalidParameterValue.InvalidCommandName");
  CHECK(run_code({{"Description", std::string(121, 'd')}}) == "InvalidParameterValue.TooLong");
  CHECK(run_code({{"Content", std::string(64 * 1024 + 4, 'A')}}) ==
        "InvalidParameterValue.TooLong");
  CHECK(run_code({{"Content", "not base64!"}}) == "InvalidParameterValue.CommandContentInvalid");
  CHECK(run_code({{"Content", ""}}) == "InvalidParameterValue.CommandContentInvalid");
  CHECK(run_code({{"CommandType", "PYTHON"}}) == "InvalidParameterValue");
  CHECK(run_code({{"WorkingDirectory", "relative/dir"}}) ==
        "InvalidParameterValue.InvalidWorkingDirectory");
  CHECK(run_code({{"Timeout", 0}}) == "InvalidParameterValue.Range");
  CHECK(run_code({{"Timeout", 86401}}) == "InvalidParameterValue.Range");
  {
    // 2^63 and 2^64 - 1 are not wrapped into negative numbers (nor into valid ones). A parsed
    // body holds every non-negative integer as unsigned, so the requests of the other tests
    // cover the values in range.
    for (const uint64_t big : {uint64_t{1} << 63, ~uint64_t{0}}) {
      auto refused =
          call("RunCommand",
               {{"Content", b64("ls")}, {"InstanceIds", {"rins-aaaaaaa1"}}, {"Timeout", big}});
      REQUIRE_FALSE(refused);
      CHECK(refused.error().code == "InvalidParameter");
      CHECK(refused.error().message == "Timeout: must be an integer in the 64-bit range");
    }
  }
  CHECK(run_code({{"Username", "bad user"}}) == "InvalidParameterValue.InvalidUsername");
  CHECK(run_code({{"OutputCOSBucketUrl", "http://bucket"}}) ==
        "InvalidParameterValue.InvalidOutputCOSBucketUrl");
  settings.output_buckets.credentials.clear();  // a bucket the server cannot sign for
  CHECK(run_code({{"OutputCOSBucketUrl", "https://b-1.cos.ap-guangzhou.myqcloud.com"}}) ==
        "InvalidParameterValue.InvalidOutputCOSBucketUrl");
  CHECK(run_code({{"OutputCOSKeyPrefix", "/abs"}}) ==
        "InvalidParameterValue.InvalidOutputCOSKeyPrefix");
  CHECK(run_code({{"OutputCOSKeyPrefix", "a/../b"}}) ==
        "InvalidParameterValue.InvalidOutputCOSKeyPrefix");
  json many = json::array();
  for (int i = 0; i < 201; ++i) {
    many.push_back("rins-" + std::to_string(10000000 + i));
  }
  CHECK(run_code({{"InstanceIds", many}}) == "InvalidParameterValue.LimitExceeded");
  json tags = json::array();
  for (int i = 0; i < 11; ++i) {
    tags.push_back({{"Key", "k" + std::to_string(i)}, {"Value", "v"}});
  }
  CHECK(run_code({{"SaveCommand", true}, {"Tags", tags}}) == "InvalidParameterValue.LimitExceeded");
  CHECK(run_code({{"Tags", {{{"Key", "k"}, {"Value", "v"}}}}}) == "InvalidParameterValue");
  CHECK(run_code({{"InstanceIds", {"ins bad"}}}) == "InvalidParameterValue.InvalidInstanceId");
  CHECK(run_code({{"InstanceIds", {"rins-aaaaaaa1", "rins-aaaaaaa1"}}}) ==
        "InvalidParameterValue.InvalidInstanceId");
  CHECK(run_code({{"InstanceIds", {"rins-aaaaaaa1", "rins-zzzzzzzz"}}}) ==
        "ResourceNotFound.InstanceNotFound");
  CHECK(run_code({{"EnableParameter", true},
                  {"DefaultParameters", R"({"a":"1"})"},
                  {"DefaultParameterConfs", ok_confs}}) == "InvalidParameter.ConflictParameter");
  CHECK(run_code({{"DefaultParameters", R"({"a":"1"})"}}) ==
        "InvalidParameterValue.SupportParametersOnlyIfEnableParameter");
  CHECK(run_code({{"DefaultParameterConfs", ok_confs}}) ==
        "InvalidParameterValue.SupportParametersOnlyIfEnableParameter");
  CHECK(run_code({{"Parameters", R"({"a":"1"})"}}) ==
        "InvalidParameterValue.SupportParametersOnlyIfEnableParameter");
  const json on = {{"EnableParameter", true}};
  auto with = [&](json extra) {
    json body = on;
    body.update(extra);
    return run_code(body);
  };
  CHECK(with({{"Parameters", "[1]"}}) == "InvalidParameterValue.ParameterInvalidJsonFormat");
  CHECK(with({{"DefaultParameters", "{"}}) == "InvalidParameterValue.ParameterInvalidJsonFormat");
  CHECK(with({{"Parameters", R"({"a":"1","a":"2"})"}}) ==
        "InvalidParameterValue.ParameterKeyDuplicated");
  CHECK(with({{"Parameters", R"({"a":1})"}}) == "InvalidParameterValue.ParameterValueNotString");
  CHECK(with({{"Parameters", R"({"a b":"1"})"}}) ==
        "InvalidParameterValue.ParameterKeyContainsInvalidChar");
  CHECK(with({{"Parameters", json{{std::string(65, 'k'), "v"}}.dump()}}) ==
        "InvalidParameterValue.ParameterKeyLenExceeded");
  json too_many = json::object();
  for (int i = 0; i < 21; ++i) {
    too_many["p" + std::to_string(i)] = "v";
  }
  CHECK(with({{"Parameters", too_many.dump()}}) == "InvalidParameterValue.ParameterNumberExceeded");
  CHECK(with({{"DefaultParameterConfs",
               {{{"ParameterName", "a"}, {"ParameterValue", "1"}},
                {{"ParameterName", "a"}, {"ParameterValue", "2"}}}}}) ==
        "InvalidParameter.ParameterNameDuplicated");
  CHECK(with({{"Content", b64("echo {{missing}}")}}) ==
        "InvalidParameterValue.LackOfParameterInfo");
  // Nothing was created by any of these.
  CHECK(notifier.kicks().empty());
  CHECK(ok("DescribeInvocations", json::object())["TotalCount"] == 0);
}

TEST_CASE_METHOD(RunFixture, "RunCommand merges Parameters over the defaults", "[actions][run]") {
  const std::string script = "echo {{greeting}} {{name}} {{ACS::InstanceId}}";
  SECTION("DefaultParameters") {
    auto r = run({{"Content", b64(script)},
                  {"EnableParameter", true},
                  {"DefaultParameters", R"({"greeting":"hi","name":"world"})"},
                  {"Parameters", R"({"name":"ferry"})"}});
    auto tasks = tasks_of(r["InvocationId"]);
    REQUIRE(tasks.size() == 1);
    CHECK(tasks[0].enable_parameter);
    CHECK(json::parse(tasks[0].parameters) == json{{"greeting", "hi"}, {"name", "ferry"}});
    auto inv = describe_invocation(r["InvocationId"]);
    CHECK(json::parse(inv["Parameters"].get<std::string>()) == json{{"name", "ferry"}});
    CHECK(json::parse(inv["DefaultParameters"].get<std::string>()) ==
          json{{"greeting", "hi"}, {"name", "world"}});
  }
  SECTION("DefaultParameterConfs") {
    auto r = run({{"Content", b64(script)},
                  {"EnableParameter", true},
                  {"DefaultParameterConfs",
                   {{{"ParameterName", "greeting"}, {"ParameterValue", "hello"}},
                    {{"ParameterName", "name"},
                     {"ParameterValue", "x"},
                     {"ParameterDescription", "who"}}}}});
    auto tasks = tasks_of(r["InvocationId"]);
    CHECK(json::parse(tasks[0].parameters) == json{{"greeting", "hello"}, {"name", "x"}});
  }
  SECTION("a name with no value is named in the error") {
    auto res = call("RunCommand", {{"Content", b64(script)},
                                   {"InstanceIds", {"rins-aaaaaaa1"}},
                                   {"EnableParameter", true},
                                   {"Parameters", R"({"greeting":"hi"})"}});
    REQUIRE_FALSE(res.has_value());
    CHECK(res.error().code == "InvalidParameterValue.LackOfParameterInfo");
    CHECK(res.error().message.find("name") != std::string::npos);
    CHECK(res.error().message.find("greeting") == std::string::npos);
  }
  SECTION("without EnableParameter the braces are plain text") {
    auto r = run({{"Content", b64(script)}});
    CHECK(tasks_of(r["InvocationId"])[0].parameters.empty());
  }
}

TEST_CASE_METHOD(RunFixture, "InvokeCommand runs a saved command with overrides",
                 "[actions][invoke]") {
  auto created = ok("CreateCommand", {{"CommandName", "greet"},
                                      {"Content", b64("echo {{who}}")},
                                      {"EnableParameter", true},
                                      {"DefaultParameters", R"({"who":"world"})"},
                                      {"WorkingDirectory", "/srv"},
                                      {"Timeout", 100},
                                      {"Username", "app"}});
  const std::string cmd = created["CommandId"];

  SECTION("defaults") {
    auto r = ok("InvokeCommand", {{"CommandId", cmd}, {"InstanceIds", {"rins-aaaaaaa1"}}});
    REQUIRE(is_id(r["InvocationId"], "inv-"));
    auto tasks = tasks_of(r["InvocationId"]);
    REQUIRE(tasks.size() == 1);
    CHECK(tasks[0].command_id == cmd);
    CHECK(tasks[0].command_name == "greet");
    CHECK(tasks[0].document.working_directory == "/srv");
    CHECK(tasks[0].document.timeout == 100);
    CHECK(tasks[0].document.username == "app");
    CHECK(json::parse(tasks[0].parameters) == json{{"who", "world"}});
    CHECK(notifier.kicks().size() == 1);
  }
  SECTION("overrides") {
    auto r = ok("InvokeCommand", {{"CommandId", cmd},
                                  {"InstanceIds", {"rins-aaaaaaa1", "rins-aaaaaaa3"}},
                                  {"Parameters", R"({"who":"ferry"})"},
                                  {"WorkingDirectory", "/opt"},
                                  {"Timeout", 5},
                                  {"Username", "root"},
                                  {"OutputCOSBucketUrl", "https://b-1.cos.x.myqcloud.com"},
                                  {"OutputCOSKeyPrefix", "p"}});
    auto tasks = tasks_of(r["InvocationId"]);
    REQUIRE(tasks.size() == 2);
    CHECK(tasks[0].status == TaskStatus::kPending);
    CHECK(tasks[1].status == TaskStatus::kDeliverDelayed);
    CHECK(tasks[0].document.working_directory == "/opt");
    CHECK(tasks[0].document.timeout == 5);
    CHECK(tasks[0].document.username == "root");
    CHECK(tasks[0].document.output_cos_bucket_url == "https://b-1.cos.x.myqcloud.com");
    CHECK(tasks[0].document.output_cos_key_prefix == "p");
    CHECK(json::parse(tasks[0].parameters) == json{{"who", "ferry"}});
    auto inv = describe_invocation(r["InvocationId"]);
    CHECK(inv["Timeout"] == 5);
    CHECK(inv["WorkingDirectory"] == "/opt");
    CHECK(inv["CommandContent"] == b64("echo {{who}}"));
  }
  SECTION("errors") {
    CHECK(code("InvokeCommand", {{"CommandId", "cmd-1"}, {"InstanceIds", {"rins-aaaaaaa1"}}}) ==
          "InvalidParameterValue.InvalidCommandId");
    CHECK(code("InvokeCommand",
               {{"CommandId", "cmd-zzzzzzzz"}, {"InstanceIds", {"rins-aaaaaaa1"}}}) ==
          "ResourceNotFound.CommandNotFound");
    CHECK(code("InvokeCommand", {{"CommandId", cmd}}) == "MissingParameter");
    CHECK(code("InvokeCommand",
               {{"CommandId", cmd}, {"InstanceIds", {"rins-aaaaaaa1"}}, {"Timeout", 0}}) ==
          "InvalidParameterValue.Range");
    CHECK(code("InvokeCommand", {{"CommandId", cmd},
                                 {"InstanceIds", {"rins-aaaaaaa1"}},
                                 {"WorkingDirectory", "rel"}}) ==
          "InvalidParameterValue.InvalidWorkingDirectory");
    CHECK(code("InvokeCommand",
               {{"CommandId", cmd}, {"InstanceIds", {"rins-aaaaaaa1"}}, {"Parameters", "nope"}}) ==
          "InvalidParameterValue.ParameterInvalidJsonFormat");
    CHECK(code("InvokeCommand", {{"CommandId", cmd}, {"InstanceIds", {"rins-nothere1"}}}) ==
          "ResourceNotFound.InstanceNotFound");
    // An unsaved command (made by RunCommand) cannot be invoked again.
    auto unsaved = run({});
    CHECK(code("InvokeCommand",
               {{"CommandId", unsaved["CommandId"]}, {"InstanceIds", {"rins-aaaaaaa1"}}}) ==
          "ResourceNotFound.CommandNotFound");
    auto plain = ok("CreateCommand", {{"CommandName", "plain"}, {"Content", b64("ls")}});
    CHECK(code("InvokeCommand", {{"CommandId", plain["CommandId"]},
                                 {"InstanceIds", {"rins-aaaaaaa1"}},
                                 {"Parameters", R"({"a":"b"})"}}) ==
          "InvalidParameterValue.SupportParametersOnlyIfEnableParameter");
    // The defaults lost a name the (modified) script now uses.
    ok("ModifyCommand", {{"CommandId", cmd}, {"Content", b64("echo {{who}} {{when}}")}});
    auto res = call("InvokeCommand", {{"CommandId", cmd}, {"InstanceIds", {"rins-aaaaaaa1"}}});
    REQUIRE_FALSE(res.has_value());
    CHECK(res.error().code == "InvalidParameterValue.LackOfParameterInfo");
    CHECK(res.error().message.find("when") != std::string::npos);
  }
}

TEST_CASE_METHOD(RunFixture, "CancelInvocation acts on each task state", "[actions][cancel]") {
  add_instance({.id = "rins-aaaaaaa4"});
  add_instance({.id = "rins-aaaaaaa5"});
  auto r = run(
      {{"InstanceIds",
        {"rins-aaaaaaa1", "rins-aaaaaaa2", "rins-aaaaaaa3", "rins-aaaaaaa4", "rins-aaaaaaa5"}}});
  const std::string inv = r["InvocationId"];
  auto tasks = tasks_of(inv);
  REQUIRE(tasks.size() == 5);
  // 1 PENDING, 2 DELIVERING, 3 DELIVER_DELAYED, 4 RUNNING, 5 SUCCESS
  set_task_status(tasks[1].invocation_task_id, TaskStatus::kDelivering);
  set_task_status(tasks[3].invocation_task_id, TaskStatus::kRunning);
  set_task_status(tasks[4].invocation_task_id, TaskStatus::kSuccess);
  clock.advance_ms(5000);

  SECTION("all") {
    ok("CancelInvocation", {{"InvocationId", inv}});
    auto after = tasks_of(inv);
    CHECK(after[0].status == TaskStatus::kCancelled);
    CHECK(after[0].end_ms == clock.now_ms());
    CHECK(after[1].status == TaskStatus::kCancelling);
    CHECK(after[1].end_ms == 0);
    CHECK(after[2].status == TaskStatus::kCancelled);
    CHECK(after[3].status == TaskStatus::kCancelling);
    CHECK(after[4].status == TaskStatus::kSuccess);
    CHECK(after[4].updated_ms == clock.now_ms() - 5000);
    auto cancels = notifier.cancels();
    REQUIRE(cancels.size() == 2);
    std::sort(cancels.begin(), cancels.end());
    CHECK(cancels[0] ==
          std::pair<std::string, std::string>{"rins-aaaaaaa2", tasks[1].invocation_task_id});
    CHECK(cancels[1] ==
          std::pair<std::string, std::string>{"rins-aaaaaaa4", tasks[3].invocation_task_id});
    CHECK(describe_invocation(inv)["InvocationStatus"] == "CANCELLING");

    // The agents confirm; the invocation is partly cancelled (one task had succeeded).
    set_task_status(after[1].invocation_task_id, TaskStatus::kCancelled);
    set_task_status(after[3].invocation_task_id, TaskStatus::kTerminated);
    auto d = describe_invocation(inv);
    CHECK(d["InvocationStatus"] == "PARTIAL_CANCELLED");
    CHECK(d["EndTime"] == format_time(clock.now_ms()));
    CHECK(code("CancelInvocation", {{"InvocationId", inv}}) == "InvalidParameterValue");
  }
  SECTION("a subset") {
    ok("CancelInvocation", {{"InvocationId", inv}, {"InstanceIds", {"rins-aaaaaaa1"}}});
    auto after = tasks_of(inv);
    CHECK(after[0].status == TaskStatus::kCancelled);
    CHECK(after[1].status == TaskStatus::kDelivering);
    CHECK(after[2].status == TaskStatus::kDeliverDelayed);
    CHECK(notifier.cancels().empty());
    auto res =
        call("CancelInvocation", {{"InvocationId", inv}, {"InstanceIds", {"rins-aaaaaaa5"}}});
    REQUIRE_FALSE(res.has_value());
    CHECK(res.error().code == "InvalidParameterValue");
    CHECK(res.error().message.find("already finished") != std::string::npos);
    CHECK(code("CancelInvocation", {{"InvocationId", inv}, {"InstanceIds", {"rins-notinit"}}}) ==
          "InvalidParameterValue.InvalidInstanceId");
  }
  SECTION("an empty InstanceIds means every task") {
    ok("CancelInvocation", {{"InvocationId", inv}, {"InstanceIds", json::array()}});
    auto after = tasks_of(inv);
    CHECK(after[0].status == TaskStatus::kCancelled);
    CHECK(after[3].status == TaskStatus::kCancelling);
  }
  SECTION("a cancelling task is told again") {
    ok("CancelInvocation", {{"InvocationId", inv}, {"InstanceIds", {"rins-aaaaaaa4"}}});
    ok("CancelInvocation", {{"InvocationId", inv}, {"InstanceIds", {"rins-aaaaaaa4"}}});
    CHECK(notifier.cancels().size() == 2);
    CHECK(tasks_of(inv)[3].status == TaskStatus::kCancelling);
  }
  SECTION("errors") {
    CHECK(code("CancelInvocation", json::object()) == "MissingParameter");
    CHECK(code("CancelInvocation", {{"InvocationId", "inv-bad"}}) ==
          "InvalidParameterValue.InvalidInvocationId");
    CHECK(code("CancelInvocation", {{"InvocationId", "inv-00000000"}}) ==
          "ResourceNotFound.InvocationNotFound");
  }
}

TEST_CASE_METHOD(RunFixture, "DescribeInvocations: fields, aggregate status, filters, paging",
                 "[actions][describe]") {
  auto a = run({{"InstanceIds", {"rins-aaaaaaa1", "rins-aaaaaaa2"}}, {"Description", "a"}});
  clock.advance_ms(1000);
  auto saved = ok("CreateCommand", {{"CommandName", "b"}, {"Content", b64("ls")}});
  auto b =
      ok("InvokeCommand", {{"CommandId", saved["CommandId"]}, {"InstanceIds", {"rins-aaaaaaa1"}}});
  clock.advance_ms(1000);
  auto c = run({});

  SECTION("every field of the model") {
    auto inv = describe_invocation(a["InvocationId"]);
    for (const char* field : {"InvocationId",
                              "CommandId",
                              "CommandName",
                              "InvocationStatus",
                              "InvocationTaskBasicInfoSet",
                              "Description",
                              "StartTime",
                              "EndTime",
                              "CreatedTime",
                              "UpdatedTime",
                              "Parameters",
                              "DefaultParameters",
                              "InstanceKind",
                              "Username",
                              "InvocationSource",
                              "CommandContent",
                              "CommandType",
                              "Timeout",
                              "WorkingDirectory",
                              "OutputCOSBucketUrl",
                              "OutputCOSKeyPrefix"}) {
      CHECK(inv.contains(field));
    }
    CHECK(inv["InvocationSource"] == "USER");
    CHECK(inv["InstanceKind"] == "MANAGED");
    CHECK(inv["StartTime"] == "");
    CHECK(inv["EndTime"].is_null());
    for (const auto& basic : inv["InvocationTaskBasicInfoSet"]) {
      CHECK(basic.contains("InvocationTaskId"));
      CHECK(basic["TaskStatus"] == "PENDING");
      CHECK(basic.contains("InstanceId"));
    }
  }
  SECTION("aggregate status and times follow the tasks") {
    const std::string id = a["InvocationId"];
    auto tasks = tasks_of(id);
    const int64_t started = clock.now_ms();
    set_task_status(tasks[0].invocation_task_id, TaskStatus::kRunning);
    CHECK(describe_invocation(id)["InvocationStatus"] == "RUNNING");
    CHECK(describe_invocation(id)["StartTime"] == format_time(started));
    clock.advance_ms(7000);
    set_task_status(tasks[0].invocation_task_id, TaskStatus::kSuccess);
    CHECK(describe_invocation(id)["EndTime"].is_null());
    clock.advance_ms(3000);
    SECTION("success") {
      set_task_status(tasks[1].invocation_task_id, TaskStatus::kSuccess);
      auto inv = describe_invocation(id);
      CHECK(inv["InvocationStatus"] == "SUCCESS");
      CHECK(inv["StartTime"] == format_time(started));
      CHECK(inv["EndTime"] == format_time(clock.now_ms()));
      CHECK(inv["UpdatedTime"] == format_time(clock.now_ms()));
    }
    SECTION("partial failure") {
      set_task_status(tasks[1].invocation_task_id, TaskStatus::kFailed);
      CHECK(describe_invocation(id)["InvocationStatus"] == "PARTIAL_FAILED");
    }
    SECTION("timeout") {
      auto one = run({});
      set_task_status(tasks_of(one["InvocationId"])[0].invocation_task_id, TaskStatus::kTimeout);
      CHECK(describe_invocation(one["InvocationId"])["InvocationStatus"] == "TIMEOUT");
    }
  }
  SECTION("filters") {
    auto by_cmd = ok("DescribeInvocations",
                     {{"Filters", {{{"Name", "command-id"}, {"Values", {saved["CommandId"]}}}}}});
    REQUIRE(by_cmd["TotalCount"] == 1);
    CHECK(by_cmd["InvocationSet"][0]["InvocationId"] == b["InvocationId"]);
    auto by_id =
        ok("DescribeInvocations",
           {{"Filters",
             {{{"Name", "invocation-id"}, {"Values", {a["InvocationId"], c["InvocationId"]}}}}}});
    CHECK(by_id["TotalCount"] == 2);
    // Properties every Ferry invocation shares: a filter matches all three or none.
    struct SharedFilter {
      const char* name;
      const char* value;
      int total;
    };
    for (const auto& [name, value, total] :
         {SharedFilter{"command-created-by", "USER", 3},
          SharedFilter{"command-created-by", "TAT", 0},
          SharedFilter{"instance-kind", "LIGHTHOUSE", 0}, SharedFilter{"instance-kind", "CVM", 0},
          SharedFilter{"instance-kind", "MANAGED", 3}}) {
      INFO(name << " = " << value);
      auto listed =
          ok("DescribeInvocations", {{"Filters", {{{"Name", name}, {"Values", {value}}}}}});
      CHECK(listed["TotalCount"] == total);
    }
    CHECK(code("DescribeInvocations", {{"Filters", {{{"Name", "nope"}, {"Values", {"x"}}}}}}) ==
          "InvalidParameterValue.InvalidFilter");
    CHECK(code("DescribeInvocations",
               {{"Filters", {{{"Name", "command-created-by"}, {"Values", {"ME"}}}}}}) ==
          "InvalidParameterValue.InvalidFilter");
    CHECK(code("DescribeInvocations",
               {{"InvocationIds", {a["InvocationId"]}},
                {"Filters", {{{"Name", "command-id"}, {"Values", {"cmd-x"}}}}}}) ==
          "InvalidParameter.ConflictParameter");
    CHECK(code("DescribeInvocations", {{"InvocationIds", {"nope"}}}) ==
          "InvalidParameterValue.InvalidInvocationId");
  }
  SECTION("paging, newest first") {
    auto first = ok("DescribeInvocations", {{"Limit", 2}});
    CHECK(first["TotalCount"] == 3);
    REQUIRE(first["InvocationSet"].size() == 2);
    CHECK(first["InvocationSet"][0]["InvocationId"] == c["InvocationId"]);
    CHECK(first["InvocationSet"][1]["InvocationId"] == b["InvocationId"]);
    auto second = ok("DescribeInvocations", {{"Limit", 2}, {"Offset", 2}});
    REQUIRE(second["InvocationSet"].size() == 1);
    CHECK(second["InvocationSet"][0]["InvocationId"] == a["InvocationId"]);
    CHECK(code("DescribeInvocations", {{"Limit", 101}}) == "InvalidParameterValue.Range");
    CHECK(code("DescribeInvocations", {{"Offset", -1}}) == "InvalidParameterValue.Range");
  }
}

TEST_CASE_METHOD(RunFixture, "DescribeInvocationTasks: fields, output, filters, paging",
                 "[actions][describe]") {
  auto a = run({{"InstanceIds", {"rins-aaaaaaa1", "rins-aaaaaaa2"}}});
  clock.advance_ms(1000);
  auto b = run({{"InstanceIds", {"rins-aaaaaaa1"}}});
  auto a_tasks = tasks_of(a["InvocationId"]);
  const std::string done = a_tasks[0].invocation_task_id;
  const std::string running = a_tasks[1].invocation_task_id;
  set_task_status(done, TaskStatus::kSuccess);
  REQUIRE(store->modify_task(done, [](InvocationTask& t) {
    t.output = base64_encode("final output\n");
    t.output_url = "https://bucket/x.log";
    return true;
  }));
  set_task_status(running, TaskStatus::kRunning);
  REQUIRE(store->put_task_log(running, 0, "line one\n"));
  REQUIRE(store->put_task_log(running, 1, "line two\n"));

  const auto one = [&](const std::string& id, json extra = json::object()) {
    json body = {{"InvocationTaskIds", {id}}};
    body.update(extra);
    auto r = ok("DescribeInvocationTasks", body);
    REQUIRE(r["InvocationTaskSet"].size() == 1);
    return r["InvocationTaskSet"][0];
  };

  SECTION("every field of the model") {
    auto t = one(done);
    for (const char* field :
         {"InvocationId", "InvocationTaskId", "CommandId", "TaskStatus", "InstanceId", "TaskResult",
          "StartTime", "EndTime", "CreatedTime", "UpdatedTime", "CommandDocument", "ErrorInfo",
          "InvocationSource", "CommandName"}) {
      CHECK(t.contains(field));
    }
    for (const char* field : {"ExitCode", "Output", "ExecStartTime", "ExecEndTime", "Dropped",
                              "OutputUrl", "OutputUploadCOSErrorInfo"}) {
      CHECK(t["TaskResult"].contains(field));
    }
    for (const char* field : {"Content", "CommandType", "Timeout", "WorkingDirectory", "Username",
                              "OutputCOSBucketUrl", "OutputCOSKeyPrefix"}) {
      CHECK(t["CommandDocument"].contains(field));
    }
    CHECK(t["TaskStatus"] == "SUCCESS");
    CHECK(t["TaskResult"]["ExitCode"] == 0);
    CHECK(t["TaskResult"]["OutputUrl"] == "https://bucket/x.log");
    CHECK(t["EndTime"] == format_time(clock.now_ms()));
    CHECK(t["CommandDocument"]["Content"] == b64("echo hello"));
    CHECK(t["InvocationSource"] == "USER");
  }
  SECTION("HideOutput is the default") {
    CHECK(one(done)["TaskResult"]["Output"] == "");
    CHECK(one(running)["TaskResult"]["Output"] == "");
    CHECK(one(done, {{"HideOutput", false}})["TaskResult"]["Output"] ==
          base64_encode("final output\n"));
  }
  SECTION("a running task shows its live output, ExitCode 0 and EndTime null") {
    auto t = one(running, {{"HideOutput", false}});
    CHECK(t["TaskResult"]["Output"] == base64_encode("line one\nline two\n"));
    CHECK(t["TaskResult"]["Dropped"] == 0);
    CHECK(t["TaskResult"]["ExitCode"] == 0);
    CHECK(t["EndTime"].is_null());
  }
  SECTION("live output keeps 24 KiB of head and tail") {
    const std::string big(20 * 1024, 'x');
    REQUIRE(store->put_task_log(running, 2, big));
    REQUIRE(store->put_task_log(running, 3, big));
    auto t = one(running, {{"HideOutput", false}});
    auto shown = base64_decode(t["TaskResult"]["Output"].get<std::string>());
    REQUIRE(shown.has_value());
    CHECK(shown->size() == 24 * 1024);
    CHECK(shown->rfind("line one\n", 0) == 0);
    const uint64_t total = 18 + 2 * big.size();
    CHECK(t["TaskResult"]["Dropped"] == total - 24 * 1024);
  }
  SECTION("filters") {
    auto by_inv = ok("DescribeInvocationTasks",
                     {{"Filters", {{{"Name", "invocation-id"}, {"Values", {a["InvocationId"]}}}}}});
    CHECK(by_inv["TotalCount"] == 2);
    auto by_instance =
        ok("DescribeInvocationTasks",
           {{"Filters", {{{"Name", "instance-id"}, {"Values", {"rins-aaaaaaa1"}}}}}});
    CHECK(by_instance["TotalCount"] == 2);
    auto both = ok("DescribeInvocationTasks",
                   {{"Filters",
                     {{{"Name", "instance-id"}, {"Values", {"rins-aaaaaaa1"}}},
                      {{"Name", "invocation-id"}, {"Values", {b["InvocationId"]}}}}}});
    CHECK(both["TotalCount"] == 1);
    auto by_cmd = ok("DescribeInvocationTasks",
                     {{"Filters", {{{"Name", "command-id"}, {"Values", {b["CommandId"]}}}}}});
    CHECK(by_cmd["TotalCount"] == 1);
    auto by_task = ok("DescribeInvocationTasks",
                      {{"Filters", {{{"Name", "invocation-task-id"}, {"Values", {running}}}}}});
    CHECK(by_task["TotalCount"] == 1);
    CHECK(
        code("DescribeInvocationTasks", {{"Filters", {{{"Name", "status"}, {"Values", {"x"}}}}}}) ==
        "InvalidParameterValue.InvalidFilter");
    CHECK(code("DescribeInvocationTasks",
               {{"InvocationTaskIds", {running}},
                {"Filters", {{{"Name", "instance-id"}, {"Values", {"rins-aaaaaaa1"}}}}}}) ==
          "InvalidParameter.ConflictParameter");
    CHECK(code("DescribeInvocationTasks", {{"InvocationTaskIds", {"inv-aaaaaaaa"}}}) ==
          "InvalidParameterValue.InvalidInvocationTaskId");
  }
  SECTION("paging") {
    auto page = ok("DescribeInvocationTasks", {{"Limit", 1}, {"Offset", 1}});
    CHECK(page["TotalCount"] == 3);
    CHECK(page["InvocationTaskSet"].size() == 1);
    CHECK(ok("DescribeInvocationTasks", {{"Offset", 3}})["InvocationTaskSet"].empty());
  }
}

TEST_CASE_METHOD(RunFixture, "file deliveries are not listed as command invocations",
                 "[actions][describe]") {
  const std::string run_id = run({})["InvocationId"];
  domain::SendFileRequest file;
  file.file.name = "app.conf";
  file.file.target_dir = "/etc/app";
  file.content = b64("key=value\n");
  file.instance_ids = {"rins-aaaaaaa1", "rins-aaaaaaa2"};
  auto file_id = domain::send_file(ctx, file);
  REQUIRE(file_id);
  const auto file_tasks = tasks_of(*file_id);
  REQUIRE(file_tasks.size() == 2);

  auto all = ok("DescribeInvocations", json::object());
  CHECK(all["TotalCount"] == 1);
  REQUIRE(all["InvocationSet"].size() == 1);
  CHECK(all["InvocationSet"][0]["InvocationId"] == run_id);
  CHECK(ok("DescribeInvocations", {{"InvocationIds", {*file_id}}})["TotalCount"] == 0);
  CHECK(ok("DescribeInvocations",
           {{"Filters", {{{"Name", "invocation-id"}, {"Values", {*file_id}}}}}})["TotalCount"] ==
        0);

  auto tasks = ok("DescribeInvocationTasks", json::object());
  CHECK(tasks["TotalCount"] == 1);
  REQUIRE(tasks["InvocationTaskSet"].size() == 1);
  CHECK(tasks["InvocationTaskSet"][0]["InvocationId"] == run_id);
  CHECK(ok("DescribeInvocationTasks",
           {{"InvocationTaskIds", {file_tasks[0].invocation_task_id}}})["TotalCount"] == 0);
  CHECK(ok("DescribeInvocationTasks",
           {{"Filters", {{{"Name", "invocation-id"}, {"Values", {*file_id}}}}}})["TotalCount"] ==
        0);
  CHECK(ok("DescribeInvocationTasks",
           {{"Filters",
             {{{"Name", "instance-id"}, {"Values", {"rins-aaaaaaa2"}}}}}})["TotalCount"] == 0);
}
